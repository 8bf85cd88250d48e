"""The fast path: a read document the compiled path has answered before skips Strawberry.

A document (its text and operation name) earns a *verdict* when a request with a token
has taken it through the normal path, passed every guard and limit, and been answered by
the compiled path (``CompiledReads`` records it). The guards that look only at the
document (token count, definitions, validation, depth, aliases, string literals, the
operation being a query) hold for every later request with the same text, so the fast
path keeps their verdict. The ones that depend on the request run every time: the token
must authenticate, the variables' text and list lengths are checked, and the query cost
is counted (from a cache keyed by the variables, with the plan) against the budget; an
operation costly enough for the costly-query gate waits for the same gate as on the normal
path (after the token and the rate limit, holding no connection while it waits). When its
wait runs out, the normal path answers, busy at once (``request.state.costly_wait_over``).

The fast path answers only with data, exactly what the normal path would answer (the
same bytes and headers). Anything else goes down the normal path, which answers as it
always does, refusals and errors included: no verdict, no token or one that does not
authenticate, variables or a cost that a guard would refuse, a plan that falls back, a
statement that fails. A token checked here is not checked a second time.

One pooled connection serves the request with one statement: the token lookup, the rate
limit and the compiled read (api/fast_statement.py; no BEGIN, ROLLBACK or ping). The read
runs for the principal the token had last time, so a token's first request on the fast
path, or one whose principal changed, takes a second statement for the read; a costly read
runs on a second connection, once through the gate.
"""

import asyncio
import logging
from collections import Counter, OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson
from graphql import DocumentNode, GraphQLSchema, get_operation_ast
from starlette.requests import Request
from starlette.responses import Response

from tenantry.api.compiler.executor import ReadCompiler
from tenantry.api.compiler.extension import PATH_HEADER, READS_BY_PATH
from tenantry.api.compiler.planner import Plan
from tenantry.api.context import bearer_token
from tenantry.api.cost import CostLimits, operation_cost
from tenantry.api.fast_statement import Read, authenticate_and_read
from tenantry.api.http_media import response_media_type
from tenantry.api.inputs import check_variables
from tenantry.auth.principal import Principal
from tenantry.auth.service import utcnow
from tenantry.auth.tokens import IMPERSONATION_PREFIX, token_digest
from tenantry.db.engine import Database
from tenantry.logs import note_request
from tenantry.metrics import READS
from tenantry.rate_limits.service import check_taken
from tenantry.settings import Settings

log = logging.getLogger("tenantry.api.reads")

CACHE_SIZE = 512
# How many requests the fast path answered (the rest of READS_BY_PATH took the normal one).
FAST_READS: Counter[str] = Counter()

REQUEST_KEYS = frozenset({"query", "variables", "operationName"})


@dataclass(frozen=True)
class Prepared:
    """A document's plan and cost for one set of variable values."""

    plan: Plan
    signature: Hashable
    cost: int


