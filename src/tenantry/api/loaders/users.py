"""User and API token loaders."""

from tenantry.api.loaders.base import ByIdLoader, CountByParentLoader, PageByParentLoader
from tenantry.auth import repository as repo
from tenantry.auth.models import ApiToken, User


class UserByIdLoader(ByIdLoader[User]):
    fetch = staticmethod(repo.users_by_ids)


class UserPageByTenantLoader(PageByParentLoader[User]):
    fetch = staticmethod(repo.user_pages)


class UserCountByTenantLoader(CountByParentLoader):
    fetch = staticmethod(repo.user_counts)


class ApiTokenByIdLoader(ByIdLoader[ApiToken]):
    fetch = staticmethod(repo.tokens_by_ids)
