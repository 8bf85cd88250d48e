"""The compiled read path answers exactly as the resolver path (the reference) does.

A property-based differential test: random trees (depths, widths, currencies, balances,
limits, a partner with managed tenants with and without partner access), random
selections over the compiled fields (aliases, fragments, @skip/@include,
first/after/last/before, __typename) and several callers; both paths must give the same JSON.
"""

import contextlib
import dataclasses
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import procrastinate
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from strawberry import relay

from tenantry.api.compiler.extension import PATH_HEADER
from tenantry.api.fast_reads import FAST_READS
from tenantry.app import create_app
from tenantry.audit.models import AuditEvent
from tenantry.auth.models import Role, User
from tenantry.core.pagination import encode_cursor
from tenantry.customers import repository as customers_repo
from tenantry.customers import service as customers
from tenantry.customers.models import Customer, Endpoint
from tenantry.customers.service import NewCustomer
from tenantry.db.engine import Database
from tenantry.ledger import repository as ledger_repo
from tenantry.ledger import service as ledger
from tenantry.ledger.models import Account, OwnerKind, Posting, SystemPurpose, TransactionKind
from tenantry.ledger.service import Leg
from tenantry.operators import service as operators
from tenantry.operators.models import SponsorOperator, SponsorOperatorGrant
from tenantry.partners.models import BillingEntity, Invoice, InvoiceLine, Plan, PlanPeriod
from tenantry.reports.models import ReportStatus, UsageReport
from tenantry.settings import Settings
from tenantry.tariffs.models import Tariff, TariffRate, TariffVersion, UsageKind
from tenantry.tenants.models import SubscriptionType, Tenant
from tenantry.usage import repository as usage_repo
from tenantry.usage.models import UsageRecord
from tenantry.usage.rollups import add_to_rollups
from tests.fixtures.database import TABLES
from tests.fixtures.factories import (
    Actor,
    create_actor,
    create_platform,
    create_tenant,
    platform_principal,
)
from tests.fixtures.graphql import GraphQLClient
from tests.fixtures.money import create_tariff, next_iccid, per_mb, set_tenant
from tests.fixtures.world import World
from tests.ids import gid, pk_of


@dataclass(frozen=True)
class Paths:
    compiled: GraphQLClient
    resolver: GraphQLClient

    async def both(
        self, query: str, variables: dict[str, Any], token: str
    ) -> tuple[str | None, Any, Any]:
        """The compiled path's answer (and which path gave it), and the resolver path's.

        The compiled side is asked twice: a document answered compiled once is answered by
        the fast path (api/fast_reads.py) the next time, which must say the same."""
        compiled = await _outcome(self.compiled, query, variables, token)
        assert await _outcome(self.compiled, query, variables, token) == compiled
        resolver = await _outcome(self.resolver, query, variables, token)
        # No path at all: refused before execution (validation, limits), on both sides.
        assert resolver[0] in ("resolver", None)
        return compiled[0], compiled[1], resolver[1]


async def _outcome(
    gql: GraphQLClient, query: str, variables: dict[str, Any], token: str
) -> tuple[str | None, Any]:
    response = await gql.post(query, variables, token)
    return response.headers.get(PATH_HEADER), response.json()


@contextlib.asynccontextmanager
async def path_clients(
    db: Database, database_url: str, jobs: procrastinate.App
) -> AsyncIterator[tuple[GraphQLClient, GraphQLClient]]:
    """Clients of two apps on one database: the compiled read path's, then the resolver's."""
    clients = []
    for compiled in (True, False):
        app = create_app(
            Settings(database_url=database_url, compiled_reads=compiled), db=db, jobs=jobs
        )
        transport = httpx.ASGITransport(app=app)
        clients.append(httpx.AsyncClient(transport=transport, base_url="http://testserver"))
    try:
        yield GraphQLClient(clients[0]), GraphQLClient(clients[1])
    finally:
        for client in clients:
            await client.aclose()


@pytest.fixture
async def paths(db: Database, database_url: str, jobs: procrastinate.App) -> AsyncIterator[Paths]:
    async with path_clients(db, database_url, jobs) as (compiled, resolver):
        yield Paths(compiled, resolver)


# --- random trees -------------------------------------------------------------------

CURRENCIES = ("EUR", "JPY", "BHD")
amounts = st.none() | st.decimals(
    min_value=Decimal("-50"), max_value=Decimal("500"), places=6, allow_nan=False
)


@dataclass(frozen=True)
class TenantSpec:
    parent: int  # index into the tenants made before it (0: the root)
    currency: str
    balance: Decimal | None
    credit_limit: Decimal
    threshold: Decimal | None
    endpoints: list[int]  # one customer per entry, with that many endpoints
    # Transfers onto the tenant's account (even) or its first customer's (odd): (amount,
    # kind, with description, reference, actor and impersonated tenant?).
    transfers: tuple[tuple[Decimal, TransactionKind, bool], ...] = ()
    # Usage of each of its endpoints: (kind, quantity, day of January 2026).
    usage: tuple[tuple[UsageKind, Decimal, int], ...] = ()
    # Sponsor operators granted directly (indices into OPERATORS), and whether it inherits.
    grants: tuple[int, ...] = ()
    inherit: bool = True
    # Usage reports: (status, progress, byte size).
    reports: tuple[tuple[ReportStatus, float, int | None], ...] = ()
    # Audit events in its log.
    events: int = 0


TRANSFER_KINDS = [TransactionKind.TOP_UP, TransactionKind.CREDIT, TransactionKind.DEBIT]
transfers = st.tuples(
    st.decimals(min_value=Decimal("-20"), max_value=Decimal("50"), places=2),
    st.sampled_from(TRANSFER_KINDS),
    st.booleans(),
)
usages = st.tuples(
    st.sampled_from(list(UsageKind)),
    st.decimals(min_value=Decimal(0), max_value=Decimal("99.5"), places=3),
    st.integers(1, 4),
)
# Names that sort differently by code point and by a linguistic collation.
OPERATORS = ["Zeta", "alpha", "Émile", "beta", "Ω-net", "Alpha 2"]
# Floats as the JSON encoder writes them: whole, tiny (positional and exponent), shortest.
PROGRESS = [0.0, 1.0, 0.5, 0.00005, 1.5e-06, 1 / 3, 0.1 + 0.2, 0.999]
reports = st.tuples(
    st.sampled_from(list(ReportStatus)),
    st.sampled_from(PROGRESS),
    st.none() | st.sampled_from([0, 1, 12_345, 2**40 + 1]),
)


@dataclass(frozen=True)
class TreeSpec:
    tenants: list[TenantSpec]
    partner: int | None  # index of the tenant made a partner, with managed tenants
    managed_access: list[bool]  # one managed tenant per entry: partner access on?


tenant_specs = st.builds(
    TenantSpec,
    st.integers(0, 20),
    st.sampled_from(CURRENCIES),
    amounts,
    st.sampled_from([Decimal(0), Decimal("10"), Decimal("100.5")]),
    st.none() | st.sampled_from([Decimal("5"), Decimal("1000")]),
    st.lists(st.integers(0, 3), max_size=3),
    st.lists(transfers, max_size=3).map(tuple),
    st.lists(usages, max_size=3).map(tuple),
    st.lists(st.integers(0, len(OPERATORS) - 1), max_size=3, unique=True).map(tuple),
    st.booleans(),
    st.lists(reports, max_size=3).map(tuple),
    st.integers(0, 3),
)
trees = st.builds(
    TreeSpec,
    st.lists(tenant_specs, min_size=1, max_size=6),
    st.none() | st.integers(1, 6),
    st.lists(st.booleans(), max_size=2),
)


@dataclass
class Built:
    tenants: list[Tenant]
    actors: list[Actor]  # the callers: root admin, admins and viewers, partner admin
    accounts: list[int] = field(default_factory=list)  # every account's id
    customers: list[int] = field(default_factory=list)
    endpoints: list[int] = field(default_factory=list)
    users: list[int] = field(default_factory=list)
    # Ids of the other node types, by type name.
    ids: dict[str, list[int]] = field(default_factory=dict)


