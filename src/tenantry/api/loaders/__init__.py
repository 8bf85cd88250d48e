"""All loaders of one request, built fresh per request for the caller's scope."""

from dataclasses import dataclass, fields

from tenantry.api.loaders.tenants import (
    SubTenantCountByParentLoader,
    SubTenantPageByParentLoader,
    TenantByIdLoader,
)
from tenantry.api.loaders.users import (
    ApiTokenByIdLoader,
    UserByIdLoader,
    UserCountByTenantLoader,
    UserPageByTenantLoader,
)
from tenantry.auth.scope import Scope
from tenantry.db.engine import Database


@dataclass(frozen=True)
class DataLoaders:
    tenant_by_id: TenantByIdLoader
    sub_tenant_page: SubTenantPageByParentLoader
    sub_tenant_count: SubTenantCountByParentLoader
    user_by_id: UserByIdLoader
    user_page: UserPageByTenantLoader
    user_count: UserCountByTenantLoader
    api_token_by_id: ApiTokenByIdLoader

    @classmethod
    def build(cls, db: Database, scope: Scope) -> "DataLoaders":
        return cls(**{f.name: f.type(db, scope) for f in fields(cls)})  # type: ignore[operator]
