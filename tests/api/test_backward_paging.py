"""Connections page both ways (``first``/``after`` and ``last``/``before``), cut as the Relay
connection spec says (https://relay.dev/graphql/connections.htm), on both read paths.

Representative lists: a tenant's customers (oldest first, batched by parent), an account's
transactions with a kind filter (newest first) and a tariff's versions (paged in memory,
latest effective first). Each is held against a model of the spec's algorithm, and the
compiled read path must answer exactly as the resolver path does.
"""

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import procrastinate
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenantry.api.compiler.extension import PATH_HEADER
from tenantry.customers import service as customers
from tenantry.customers.service import NewCustomer
from tenantry.db.engine import Database
from tenantry.ledger import repository as ledger_repo
from tenantry.ledger import service as ledger
from tenantry.ledger.models import SystemPurpose, TransactionKind
from tenantry.ledger.service import Leg
from tenantry.tariffs.models import UsageKind
from tenantry.tenants.models import SubscriptionType
from tests.api.test_compiled_reads import TenantSpec, _customers, _usage, path_clients
from tests.fixtures.factories import create_tenant, platform_principal
from tests.fixtures.graphql import GraphQLClient
from tests.fixtures.money import create_tariff, per_mb
from tests.fixtures.world import World
from tests.ids import gid
from tests.tariffs.conftest import revise

# How long each representative list is: some short, some longer than a page.
SIZES = (0, 1, 2, 3, 5, 8)
PAGE = "totalCount pageInfo { hasPreviousPage hasNextPage startCursor endCursor } edges { cursor node { id } }"
ARGUMENTS = "first: $first, after: $after, last: $last, before: $before"
VARIABLES = "$id: ID!, $first: Int, $after: String, $last: Int, $before: String"
LISTS = {
    "customers": f"... on Tenant {{ list: customers({ARGUMENTS}) {{ {PAGE} }} }}",
    "transactions": (
        f"... on Account {{ list: transactions({ARGUMENTS}, kinds: [TOP_UP, CREDIT]) {{ {PAGE} }} }}"
    ),
    "versions": f"... on Tariff {{ list: versions({ARGUMENTS}) {{ {PAGE} }} }}",
}


def query_of(kind: str) -> str:
    return f"query({VARIABLES}) {{ node(id: $id) {{ {LISTS[kind]} }} }}"


@dataclass(frozen=True)
class Lists:
    """Global ids of the parents of each kind of list, one per length in ``SIZES``."""

    parents: dict[str, list[str]]
    token: str


@dataclass(frozen=True)
class Paths:
    compiled: GraphQLClient
    resolver: GraphQLClient

    async def page(self, kind: str, parent: str, token: str, **arguments: Any) -> dict[str, Any]:
        """The page on the resolver path; the compiled path must give the same answer, from
        SQL except for what it does not compile (versions read backwards; ``first`` with
        ``last``)."""
        variables = {"id": parent, **arguments}
        answers = []
        for client in (self.compiled, self.resolver):
            response = await client.post(query_of(kind), variables, token)
            answers.append((response.headers.get(PATH_HEADER), response.json()))
        (compiled_path, compiled), (_, resolver) = answers
        assert compiled == resolver, (kind, arguments)
        both = arguments.get("first") is not None and arguments.get("last") is not None
        backwards = arguments.get("last") is not None or arguments.get("before") is not None
        falls_back = both or (kind == "versions" and backwards)
        assert compiled_path == ("resolver" if falls_back else "compiled")
        assert "errors" not in resolver, resolver["errors"]
        page: dict[str, Any] = resolver["data"]["node"]["list"]
        return page


@pytest.fixture
async def paths(db: Database, database_url: str, jobs: procrastinate.App) -> AsyncIterator[Paths]:
    async with path_clients(db, database_url, jobs) as (compiled, resolver):
        yield Paths(compiled, resolver)


_monikers = itertools.count(1)
KINDS = [TransactionKind.TOP_UP, TransactionKind.CREDIT]


async def _tenant_with_lists(db: Database, world: World, size: int) -> tuple[str, str]:
    """A tenant with ``size`` customers, and an account whose TOP_UP and CREDIT
    transactions number ``size`` (with DEBITs between them, which the filter leaves out)."""
    root, root_admin = world.root, world.root_admin
    tenant = await create_tenant(db, root, root_admin, world.a1, moniker=f"p{next(_monikers)}")
    async with db.write() as session:
        for n in range(size):
            await customers.create_customer(
                session,
                platform_principal(root, root_admin),
                NewCustomer(tenant.id, f"C{n}", SubscriptionType.INTEGRATED),
            )
        account = await ledger_repo.tenant_account(session, tenant.id)
        assert account is not None
        funding = await ledger_repo.system_account(
            session, root_tenant_id=root.id, purpose=SystemPurpose.FUNDING, currency="EUR"
        )
        kinds = [k for n in range(size) for k in (KINDS[n % 2], TransactionKind.DEBIT)]
        for n, kind in enumerate(kinds):
            amount = Decimal(n + 1)
            await ledger.post_transfer(
                session,
                tenant_id=root.id,
                kind=kind,
                legs=[Leg(account.id, amount, kind), Leg(funding.id, -amount, kind)],
            )
    return gid("Tenant", tenant.id), gid("Account", account.id)


