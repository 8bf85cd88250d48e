"""previewTariff prices in SQL, from integer sums; these properties check that it says, to
the millionth, what rating each record on its own by the product's rating code says: each
record by the version in force when it occurred, and by the proposed rates, summed per
payer (customers paying the tariff, and a sub-tenant paying it for its subtree), in
currencies of 0, 2 and 3 decimal places, and what the API shows of it."""

import itertools
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Context, Decimal

import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tenantry.api.types.money import to_money
from tenantry.api.types.tariff_version import to_gql_preview
from tenantry.auth.models import Role
from tenantry.auth.principal import Principal
from tenantry.customers import service as customers
from tenantry.customers.service import NewCustomer, NewEndpoint
from tenantry.db.engine import Database
from tenantry.operators import service as operators
from tenantry.tariffs import service as tariffs
from tenantry.tariffs.models import TariffRate, UsageKind
from tenantry.tariffs.preview import PreviewRequest, preview_tariff
from tenantry.tariffs.service import NewRate, NewTariff
from tenantry.tenants import service as tenants
from tenantry.tenants.models import SubscriptionType
from tenantry.tenants.service import NewSubTenant
from tenantry.usage import repository as usage_repo
from tenantry.usage.rating import charge
from tests.fixtures.factories import platform_principal
from tests.fixtures.world import World

PERIOD = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
# Records from a fortnight before the period to a fortnight after it.
FIRST, SPAN = PERIOD[0] - timedelta(days=14), (PERIOD[1] - PERIOD[0]) + timedelta(days=28)
EXACT = Context(prec=80)
_seq = itertools.count(1)


def places(top: int) -> st.SearchStrategy[Decimal]:
    """Six places at most, within limits.py's bounds (10^12), mostly small."""
    return st.one_of(
        st.decimals(min_value=0, max_value=100, places=6),
        st.decimals(min_value=0, max_value=top, places=6),
        st.sampled_from([Decimal(0), Decimal(1), Decimal(60), Decimal("0.001"), Decimal("0.1")]),
    )


def rates() -> st.SearchStrategy[list[NewRate]]:
    """Some kinds priced (a kind left out is free), each with its own increment and
    minimum; prices up to 10^12, so that a charge may pass what a bigint holds."""
    rate = st.builds(
        NewRate,
        kind=st.just(UsageKind.DATA),
        unit_price=places(10**12),
        increment=places(10**12).filter(lambda d: d > 0),
        minimum=places(10**12),
    )
    return st.lists(
        st.tuples(st.sampled_from(list(UsageKind)), rate), max_size=3, unique_by=lambda p: p[0]
    ).map(lambda pairs: [NewRate(k, r.unit_price, r.increment, r.minimum) for k, r in pairs])


@dataclass(frozen=True)
class Usage:
    endpoint: int  # index into the endpoints: 0 the direct customer's, 1 the sub-tenant's
    kind: UsageKind
    quantity: Decimal
    offset: float  # where in [FIRST, FIRST + SPAN) it occurred


usages = st.lists(
    st.builds(
        Usage,
        endpoint=st.integers(0, 1),
        kind=st.sampled_from(list(UsageKind)),
        quantity=st.one_of(st.just(Decimal(0)), places(10**12)),
        offset=st.floats(0, 1, exclude_max=True),
    ),
    max_size=12,
)


