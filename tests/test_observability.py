"""What the people who run Tenantry see: JSON log lines, /metrics, and OpenTelemetry traces."""

import io
import json
import logging
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from prometheus_client.parser import text_string_to_metric_families

from tenantry.logs import CURRENT_REQUEST, JsonFormatter
from tests.fixtures.graphql import GraphQLClient
from tests.fixtures.money import create_customer
from tests.fixtures.world import World
from tests.test_server import BIN, Server

PING = "query Ping { viewer { tenant { moniker } } }"


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Everything logged, as the server's stream would carry it (JSON lines)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line]


async def test_a_request_ends_with_one_json_access_line_carrying_who_and_what(
    gql: GraphQLClient, world: World, log_lines: io.StringIO
) -> None:
    token = world.a1_viewer.token
    response = await gql.http.post(
        "/graphql",
        json={"query": PING},
        headers={"Authorization": f"Bearer {token}", "X-Request-Id": "req-42.a"},
    )
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req-42.a"
    access = [line for line in _lines(log_lines) if line["logger"] == "tenantry.access"]
    assert len(access) == 1
    line = access[0]
    assert line["request_id"] == "req-42.a"
    assert line["tenant"] == str(world.a1.id)
    assert line["user"] == str(world.a1_viewer.user.id)
    assert line["operation"] == "Ping"
    assert line["read_path"] in ("compiled", "resolver")
    assert (line["method"], line["path"], line["status"], line["outcome"]) == (
        "POST",
        "/graphql",
        200,
        "ok",
    )
    assert isinstance(line["duration_ms"], float)
    server = [line for line in _lines(log_lines) if not line["logger"].startswith("httpx")]
    assert token not in json.dumps(server)
    # Outside a request, lines carry no request fields.
    assert CURRENT_REQUEST.get() is None


@pytest.mark.parametrize("incoming", ["x" * 5000, "a b", "evil\x7fid", 'quote"d', "", "semi;colon"])
async def test_an_unusable_request_id_is_replaced(
    gql: GraphQLClient, world: World, log_lines: io.StringIO, incoming: str
) -> None:
    response = await gql.http.post(
        "/graphql",
        json={"query": PING},
        headers={"Authorization": f"Bearer {world.a1_viewer.token}", "X-Request-Id": incoming},
    )
    replaced = response.headers["x-request-id"]
    assert replaced != incoming
    assert len(replaced) == 32 and int(replaced, 16) >= 0
    (line,) = [line for line in _lines(log_lines) if line["logger"] == "tenantry.access"]
    assert line["request_id"] == replaced
    if incoming:
        assert incoming not in log_lines.getvalue()


