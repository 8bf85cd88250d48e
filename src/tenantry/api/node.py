"""``node(id)`` / ``nodes(ids)``: any global id, through the caller's scope."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from strawberry import relay

from tenantry.api.context import Context
from tenantry.api.relay import UNKNOWN_ID, decode_id
from tenantry.api.types.account import to_gql_account, to_gql_posting
from tenantry.api.types.catalog import to_gql_operator, to_gql_tariff
from tenantry.api.types.customer import to_gql_customer, to_gql_endpoint
from tenantry.api.types.fee_run import to_gql_fee_run
from tenantry.api.types.invoice import to_gql_invoice
from tenantry.api.types.partner import to_gql_billing_entity, to_gql_plan
from tenantry.api.types.report import to_gql_report
from tenantry.api.types.tariff_version import to_gql_tariff_version
from tenantry.api.types.tenant import to_gql_tenant
from tenantry.api.types.user import to_gql_api_token, to_gql_user


def _by_id(
    loader: Callable[[Context], Any], convert: Callable[[Any], relay.Node]
) -> Callable[[Context, int], Awaitable[relay.Node | None]]:
    async def resolve(context: Context, pk: int) -> relay.Node | None:
        row = await loader(context).load(pk)
        return None if row is None else convert(row)

    return resolve


# One entry per Node type: how to load it, scoped, by database id.
NODE_RESOLVERS: dict[str, Callable[[Context, int], Awaitable[relay.Node | None]]] = {
    "Tenant": _by_id(lambda c: c.loaders.tenant_by_id, to_gql_tenant),
    "User": _by_id(lambda c: c.loaders.user_by_id, to_gql_user),
    "ApiToken": _by_id(lambda c: c.loaders.api_token_by_id, to_gql_api_token),
    "Tariff": _by_id(lambda c: c.loaders.tariff_by_id, to_gql_tariff),
    "SponsorOperator": _by_id(lambda c: c.loaders.sponsor_operator_by_id, to_gql_operator),
    "Customer": _by_id(lambda c: c.loaders.customer_by_id, to_gql_customer),
    "Endpoint": _by_id(lambda c: c.loaders.endpoint_by_id, to_gql_endpoint),
    "Account": _by_id(lambda c: c.loaders.account_by_id, to_gql_account),
    "AccountTransaction": _by_id(lambda c: c.loaders.posting_by_id, to_gql_posting),
    "UsageReport": _by_id(lambda c: c.loaders.report_by_id, to_gql_report),
    "Plan": _by_id(lambda c: c.loaders.plan_by_id, to_gql_plan),
    "BillingEntity": _by_id(lambda c: c.loaders.billing_entity_by_id, to_gql_billing_entity),
    "Invoice": _by_id(lambda c: c.loaders.invoice_by_id, to_gql_invoice),
    "FeeRun": _by_id(lambda c: c.loaders.fee_run_by_id, to_gql_fee_run),
    "TariffVersion": _by_id(lambda c: c.loaders.tariff_version_by_id, to_gql_tariff_version),
}


async def resolve_node(context: Context, global_id: str) -> relay.Node | None:
    try:
        type_name = relay.GlobalID.from_id(global_id).type_name
    except (relay.GlobalIDValueError, ValueError):
        return None
    resolver = NODE_RESOLVERS.get(type_name)
    pk = decode_id(global_id, type_name)
    if resolver is None or pk == UNKNOWN_ID:
        return None
    return await resolver(context, pk)


async def resolve_nodes(context: Context, global_ids: list[str]) -> list[relay.Node | None]:
    return list(await asyncio.gather(*(resolve_node(context, gid) for gid in global_ids)))
