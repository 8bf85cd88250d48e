"""Usage reports: requested over GraphQL, built by workers, downloaded through signed links."""

import asyncio
import csv
import io
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import procrastinate
import pytest

from tenantry.db.engine import Database
from tenantry.jobs import run_worker
from tenantry.reports import repository as reports_repo
from tenantry.reports.tasks import BUILD_USAGE_REPORT
from tenantry.settings import Settings
from tests.fixtures.graphql import GraphQLClient
from tests.fixtures.money import (
    RECORD,
    Priced,
    codes,
    create_customer,
    create_endpoint,
    create_operator,
    record,
    set_tenant,
)
from tests.fixtures.partners import PartnerWorld
from tests.fixtures.world import World
from tests.ids import gid, pk_of

REQUEST = """mutation($i: RequestUsageReportInput!) { requestUsageReport(input: $i) {
  report { id status progress rowCount downloadUrl tenant { moniker } } userErrors { field code message } } }"""
REPORT = "query($id: ID!) { node(id: $id) { ... on UsageReport { status progress rowCount error downloadUrl completedAt } } }"
NOV = {"from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}


async def request(gql: GraphQLClient, token: str, tenant_id: int, **extra: Any) -> dict[str, Any]:
    data = await gql.data(
        REQUEST, {"i": {"tenantId": gid("Tenant", tenant_id), **NOV, **extra}}, token=token
    )
    payload: dict[str, Any] = data["requestUsageReport"]
    return payload


async def work_off(jobs: procrastinate.App, db: Database) -> None:
    await run_worker(jobs, db, wait=False)


async def report(gql: GraphQLClient, token: str, report_id: str) -> dict[str, Any]:
    node: dict[str, Any] = (await gql.data(REPORT, {"id": report_id}, token=token))["node"]
    return node


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def test_report_is_built_and_downloads_as_csv(
    gql: GraphQLClient, db: Database, jobs: procrastinate.App, world: World, priced: Priced
) -> None:
    root = world.root_admin.token
    customer = (await create_customer(gql, root, world.a1.id, name='Farm "North", Ltd'))["customer"]
    operator = (await gql.data("{ sponsorOperators { id } }", token=root))["sponsorOperators"][0][
        "id"
    ]
    second = (await create_endpoint(gql, root, customer["id"], operator, name="Gate, east"))[
        "endpoint"
    ]
    await gql.data(
        RECORD,
        {
            "r": [
                record(priced.endpoint_id, "e1", "10.5"),
                record(priced.endpoint_id, "e2", "3", "SMS"),
                record(second["id"], "e3", "0.25"),
                record(second["id"], "late", "1", at="2026-12-01T00:00:00Z"),
            ]
        },
        token=root,
    )
    created = await request(gql, world.a1_viewer.token, world.a1.id)
    assert created["userErrors"] == []
    assert created["report"] | {"id": None} == {
        "id": None,
        "status": "PENDING",
        "progress": 0.0,
        "rowCount": None,
        "downloadUrl": None,
        "tenant": {"moniker": "a1"},
    }

    await work_off(jobs, db)
    done = await report(gql, world.a1_viewer.token, created["report"]["id"])
    assert (done["status"], done["progress"], done["rowCount"], done["error"]) == (
        "SUCCEEDED",
        1.0,
        3,
        None,
    )
    assert done["completedAt"] is not None

    # A plain browser GET: no Authorization header.
    response = await gql.http.get(path_of(done["downloadUrl"]))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith(
        b"endpoint_id,iccid,endpoint_name,customer,tenant_moniker,kind,quantity,cost,currency\r\n"
    )
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8"))))
    # What a1 paid a for each endpoint's usage (0.02 per started MB, 0.0004 per SMS).
    assert [r[2:] for r in rows[1:]] == [
        ["SIM", "Customer", "a1", "DATA", "10.5", "0.22", "EUR"],
        ["SIM", "Customer", "a1", "SMS", "3", "0.0012", "EUR"],
        ["Gate, east", 'Farm "North", Ltd', "a1", "DATA", "0.25", "0.02", "EUR"],
    ]
    assert rows[1][0] == priced.endpoint_id and rows[3][0] == second["id"]
    assert b'"Farm ""North"", Ltd"' in response.content  # RFC 4180 quoting


async def test_reports_section_lists_newest_first(gql: GraphQLClient, world: World) -> None:
    ids = [
        (await request(gql, world.a1_admin.token, world.a1.id))["report"]["id"] for _ in range(3)
    ]
    data = await gql.data(
        "query($id: ID!) { tenant(id: $id) { reports(first: 2) { totalCount edges { node { id } } } } }",
        {"id": gid("Tenant", world.a1.id)},
        token=world.a1_viewer.token,
    )
    assert data["tenant"]["reports"]["totalCount"] == 3
    assert [e["node"]["id"] for e in data["tenant"]["reports"]["edges"]] == ids[::-1][:2]


async def test_a_failure_is_explained_to_people_and_detailed_in_the_log(
    gql: GraphQLClient,
    db: Database,
    jobs: procrastinate.App,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    failing = (await request(gql, world.a1_admin.token, world.a1.id))["report"]["id"]
    healthy = (await request(gql, world.a1_admin.token, world.a1x.id))["report"]["id"]
    real_copy = reports_repo.copy_csv
    failing_pk = pk_of(failing)

    async def copy(connection: Any, report: Any, *args: Any) -> int:
        if report.id == failing_pk:
            raise RuntimeError("disk on fire at /var/lib/postgresql")
        return await real_copy(connection, report, *args)

    monkeypatch.setattr(reports_repo, "copy_csv", copy)
    await work_off(jobs, db)
    bad = await report(gql, world.a1_admin.token, failing)
    # A sentence for whoever asked for the report; nothing of the exception's text.
    assert (bad["status"], bad["error"], bad["downloadUrl"]) == (
        "FAILED",
        "The report could not be built because of an unexpected error; request it again, "
        "and if it fails again, tell support its id.",
        None,
    )
    # The details are in the log, with the report's id.
    [logged] = [r for r in caplog.records if r.exc_info and r.name == "tenantry.reports.service"]
    assert f"Usage report {failing_pk} " in logged.getMessage()
    assert "disk on fire at /var/lib/postgresql" in caplog.text
    assert (await report(gql, world.a1_admin.token, healthy))["status"] == "SUCCEEDED"


async def test_tampered_and_expired_links_are_refused(
    gql: GraphQLClient, db: Database, jobs: procrastinate.App, world: World
) -> None:
    first = (await request(gql, world.a1_admin.token, world.a1.id))["report"]["id"]
    other = (await request(gql, world.a1_admin.token, world.a1.id))["report"]["id"]
    await work_off(jobs, db)
    url = urlsplit((await report(gql, world.a1_admin.token, first))["downloadUrl"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert (await gql.http.get(f"{url.path}?{url.query}")).status_code == 200
    forged = [
        {**query, "signature": "0" * 64},
        {**query, "expires": str(int(query["expires"]) + 3600)},
        {**query, "expires": "1"},
        {"expires": query["expires"]},
    ]
    for params in forged:
        response = await gql.http.get(f"{url.path}?{urlencode(params)}")
        assert response.status_code == 403, params
        assert b"endpoint_id" not in response.content
    # The signature of one report does not open another.
    other_path = url.path.replace(first, other)
    assert (await gql.http.get(f"{other_path}?{url.query}")).status_code == 403


async def test_expired_links_are_refused(
    gql: GraphQLClient,
    db: Database,
    jobs: procrastinate.App,
    world: World,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    report_id = (await request(gql, world.a1_admin.token, world.a1.id))["report"]["id"]
    await work_off(jobs, db)
    monkeypatch.setattr(settings, "report_link_ttl_seconds", -5)
    url = (await report(gql, world.a1_admin.token, report_id))["downloadUrl"]
    assert (await gql.http.get(path_of(url))).status_code == 403


async def test_scope_and_ranges(
    gql: GraphQLClient, db: Database, jobs: procrastinate.App, world: World, priced: Priced
) -> None:
    hidden = await request(gql, world.a1_admin.token, world.b1.id)
    assert codes(hidden) == [("input.tenantId", "NOT_FOUND")]
    b1_report = (await request(gql, world.root_admin.token, world.b1.id))["report"]["id"]
    assert (await gql.data(REPORT, {"id": b1_report}, token=world.a1_admin.token))["node"] is None
    backwards = await request(
        gql, world.a1_admin.token, world.a1.id, **{"from": NOV["to"], "to": NOV["from"]}
    )
    assert codes(backwards) == [("input.from", "INVALID")]
    too_long = await request(
        gql, world.a1_admin.token, world.a1.id, **{"from": "2025-01-01T00:00:00Z"}
    )
    assert codes(too_long) == [("input.to", "INVALID")]
    # a's report of its own tenant only (no descendants) holds nothing of a1's usage.
    await gql.data(
        RECORD, {"r": [record(priced.endpoint_id, "e1", "1")]}, token=world.root_admin.token
    )
    own_only = (await request(gql, world.root_admin.token, world.a.id, includeDescendants=False))[
        "report"
    ]["id"]
    a2_report = (await request(gql, world.root_admin.token, world.a2.id))["report"]["id"]
    await work_off(jobs, db)
    for report_id in (own_only, a2_report):
        done = await report(gql, world.root_admin.token, report_id)
        assert (done["status"], done["rowCount"]) == ("SUCCEEDED", 0)


async def test_two_workers_never_build_the_same_report_twice(
    gql: GraphQLClient,
    db: Database,
    jobs: procrastinate.App,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = [
        (await request(gql, world.a1_admin.token, world.a1.id))["report"]["id"] for _ in range(6)
    ]
    # A second job for every report, as the report sweep might queue while the first starts.
    for report_id in ids:
        await jobs.configure_task(f"reports:{BUILD_USAGE_REPORT}").defer_async(
            report_id=pk_of(report_id)
        )
    claims: list[int] = []
    real_claim = reports_repo.claim

    async def counting_claim(session: Any, report_id: int, job_id: int, now: Any) -> Any:
        claimed = await real_claim(session, report_id, job_id, now)
        if claimed is not None:
            claims.append(report_id)
        return claimed

    monkeypatch.setattr(reports_repo, "claim", counting_claim)
    await asyncio.gather(
        run_worker(jobs, db, wait=False, name="w1", concurrency=3),
        run_worker(jobs, db, wait=False, name="w2", concurrency=3),
    )
    assert sorted(claims) == sorted(set(claims)) and len(claims) == 6
    statuses = [(await report(gql, world.a1_admin.token, i))["status"] for i in ids]
    assert statuses == ["SUCCEEDED"] * 6


async def test_a_report_lists_only_endpoints_its_tenant_sees(
    gql: GraphQLClient, db: Database, jobs: procrastinate.App, partners: PartnerWorld
) -> None:
    """A managed tenant's workspace is its own: a report of the sub-tree above it counts its
    usage nowhere in rows (ICCIDs, names) unless its admins opened it to the partner."""
    root = partners.world.root_admin.token
    operator = await create_operator(gql, root, "Op")
    grant = """mutation($t: ID!, $o: ID!) { grantSponsorOperators(input: {tenantId: $t,
               sponsorOperatorIds: [$o]}) { userErrors { code } } }"""
    for tenant_id in (gid("Tenant", partners.reseller.id), gid("Tenant", partners.partner.id)):
        await gql.data(grant, {"t": tenant_id, "o": operator}, token=root)
    await gql.data(grant, {"t": partners.managed_id, "o": operator}, token=root)
    customer = (await create_customer(gql, root, pk_of(partners.managed_id)))["customer"]
    endpoint = (await create_endpoint(gql, root, customer["id"], operator))["endpoint"]
    recorded = await gql.data(RECORD, {"r": [record(endpoint["id"], "m1", "2.5")]}, token=root)
    assert recorded["recordUsage"]["userErrors"] == []

    async def iccids(token: str, tenant_id: int) -> list[str]:
        created = await request(gql, token, tenant_id)
        assert created["userErrors"] == []
        await work_off(jobs, db)
        done = await report(gql, token, created["report"]["id"])
        assert done["status"] == "SUCCEEDED", done
        content = (await gql.http.get(path_of(done["downloadUrl"]))).content.decode()
        return [row[1] for row in list(csv.reader(io.StringIO(content)))[1:]]

    assert await iccids(partners.partner_admin.token, partners.partner.id) == []
    assert await iccids(partners.reseller_admin.token, partners.reseller.id) == []
    # The platform's own report sees every workspace.
    assert await iccids(root, partners.world.root.id) == [endpoint["iccid"]]
    await set_tenant(
        gql, partners.managed_admin.token, pk_of(partners.managed_id), partnerAccess=True
    )
    assert await iccids(partners.partner_admin.token, partners.partner.id) == [endpoint["iccid"]]
    assert await iccids(partners.reseller_admin.token, partners.reseller.id) == []