class FastReads:
    def __init__(
        self, settings: Settings, compiler: ReadCompiler, costly_gate: asyncio.Semaphore
    ) -> None:
        self.settings = settings
        self.compiler = compiler
        # The normal path's gate (api/limits.py, QueryCostLimiter): one per process.
        self.costly_gate = costly_gate
        self.limits = CostLimits(settings.default_page_size, settings.max_page_size)
        self.schema: GraphQLSchema | None = None
        self._verdicts: OrderedDict[tuple[str, str | None], DocumentNode] = OrderedDict()
        self._prepared: OrderedDict[Hashable, Prepared | None] = OrderedDict()
        # Each token's principal when last seen (by digest): whom to read for in the one
        # statement; used only if the token still has exactly that principal.
        self._principals: OrderedDict[str, Principal] = OrderedDict()

    def remember(
        self, schema: GraphQLSchema, query: str, operation_name: str | None, document: DocumentNode
    ) -> None:
        """``query`` passed every guard on the normal path and was answered compiled."""
        self.schema = schema
        _put(self._verdicts, (query, operation_name), document)

    async def answer(self, request: Request, db: Database) -> Response | None:
        """The response, or None: the normal path answers."""
        token = bearer_token(request.headers)
        if token is None or not self._verdicts or not _plain_json_post(request):
            return None
        try:
            payload = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return None
        if not isinstance(payload, dict) or payload.keys() - REQUEST_KEYS:
            return None
        query, variables = payload.get("query"), payload.get("variables")
        operation_name = payload.get("operationName")
        if (
            not isinstance(query, str)
            or not isinstance(variables, dict | None)
            or not isinstance(operation_name, str | None)
        ):
            return None
        prepared = self._prepare(query, operation_name, variables)
        if prepared is None:
            return None
        text = await self._fetch(request, db, token, prepared)
        if text is None:
            return None
        extensions = {"cost": {"requested": prepared.cost, "budget": self.settings.max_query_cost}}
        # As the view encodes a compiled answer: PostgreSQL's JSON text is not parsed again.
        body = orjson.dumps({"data": orjson.Fragment(text), "extensions": extensions})
        media_type = response_media_type(request.headers.get("accept"))
        response = Response(body, media_type=media_type)
        # X-Request-Id: ObserveRequests (api/observe.py) answers with the request's id.
        response.headers[PATH_HEADER] = "compiled"
        READS_BY_PATH["compiled"] += 1
        READS.labels("compiled").inc()
        note_request(operation=self._operation_name(query, operation_name), read_path="compiled")
        FAST_READS["answered"] += 1
        log.debug("read", extra={"read_path": "compiled", "operation": operation_name})
        return response

    def _operation_name(self, query: str, operation_name: str | None) -> str | None:
        document = self._verdicts.get((query, operation_name))
        operation = None if document is None else get_operation_ast(document, operation_name)
        return operation.name.value if operation is not None and operation.name else None

    def _prepare(
        self, query: str, operation_name: str | None, variables: dict[str, Any] | None
    ) -> Prepared | None:
        """The plan and cost, when the document has a verdict and the request's variables
        pass what the guards check; None for the normal path."""
        document = self._verdicts.get((query, operation_name))
        if document is None or self.schema is None:
            return None
        self._verdicts.move_to_end((query, operation_name))
        if check_variables(variables or {}, self.settings.max_input_list_length) is not None:
            return None
        key = (query, operation_name, orjson.dumps(variables, option=orjson.OPT_SORT_KEYS))
        if key in self._prepared:
            self._prepared.move_to_end(key)
            prepared = self._prepared[key]
        else:
            cost = operation_cost(self.schema, document, operation_name, variables, self.limits)
            plan = self.compiler.plan(self.schema, document, operation_name, variables)
            prepared = None if plan is None else Prepared(plan, plan.signature(), cost)
            _put(self._prepared, key, prepared)
        if prepared is None or prepared.cost > self.settings.max_query_cost:
            return None
        return prepared

    async def _fetch(
        self, request: Request, db: Database, token: str, prepared: Prepared
    ) -> str | None:
        costly = prepared.cost >= self.settings.costly_query_cost
        principal = None
        try:
            async with db.bare() as connection:
                # A costly read runs only through the gate: not in the first statement.
                principal, text, failed = await self._authenticate(
                    request, token, connection, None if costly else prepared
                )
                if principal is None or failed:
                    return None
                if not costly:
                    if text is None:
                        text = await self._read(connection, prepared, principal)
                    return text
            # A costly read waits for the gate as on the normal path, holding no connection.
            try:
                async with asyncio.timeout(self.settings.costly_query_wait_seconds):
                    await self.costly_gate.acquire()
            except TimeoutError:
                request.state.costly_wait_over = True
                return None
            try:
                async with db.bare() as connection:
                    return await self._read(connection, prepared, principal)
            finally:
                self.costly_gate.release()
        except Exception:
            if principal is None:
                raise  # as on the normal path (e.g. a database out of reach: 503)
            log.exception("compiled read failed; answered by the normal path")
            return None

    async def _authenticate(
        self,
        request: Request,
        token: str,
        connection: asyncpg.Connection,
        prepared: Prepared | None,
    ) -> tuple[Principal | None, str | None, bool]:
        """The caller, with a token taken from its rate-limit bucket (RateLimited becomes the
        view's 429), and ``prepared``'s answer when the token's principal is the one it had
        before (api/fast_statement.py): one statement. A database failure here is the normal
        path's too (e.g. out of reach: 503). Without a principal, the normal path takes the
        anonymous caller's limit. The flag: the read failed (logged; the normal path answers)."""
        digest = token_digest(token)
        known = self._principals.get(digest)
        read = None
        if prepared is not None and known is not None:
            statement, arguments = self.compiler.bind(prepared.plan, known, prepared.signature)
            read = Read(statement.sql, arguments, known.tenant_id)
        per_minute = self.settings.rate_limit_per_minute
        impersonating = token.startswith(IMPERSONATION_PREFIX)
        failed = False
        try:
            found = await authenticate_and_read(
                connection,
                digest,
                utcnow(),
                impersonating=impersonating,
                read=read,
                per_minute=per_minute,
            )
        except (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError):
            raise
        except Exception:
            if read is None:
                raise
            # The statement failed whole (nothing taken): the lookup and limit alone, and the
            # normal path answers, as when a compiled read fails there.
            log.exception("compiled read failed; answered by the normal path")
            failed = True
            found = await authenticate_and_read(
                connection,
                digest,
                utcnow(),
                impersonating=impersonating,
                read=None,
                per_minute=per_minute,
            )
        principal = found.principal
        # The normal path takes these answers instead of asking again.
        request.state.authenticated = (token, principal)
        if principal is None:
            return None, None, failed
        request.state.rate_limited = True
        if found.taken is not None:
            check_taken(found.taken, per_minute)
        note_request(tenant=str(principal.tenant_id), user=str(principal.user_id))
        _put(self._principals, digest, principal)
        return principal, found.data if principal == known else None, failed

    async def _read(
        self, connection: asyncpg.Connection, prepared: Prepared, principal: Principal
    ) -> str:
        statement, arguments = self.compiler.bind(prepared.plan, principal, prepared.signature)
        text: str = await connection.fetchval(statement.sql, *arguments)
        return text


def _plain_json_post(request: Request) -> bool:
    """A POST of one JSON request, answered as one JSON response (no streaming)."""
    if request.method != "POST":
        return False
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    accept = request.headers.get("accept", "")
    return (
        content_type == "application/json"
        and "multipart" not in accept
        and ("event-stream" not in accept)
    )


def _put(cache: "OrderedDict[Any, Any]", key: Hashable, value: object) -> None:
    cache[key] = value
    if len(cache) > CACHE_SIZE:
        cache.popitem(last=False)