_monikers = itertools.count(1)


async def _fund(db: Database, root: Tenant, tenant: Tenant, amount: Decimal) -> None:
    """Moves ``amount`` (any sign, six places like rated usage) onto the tenant's account."""
    async with db.write() as session:
        account = await ledger_repo.tenant_account(session, tenant.id)
        assert account is not None
        funding = await ledger_repo.system_account(
            session,
            root_tenant_id=root.id,
            purpose=SystemPurpose.FUNDING,
            currency=tenant.currency,
        )
        kind = TransactionKind.TOP_UP
        await ledger.post_transfer(
            session,
            tenant_id=root.id,
            kind=kind,
            legs=[Leg(account.id, amount, kind), Leg(funding.id, -amount, kind)],
        )


async def _customers(
    db: Database, root: Tenant, root_admin: Actor, tenant: Tenant, spec: TenantSpec
) -> None:
    """Customers (with their accounts, through the service) and their endpoints."""
    principal = platform_principal(root, root_admin)
    async with db.write() as session:
        operator = await session.scalar(sa.select(SponsorOperator).limit(1))
        if operator is None:
            operator = await operators.create_operator(session, principal, "Operator")
        for n, endpoints in enumerate(spec.endpoints):
            customer = await customers.create_customer(
                session,
                principal,
                NewCustomer(tenant.id, f"C{n} {tenant.moniker}", SubscriptionType.INTEGRATED),
            )
            for _ in range(endpoints):
                iccid = next_iccid()
                await customers_repo.add(
                    session,
                    Endpoint(
                        tenant_id=tenant.id,
                        customer_id=customer.id,
                        name=f"SIM {iccid[-4:]}",
                        iccid=iccid,
                        sponsor_operator_id=operator.id,
                    ),
                )


async def _history(
    db: Database, root: Tenant, root_admin: Actor, tenant: Tenant, spec: TenantSpec
) -> None:
    """Transfers onto the tenant's and its first customer's accounts (the system side is
    never read), some with a description, a reference, an actor and an impersonation."""
    async with db.write() as session:
        own = await ledger_repo.tenant_account(session, tenant.id)
        assert own is not None
        customer = await session.scalar(
            sa.select(Customer.account_id).where(Customer.tenant_id == tenant.id).limit(1)
        )
        funding = await ledger_repo.system_account(
            session, root_tenant_id=root.id, purpose=SystemPurpose.FUNDING, currency=own.currency
        )
        for n, (amount, kind, detailed) in enumerate(spec.transfers):
            account = own.id if n % 2 == 0 or customer is None else customer
            await ledger.post_transfer(
                session,
                tenant_id=root.id,
                kind=kind,
                legs=[Leg(account, amount, kind), Leg(funding.id, -amount, kind)],
                description=f"transfer {n}" if detailed else None,
                reference=f"ref-{n}" if detailed else None,
                actor_user_id=root_admin.user.id if detailed else None,
                impersonated_tenant_id=tenant.id if detailed else None,
            )


_events = itertools.count(1)


async def _usage(db: Database, tenant: Tenant, spec: TenantSpec) -> None:
    """Usage records of each of the tenant's endpoints, charged at every level above it."""
    async with db.write() as session:
        endpoints = (
            await session.execute(
                sa.select(Endpoint.id, Endpoint.customer_id).where(Endpoint.tenant_id == tenant.id)
            )
        ).all()
        records = [
            UsageRecord(
                tenant_id=tenant.id,
                customer_id=customer_id,
                endpoint_id=endpoint_id,
                kind=kind,
                quantity=quantity,
                depth=tenant.depth,
                charges=[
                    quantity * Decimal("0.01") * (level + 1) for level in range(tenant.depth + 1)
                ],
                occurred_at=datetime(2026, 1, day, 12, tzinfo=UTC),
                event_id=f"e{next(_events)}",
            )
            for endpoint_id, customer_id in endpoints
            for kind, quantity, day in spec.usage
        ]
        if records:
            # As ingestion stores them: in their month's partition, and in the daily rollups.
            await usage_repo.ensure_partitions(session, [r.occurred_at for r in records])
            new_ids = await usage_repo.insert_records(session, records)
            occurred = [r.occurred_at for r in records]
            await add_to_rollups(session, list(new_ids.values()), (min(occurred), max(occurred)))


async def _limits(db: Database, tenant: Tenant, spec: TenantSpec) -> None:
    async with db.write() as session:
        await session.execute(
            sa.update(Account)
            .where(Account.tenant_id == tenant.id, Account.owner_kind == OwnerKind.TENANT)
            .values(credit_limit=spec.credit_limit, low_balance_threshold=spec.threshold)
        )


async def _workspace(db: Database, root_admin: Actor, tenant: Tenant, spec: TenantSpec) -> None:
    """Its sponsor grants and inheritance, usage reports and audit log."""
    async with db.write() as session:
        operator_ids = list(
            await session.scalars(sa.select(SponsorOperator.id).order_by(SponsorOperator.id))
        )
        for n in spec.grants:
            session.add(
                SponsorOperatorGrant(tenant_id=tenant.id, sponsor_operator_id=operator_ids[n])
            )
        await session.execute(
            sa.update(Tenant)
            .where(Tenant.id == tenant.id)
            .values(inherit_sponsor_operators=spec.inherit)
        )
        for n, (status, progress, size) in enumerate(spec.reports):
            finished = status in (ReportStatus.SUCCEEDED, ReportStatus.FAILED)
            session.add(
                UsageReport(
                    tenant_id=tenant.id,
                    requested_by_user_id=root_admin.user.id,
                    period_start=datetime(2026, 1, 1, tzinfo=UTC),
                    period_end=datetime(2026, 1, 2, 12, 30, 0, 250, tzinfo=UTC),
                    include_descendants=n % 2 == 0,
                    status=status,
                    progress=progress,
                    # Rows are an int, bytes a bigint.
                    row_count=size % 2**31 if finished and size is not None else None,
                    byte_size=size,
                    error="It broke." if status is ReportStatus.FAILED else None,
                    completed_at=datetime(2026, 1, 3, 8, tzinfo=UTC) if finished else None,
                )
            )
        for n in range(spec.events):
            target = [("Tenant", tenant.id), ("Posting", 1), (None, None)][n % 3]
            session.add(
                AuditEvent(
                    tenant_id=tenant.id,
                    actor_user_id=root_admin.user.id if n % 2 == 0 else None,
                    impersonated_tenant_id=tenant.id if n == 1 else None,
                    action=f"action{n}",
                    target_type=target[0],
                    target_id=target[1],
                    details='{"n": 1}' if n % 2 else None,
                )
            )


async def _invoices(db: Database, partner: Tenant) -> None:
    """Two invoices of the partner: lines for each managed tenant's plans (one line with
    neither), the first with the partner's latest posting as its transaction."""
    async with db.write() as session:
        periods = list(
            (
                await session.execute(
                    sa.select(PlanPeriod.managed_tenant_id, PlanPeriod.plan_id).where(
                        PlanPeriod.tenant_id == partner.id
                    )
                )
            ).all()
        )
        entity = await session.scalar(
            sa.select(Tenant.billing_entity_id).where(Tenant.id == partner.id)
        )
        posting = await session.scalar(
            sa.select(sa.func.max(Posting.id)).where(Posting.tenant_id == partner.id)
        )
        assert entity is not None
        for n in range(2):
            invoice = Invoice(
                tenant_id=partner.id,
                billing_entity_id=entity,
                period_start=datetime(2025, 11 + n, 1, tzinfo=UTC),
                period_end=datetime(2025, 12 + n, 1, tzinfo=UTC)
                if n == 0
                else datetime(2026, 1, 1, tzinfo=UTC),
                currency=partner.currency,
                total=Decimal("12.345"),
                number=f"X-{partner.id}-{n}",
                posting_id=posting if n == 0 else None,
            )
            session.add(invoice)
            await session.flush()
            lines = [*periods, (None, None)]
            for managed, plan in lines:
                session.add(
                    InvoiceLine(
                        invoice_id=invoice.id,
                        tenant_id=partner.id,
                        managed_tenant_id=managed,
                        plan_id=plan,
                        description=f"line {managed}",
                        period_start=invoice.period_start,
                        period_end=invoice.period_end,
                        amount=Decimal("1.5"),
                    )
                )


