"""Plan -> cached statement -> JSON text, on one pooled asyncpg connection.

A statement is compiled once per plan shape and kind of caller (the cache key): values
are parameters, and so is the caller's tenant. The scope helper builds the predicates for
a placeholder tenant that no row has; binding swaps in the caller's. asyncpg prepares
each statement once per connection and reuses it.
"""

import dataclasses
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import asyncpg
from graphql import DocumentNode, GraphQLSchema

from tenantry.api.compiler.planner import Plan, Planner
from tenantry.api.compiler.registry import TYPES, binder_of
from tenantry.api.compiler.sql import Build
from tenantry.auth.principal import Principal
from tenantry.db.engine import Database
from tenantry.settings import Settings

# Ids are positive: no row has this one, so it cannot hide in a compiled statement.
PLACEHOLDER_TENANT = -987_654_321_012_345
CACHE_SIZE = 512


@dataclass(frozen=True)
class Statement:
    sql: str
    # Per positional parameter: a plan slot's name, or None for a constant.
    slots: tuple[str | None, ...]
    constants: tuple[Any, ...]

    def arguments(self, plan: Plan, tenant_id: int) -> list[Any]:
        return [
            plan.values[slot] if slot is not None else _for_tenant(constant, tenant_id)
            for slot, constant in zip(self.slots, self.constants, strict=True)
        ]


def _for_tenant(value: Any, tenant_id: int) -> Any:
    if value == PLACEHOLDER_TENANT:
        return tenant_id
    if isinstance(value, list) and PLACEHOLDER_TENANT in value:
        return [tenant_id if v == PLACEHOLDER_TENANT else v for v in value]
    return value


class ReadCompiler:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.dialect = asyncpg.dialect()
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
        plan = Planner(schema, self.settings, binder_of).plan(document, operation_name, variables)
        if plan is None:
            return None
        scope = principal.scope
        key = (plan.signature(), scope.sees_all, scope.partner_admin, principal.role)
        statement = self._cache.get(key)
        if statement is None:
            statement = self._compile(plan, principal)
            self._cache[key] = statement
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return statement, statement.arguments(plan, principal.tenant_id)

    def statement(self, plan: Plan, principal: Principal) -> sa.Select[Any]:
        scope = dataclasses.replace(principal.scope, tenant_id=PLACEHOLDER_TENANT)
        build = Build(TYPES, scope, principal, plan.values)
        # As text: the connection's json codec would parse it, and the response needs text.
        return sa.select(sa.cast(build.object("Query", None, plan.fields), sa.Text))

    def _compile(self, plan: Plan, principal: Principal) -> Statement:
        compiled = self.statement(plan, principal).compile(dialect=self.dialect)
        names = compiled.positiontup or []
        processors = compiled._bind_processors
        slots: list[str | None] = []
        constants: list[Any] = []
        for name in names:
            if name in plan.values:
                slots.append(name)
                constants.append(None)
                continue
            value = compiled.binds[name].effective_value
            processor = processors.get(name)
            slots.append(None)
            constants.append(processor(value) if processor is not None else value)
        return Statement(compiled.string, tuple(slots), tuple(constants))


async def fetch_json(db: Database, statement: Statement, arguments: list[Any]) -> str:
    """Runs the statement outside any transaction (one statement reads one snapshot)."""
    async with db.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        text: str = await driver.fetchval(statement.sql, *arguments)
        return text
