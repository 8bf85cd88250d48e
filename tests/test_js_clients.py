"""Real JavaScript clients against the real server: what Apollo, Relay, urql and GraphiQL use.

The clients live in tests/js (package.json + package-lock.json, pinned); the first test that
needs them runs `npm ci` there once, so a fresh clone's `pytest` installs them by itself.
"""

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.test_server import Server, _token_from

JS_DIR = Path(__file__).parent / "js"

SUBSCRIBE = (
    "subscription($id: ID!) { usageReport(id: $id) { status progress rowCount downloadUrl } }"
)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"`{name}` is not on PATH: the JavaScript client tests need Node.js 20+ and npm "
            "(Debian: apt-get install nodejs npm)."
        )
    return path


@pytest.fixture(scope="session")
def js_clients() -> Path:
    """tests/js/node_modules as its lock file says, installed with `npm ci` when missing or stale."""
    node = _tool("node")
    npm = _tool("npm")
    installed = JS_DIR / "node_modules" / ".package-lock.json"
    lock = JS_DIR / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        run = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=JS_DIR,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if run.returncode != 0:
            pytest.fail(f"`npm ci` in {JS_DIR} failed:\n{run.stdout}\n{run.stderr}")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout
    assert int(version.lstrip("v").split(".")[0]) >= 20, f"Node.js 20+ needed, found {version}"
    return JS_DIR


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(tmp_path_factory.mktemp("js-clients"))
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def token(server: Server) -> str:
    """The platform-admin token the first start prints, as a new user sees it."""
    assert server.process.stdout is not None
    while "tnt_" not in (line := server.process.stdout.readline()):
        server.output.append(line)
        assert line and "already set up" not in line, server.read_all()
    server.output.append(line)
    return _token_from(line)


@pytest.fixture(scope="module")
def report_id(server: Server, token: str) -> str:
    root_id = server.graphql("{ viewer { tenant { id } } }", token)["data"]["viewer"]["tenant"][
        "id"
    ]  # type: ignore[index]
    requested = server.graphql(
        'mutation($t: ID!) { requestUsageReport(input: {tenantId: $t, from: "2026-11-01T00:00:00Z", to: "2026-12-01T00:00:00Z"}) { report { id } userErrors { code } } }',
        token,
        {"t": root_id},
    )
    report_id: str = requested["data"]["requestUsageReport"]["report"]["id"]  # type: ignore[index]
    return report_id


def run_js(js_clients: Path, script: str, *args: str) -> list[dict[str, Any]]:
    """Run a client of tests/js and return the JSON events it printed, one a line."""
    run = subprocess.run(
        [_tool("node"), script, *args],
        cwd=js_clients,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    events = [json.loads(line) for line in run.stdout.splitlines()]
    assert events, f"{script} printed nothing (exit {run.returncode}):\n{run.stderr}"
    return events


def subscribe(
    js_clients: Path, server: Server, query: str, variables: dict[str, Any], token: str | None
) -> list[dict[str, Any]]:
    """One subscription with graphql-ws over `ws` (tests/js/subscribe.mjs)."""
    ws_url = server.url.replace("http://", "ws://") + "/graphql"
    args = [ws_url, query, json.dumps(variables)]
    return run_js(js_clients, "subscribe.mjs", *args, *([token] if token else []))


def test_graphql_ws_client_follows_a_report_to_succeeded(
    js_clients: Path, server: Server, token: str, report_id: str
) -> None:
    events = subscribe(js_clients, server, SUBSCRIBE, {"id": report_id}, token)

    assert events[-1] == {"type": "complete"}, events
    updates = [e["payload"]["data"]["usageReport"] for e in events if e["type"] == "next"]
    assert [e["type"] for e in events] == ["next"] * len(updates) + ["complete"]
    assert updates[-1]["status"] == "SUCCEEDED"
    assert updates[-1]["progress"] == 1.0
    assert updates[-1]["rowCount"] == 0
    # The link is for a browser or curl, even though it came over a websocket.
    assert updates[-1]["downloadUrl"].startswith(f"{server.url}/reports/")
    download = httpx.get(updates[-1]["downloadUrl"], timeout=10)
    assert download.status_code == 200
    assert download.text.startswith("endpoint_id,iccid,endpoint_name,customer,tenant_moniker")
    order = ["PENDING", "RUNNING", "SUCCEEDED"]
    assert [order.index(u["status"]) for u in updates] == sorted(
        order.index(u["status"]) for u in updates
    )


@pytest.mark.parametrize("credentials", [None, "tnt_not-a-real-token"])
def test_graphql_ws_client_without_a_valid_token_is_told_unauthenticated(
    js_clients: Path, server: Server, report_id: str, credentials: str | None
) -> None:
    events = subscribe(js_clients, server, SUBSCRIBE, {"id": report_id}, credentials)

    assert [e["type"] for e in events] == ["next", "complete"], events
    assert events[0]["payload"]["data"] is None
    assert [e["extensions"]["code"] for e in events[0]["payload"]["errors"]] == ["UNAUTHENTICATED"]


def test_graphiql_sends_the_headers_tab_with_a_subscription(
    js_clients: Path, server: Server, token: str, report_id: str
) -> None:
    # A browser cannot set headers on a websocket: the page must put the pasted
    # {"Authorization": "Bearer ..."} in connection_init.
    events = run_js(
        js_clients,
        "graphiql-subscribe.mjs",
        f"{server.url}/graphql",
        SUBSCRIBE,
        json.dumps({"id": report_id}),
        json.dumps({"Authorization": f"Bearer {token}"}),
    )

    assert events[-1] == {"type": "complete"}, events
    last = events[-2]["payload"]
    assert "errors" not in last, last
    assert last["data"]["usageReport"]["status"] == "SUCCEEDED"


def test_graphql_over_http_audit_passes_without_warnings(js_clients: Path, server: Server) -> None:
    """graphql-http's `auditServer`, the GraphQL-over-HTTP spec's own audit, as a client
    library author would run it against us."""
    results = run_js(js_clients, "audit.mjs", f"{server.url}/graphql")

    failures = [r for r in results if r["status"] != "ok"]
    assert not failures, "\n".join(json.dumps(r, indent=2) for r in failures)
    assert len(results) >= 60  # the whole audit ran