async def _revisions(db: Database, tariff_id: str, actor: Actor) -> None:
    """Versions of the tariff before and after the one in force now (with other rates)."""
    pk = pk_of(tariff_id)
    async with db.write() as session:
        tariff = await session.get_one(Tariff, pk)
        for when, fee in (
            (datetime(2020, 1, 1, tzinfo=UTC), None),
            (datetime(2100, 1, 1, 0, 0, 0, 5, tzinfo=UTC), Decimal("0.5")),
        ):
            version = TariffVersion(
                tariff_id=pk,
                tenant_id=tariff.tenant_id,
                effective_from=when,
                monthly_fee_per_endpoint=fee,
                actor_user_id=actor.user.id,
            )
            session.add(version)
            await session.flush()
            for kind, price in ((UsageKind.SMS, "0.000400"), (UsageKind.DATA, "100")):
                session.add(
                    TariffRate(
                        version_id=version.id,
                        kind=kind,
                        tariff_id=pk,
                        tenant_id=tariff.tenant_id,
                        unit_price=Decimal(price),
                        increment=Decimal("1.000"),
                        minimum=Decimal("60") if kind is UsageKind.SMS else Decimal(0),
                    )
                )


async def _mutate(gql: GraphQLClient, token: str, query: str, **variables: Any) -> Any:
    data = await gql.data(query, variables, token=token)
    (payload,) = data.values()
    assert payload.get("userErrors", []) == [], payload
    return payload


async def _make_partner(
    db: Database, gql: GraphQLClient, root: Tenant, root_admin: Actor, partner: Tenant
) -> Actor:
    entity = await _mutate(
        gql,
        root_admin.token,
        'mutation { createBillingEntity(input: {name: "E", country: "GB"}) { billingEntity { id } userErrors { code } } }',
    )
    await _mutate(
        gql,
        root_admin.token,
        "mutation($t: ID!, $e: ID!) { setPartner(input: {tenantId: $t, isPartner: true, billingEntityId: $e}) { tenant { id } userErrors { code } } }",
        t=gid("Tenant", partner.id),
        e=entity["billingEntity"]["id"],
    )
    return await create_actor(db, root, root_admin, partner)


async def _make_managed(
    db: Database, gql: GraphQLClient, built: Built, partner: Tenant, admin: Actor, access: bool
) -> None:
    root, root_admin = built.tenants[0], built.actors[0]
    plans = {}
    for kind in ("TENANT", "SUPPORT"):
        plan = await _mutate(
            gql,
            root_admin.token,
            'mutation($p: ID!, $k: PlanKind!, $n: String!) { createPlan(input: {partnerId: $p, kind: $k, name: $n, monthlyPrice: "10"}) { plan { id } userErrors { code } } }',
            p=gid("Tenant", partner.id),
            k=kind,
            n=f"{kind}-{next(_monikers)}",
        )
        plans[kind] = plan["plan"]["id"]
    managed = await _mutate(
        gql,
        admin.token,
        "mutation($i: CreateManagedTenantInput!) { createManagedTenant(input: $i) { tenant { id } userErrors { code } } }",
        i={
            "partnerId": gid("Tenant", partner.id),
            "displayName": "Managed",
            "moniker": f"managed-{next(_monikers)}",
            "country": "DE",
            "tenantPlanId": plans["TENANT"],
            "supportPlanId": plans["SUPPORT"],
        },
    )
    async with db.read() as session:
        row = await session.get_one(Tenant, pk_of(managed["tenant"]["id"]))
    managed_admin = await create_actor(db, root, root_admin, row)
    if access:
        await _mutate(
            gql,
            managed_admin.token,
            "mutation($id: ID!) { updateTenant(input: {id: $id, partnerAccess: true}) { tenant { id } userErrors { code } } }",
            id=gid("Tenant", row.id),
        )
    # Its workspace: customers, usage and a transfer the partner sees only with access.
    workspace = TenantSpec(
        0,
        row.currency,
        None,
        Decimal(0),
        None,
        [2],
        ((Decimal("3"), TransactionKind.TOP_UP, True),),
        ((UsageKind.DATA, Decimal("7.5"), 2),),
    )
    await _customers(db, root, root_admin, row, workspace)
    await _history(db, root, root_admin, row, workspace)
    await _usage(db, row, workspace)
    built.tenants.append(row)
    built.actors.append(managed_admin)
    # A sub-tenant under the managed tenant: in its scope, and in its partner's with access.
    child = await create_tenant(db, root, root_admin, row, moniker=f"mc-{next(_monikers)}")
    built.tenants.append(child)


