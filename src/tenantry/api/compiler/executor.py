"""Plan -> cached statement -> JSON text, on one pooled asyncpg connection.

A statement is compiled once per plan shape and kind of caller (the cache key): the
request's values are parameters, and so is the caller's tenant. The scope helper builds
the predicates for a placeholder tenant that no row has; compiling turns it into the
``tenant`` parameter. asyncpg prepares each statement once per connection and reuses it.
"""

import dataclasses
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from graphql import DocumentNode, GraphQLSchema
from sqlalchemy.dialects.postgresql import ARRAY, asyncpg
from sqlalchemy.sql.visitors import replacement_traverse

from tenantry.api.compiler.planner import Plan, Planner
from tenantry.api.compiler.registry import TYPES, binder_of
from tenantry.api.compiler.sql import USER, Build, Parameter
from tenantry.auth.principal import Principal
from tenantry.db.engine import Database
from tenantry.settings import Settings

# Ids are positive: no row has this one, so it cannot hide in a compiled statement.
PLACEHOLDER_TENANT = -987_654_321_012_345
CACHE_SIZE = 512


TENANT, TENANT_LIST = "tenant", "tenant_list"
_NO_OPTIONS: dict[str, Any] = {}


@dataclass(frozen=True)
class Statement:
    sql: str
    # The positional parameters: plan slots, the caller's tenant (alone or in a list) and
    # user.
    names: tuple[str, ...]

    def arguments(self, plan: Plan, principal: Principal) -> list[Any]:
        tenant_id = principal.tenant_id
        caller = {TENANT: tenant_id, TENANT_LIST: [tenant_id], USER: principal.user_id}
        values = {**plan.values, **caller}
        return [values[name] for name in self.names]


def _bind_tenant(element: Any, **kw: Any) -> Any:
    """The scope helper's placeholder tenant becomes the ``tenant`` parameter."""
    if isinstance(element, sa.BindParameter):
        value = element.effective_value
        if value == PLACEHOLDER_TENANT:
            return Parameter(sa.bindparam(TENANT, type_=sa.BigInteger()))
        if isinstance(value, list) and value == [PLACEHOLDER_TENANT]:
            return Parameter(sa.bindparam(TENANT_LIST, type_=ARRAY(sa.BigInteger())))
        if isinstance(value, list | tuple) and PLACEHOLDER_TENANT in value:
            raise ValueError("the placeholder tenant inside a longer list")
    return None


class ReadCompiler:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.dialect: sa.Dialect = asyncpg.dialect()  # type: ignore[no-untyped-call]
        self._cache: OrderedDict[Hashable, Statement] = OrderedDict()

    def prepare(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        principal: Principal,
    ) -> tuple[Statement, list[Any]] | None:
        """The statement and its arguments, or None: the resolver path answers."""
        plan = self.plan(schema, document, operation_name, variables)
        return None if plan is None else self.bind(plan, principal)

    def plan(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation_name: str | None,
        variables: dict[str, Any] | None,
    ) -> Plan | None:
        return Planner(schema, self.settings, binder_of).plan(document, operation_name, variables)

    def bind(
        self, plan: Plan, principal: Principal, signature: Hashable | None = None
    ) -> tuple[Statement, list[Any]]:
        """The plan's statement for this kind of caller (compiled once), and its arguments.
        ``signature``: the plan's, when the caller has it already (a cached plan)."""
        scope = principal.scope
        shape = plan.signature() if signature is None else signature
        key = (shape, scope.sees_all, scope.partner_admin, principal.role)
        statement = self._cache.get(key)
        if statement is None:
            statement = self._compile(plan, principal)
            self._cache[key] = statement
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return statement, statement.arguments(plan, principal)

    def statement(self, plan: Plan, principal: Principal) -> sa.Select[Any]:
        scope = dataclasses.replace(principal.scope, tenant_id=PLACEHOLDER_TENANT)
        data = Build(TYPES, scope, principal, plan.values).object("Query", None, plan.fields)
        data = replacement_traverse(data, _NO_OPTIONS, _bind_tenant)
        # As text: the connection's json codec would parse it, and the response needs text.
        return sa.select(sa.cast(data, sa.Text))

    def _compile(self, plan: Plan, principal: Principal) -> Statement:
        statement = self.statement(plan, principal)
        compiled = statement.compile(dialect=self.dialect, compile_kwargs={"literal_binds": True})
        names = tuple(compiled.positiontup or ())
        assert set(names) <= {*plan.values, TENANT, TENANT_LIST, USER}, names
        return Statement(compiled.string, names)


async def fetch_json(db: Database, statement: Statement, arguments: list[Any]) -> str:
    """Runs the statement outside any transaction (one statement reads one snapshot): one
    round trip on a pooled connection, no BEGIN, no ROLLBACK, no ping."""
    async with db.bare() as connection:
        text: str = await connection.fetchval(statement.sql, *arguments)
        return text
