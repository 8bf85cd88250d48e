"""Viewer in the compiled read path (see ``user.py`` for the resolver path)."""

import sqlalchemy as sa

from tenantry.api.compiler.sql import FieldSQL
from tenantry.api.types.tenant_sql import by

VIEWER: dict[str, FieldSQL] = {
    "role": FieldSQL(lambda b, v, f: sa.literal(b.principal.role.value, sa.Text)),
    "tenant": FieldSQL(lambda b, v, f: by(b, f.children, lambda row: row.id == b.scope.tenant_id)),
}