async def build_tree(db: Database, gql: GraphQLClient, spec: TreeSpec) -> Built:
    async with db.write() as session:
        await session.execute(sa.text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    root, root_admin = await create_platform(db)
    built = Built([root], [root_admin])
    async with db.write() as session:
        session.add_all(SponsorOperator(tenant_id=root.id, name=name) for name in OPERATORS)
    for i, t in enumerate(spec.tenants):
        parent = built.tenants[t.parent % len(built.tenants)]
        tenant = await create_tenant(
            db, root, root_admin, parent, moniker=f"t{i}-{next(_monikers)}", currency=t.currency
        )
        built.tenants.append(tenant)
        if t.balance is not None:
            await _fund(db, root, tenant, t.balance)
        await _limits(db, tenant, t)
        await _customers(db, root, root_admin, tenant, t)
        await _history(db, root, root_admin, tenant, t)
        await _usage(db, tenant, t)
        await _workspace(db, root_admin, tenant, t)
        role = Role.ADMIN if i % 2 == 0 else Role.VIEWER
        built.actors.append(await create_actor(db, root, root_admin, tenant, role))
    if spec.partner is not None and spec.partner < len(built.tenants):
        partner = built.tenants[spec.partner]
        admin = await _make_partner(db, gql, root, root_admin, partner)
        built.actors.append(admin)
        for access in spec.managed_access:
            await _make_managed(db, gql, built, partner, admin, access)
        await _invoices(db, partner)
    async with db.read() as session:
        built.accounts = list((await session.scalars(sa.select(Account.id))).all())
        built.customers = list((await session.scalars(sa.select(Customer.id))).all())
        built.endpoints = list((await session.scalars(sa.select(Endpoint.id))).all())
        built.users = list((await session.scalars(sa.select(User.id))).all())
        for name, model in NODE_MODELS.items():
            built.ids[name] = list((await session.scalars(sa.select(model.id))).all())
    return built


# Node types with no list of their own in ``Built``.
NODE_MODELS: dict[str, Any] = {
    "AccountTransaction": Posting,
    "UsageReport": UsageReport,
    "Invoice": Invoice,
    "Plan": Plan,
    "BillingEntity": BillingEntity,
    "SponsorOperator": SponsorOperator,
    "TariffVersion": TariffVersion,
}


def _type_of_id(global_id: str) -> str:
    """ "Type:pk" of a global id that names a compiled node, else "?"."""
    try:
        decoded = relay.GlobalID.from_id(global_id)
    except (relay.GlobalIDValueError, ValueError):
        return "?"
    ok = (
        decoded.type_name in ("Tenant", "Account", "Customer", "Endpoint", "User", *NODE_MODELS)
        and decoded.node_id.isdigit()
    )
    return f"{decoded.type_name}:{decoded.node_id}" if ok and decoded.node_id != "0" else "?"


# --- random selections --------------------------------------------------------------

TENANT_SCALARS = [
    "id",
    "name",
    "moniker",
    "kind",
    "depth",
    "isPartner",
    "subscriptionTypes",
    "inheritSponsorOperators",
    "currency",
    "country",
    "partnerAccess",
    "createdAt",
    "customerTopUpUrl",
    "__typename",
]
MONEY = "amount currency __typename"
ACCOUNT_PARTS = [
    "id",
    "currency",
    "billingStatus",
    "__typename",
    "balance { ...M }",
    f"creditLimit {{ {MONEY} }}",
    "lowBalanceThreshold { amount ...M }",
]


CUSTOMER_SCALARS = ["id", "name", "subscriptionType", "createdAt", "__typename"]
ENDPOINT_SCALARS = ["id", "name", "iccid", "createdAt", "__typename"]
TARIFF_PARTS = [
    "id",
    "name",
    "currency",
    "__typename",
    "monthlyFeePerEndpoint { ...M }",
]
TRANSACTION_KINDS = [k.value for k in TransactionKind]
TRANSACTION_PARTS = [
    "id",
    "kind",
    "createdAt",
    "__typename",
    "description",
    "reference",
    "amount { ...M }",
    f"balanceAfter {{ {MONEY} }}",
]
# Postings are made now; the bounds include them or not, with and without offsets.
MOMENTS = [
    None,
    None,
    "2000-01-01T00:00:00Z",
    "2000-01-01T00:00:00+05:30",
    (datetime.now(UTC) - timedelta(days=1)).isoformat(),
    (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0).isoformat(),
    "2100-01-01T00:00:00-02:00",
    "2100-01-01T00:00:00",
]
# Usage is in January 2026, days 1 to 4 at noon.
WINDOW_STARTS = ["2025-12-01T00:00:00Z", "2026-01-02T12:00:00+00:00", "2026-01-03T08:30:00-03:00"]
WINDOW_ENDS = ["2026-01-03T12:00:00Z", "2026-02-01T00:00:00+01:00", "2026-01-03T12:00:00.500000Z"]
TOTAL_PARTS = ["kind", "quantity", "cost { ...M }", "revenue { amount }", "__typename"]
ROW_PARTS = ["kind", "quantity", "cost { amount currency }", "__typename"]
USER_SCALARS = ["id", "email", "name", "role", "createdAt", "__typename"]
OPERATOR_PARTS = ["id", "name", "__typename"]
ENTITY_PARTS = ["id", "name", "country", "code", "__typename"]
PLAN_PARTS = ["id", "name", "kind", "createdAt", "monthlyPrice { ...M }", "__typename"]
REPORT_PARTS = [
    "id",
    "from",
    "to",
    "includeDescendants",
    "status",
    "progress",
    "rowCount",
    "createdAt",
    "completedAt",
    "error",
    "byteSize",
    "expiresAt",
    "__typename",
]
INVOICE_PARTS = [
    "id",
    "number",
    "periodStart",
    "periodEnd",
    "createdAt",
    "issuedAt",
    "total { ...M }",
    "__typename",
]
LINE_PARTS = ["description", "periodStart", "periodEnd", f"amount {{ {MONEY} }}", "__typename"]
EVENT_PARTS = ["id", "action", "createdAt", "details", "targetId", "__typename"]
VERSION_PARTS = [
    "id",
    "effectiveFrom",
    "effectiveTo",
    "createdAt",
    "monthlyFeePerEndpoint { ...M }",
    "__typename",
]
RATE_PARTS = ["kind", "unitPrice", "increment", "minimum", "__typename"]


class Selection:
    """Draws a random query; ``valid`` turns False when it asks for a field that does not
    compile (the resolver path answers). Argument errors: ``test_argument_errors_...``."""

    def __init__(self, data: st.DataObject, built: Built) -> None:
        self.data = data
        self.built = built
        self.aliases = itertools.count()
        self.valid = True

    def draw(self, strategy: st.SearchStrategy[Any]) -> Any:
        return self.data.draw(strategy)

    def alias(self, field: str) -> str:
        aliased = self.draw(st.integers(0, 3)) == 0
        return f"a{next(self.aliases)}: {field}" if aliased else field

    def part(self, make: Callable[[], str]) -> str:
        """A part of a selection, sometimes behind a fragment or a directive (which keeps
        or drops it: a dropped part's argument errors do not count)."""
        valid, self.valid = self.valid, True
        part = make()
        how = self.draw(st.sampled_from(["plain", "plain", "inline", "include", "skip", "kept"]))
        self.valid = valid and (self.valid or how in ("include", "skip"))
        if how == "inline":
            return f"... on Tenant {{ {part} }}"
        if how == "include":
            return f"... @include(if: $no) {{ {part} }}"
        if how == "skip":
            return f"... @skip(if: $yes) {{ {part} }}"
        if how == "kept":
            return f"... @include(if: $yes) {{ {part} }}"
        return part

    def tenant(self, depth: int) -> str:
        fields = self.draw(st.lists(st.sampled_from(TENANT_SCALARS), min_size=1, max_size=5))
        parts = [self.part(lambda f=f: self.alias(f)) for f in fields]
        if depth > 0 and self.draw(st.booleans()):
            parts.append(
                self.part(lambda: f"{self.alias('parent')} {{ {self.tenant(depth - 1)} }}")
            )
        if depth > 0 and self.draw(st.booleans()):
            parts.append(self.part(lambda: self.connection("subTenants", depth - 1)))
        if depth > 0 and self.draw(st.integers(0, 2)) == 0:
            parts.append(self.part(lambda: self.connection("managedTenants", depth - 1)))
        if self.draw(st.booleans()):
            parts.append(self.part(lambda: f"{self.alias('account')} {{ {self.account(depth)} }}"))
        if self.draw(st.integers(0, 2)) == 0:
            parts.append(self.part(lambda: self.usage(depth, tenant=True)))
        if self.draw(st.booleans()):
            parts.append(self.part(lambda: self.connection("customers", depth, node=self.customer)))
        if self.draw(st.integers(0, 2)) == 0:
            parts.append(self.part(lambda: self.connection("users", depth, node=self.user)))
        if self.draw(st.integers(0, 2)) == 0:
            parts.append(self.part(lambda: self.connection("tariffs", depth, node=self.tariff)))
        for paid in ("tenantTariff", "defaultCustomerTariff"):
            if self.draw(st.integers(0, 2)) == 0:
                parts.append(
                    self.part(lambda p=paid: f"{self.alias(p)} {{ {self.tariff(depth)} }}")
                )
        parts += self.tenant_billing(depth)
        return " ".join(parts) + " ...T"

    def tenant_billing(self, depth: int) -> list[str]:
        """A tenant's operators, reports, invoices, log, billing entity and plans."""
        parts: list[str] = []
        if self.draw(st.integers(0, 3)) == 0:
            parts.append(self.part(lambda: self.object("sponsorOperators", OPERATOR_PARTS)))
        connections = (
            ("reports", self.report),
            ("invoices", self.invoice),
            ("auditEvents", self.event),
        )
        for name, node in connections:
            if self.draw(st.integers(0, 3)) == 0:
                parts.append(self.part(lambda n=name, d=node: self.connection(n, depth, node=d)))
        if self.draw(st.integers(0, 3)) == 0:
            parts.append(self.part(lambda: self.object("billingEntity", ENTITY_PARTS)))
        for plan in ("tenantPlan", "supportPlan"):
            if self.draw(st.integers(0, 3)) == 0:
                parts.append(self.part(lambda p=plan: self.object(p, PLAN_PARTS)))
        if self.draw(st.integers(0, 3)) == 0:
            kind = self.draw(st.sampled_from(["TENANT", "SUPPORT"]))
            catalog = f"a{next(self.aliases)}: planCatalog(kind: {kind})"
            parts.append(self.part(lambda: f"{catalog} {{ {self.pick(PLAN_PARTS)} }}"))
        return parts

    def object(self, field: str, choices: list[str]) -> str:
        """``field`` (maybe aliased) with some of ``choices``."""
        return f"{self.alias(field)} {{ {self.pick(choices)} }}"

    def pick(self, choices: list[str]) -> str:
        """Some of ``choices``, some aliased."""
        fields = self.draw(st.lists(st.sampled_from(choices), min_size=1, max_size=4))
        return " ".join(self.alias(f) for f in fields)

    def report(self, depth: int) -> str:
        parts = [self.pick(REPORT_PARTS)]
        if self.draw(st.integers(0, 4)) == 0:
            parts.append("downloadUrl")
            self.valid = False  # signed per answer: the resolver path answers
        if depth > 0 and self.draw(st.integers(0, 3)) == 0:
            parts.append(f"{self.alias('tenant')} {{ {self.tenant(0)} }}")
        return " ".join(parts)

    def invoice(self, depth: int) -> str:
        parts = [self.pick(INVOICE_PARTS)]
        if self.draw(st.booleans()):
            line = [self.pick(LINE_PARTS)]
            if self.draw(st.booleans()):
                line.append(f"managedTenant {{ {self.tenant(0)} }}")
            if self.draw(st.booleans()):
                line.append(f"plan {{ {self.pick(PLAN_PARTS)} }}")
            parts.append(f"{self.alias('lines')} {{ {' '.join(line)} }}")
        if self.draw(st.integers(0, 2)) == 0:
            parts.append(f"{self.alias('billingEntity')} {{ {self.pick(ENTITY_PARTS)} }}")
        if self.draw(st.integers(0, 2)) == 0:
            parts.append(f"{self.alias('transaction')} {{ {self.transaction(0)} }}")
        if depth > 0 and self.draw(st.integers(0, 3)) == 0:
            parts.append(f"{self.alias('tenant')} {{ {self.tenant(0)} }}")
        return " ".join(parts)

    def event(self, depth: int) -> str:
        parts = [self.pick(EVENT_PARTS)]
        if self.draw(st.integers(0, 2)) == 0:
            parts.append(f"{self.alias('actor')} {{ {self.user(0)} }}")
        if self.draw(st.integers(0, 2)) == 0:
            parts.append(f"{self.alias('impersonatedTenant')} {{ {self.tenant(0)} }}")
        return " ".join(parts)

    def version(self, depth: int) -> str:
        parts = [self.pick(VERSION_PARTS)]
        if self.draw(st.integers(0, 2)) == 0:
            parts.append(f"{self.alias('rates')} {{ {self.pick(RATE_PARTS)} }}")
        if self.draw(st.integers(0, 3)) == 0:
            parts.append(f"{self.alias('actor')} {{ {self.user(0)} }}")
        if depth > 0 and self.draw(st.integers(0, 3)) == 0:
            parts.append(f"{self.alias('tariff')} {{ {self.tariff(0)} }}")
        return " ".join(parts)

    def tariff(self, depth: int) -> str:
        fields = self.draw(st.lists(st.sampled_from(TARIFF_PARTS), min_size=1, max_size=4))
        parts = [self.alias(f) for f in fields]
        if depth > 0 and self.draw(st.integers(0, 2)) == 0:
            parts.append(f"{self.alias('owner')} {{ {self.tenant(0)} }}")
        if self.draw(st.integers(0, 2)) == 0:
            parts.append(f"{self.alias('rates')} {{ {self.pick(RATE_PARTS)} }}")
        if self.draw(st.integers(0, 2)) == 0:
            parts.append(self.connection("versions", depth, node=self.version, keys=30))
        return " ".join(parts)

    def user(self, depth: int) -> str:
        fields = self.draw(st.lists(st.sampled_from(USER_SCALARS), min_size=1, max_size=4))
        parts = [self.alias(f) for f in fields]
        if depth > 0 and self.draw(st.integers(0, 3)) == 0:
            parts.append(f"{self.alias('tenant')} {{ {self.tenant(0)} }}")
        return " ".join(parts)

    def account(self, depth: int) -> str:
        parts = self.draw(st.lists(st.sampled_from(ACCOUNT_PARTS), min_size=1, max_size=4))
        if self.draw(st.integers(0, 2)) == 0:
            extra = []
            kinds = self.draw(st.lists(st.sampled_from(TRANSACTION_KINDS), max_size=3))
            if kinds:
                extra.append(f"kinds: [{', '.join(kinds)}]")
            for bound in ("from", "to"):
                moment = self.draw(st.sampled_from(MOMENTS))
                if moment is not None:
                    extra.append(f'{bound}: "{moment}"')
                    # Without an offset, the resolver path answers.
                    self.valid &= moment[-6] in "+-" or moment.endswith("Z")
            parts.append(self.connection("transactions", depth, extra, node=self.transaction))
        return " ".join(parts)

    def transaction(self, depth: int) -> str:
        fields = self.draw(st.lists(st.sampled_from(TRANSACTION_PARTS), min_size=1, max_size=5))
        parts = [self.alias(f) for f in fields]
        if self.draw(st.integers(0, 3)) == 0:
            parts.append(f"{self.alias('actor')} {{ {self.user(0)} }}")
        if self.draw(st.integers(0, 3)) == 0:
            parts.append(f"{self.alias('impersonatedTenant')} {{ {self.tenant(0)} }}")
        return " ".join(parts)

    def usage(self, depth: int, *, tenant: bool = False) -> str:
        """A UsageSummary of a tenant, a customer or an endpoint."""
        since = self.draw(st.sampled_from(WINDOW_STARTS))
        until = self.draw(st.sampled_from(WINDOW_ENDS))
        arguments = [f'from: "{since}"', f'to: "{until}"']
        subtree = True
        if tenant and self.draw(st.booleans()):
            subtree = self.draw(st.booleans())
            arguments.append(f"includeDescendants: {str(subtree).lower()}")
        parts = self.draw(st.lists(st.sampled_from(["from", "to", "__typename"]), max_size=2))
        if self.draw(st.booleans()):
            total = self.draw(st.lists(st.sampled_from(TOTAL_PARTS), min_size=1, max_size=4))
            parts.append(f"{self.alias('totals')} {{ {' '.join(total)} }}")
        if not parts or self.draw(st.booleans()):
            row = self.draw(st.lists(st.sampled_from(ROW_PARTS), min_size=1, max_size=3))
            # A tenant's subtree may hold endpoints the caller cannot see (a partner's
            # managed tenants): their rows are not listed.
            if self.draw(st.booleans()):
                row.append(f"endpoint {{ {self.endpoint(0)} }}")
            page = self.page_arguments(keys=40)
            call = "endpoints" + (f"({', '.join(page)})" if page else "")
            pieces = ["__typename"] if self.draw(st.booleans()) else []
            if self.draw(st.booleans()):
                pieces.append("pageInfo { hasNextPage hasPreviousPage startCursor endCursor }")
            pieces.append(f"edges {{ cursor node {{ {' '.join(row)} }} }}")
            parts.append(f"{self.alias(call)} {{ {' '.join(pieces)} }}")
        return f"a{next(self.aliases)}: usage({', '.join(arguments)}) {{ {' '.join(parts)} }}"

    def customer(self, depth: int) -> str:
        fields = self.draw(st.lists(st.sampled_from(CUSTOMER_SCALARS), min_size=1, max_size=4))
        parts = [self.alias(f) for f in fields]
        if self.draw(st.integers(0, 2)) == 0:
            parts.append(f"{self.alias('account')} {{ {self.account(depth)} }}")
        if self.draw(st.integers(0, 3)) == 0:
            parts.append(self.usage(depth))
        if depth > 0 and self.draw(st.integers(0, 3)) == 0:
            parts.append(f"{self.alias('tenant')} {{ {self.tenant(0)} }}")
        if self.draw(st.integers(0, 3)) > 0:
            parts.append(self.connection("endpoints", depth, node=self.endpoint))
        return " ".join(parts)

    def endpoint(self, depth: int) -> str:
        fields = self.draw(st.lists(st.sampled_from(ENDPOINT_SCALARS), min_size=1, max_size=4))
        parts = [self.alias(f) for f in fields]
        if depth > 0 and self.draw(st.integers(0, 3)) == 0:
            parts.append(f"{self.alias('customer')} {{ {self.customer(0)} }}")
        if depth > 0 and self.draw(st.integers(0, 3)) == 0:
            parts.append(self.usage(depth))
        if self.draw(st.integers(0, 3)) == 0:
            parts.append(f"{self.alias('sponsorOperator')} {{ {self.pick(OPERATOR_PARTS)} }}")
        return " ".join(parts)

    def page_arguments(self, keys: int = 12) -> list[str]:
        arguments = []
        way = self.draw(st.sampled_from(["first", "first", "last", "both"]))
        sizes = st.sampled_from([None, 0, 1, 2, 5, 100])
        first = None if way == "last" else self.draw(sizes)
        last = None if way == "first" else self.draw(sizes)
        # Both at once (the spec discourages it): the resolver path answers.
        self.valid &= first is None or last is None
        for name, size in (("first", first), ("last", last)):
            if size is not None:
                arguments.append(f"{name}: {size}")
        for name in ("after", "before"):
            if self.draw(st.booleans()):
                arguments.append(f'{name}: "{encode_cursor(self.draw(st.integers(1, keys)))}"')
        return arguments

    def connection(
        self,
        field: str,
        depth: int,
        extra: list[str] | None = None,
        node: Callable[[int], str] | None = None,
        keys: int = 12,
    ) -> str:
        arguments = self.page_arguments(keys) + (extra or [])
        call = f"a{next(self.aliases)}: {field}" + (
            f"({', '.join(arguments)})" if arguments else ""
        )
        parts = []
        if self.draw(st.booleans()):
            parts.append("totalCount")
        if self.draw(st.booleans()):
            info = self.draw(
                st.lists(
                    st.sampled_from(
                        ["hasNextPage", "hasPreviousPage", "startCursor", "endCursor", "__typename"]
                    ),
                    min_size=1,
                )
            )
            parts.append(f"pageInfo {{ {' '.join(info)} }}")
        if not parts or self.draw(st.booleans()):
            cursor = "cursor __typename " if self.draw(st.booleans()) else ""
            parts.append(f"edges {{ {cursor}node {{ {(node or self.tenant)(depth)} }} }}")
        return f"{call} {{ {' '.join(parts)} __typename }}"

    def node_id(self) -> str:
        kind = self.draw(
            st.sampled_from(
                [
                    "Tenant",
                    "Tenant",
                    "Account",
                    "Customer",
                    "Endpoint",
                    "User",
                    "garbage",
                    "ApiToken",
                    *NODE_MODELS,
                ]
            )
        )
        if kind in NODE_MODELS:
            pks = self.built.ids[kind]
            return gid(kind, self.draw(st.sampled_from(pks)) if pks else 1)
        if kind == "Tenant":
            return gid("Tenant", self.draw(st.sampled_from(self.built.tenants)).id)
        if kind in ("Customer", "Endpoint", "User"):
            pks = {
                "Customer": self.built.customers,
                "Endpoint": self.built.endpoints,
                "User": self.built.users,
            }[kind]
            return gid(kind, self.draw(st.sampled_from(pks)) if pks else 1)
        if kind == "Account":
            return gid("Account", self.draw(st.sampled_from(self.built.accounts)))
        if kind == "ApiToken":
            self.valid = False  # ApiToken does not compile: the resolver path answers
            return gid("ApiToken", 1)
        return self.draw(st.sampled_from(["nope", gid("Tenant", 0), gid("Nothing", 1)]))

    def node(self, kinds: set[str]) -> str:
        """A node's selection; each type's part counts only where that type is returned."""
        parts = ["__typename"] if self.draw(st.booleans()) else []
        if self.draw(st.booleans()):
            parts.append("id")
        fragments: dict[str, Callable[[], str]] = {
            "Tenant": lambda: self.tenant(1),
            "Account": lambda: self.account(1),
            "Customer": lambda: self.customer(1),
            "Endpoint": lambda: self.endpoint(1),
            "User": lambda: self.user(1),
            "AccountTransaction": lambda: self.transaction(1),
            "UsageReport": lambda: self.report(1),
            "Invoice": lambda: self.invoice(1),
            "Plan": lambda: self.pick(PLAN_PARTS),
            "BillingEntity": lambda: self.pick(ENTITY_PARTS),
            "SponsorOperator": lambda: self.pick(OPERATOR_PARTS),
            "TariffVersion": lambda: self.version(1),
        }
        for type_name, fragment in fragments.items():
            if type_name != "Tenant" and self.draw(st.integers(0, 2)) > 0:
                continue
            valid = self.valid
            parts.append(f"... on {type_name} {{ {fragment()} }}")
            if type_name not in kinds:
                self.valid = valid
        return " ".join(parts)

    def query(self) -> str:
        roots = []
        if self.draw(st.booleans()):
            user = f"user {{ {self.user(1)} }}" if self.draw(st.booleans()) else ""
            roots.append(f"viewer {{ role {user} tenant {{ {self.tenant(2)} }} }}")
        for _ in range(self.draw(st.integers(0, 2))):
            target = self.draw(st.sampled_from(self.built.tenants))
            how = self.draw(st.sampled_from(["id", "moniker", "garbage"]))
            if how == "id":
                argument = f'id: "{gid("Tenant", target.id)}"'
            elif how == "moniker":
                argument = f'moniker: "{target.moniker}"'
            else:
                argument = 'id: "VGVuYW50Ong="'
            roots.append(f"a{next(self.aliases)}: tenant({argument}) {{ {self.tenant(2)} }}")
        if self.draw(st.integers(0, 3)) == 0:
            node_id = self.node_id()
            selection = self.node({_type_of_id(node_id).split(":")[0]})
            roots.append(f'a{next(self.aliases)}: node(id: "{node_id}") {{ {selection} }}')
        if self.draw(st.integers(0, 3)) == 0:
            ids = self.draw(st.lists(st.builds(self.node_id), max_size=4))
            listed = ", ".join(f'"{i}"' for i in ids)
            kinds = {_type_of_id(i).split(":")[0] for i in ids}
            self.valid &= len(kinds - {"?"}) <= 1
            selection = self.node(kinds)
            roots.append(f"a{next(self.aliases)}: nodes(ids: [{listed}]) {{ {selection} }}")
        if not roots or self.draw(st.booleans()):
            search = self.draw(st.sampled_from([None, "t", "1", "managed", "%"]))
            extra = [] if search is None else [f'search: "{search}"']
            roots.append(self.connection("tenants", 1, extra))
        body = " ".join(roots)
        fragments = {
            "...M": "fragment M on Money { amount currency }",
            "...T": "fragment T on Tenant { moniker }",
        }
        return (
            "query($yes: Boolean!, $no: Boolean!) { "
            + body
            + " __typename @include(if: $yes) @skip(if: $no) } "
            + " ".join(f for spread, f in fragments.items() if spread in body)
        )


@settings(
    max_examples=15,
    deadline=None,
    database=None,
    # Shrinking rebuilds trees for minutes; the failing query is in the assertion message.
    phases=[Phase.explicit, Phase.generate],
    # A tree and four documents over every compiled field: no small example exists.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.large_base_example,
    ],
)
@given(tree=trees, data=st.data())
async def test_compiled_answers_equal_resolver_answers(
    db: Database, paths: Paths, tree: TreeSpec, data: st.DataObject
) -> None:
    built = await build_tree(db, paths.resolver, tree)
    root, root_admin, t0 = built.tenants[0], built.actors[0], built.tenants[1]
    # t0 pays the root's tariff and gives its own (with a fee) to new customers.
    paid = await create_tariff(paths.resolver, root_admin.token, root.id, per_mb("0.01"))
    own = await create_tariff(
        paths.resolver, root_admin.token, t0.id, per_mb("0.02"), monthlyFeePerEndpoint="2"
    )
    # A tenant tariff is priced in the tenant's currency.
    paying = {"tenantTariffId": paid} if t0.currency == root.currency else {}
    changed = await set_tenant(
        paths.resolver, root_admin.token, t0.id, defaultCustomerTariffId=own, **paying
    )
    assert changed["userErrors"] == []
    for tariff in (paid, own):
        await _revisions(db, tariff, root_admin)
    async with db.read() as session:
        built.ids["TariffVersion"] = list(await session.scalars(sa.select(TariffVersion.id)))
    for _ in range(4):
        selection = Selection(data, built)
        query = selection.query()
        caller = data.draw(st.sampled_from(built.actors))
        path, compiled, resolver = await paths.both(query, {"yes": True, "no": False}, caller.token)
        assert compiled == resolver, query
        if path is None:
            continue  # refused before execution (e.g. the alias limit), alike on both
        assert "errors" not in resolver, query
        assert path == ("compiled" if selection.valid else "resolver"), query


