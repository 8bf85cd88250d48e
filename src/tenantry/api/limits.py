"""The schema extensions every request passes through: guards, limits, caches, masking."""

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from graphql import ExecutionResult, GraphQLError
from strawberry.extensions import (
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)

from tenantry.api.cost import CostLimits, operation_cost
from tenantry.api.document_limits import MaxDefinitions
from tenantry.api.errors import (
    SERVICE_UNAVAILABLE,
    UNEXPECTED_MESSAGE,
    database_failure,
    database_failure_error,
    is_unexpected,
    request_id_of,
    with_cause_code,
)
from tenantry.api.guard import (
    HideSuggestionsFromAnonymous,
    RequireAuthentication,
    RequireWebSocketForSubscriptions,
)
from tenantry.api.inputs import CheckInputBeforeCoercion
from tenantry.api.request_errors import RequestErrorCodes
from tenantry.api.roles import RequireRoleBeforeInput
from tenantry.settings import Settings


class MaskUnexpectedErrors(MaskErrors):
    """Hides unexpected errors behind a request id (the logs have the traceback), and keeps
    the code of a refused input value on the error that reports it."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=is_unexpected, error_message=UNEXPECTED_MESSAGE)

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return super()._process_errors([with_cause_code(error) for error in errors])

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        # A database that is out of reach or too slow is not a bug: say so, without its text.
        failure = database_failure(error.original_error) if error.original_error else None
        if failure is not None:
            return database_failure_error(failure, error)
        masked = super().anonymise_error(error)
        masked.extensions = {
            "code": "INTERNAL_SERVER_ERROR",
            "requestId": request_id_of(self.execution_context.context),
        }
        return masked


class QueryCostLimiter(SchemaExtension):
    """Refuses, before execution, an operation that may touch more rows than the budget
    (see ``api/cost.py``), and reports every executed operation's cost in ``extensions``.

    Costly operations run a few at a time (``gate``): one event loop serves every request
    of a process, and a handful of tree-sized answers would otherwise starve small ones.
    One that cannot start within ``costly_query_wait_seconds`` is answered 503 (busy)."""

    def __init__(self, settings: Settings, gate: asyncio.Semaphore) -> None:
        self.budget = settings.max_query_cost
        self.costly = settings.costly_query_cost
        self.wait = settings.costly_query_wait_seconds
        self.limits = CostLimits(settings.default_page_size, settings.max_page_size)
        self.gate = gate
        self.cost: int | None = None

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        # An earlier guard may have answered already (e.g. authentication).
        if context.result is not None or context.graphql_document is None:
            yield
            return
        self.cost = operation_cost(
            context.schema._schema,
            context.graphql_document,
            context.operation_name,
            context.variables,
            self.limits,
        )
        if self.cost > self.budget:
            context.result = ExecutionResult(data=None, errors=[self._too_costly(self.cost)])
        elif self.cost >= self.costly:
            try:
                async with asyncio.timeout(0 if _waited(context) else self.wait):
                    await self.gate.acquire()
            except TimeoutError:
                busy = database_failure_error(SERVICE_UNAVAILABLE)
                context.result = ExecutionResult(data=None, errors=[busy])
            else:
                try:
                    yield
                finally:
                    self.gate.release()
                return
        yield

    def _too_costly(self, cost: int) -> GraphQLError:
        return GraphQLError(
            f"This query may touch {cost:,} rows, over the limit of {self.budget:,}: ask for "
            "smaller pages (first:) or fewer nested lists, and page through the rest.",
            extensions={"code": "QUERY_TOO_COSTLY", "cost": cost, "budget": self.budget},
        )

    def get_results(self) -> dict[str, Any]:
        if self.cost is None:
            return {}
        return {"cost": {"requested": self.cost, "budget": self.budget}}


def _waited(context: Any) -> bool:
    """The fast path (api/fast_reads.py) waited the whole time for the gate already: only a
    free gate lets the operation run now."""
    request = getattr(context.context, "request", None)
    return bool(getattr(getattr(request, "state", None), "costly_wait_over", False))


def _shared(extension: SchemaExtension) -> Callable[[], SchemaExtension]:
    """One instance for every request: the caches must outlive a request to be caches."""
    return lambda: extension


def schema_extensions(
    settings: Settings, costly_gate: asyncio.Semaphore
) -> list[type[SchemaExtension] | Callable[[], SchemaExtension]]:
    """``costly_gate``: the process's gate for costly operations (the fast path's too)."""
    return [
        RequestErrorCodes,
        _shared(MaxTokensLimiter(max_token_count=settings.max_tokens)),
        _shared(ParserCache(maxsize=512)),
        lambda: MaxDefinitions(settings.max_operations, settings.max_fragments),
        _shared(ValidationCache(maxsize=512)),
        _shared(QueryDepthLimiter(max_depth=settings.max_query_depth)),
        _shared(MaxAliasesLimiter(max_alias_count=settings.max_aliases)),
        RequireAuthentication,
        RequireWebSocketForSubscriptions,
        RequireRoleBeforeInput,
        lambda: CheckInputBeforeCoercion(settings.max_input_list_length),
        HideSuggestionsFromAnonymous,
        lambda: QueryCostLimiter(settings, costly_gate),
        # Classes, not instances: Strawberry then makes one per request, so the request id
        # an instance reads from its execution context is never another request's.
        MaskUnexpectedErrors,
    ]