def by(rates: list[NewRate], kind: UsageKind) -> TariffRate | None:
    found = [r for r in rates if r.kind == kind]
    if not found:
        return None
    rate = found[0]
    return TariffRate(
        kind=kind, unit_price=rate.unit_price, increment=rate.increment, minimum=rate.minimum
    )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    currency=st.sampled_from(["JPY", "EUR", "BHD"]),
    versions=st.lists(
        st.tuples(st.floats(0.02, 0.98), rates()), max_size=2, unique_by=lambda v: v[0]
    ),
    first=rates(),
    proposed=rates(),
    records=usages,
)
# A billable quantity of 16 significant digits in millionths: more than a double holds.
@example(
    currency="EUR",
    versions=[],
    first=[NewRate(UsageKind.DATA, Decimal(1))],
    proposed=[NewRate(UsageKind.DATA, Decimal(1), Decimal("0.000001"))],
    records=[Usage(0, UsageKind.DATA, Decimal("1234567890.123457"), 0.5)],
)
async def test_preview_equals_rating_every_record_on_its_own(
    db: Database,
    world: World,
    currency: str,
    versions: list[tuple[float, list[NewRate]]],
    first: list[NewRate],
    proposed: list[NewRate],
    records: list[Usage],
) -> None:
    root = platform_principal(world.root, world.root_admin)
    number = next(_seq)
    # Built in one transaction that is rolled back: each example starts from the world.
    async with db.sessions() as session:
        transaction = await session.begin()
        owner = await tenants.create_sub_tenant(
            session,
            root,
            NewSubTenant(
                world.root.id,
                "Owner",
                f"owner-{number}",
                [SubscriptionType.INTEGRATED],
                True,
                currency=currency,
            ),
        )
        tariff = await tariffs.create_tariff(session, root, NewTariff(owner.id, "T", first))
        below = await tenants.create_sub_tenant(
            session,
            root,
            NewSubTenant(
                owner.id,
                "Below",
                f"below-{number}",
                [SubscriptionType.INTEGRATED],
                True,
                tenant_tariff_id=tariff.id,
            ),
        )
        operator = await operators.create_operator(session, root, f"Op {number}")
        endpoints = []
        for index, tenant in enumerate((owner, below)):
            customer = await customers.create_customer(
                session, root, NewCustomer(tenant.id, "C", SubscriptionType.INTEGRATED, tariff.id)
            )
            iccid = f"89{number:09d}{index:08d}"
            endpoint = await customers.create_endpoint(
                session, root, NewEndpoint(customer.id, "E", iccid, operator.id)
            )
            endpoints.append(endpoint)
        # The tariff's history, written as it would stand after its revisions took effect:
        # the first version from before the records, then the drawn revisions.
        await session.execute(
            sa.text("UPDATE tariff_versions SET effective_from = :at WHERE tariff_id = :t"),
            {"at": FIRST - timedelta(days=1), "t": tariff.id},
        )
        history = [(FIRST - timedelta(days=1), first)]
        for fraction, revised in sorted(versions, key=lambda v: v[0]):
            at = FIRST + SPAN * fraction
            version = await session.scalar(
                sa.text(
                    "INSERT INTO tariff_versions (tariff_id, tenant_id, effective_from) "
                    "VALUES (:t, :owner, :at) RETURNING id"
                ),
                {"t": tariff.id, "owner": owner.id, "at": at},
            )
            for rate in revised:
                await session.execute(
                    sa.text(
                        "INSERT INTO tariff_rates (version_id, kind, tariff_id, tenant_id, "
                        "unit_price, increment, minimum) VALUES (:v, :k, :t, :owner, :p, :i, :m)"
                    ),
                    {
                        "v": version,
                        "k": rate.kind.value,
                        "t": tariff.id,
                        "owner": owner.id,
                        "p": rate.unit_price,
                        "i": rate.increment,
                        "m": rate.minimum,
                    },
                )
            history.append((at, revised))
        placed = [(u, FIRST + SPAN * u.offset) for u in records]
        await usage_repo.ensure_partitions(session, [at for _, at in placed])
        await usage_repo.insert_records(
            session,
            [
                usage_repo.RatedRecord(
                    tenant_id=endpoints[u.endpoint].tenant_id,
                    customer_id=endpoints[u.endpoint].customer_id,
                    endpoint_id=endpoints[u.endpoint].id,
                    kind=u.kind,
                    quantity=u.quantity,
                    depth=len(owner.path) - 1 + u.endpoint,
                    charges=[Decimal(0)] * (len(owner.path) + u.endpoint),
                    occurred_at=at,
                    event_id=f"e{number}-{i}",
                )
                for i, (u, at) in enumerate(placed)
            ],
        )

        admin = Principal(world.root_admin.user.id, owner.id, Role.ADMIN, False, token_id=0)
        preview = await preview_tariff(session, admin, PreviewRequest(tariff.id, proposed, *PERIOD))
        await transaction.rollback()

    # Each record rated on its own, as ingestion rates it.
    expected: dict[tuple[str, int], list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 2)
    for u, at in placed:
        if not PERIOD[0] <= at < PERIOD[1]:
            continue
        in_force = [r for since, r in history if since <= at][-1]
        endpoint = endpoints[u.endpoint]
        paid_by = [("CUSTOMER", endpoint.customer_id)]
        if u.endpoint == 1:
            paid_by.append(("TENANT", below.id))
        for payer in paid_by:
            sums = expected[payer]
            sums[0] = EXACT.add(sums[0], charge(u.quantity, by(in_force, u.kind)))
            sums[1] = EXACT.add(sums[1], charge(u.quantity, by(proposed, u.kind)))
    got = {
        (line.payer_kind, line.payer_id): [line.current, line.proposed] for line in preview.lines
    }
    payers = {("CUSTOMER", e.customer_id) for e in endpoints} | {("TENANT", below.id)}
    assert set(got) == payers
    assert got == {p: expected[p] for p in payers}
    # What the API shows: every line and the totals, to the millionth, in the currency.
    shown = to_gql_preview(preview)
    assert [(m.current, m.proposed) for m in shown.lines] == [
        (to_money(line.current, currency), to_money(line.proposed, currency))
        for line in preview.lines
    ]
    totals = [Decimal(0), Decimal(0)]
    for sums in expected.values():
        totals = [EXACT.add(total, part) for total, part in zip(totals, sums, strict=True)]
    assert shown.current == [to_money(totals[0], currency)]
    assert shown.proposed == [to_money(totals[1], currency)]