CUSTOMERS = """
fragment E on Endpoint { id name iccid createdAt __typename customer { id name } }
fragment C on Customer {
  id name subscriptionType createdAt __typename tariff { ...R }
  tenant { id moniker } account { id currency balance { amount currency } billingStatus }
  endpoints(first: 2) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { ...E } } }
  more: endpoints(first: 1, after: "Y3Vyc29yOjI=") { edges { node { ...E } } }
  back: endpoints(last: 1, before: "Y3Vyc29yOjI=") { pageInfo { hasNextPage hasPreviousPage }
    edges { node { ...E } } }
}
fragment R on Tariff { id name currency __typename owner { id moniker }
  monthlyFeePerEndpoint { amount currency } }
fragment U on User { id email name role createdAt __typename tenant { id moniker } }
query($c: ID!, $e: ID!, $u: ID!, $r: ID!) {
  tenants(first: 20) { edges { node { moniker users(first: 2) { totalCount edges { node { ...U } } }
  tariffs { totalCount edges { cursor node { ...R } } }
  tenantTariff { ...R } defaultCustomerTariff { ...R }
  customers(first: 3) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { ...C } } }
  lastCustomers: customers(last: 2) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id name } } } } } }
  customer: node(id: $c) { ...C }
  endpoint: node(id: $e) { ...E }
  user: node(id: $u) { ...U }
  tariff: node(id: $r) { ...R }
  nodes(ids: [$c, $c]) { ... on Customer { name } }
}
"""