async def test_errors_and_links_in_the_logs(
    gql: GraphQLClient, world: World, log_lines: io.StringIO
) -> None:
    # A download link's signature (its query string) never reaches the log.
    await gql.http.get("/reports/UmVwb3J0OjE=/usage.csv?expires=99&signature=s3cr3tsig")
    # A refused query is logged with its error code.
    await gql.post("query Bad { tenants { nope } }", token=world.a1_viewer.token)
    # (httpx, the test's own client, logs its URLs: only the server's lines count.)
    server = [line for line in _lines(log_lines) if not line["logger"].startswith("httpx")]
    assert "s3cr3tsig" not in json.dumps(server)
    access = [line for line in server if line["logger"] == "tenantry.access"]
    assert [line["path"] for line in access] == ["/reports/UmVwb3J0OjE=/usage.csv", "/graphql"]
    assert access[1]["error_code"]
    assert access[1]["operation"] == "Bad"
    assert access[1]["outcome"] in ("error", "client_error")


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_count_requests_reads_pool_queue_and_ledger(
    gql: GraphQLClient, world: World
) -> None:
    before = _samples((await gql.http.get("/metrics")).text)
    for _ in range(3):
        await gql.data(PING, token=world.a1_viewer.token)
    customer = await create_customer(gql, world.a1_admin.token, world.a1.id)
    account = customer["customer"]["account"]["id"]
    top_up = await gql.data(
        'mutation($a: ID!) { topUpAccount(input: {accountId: $a, amount: "5", idempotencyKey: "m1"}) { userErrors { code } } }',
        {"a": account},
        token=world.a1_admin.token,
    )
    assert top_up["topUpAccount"]["userErrors"] == []
    response = await gql.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = _samples(response.text)

    def grew(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert grew("tenantry_requests_total", operation="Ping", outcome="ok") == 3
    assert _value(after, "tenantry_request_duration_seconds_count", operation="Ping", outcome="ok")
    reads = grew("tenantry_graphql_reads_total", path="compiled") + grew(
        "tenantry_graphql_reads_total", path="resolver"
    )
    assert reads == 3
    assert grew("tenantry_ledger_transactions_total", kind="TOP_UP") == 1
    names = {name for name, _ in after}
    assert {"tenantry_db_pool_connections_in_use", "tenantry_db_pool_waiting"} <= names
    # The job queue's depth is PostgreSQL's: a family, even when the queue is empty.
    assert "# TYPE tenantry_job_queue_depth gauge" in response.text


async def test_a_rolled_back_transfer_is_not_counted(gql: GraphQLClient, world: World) -> None:
    customer = await create_customer(gql, world.a1_admin.token, world.a1.id)
    account = customer["customer"]["account"]["id"]
    before = _samples((await gql.http.get("/metrics")).text)
    # A debit past the credit limit is refused under the account's lock, after the
    # transaction row was written: it rolls back, and moved nothing.
    refused = await gql.data(
        'mutation($a: ID!) { adjustAccount(input: {accountId: $a, direction: DEBIT, amount: "5", reason: "r", idempotencyKey: "m2"}) { userErrors { code } } }',
        {"a": account},
        token=world.root_admin.token,
    )
    assert [e["code"] for e in refused["adjustAccount"]["userErrors"]] == ["INSUFFICIENT_FUNDS"]
    after = _samples((await gql.http.get("/metrics")).text)
    assert _value(after, "tenantry_ledger_transactions_total", kind="DEBIT") == _value(
        before, "tenantry_ledger_transactions_total", kind="DEBIT"
    )


def _bootstrap_token(server: Server) -> str:
    run = subprocess.run(
        [str(BIN), "bootstrap"],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout.split()[-1]


@pytest.mark.slow
def test_metrics_add_up_across_workers(tmp_path: Path, empty_database: str) -> None:
    server = Server(tmp_path, "--workers", "2", database_url=empty_database)
    try:
        server.wait_ready()
        token = _bootstrap_token(server)
        for _ in range(20):
            # A new connection each time: the kernel spreads them over both workers.
            with httpx.Client() as client:
                response = client.post(
                    f"{server.url}/graphql",
                    json={"query": PING},
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert response.status_code == 200
        for _ in range(4):
            with httpx.Client() as client:
                scraped = _samples(client.get(f"{server.url}/metrics").text)
            assert _value(scraped, "tenantry_requests_total", operation="Ping", outcome="ok") == 20
    finally:
        server.stop()
    # The workers' figures were in files under the data directory.
    assert list((tmp_path / "metrics").glob("*.db"))


class _Collector(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        type(self).received.append(self.rfile.read(length))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.slow
def test_traces_reach_an_otlp_endpoint_and_continue_the_callers_trace(
    tmp_path: Path, empty_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _Collector.received = []
    collector = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    # The server's environment (Server copies this process's).
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{collector.server_port}")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
    server = Server(tmp_path, database_url=empty_database)
    try:
        server.wait_ready()
        token = _bootstrap_token(server)
        response = httpx.post(
            f"{server.url}/graphql",
            json={"query": PING},
            headers={
                "Authorization": f"Bearer {token}",
                "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01",
            },
            timeout=10,
        )
        assert response.status_code == 200
        deadline = time.monotonic() + 30
        names: set[str] = set()
        while time.monotonic() < deadline and not {"GraphQL Query: Ping"} <= names:
            time.sleep(0.2)
            names = set()
            for body in list(_Collector.received):
                request = ExportTraceServiceRequest.FromString(body)
                for resource in request.resource_spans:
                    service = {a.key: a.value.string_value for a in resource.resource.attributes}
                    assert service["service.name"] == "tenantry"
                    for scope in resource.scope_spans:
                        for span in scope.spans:
                            if span.trace_id.hex() == trace_id:
                                names.add(span.name)
        assert "GraphQL Query: Ping" in names, names
        assert any(name.startswith("POST /graphql") for name in names), names
        # A statement of the compiled read or of authentication, from asyncpg.
        assert any(name.startswith(("SELECT", "WITH")) for name in names), names
    finally:
        server.stop()
        collector.shutdown()