async def _tariff_with_versions(gql: GraphQLClient, world: World, size: int) -> str:
    """A tariff with ``size`` versions (at least one), revised out of effective order: the
    list's order (latest effective first) is not its ids'."""
    tariff = await create_tariff(gql, world.a1_admin.token, world.a1.id, per_mb("0.01"))
    start = datetime.now(UTC) + timedelta(days=30)
    for days in sorted(range(1, size), key=lambda d: (d % 2, d)):
        revised = await revise(
            gql, world.a1_admin.token, tariff, start + timedelta(days=days), per_mb(f"0.0{days}")
        )
        assert revised["userErrors"] == []
    return tariff


@pytest.fixture
async def lists(db: Database, world: World, paths: Paths) -> Lists:
    parents: dict[str, list[str]] = {"customers": [], "transactions": [], "versions": []}
    for size in SIZES:
        tenant, account = await _tenant_with_lists(db, world, size)
        parents["customers"].append(tenant)
        parents["transactions"].append(account)
        parents["versions"].append(await _tariff_with_versions(paths.resolver, world, size))
    return Lists(parents, world.root_admin.token)


async def _whole(paths: Paths, lists: Lists, kind: str, parent: str) -> list[dict[str, Any]]:
    page = await paths.page(kind, parent, lists.token, first=100)
    assert not page["pageInfo"]["hasNextPage"]
    assert page["totalCount"] == len(page["edges"])
    edges: list[dict[str, Any]] = page["edges"]
    return edges


def _check_ends(page: dict[str, Any]) -> None:
    edges, info = page["edges"], page["pageInfo"]
    assert info["startCursor"] == (edges[0]["cursor"] if edges else None)
    assert info["endCursor"] == (edges[-1]["cursor"] if edges else None)


hypothesis_settings = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@hypothesis_settings
@given(data=st.data())
async def test_paging_backwards_from_the_end_gives_the_forward_list(
    paths: Paths, lists: Lists, data: st.DataObject
) -> None:
    kind = data.draw(st.sampled_from(sorted(LISTS)))
    parent = data.draw(st.sampled_from(lists.parents[kind]))
    size = data.draw(st.integers(1, 10))
    whole = await _whole(paths, lists, kind, parent)
    length = SIZES[lists.parents[kind].index(parent)]
    assert len(whole) == (max(length, 1) if kind == "versions" else length)

    collected: list[dict[str, Any]] = []
    before = None
    while True:
        page = await paths.page(kind, parent, lists.token, last=size, before=before)
        edges, info = page["edges"], page["pageInfo"]
        assert len(edges) == min(size, len(whole) - len(collected))
        _check_ends(page)
        collected = edges + collected
        # A previous page exactly when ``last`` cut items off; a next page when a cursor
        # stands after the page (the item it names).
        assert info["hasPreviousPage"] is (len(collected) < len(whole))
        assert info["hasNextPage"] is (before is not None)
        assert page["totalCount"] == len(whole)
        if not info["hasPreviousPage"]:
            break
        before = info["startCursor"]
    assert collected == whole


def spec_page(
    cursors: list[str],
    after: str | None,
    before: str | None,
    first: int | None,
    last: int | None,
) -> tuple[list[str], bool, bool]:
    """The spec's EdgesToReturn, HasPreviousPage and HasNextPage over cursors from the
    list itself; where the spec leaves the flag to the server, the cursor's own item lies
    on that side (a previous page after ``after``, a next page before ``before``)."""
    edges = list(cursors)
    if after is not None:
        edges = edges[edges.index(after) + 1 :]
    if before is not None:
        edges = edges[: edges.index(before)] if before in edges else []
    window = edges
    if first is not None:
        edges = edges[:first]
    if last is not None:
        edges = edges[len(edges) - last :] if last < len(edges) else edges
    has_previous = len(window) > last if last is not None else after is not None
    has_next = len(window) > first if first is not None else before is not None
    return edges, has_previous, has_next