async def test_customers_endpoints_and_users_answer_alike_for_every_caller(
    db: Database, paths: Paths
) -> None:
    """Every compiled Customer, Endpoint and User field, for each kind of caller (including a
    partner admin on managed tenants with and without partner access)."""
    spec = TenantSpec(0, "EUR", None, Decimal(0), None, [3, 0, 1, 2])
    tree = TreeSpec(
        [spec, dataclasses.replace(spec, parent=1), dataclasses.replace(spec, parent=0)],
        partner=1,
        managed_access=[True, False],
    )
    built = await build_tree(db, paths.resolver, tree)
    root, root_admin, t0 = built.tenants[0], built.actors[0], built.tenants[1]
    # t0 pays the root's tariff; its customers get its own (with a fee) by default.
    paid = await create_tariff(paths.resolver, root_admin.token, root.id, per_mb("0.01"))
    own = await create_tariff(
        paths.resolver, root_admin.token, t0.id, per_mb("0.02"), monthlyFeePerEndpoint="1.5"
    )
    changed = await set_tenant(
        paths.resolver, root_admin.token, t0.id, tenantTariffId=paid, defaultCustomerTariffId=own
    )
    assert changed["userErrors"] == []
    await _customers(db, root, root_admin, t0, spec)  # these pay ``own``
    # Customers of the managed tenants: behind the billing face unless access is on.
    managed = [t for t in built.tenants if t.kind == "MANAGED"]
    assert len(managed) == 2
    for tenant in managed:
        await _customers(db, built.tenants[0], built.actors[0], tenant, spec)
    async with db.read() as session:
        customer_ids = list(
            await session.scalars(sa.select(Customer.id).where(Customer.tariff_id.is_not(None)))
        )
        endpoint_ids = list((await session.scalars(sa.select(Endpoint.id))).all())
    variables = {
        "c": gid("Customer", customer_ids[-1]),
        "e": gid("Endpoint", endpoint_ids[-1]),
        "u": gid("User", built.actors[-1].user.id),
        "r": paid,
    }
    seen, answers = [], []
    for actor in built.actors:
        path, compiled, resolver = await paths.both(CUSTOMERS, variables, actor.token)
        assert "errors" not in resolver
        assert compiled == resolver
        assert path == "compiled"
        edges = resolver["data"]["tenants"]["edges"]
        seen.append(sum(len(e["node"]["customers"]["edges"]) for e in edges))
        answers.append(resolver["data"])
    # The platform admin sees (a page of) every tenant's customers; the partner admin fewer.
    assert seen[0] > seen[-3] > 0
    assert answers[0]["customer"]["tariff"]["monthlyFeePerEndpoint"] == {
        "amount": "1.50",
        "currency": "EUR",
    }


