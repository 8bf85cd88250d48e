"""Viewer and User in the compiled read path (see ``user.py`` for the resolver path)."""

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from tenantry.api.compiler.planner import PlannedField
from tenantry.api.compiler.sql import Build, FieldSQL, column, global_id, iso_datetime, on
from tenantry.api.types.tenant_sql import by
from tenantry.auth import repository as auth_repo
from tenantry.auth.models import User


def user_by(
    b: Build, fields: tuple[PlannedField, ...], match: Callable[[Any], sa.ColumnElement[bool]]
) -> sa.ColumnElement[Any]:
    """The visible user a row alias ``match``es (``repository.users_by_ids``)."""
    row = aliased(User)
    return b.row_object("User", row, fields, match(row), on(row, auth_repo.user_filter(b.scope)))


VIEWER: dict[str, FieldSQL] = {
    "role": FieldSQL(lambda b, v, f: sa.literal(b.principal.role.value, sa.Text)),
    "tenant": FieldSQL(lambda b, v, f: by(b, f.children, lambda row: row.id == b.scope.tenant_id)),
    # The person behind the token, when visible (not while impersonating a tenant below).
    "user": FieldSQL(lambda b, v, f: user_by(b, f.children, lambda row: row.id == b.user_id())),
}

USER: dict[str, FieldSQL] = {
    "id": FieldSQL(lambda b, u, f: global_id("User", u.id)),
    "email": column("email"),
    "name": column("name"),
    "role": column("role"),
    "createdAt": FieldSQL(lambda b, u, f: iso_datetime(u.created_at)),
    "tenant": FieldSQL(lambda b, u, f: by(b, f.children, lambda row: row.id == u.tenant_id)),
}
