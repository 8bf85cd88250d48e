"""The GraphQL schema: queries, mutations, and the schema object with its extensions."""

import asyncio
from typing import Annotated

import strawberry
from graphql import GraphQLError
from strawberry import relay
from strawberry.types import ExecutionContext

from tenantry.api.compiler.executor import ReadCompiler
from tenantry.api.compiler.extension import compiled_reads
from tenantry.api.errors import ClientError, log_unexpected
from tenantry.api.fast_reads import FastReads
from tenantry.api.fast_variables import executor_with
from tenantry.api.info import Info
from tenantry.api.limits import schema_extensions
from tenantry.api.mutations.catalog import CatalogMutations
from tenantry.api.mutations.customers import CustomerMutations
from tenantry.api.mutations.fees import FeeMutations
from tenantry.api.mutations.impersonation import ImpersonationMutations
from tenantry.api.mutations.invoices import InvoiceMutations
from tenantry.api.mutations.ledger import LedgerMutations
from tenantry.api.mutations.partners import PartnerMutations
from tenantry.api.mutations.reports import ReportMutations
from tenantry.api.mutations.tenants import TenantMutations
from tenantry.api.mutations.usage import UsageMutations
from tenantry.api.mutations.usage_records import VARIABLE_PARSERS
from tenantry.api.mutations.users import UserMutations
from tenantry.api.node import resolve_node, resolve_nodes
from tenantry.api.observe import NoteOperation
from tenantry.api.relay import (
    AfterArg,
    BeforeArg,
    Connection,
    FirstArg,
    LastArg,
    build_connection,
    decode_id,
    page_request,
)
from tenantry.api.request_errors import give_parse_codes
from tenantry.api.scalars import SCALAR_OVERRIDES
from tenantry.api.subscriptions import Subscription
from tenantry.api.types.catalog import SponsorOperatorType, to_gql_operator
from tenantry.api.types.partner import BillingEntityType, to_gql_billing_entity
from tenantry.api.types.tenant import TenantType, to_gql_tenant
from tenantry.api.types.user import Viewer
from tenantry.operators import repository as operators_repo
from tenantry.partners import repository as partners_repo
from tenantry.settings import Settings
from tenantry.tenants import repository as tenants_repo
from tenantry.tracing import OperationTracing, tracing_enabled


@strawberry.type(
    description="What you can read, as the tenant your token (or impersonation) acts as: that "
    "tenant and what is below it."
)
class Query:
    @strawberry.field(description="Any object by global id; null when absent or not visible.")
    async def node(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="A global id.")],
    ) -> relay.Node | None:
        return await resolve_node(info.context, id)

    @strawberry.field(
        description="Objects by global ids, in order; null where absent or not visible."
    )
    async def nodes(
        self,
        info: Info,
        ids: Annotated[
            list[strawberry.ID],
            strawberry.argument(
                description="Global ids, at most the maximum page size (100 by default)."
            ),
        ],
    ) -> list[relay.Node | None]:
        limit = info.context.settings.max_page_size
        if len(ids) > limit:
            raise ClientError(f"Ask for at most {limit} ids at once.")
        return await resolve_nodes(info.context, list(ids))

    @strawberry.field(description="Who this request acts as.")
    def viewer(self, info: Info) -> Viewer:
        actor = info.context.actor
        return Viewer(role=actor.role, _principal=actor)

    @strawberry.field(description="A tenant by id or moniker; null when absent or not visible.")
    async def tenant(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Its global id; give this or moniker, not both."),
        ] = None,
        moniker: Annotated[
            str | None,
            strawberry.argument(description="Its moniker; give this or id, not both."),
        ] = None,
    ) -> TenantType | None:
        if (id is None) == (moniker is None):
            raise ClientError("Give exactly one of 'id' or 'moniker'.")
        context = info.context
        if moniker is not None:
            async with context.db.read() as session:
                row = await tenants_repo.get_by_moniker(session, context.actor.scope, moniker)
        else:
            row = await context.loaders.tenant_by_id.load(decode_id(str(id), "Tenant"))
        return None if row is None else to_gql_tenant(row)

    @strawberry.field(description="Every tenant you can see, oldest first.")
    async def tenants(
        self,
        info: Info,
        *,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
        search: Annotated[
            str | None,
            strawberry.argument(
                description="Only tenants whose name or moniker contains this text, letter "
                "case aside (% and _ are plain characters); null or empty: all."
            ),
        ] = None,
    ) -> Connection[TenantType]:
        context = info.context
        scope = context.actor.scope
        request = page_request(context.settings, first, after, last, before)
        async with context.db.read() as session:
            page = await tenants_repo.visible_page(session, scope, request, search)

        async def count() -> int:
            async with context.db.read() as session:
                return await tenants_repo.visible_count(session, scope, search)

        return build_connection(page, to_gql_tenant, count)

    @strawberry.field(description="The platform's legal entities that issue invoices.")
    async def billing_entities(self, info: Info) -> list[BillingEntityType]:
        async with info.context.db.read() as session:
            rows = await partners_repo.billing_entities(session)
        return [to_gql_billing_entity(row) for row in rows]

    @strawberry.field(description="The platform's sponsor operator catalog.")
    async def sponsor_operators(self, info: Info) -> list[SponsorOperatorType]:
        async with info.context.db.read() as session:
            rows = await operators_repo.all_operators(session)
        return [to_gql_operator(row) for row in rows]


@strawberry.type(
    description="Changes (and a preview). Each takes one `input` and answers a payload whose "
    "`userErrors` say why it was refused; nothing is written then. All but requestUsageReport "
    "need the ADMIN role (a VIEWER gets FORBIDDEN). A read-only impersonation may only preview "
    "(previewTariff, a moveTenant dry run) and end itself; anything else answers READ_ONLY."
)
class Mutation(
    TenantMutations,
    UserMutations,
    CatalogMutations,
    CustomerMutations,
    LedgerMutations,
    UsageMutations,
    ReportMutations,
    PartnerMutations,
    InvoiceMutations,
    ImpersonationMutations,
    FeeMutations,
):
    pass


class TenantrySchema(strawberry.Schema):
    # Set by build_schema: the HTTP view answers documents the compiled path knows with it.
    fast_reads: FastReads | None = None

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        give_parse_codes(errors)
        # Expected errors (validation, client errors) are the client's business; log the rest.
        log_unexpected(errors, execution_context.context if execution_context else None)


def build_schema(settings: Settings) -> strawberry.Schema:
    compiler = ReadCompiler(settings)
    costly_gate = asyncio.Semaphore(settings.costly_query_concurrency)
    fast_reads = FastReads(settings, compiler, costly_gate)
    schema = TenantrySchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        # The compiled read path comes last: after every guard and limit.
        extensions=[
            NoteOperation,
            *([OperationTracing] if tracing_enabled() else []),
            *schema_extensions(settings, costly_gate),
            compiled_reads(compiler, fast_reads.remember),
        ],
        scalar_overrides=SCALAR_OVERRIDES,
        execution_context_class=executor_with(VARIABLE_PARSERS),
    )
    schema.fast_reads = fast_reads
    return schema