HISTORY = """
fragment M on Money { amount currency }
fragment X on AccountTransaction { id kind createdAt __typename description reference
  amount { ...M } balanceAfter { ...M } actor { id email } impersonatedTenant { id moniker } }
fragment A on Account {
  all: transactions(first: 10) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { ...X } } }
  page: transactions(first: 2, after: $after) { totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id } } }
  back: transactions(last: 3, before: $after) { totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id } } }
  end: transactions(last: 2) { pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id } } }
  credits: transactions(first: 5, kinds: [CREDIT, TOP_UP], from: "2000-01-01T00:00:00+02:00", to: $to) {
    totalCount edges { node { kind amount { amount } } } }
}
fragment U on UsageSummary { from to __typename
  totals { kind quantity cost { ...M } revenue { ...M } __typename }
  endpoints(first: 2) { __typename pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { kind quantity cost { ...M } __typename } } }
  more: endpoints(first: 5, after: $key) { edges { cursor node { kind quantity endpoint { id name } } } }
  back: endpoints(last: 2, before: $key) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { kind quantity } } }
  end: endpoints(last: 3) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor } } }
query($after: String!, $key: String!, $to: DateTime!) {
  tenants(first: 12) { edges { node { moniker
    account { ...A }
    usage(from: "2025-12-31T22:00:00-02:00", to: "2026-01-03T12:00:00.500000Z") { ...U }
    own: usage(from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z", includeDescendants: false) {
      ...U }
    customers(first: 2) { edges { node { account { ...A }
      usage(from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z") { ...U }
      endpoints(first: 3) { edges { node { id usage(from: "2026-01-02T00:00:00Z", to: "2026-01-04T00:00:00Z") { ...U } } } }
    } } } } } }
}
"""


async def test_transactions_and_usage_answer_alike_for_every_caller(
    db: Database, paths: Paths
) -> None:
    """Account.transactions (pages, cursors, filters, the transaction's fields) and usage
    summaries of tenants, customers and endpoints, for each kind of caller (including a
    partner admin on managed tenants with and without partner access)."""
    moves = (
        (Decimal("10"), TransactionKind.TOP_UP, True),
        (Decimal("-2.5"), TransactionKind.DEBIT, False),
        (Decimal("4"), TransactionKind.CREDIT, True),
        (Decimal("1"), TransactionKind.TOP_UP, False),
        (Decimal("3"), TransactionKind.CREDIT, False),
    )
    used = (
        (UsageKind.DATA, Decimal("10.5"), 1),
        (UsageKind.SMS, Decimal("3"), 2),
        (UsageKind.VOICE, Decimal("61"), 3),
        (UsageKind.DATA, Decimal("0.25"), 3),
    )
    spec = TenantSpec(0, "EUR", None, Decimal(0), None, [3, 1], moves, used)
    tree = TreeSpec(
        [spec, dataclasses.replace(spec, parent=1), dataclasses.replace(spec, parent=2)],
        partner=1,
        managed_access=[True, False],
    )
    built = await build_tree(db, paths.resolver, tree)
    variables = {
        "after": encode_cursor(9),
        "key": encode_cursor(20),
        "to": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
    }
    seen = []
    for actor in built.actors:
        path, compiled, resolver = await paths.both(HISTORY, variables, actor.token)
        assert "errors" not in resolver, resolver["errors"]
        assert compiled == resolver
        assert path == "compiled"
        nodes = [e["node"] for e in resolver["data"]["tenants"]["edges"]]
        seen.append(
            (
                sum(len(n["account"]["all"]["edges"]) for n in nodes if n["account"]),
                sum(len(n["usage"]["totals"]) for n in nodes),
            )
        )
    # The platform admin sees every tenant's history and usage; others some, none empty.
    assert seen[0][0] > seen[-1][0] > 0
    assert seen[0][1] > seen[-1][1] > 0


