"""Audit events in the compiled read path (see ``audit.py`` for the resolver path)."""

from typing import Any

import sqlalchemy as sa

from tenantry.api.compiler.planner import PlannedField
from tenantry.api.compiler.sql import Build, FieldSQL, column, global_id, iso_datetime, null_if
from tenantry.api.types.audit import GRAPHQL_TYPE
from tenantry.api.types.tenant_sql import by as tenant_by
from tenantry.db.sqltext import base64_text


def _target_id(b: Build, e: Any, f: PlannedField) -> sa.ColumnElement[Any]:
    """The global id of what was changed, under its GraphQL type's name."""
    type_name = sa.case(
        *((e.target_type == model, graphql) for model, graphql in GRAPHQL_TYPE.items()),
        else_=e.target_type,
    )
    text = base64_text(type_name + sa.literal(":", sa.Text) + sa.cast(e.target_id, sa.Text))
    return null_if(sa.or_(e.target_type.is_(None), e.target_id.is_(None)), text)


def _actor(b: Build, e: Any, f: PlannedField) -> sa.ColumnElement[Any]:
    from tenantry.api.types.user_sql import user_by

    return user_by(b, f.children, lambda row: row.id == e.actor_user_id)


AUDIT_EVENT: dict[str, FieldSQL] = {
    "id": FieldSQL(lambda b, e, f: global_id("AuditEvent", e.id)),
    "action": column("action"),
    "createdAt": FieldSQL(lambda b, e, f: iso_datetime(e.created_at)),
    "details": column("details"),
    "actor": FieldSQL(_actor),
    "impersonatedTenant": FieldSQL(
        lambda b, e, f: tenant_by(b, f.children, lambda row: row.id == e.impersonated_tenant_id)
    ),
    "targetId": FieldSQL(_target_id),
}
