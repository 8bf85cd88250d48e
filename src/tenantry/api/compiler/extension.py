"""The hook: a schema extension that answers a read operation with one SQL statement.

It runs after parsing, validation and every guard (it comes last), and only for an
authenticated query the resolver path has not already answered (e.g. with an error).
When the operation does not compile, execution goes on down the resolver path.
"""

import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

import orjson
from graphql import DocumentNode, GraphQLSchema
from starlette.responses import Response
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from tenantry.api.compiler.executor import ReadCompiler, fetch_json
from tenantry.api.context import Context
from tenantry.logs import note_request
from tenantry.metrics import READS

log = logging.getLogger("tenantry.api.reads")

# Which path answered each query: {"compiled": n, "resolver": m}.
READS_BY_PATH: Counter[str] = Counter()
PATH_HEADER = "X-Read-Path"


# Told of each document the compiled path answered: (schema, text, operation, document).
Remember = Callable[[GraphQLSchema, str, str | None, DocumentNode], None]


class CompiledReads(SchemaExtension):
    def __init__(self, compiler: ReadCompiler, remember: Remember | None = None) -> None:
        self.compiler = compiler
        self.remember = remember

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        context = execution.context
        if (
            isinstance(context, Context)
            and execution.operation_type is OperationType.QUERY
            and execution.result is None
        ):
            path = "resolver"
            if context.principal is not None and context.settings.compiled_reads:
                data = await self._compiled(context)
                if data is not None:
                    # PostgreSQL's JSON text as is: the view encodes with orjson, which
                    # writes a Fragment without parsing it.
                    fragment = cast(dict[str, Any], orjson.Fragment(data))
                    execution.result = ExecutionResult(data=fragment, errors=None)
                    path = "compiled"
                    document = execution.graphql_document
                    if self.remember is not None and execution.query and document:
                        # Every guard has passed (none set a result): the fast path's verdict.
                        self.remember(
                            execution.schema._schema,
                            execution.query,
                            execution.operation_name,
                            document,
                        )
            READS_BY_PATH[path] += 1
            READS.labels(path).inc()
            note_request(read_path=path)
            log.debug("read", extra={"read_path": path, "operation": execution.operation_name})
            # Over a WebSocket there is no response to put a header on.
            if isinstance(context.response, Response):
                context.response.headers[PATH_HEADER] = path
        yield

    async def _compiled(self, context: Context) -> str | None:
        execution = self.execution_context
        document = execution.graphql_document
        principal = context.principal
        if document is None or principal is None:
            return None
        prepared = self.compiler.prepare(
            execution.schema._schema,
            document,
            execution.operation_name,
            execution.variables,
            principal,
        )
        if prepared is None:
            return None
        try:
            return await fetch_json(context.db, *prepared)
        except Exception:
            # The resolver path is the reference: it answers, and reports any failure its way.
            log.exception("compiled read failed; answered by the resolver path")
            return None


def compiled_reads(
    compiler: ReadCompiler, remember: Remember | None = None
) -> Callable[[], SchemaExtension]:
    """The extension, made per request around one compiler (and its statement cache)."""
    return lambda: CompiledReads(compiler, remember)