BILLING = """
fragment M on Money { amount currency }
fragment P on Plan { id name kind createdAt monthlyPrice { ...M } __typename }
fragment T on Tenant { id moniker
  sponsorOperators { id name __typename }
  billingEntity { id name country code __typename }
  tenantPlan { ...P } supportPlan { ...P }
  tenantCatalog: planCatalog(kind: TENANT) { ...P } supportCatalog: planCatalog(kind: SUPPORT) { name }
  reports(first: 2) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id from to includeDescendants status progress rowCount createdAt
      completedAt error byteSize expiresAt __typename tenant { moniker } } } }
  olderReports: reports(after: $report) { edges { node { id progress } } }
  invoices { totalCount edges { cursor node { id number periodStart periodEnd createdAt issuedAt
    total { ...M } billingEntity { code } transaction { id kind amount { ...M } }
    tenant { moniker }
    lines { description periodStart periodEnd amount { ...M } managedTenant { moniker } plan { ...P } } } } }
  auditEvents(first: 3) { totalCount pageInfo { hasNextPage endCursor }
    edges { node { id action createdAt details targetId actor { email } impersonatedTenant { moniker } } } }
  tariffs { edges { node { name rates { kind unitPrice increment minimum __typename }
    versions(first: 2) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { id effectiveFrom effectiveTo createdAt monthlyFeePerEndpoint { ...M }
        rates { kind unitPrice } actor { email } tariff { name } } } }
    later: versions(after: $version) { edges { node { id } } } } } }
  customers(first: 1) { edges { node { endpoints(first: 1) { edges { node { sponsorOperator { id name } } } } } } }
}
query($report: String!, $version: String!) {
  viewer { role user { email tenant { moniker } } tenant { ...T } }
  tenants(first: 20) { edges { node { ...T } } }
  NODES
}
"""


async def test_billing_reports_operators_and_logs_answer_alike_for_every_caller(
    db: Database, paths: Paths
) -> None:
    """Sponsor operators (grants, inheritance, code-point order), reports, invoices, audit
    events, plans, billing entities, tariff rates and versions, for each kind of caller
    (including a partner admin on managed tenants with and without partner access)."""
    finished = (ReportStatus.SUCCEEDED, 0.00005, 12_345)
    spec = TenantSpec(
        0,
        "BHD",
        None,
        Decimal(0),
        None,
        [1],
        grants=(0, 1, 2),
        inherit=False,
        reports=(finished, (ReportStatus.RUNNING, 1 / 3, None), (ReportStatus.FAILED, 1.0, None)),
        events=3,
    )
    tree = TreeSpec(
        [
            spec,
            dataclasses.replace(spec, parent=1, grants=(3,), inherit=True),
            dataclasses.replace(spec, parent=2, grants=(), inherit=True, events=1),
        ],
        partner=1,
        managed_access=[True, False],
    )
    built = await build_tree(db, paths.resolver, tree)
    root_admin, t0 = built.actors[0], built.tenants[1]
    tariff = await create_tariff(paths.resolver, root_admin.token, t0.id, per_mb("0.02"))
    await _revisions(db, tariff, root_admin)
    async with db.read() as session:
        versions = list(await session.scalars(sa.select(TariffVersion.id)))
    # The last of each node type, and the first, by id (``nodes`` takes one type at a time).
    nodes = " ".join(
        f'{kind}: nodes(ids: ["{gid(kind, pks[-1])}", "{gid(kind, pks[0])}"]) {{ __typename id }}'
        for kind, pks in built.ids.items()
        if pks
    )
    query = BILLING.replace("NODES", nodes)
    variables = {
        "report": encode_cursor(built.ids["UsageReport"][-1]),
        "version": encode_cursor(versions[-1]),
    }
    seen = []
    for actor in built.actors:
        path, compiled, resolver = await paths.both(query, variables, actor.token)
        assert "errors" not in resolver, resolver["errors"]
        assert compiled == resolver
        assert path == "compiled"
        nodes = [e["node"] for e in resolver["data"]["tenants"]["edges"]]
        seen.append(
            sum(
                len(n["sponsorOperators"])
                + len(n["reports"]["edges"])
                + len(n["invoices"]["edges"])
                for n in nodes
            )
        )
    # The platform admin sees every tenant's; the partner admin fewer, but some.
    assert seen[0] > seen[-3] > 0


@pytest.mark.parametrize("rate_limit", [0, 1200])
async def test_a_request_with_a_token_is_two_round_trips_at_the_connection(
    database_url: str, jobs: procrastinate.App, world: World, rate_limit: int
) -> None:
    """Counted at the asyncpg connections of both pools, for whole HTTP requests, with no
    BEGIN, ROLLBACK or ping around any statement. On the normal path (a document seen for
    the first time) the token lookup and the compiled read are one statement each, and the
    rate limit, when on, adds its one upsert between them. On the fast path (the same
    document again) the token, the limit and the read are one statement
    (api/fast_statement.py); a token's first request there reads in a second statement."""
    db = Database.connect(database_url, pool_size=2, max_overflow=0)
    assert db.reads is not None
    sent: list[str] = []

    def log_queries(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(lambda q: sent.append(q.query))

    sa.event.listen(db.reads.sync_engine, "connect", log_queries)
    sa.event.listen(db.engine.sync_engine, "connect", log_queries)
    settings = Settings(
        database_url=database_url, compiled_reads=True, rate_limit_per_minute=rate_limit
    )
    app = create_app(settings, db=db, jobs=jobs)
    query = "{ viewer { tenant { name subTenants { edges { node { name account { balance { amount } } } } } } } }"
    token = world.a1_admin.token
    per_request: list[int] = []
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as http:
            gql = GraphQLClient(http)
            # The first request opens the connections (the driver's set-up queries).
            await gql.post(query, token=token)
            fast = FAST_READS["answered"]
            # New documents each time (another alias): the normal path, through Strawberry.
            # Then one of them again and again: the fast path.
            for alias in ("x", "y", "z", "z", "z"):
                sent.clear()
                response = await gql.post(query.replace("name", f"{alias}: name", 1), token=token)
                per_request.append(len(sent))
                assert response.headers[PATH_HEADER] == "compiled"
                assert response.json()["data"]["viewer"]["tenant"]["subTenants"]["edges"] == [
                    {"node": {"name": "A1X", "account": {"balance": {"amount": "0.00"}}}}
                ]
            assert FAST_READS["answered"] == fast + 2
    finally:
        await db.dispose()
    normal = 3 if rate_limit else 2
    assert per_request == [normal, normal, normal, 2, 1]
    assert sent[0].startswith("WITH fast_principal AS MATERIALIZED (SELECT users.id AS user_id,")
    assert "SELECT CAST(json_build_object(" in sent[0]
    assert ("INSERT INTO rate_limit_buckets" in sent[0]) == bool(rate_limit)


@pytest.mark.parametrize(
    "query",
    [
        "{ tenants(first: 101) { totalCount } }",
        "{ tenants(first: -1) { totalCount } }",
        '{ tenants(after: "nope") { totalCount } }',
        "{ viewer { tenant { subTenants(first: 101) { totalCount } } } }",
        '{ viewer { tenant { name subTenants(after: "bad") { totalCount } } } }',
        '{ tenant(id: "VGVuYW50OjE=", moniker: "platform") { name } }',
        "{ tenant { name } }",
        "query($n: Int!) { tenants(first: $n) { totalCount } }",
        "{ tenants(last: 101) { totalCount } }",
        "{ tenants(last: -1) { totalCount } }",
        '{ tenants(last: 2, before: "nope") { totalCount } }',
        '{ viewer { tenant { customers(before: "bad") { totalCount } } } }',
        "{ viewer { tenant { account { transactions(first: 1, last: 101) { totalCount } } } } }",
    ],
)
async def test_argument_errors_fall_back_and_answer_alike(
    paths: Paths, world: World, query: str
) -> None:
    """An argument the resolver path refuses sends the operation down that path: the
    error answer is the reference's, to the letter."""
    path, compiled, resolver = await paths.both(query, {}, world.a1_admin.token)
    assert compiled == resolver
    assert resolver["errors"]
    assert path in ("resolver", None)