@hypothesis_settings
@given(data=st.data())
async def test_any_page_is_cut_as_the_spec_says(
    paths: Paths, lists: Lists, data: st.DataObject
) -> None:
    kind = data.draw(st.sampled_from(sorted(LISTS)))
    parent = data.draw(st.sampled_from(lists.parents[kind]))
    whole = [e["cursor"] for e in await _whole(paths, lists, kind, parent)]
    cursor = st.none() | (st.sampled_from(whole) if whole else st.nothing())
    after, before = data.draw(cursor), data.draw(cursor)
    sizes = st.none() | st.integers(0, len(whole) + 2)
    first, last = data.draw(sizes), data.draw(sizes)

    page = await paths.page(
        kind, parent, lists.token, first=first, after=after, last=last, before=before
    )
    expected = spec_page(
        whole, after, before, 20 if first is None and last is None else first, last
    )
    info = page["pageInfo"]
    got = ([e["cursor"] for e in page["edges"]], info["hasPreviousPage"], info["hasNextPage"])
    assert got == expected
    _check_ends(page)
    assert page["totalCount"] == len(whole)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"last": -1}, "'last' must be between 0 and 100; got -1."),
        ({"last": 101}, "'last' must be between 0 and 100; got 101."),
        ({"first": 2, "last": 101}, "'last' must be between 0 and 100; got 101."),
        ({"before": "nope"}, "'before' is not a cursor this API gave out."),
        ({"last": 2, "before": "Y3Vyc29yOmFiYw=="}, "'before' is not a cursor this API gave out."),
        ({"first": -3, "before": "nope"}, "'first' must be between 0 and 100; got -3."),
    ],
)
@pytest.mark.parametrize("kind", sorted(LISTS))
async def test_bad_page_arguments_are_the_clients_to_fix(
    paths: Paths, world: World, kind: str, arguments: dict[str, Any], message: str
) -> None:
    tariff = await create_tariff(paths.resolver, world.a1_admin.token, world.a1.id, per_mb("1"))
    parent = {
        "customers": gid("Tenant", world.a1.id),
        "transactions": await _account_of(paths, world),
        "versions": tariff,
    }[kind]
    variables = {"id": parent, **arguments}
    answers = [
        (await client.post(query_of(kind), variables, world.a1_admin.token)).json()
        for client in (paths.compiled, paths.resolver)
    ]
    assert answers[0] == answers[1]
    [error] = answers[1]["errors"]
    assert error["message"] == message
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["path"] == ["node", "list"]


async def _account_of(paths: Paths, world: World) -> str:
    data = await paths.resolver.data(
        "query($id: ID!) { node(id: $id) { ... on Tenant { account { id } } } }",
        {"id": gid("Tenant", world.a1.id)},
        token=world.a1_admin.token,
    )
    account: str = data["node"]["account"]["id"]
    return account


async def test_endpoint_usage_rows_have_a_total_and_page_backwards(
    paths: Paths, db: Database, world: World
) -> None:
    """UsageSummary.endpoints: ``totalCount`` (rows of endpoint and kind), and the last
    page read backwards is the end of the list read forwards, on both paths."""
    spec = TenantSpec(
        0,
        "EUR",
        None,
        Decimal(0),
        None,
        [3, 2],
        usage=((UsageKind.DATA, Decimal("1.5"), 1), (UsageKind.SMS, Decimal("2"), 2)),
    )
    tenant = world.a1
    await _customers(db, world.root, world.root_admin, tenant, spec)
    await _usage(db, tenant, spec)
    query = """query($id: ID!, $first: Int, $last: Int, $before: String) { node(id: $id) {
      ... on Tenant { usage(from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z") {
        endpoints(first: $first, last: $last, before: $before) {
          totalCount pageInfo { hasPreviousPage hasNextPage startCursor endCursor }
          edges { cursor node { kind quantity } } } } } } }"""
    variables: dict[str, Any] = {"id": gid("Tenant", tenant.id)}
    answers = []
    for arguments in ({"first": 100}, {"last": 3}, {"last": 2}):
        pages = []
        for client in (paths.compiled, paths.resolver):
            response = await client.post(query, {**variables, **arguments}, world.root_admin.token)
            assert response.headers[PATH_HEADER] == (
                "compiled" if client is paths.compiled else "resolver"
            )
            pages.append(response.json())
        assert pages[0] == pages[1]
        answers.append(pages[1]["data"]["node"]["usage"]["endpoints"])
    whole, last3, last2 = answers
    # 5 endpoints, each with DATA and SMS.
    assert whole["totalCount"] == len(whole["edges"]) == 10
    assert last3["totalCount"] == 10
    assert last3["edges"] == whole["edges"][-3:]
    assert last3["pageInfo"] == {
        "hasPreviousPage": True,
        "hasNextPage": False,
        "startCursor": whole["edges"][-3]["cursor"],
        "endCursor": whole["edges"][-1]["cursor"],
    }
    before = await paths.resolver.data(
        query,
        {**variables, "last": 20, "before": last2["pageInfo"]["startCursor"]},
        token=world.root_admin.token,
    )
    page = before["node"]["usage"]["endpoints"]
    assert page["edges"] == whole["edges"][:-2]
    assert page["pageInfo"]["hasPreviousPage"] is False
    assert page["pageInfo"]["hasNextPage"] is True
