"""The real thing: `tenantry serve` in a subprocess, on the embedded PostgreSQL, over HTTP."""

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

import tenantry

BIN = Path(sys.executable).parent / "tenantry"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(data_dir: Path, port: int) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TENANTRY_DATABASE_URL")
    }
    env.update(
        TENANTRY_DATA_DIR=str(data_dir), TENANTRY_PORT=str(port), TENANTRY_LOG_LEVEL="warning"
    )
    return env


class Server:
    """`tenantry serve` with ``args``; on the embedded PostgreSQL unless ``database_url``."""

    def __init__(self, data_dir: Path, *args: str, database_url: str | None = None) -> None:
        self.port = _free_port()
        self.env = _env(data_dir, self.port)
        if database_url:
            self.env["DATABASE_URL"] = database_url
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [str(BIN), "serve", *args],
            env=self.env,
            cwd=data_dir,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output: list[str] = []

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.read_all()
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError(f"server did not start: {self.read_all()}")

    def stop(self) -> str:
        # SIGTERM, as `kill`, systemd and `docker stop` send it.
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        return self.read_all()

    def read_all(self) -> str:
        if self.process.stdout and self.process.poll() is not None:
            self.output.append(self.process.stdout.read())
        return "".join(self.output)

    def graphql(
        self, query: str, token: str, variables: dict[str, object] | None = None
    ) -> dict[str, object]:
        response = httpx.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        body: dict[str, object] = response.json()
        body.pop("extensions", None)  # the cost report
        return body


def assert_large_bodies_are_refused(url: str, token: str) -> None:
    """Over real HTTP, with and without Content-Length: 413 in JSON, and the server goes on."""

    def chunks() -> Iterator[bytes]:
        yield b'{"query": "{ __typename }", "variables": {"pad": "'
        for _ in range(20 * 16):  # 20 MiB, if the server read it all
            yield b"x" * 64 * 1024
        yield b'"}}'

    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for body in (b"x" * (5 * 1024 * 1024), chunks()):
        response = httpx.post(f"{url}/graphql", content=body, headers=headers, timeout=30)
        assert response.status_code == 413
        assert response.json()["errors"][0]["extensions"] == {"code": "PAYLOAD_TOO_LARGE"}
    after = httpx.post(f"{url}/graphql", json={"query": "{ __typename }"}, timeout=10)
    assert after.json()["data"] == {"__typename": "Query"}


def _token_from(output: str) -> str:
    tokens = [w for line in output.splitlines() for w in line.split() if w.startswith("tnt_")]
    assert tokens, output
    return tokens[0]


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path


def test_serve_on_embedded_postgres_prints_a_working_token(data_dir: Path) -> None:
    server = Server(data_dir)
    try:
        server.wait_ready()
        # A second process attaches to the same embedded server and mints another token.
        bootstrap = subprocess.run(
            [str(BIN), "bootstrap"],
            env=server.env,
            cwd=data_dir,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        second_token = bootstrap.stdout.strip().splitlines()[-1]
        assert second_token.startswith("tnt_")
        assert server.graphql("{ viewer { role tenant { kind } } }", second_token) == {
            "data": {"viewer": {"role": "ADMIN", "tenant": {"kind": "ROOT"}}}
        }
        root_id = server.graphql("{ viewer { tenant { id } } }", second_token)["data"]["viewer"][
            "tenant"
        ]["id"]  # type: ignore[index]
        created = server.graphql(
            'mutation($p: ID!) { createSubTenant(input: {parentId: $p, name: "Stacuity", moniker: "stacuity", subscriptionTypes: [INTEGRATED]}) { tenant { moniker depth } userErrors { code } } }',
            second_token,
            {"p": root_id},
        )
        assert created == {
            "data": {
                "createSubTenant": {"tenant": {"moniker": "stacuity", "depth": 1}, "userErrors": []}
            }
        }
        page = httpx.get(f"{server.url}/graphql", headers={"accept": "text/html"}, timeout=10)
        assert page.status_code == 200 and "graphiql.min.js" in page.text
        assert_large_bodies_are_refused(server.url, second_token)
    finally:
        output = server.stop()
    first_token = _token_from(output)
    assert "Authorization" in output and "Bearer" in output
    assert first_token != second_token

    # A restart keeps the data and does not print a token again; the old one still works.
    again = Server(data_dir)
    try:
        again.wait_ready()
        assert again.graphql('{ tenant(moniker: "stacuity") { name } }', first_token) == {
            "data": {"tenant": {"name": "Stacuity"}}
        }
    finally:
        output = again.stop()
    assert "tnt_" not in output and "already set up" in output
    # The embedded PostgreSQL stopped with the server (its pid file goes when it shuts down).
    deadline = time.monotonic() + 15
    while (data_dir / "pgdata" / "postmaster.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not (data_dir / "pgdata" / "postmaster.pid").exists()


def test_demo_fills_a_tree(data_dir: Path) -> None:
    env = _env(data_dir, _free_port())
    run = subprocess.run(
        [str(BIN), "demo"],
        env=env,
        cwd=data_dir,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "Loaded" in run.stdout
    again = subprocess.run(
        [str(BIN), "demo"],
        env=env,
        cwd=data_dir,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "already loaded" in again.stdout


def test_export_schema_matches_the_checked_in_file(tmp_path: Path) -> None:
    out = tmp_path / "schema.graphql"
    subprocess.run([str(BIN), "export-schema", "-o", str(out)], check=True, timeout=60)
    assert (
        out.read_text()
        == (Path(tenantry.__file__).resolve().parents[2] / "schema.graphql").read_text()
    )


SUBSCRIBE = (
    "subscription($id: ID!) { usageReport(id: $id) { status progress rowCount downloadUrl } }"
)


async def _text(ws: Any) -> str:
    """The next message, which must be a text frame: graphql-ws clients read no binary frames."""
    frame = await ws.recv()
    assert isinstance(frame, str), f"binary websocket frame: {frame!r}"
    return frame


async def _follow(ws_url: str, token: str | None, report_id: str) -> list[dict[str, Any]]:
    """Subscribe over graphql-transport-ws and collect every message until the server ends it."""
    async with websockets.connect(
        ws_url, subprotocols=[websockets.Subprotocol("graphql-transport-ws")]
    ) as ws:
        init: dict[str, Any] = {"type": "connection_init"}
        if token:
            init["payload"] = {"Authorization": f"Bearer {token}"}
        await ws.send(json.dumps(init))
        assert json.loads(await _text(ws))["type"] == "connection_ack"
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": SUBSCRIBE, "variables": {"id": report_id}},
                }
            )
        )
        messages = []
        while True:
            message = json.loads(await asyncio.wait_for(_text(ws), timeout=30))
            messages.append(message)
            if message["type"] in ("complete", "error"):
                return messages


async def test_report_over_http_followed_by_subscription_and_downloaded_with_curl(
    data_dir: Path,
) -> None:
    server = Server(data_dir)
    try:
        server.wait_ready()
        bootstrap = await asyncio.to_thread(
            subprocess.run,
            [str(BIN), "bootstrap"],
            env=server.env,
            cwd=data_dir,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        token = bootstrap.stdout.strip().splitlines()[-1]
        root_id = server.graphql("{ viewer { tenant { id } } }", token)["data"]["viewer"]["tenant"][
            "id"
        ]  # type: ignore[index]
        requested = server.graphql(
            'mutation($t: ID!) { requestUsageReport(input: {tenantId: $t, from: "2026-11-01T00:00:00Z", to: "2026-12-01T00:00:00Z"}) { report { id status } userErrors { code } } }',
            token,
            {"t": root_id},
        )
        report_id = requested["data"]["requestUsageReport"]["report"]["id"]  # type: ignore[index]
        ws_url = server.url.replace("http://", "ws://") + "/graphql"

        messages = await _follow(ws_url, token, report_id)
        updates = [m["payload"]["data"]["usageReport"] for m in messages if m["type"] == "next"]
        assert messages[-1]["type"] == "complete"
        assert updates[-1]["status"] == "SUCCEEDED" and updates[-1]["progress"] == 1.0
        order = ["PENDING", "RUNNING", "SUCCEEDED"]
        assert [order.index(u["status"]) for u in updates] == sorted(
            order.index(u["status"]) for u in updates
        )

        # The download link works without any token, as curl or a browser would use it.
        assert updates[-1]["downloadUrl"].startswith(f"{server.url}/reports/")
        download = await asyncio.to_thread(httpx.get, updates[-1]["downloadUrl"], timeout=10)
        assert download.status_code == 200
        assert download.text.startswith(
            "endpoint_id,iccid,endpoint_name,customer,tenant_moniker,kind"
        )

        anonymous = await _follow(ws_url, None, report_id)
        assert [m["type"] for m in anonymous] == ["next", "complete"]
        assert anonymous[0]["payload"]["data"] is None
        assert [e["extensions"]["code"] for e in anonymous[0]["payload"]["errors"]] == [
            "UNAUTHENTICATED"
        ]
    finally:
        server.stop()


def _children(pid: int) -> dict[int, str]:
    """The processes ``pid`` started, with their command lines (from /proc)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_text().replace("\0", " ")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:  # the parent's pid
            found[int(entry.name)] = command
    return found


def _answered_by(server_port: int, pids: list[int]) -> int | None:
    """Which of ``pids`` holds the server side of a fresh connection, once it has answered."""
    with socket.create_connection(("127.0.0.1", server_port), timeout=10) as client:
        client.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert client.recv(1024).startswith(b"HTTP/1.1 200")
        client_port = client.getsockname()[1]
        inodes = {
            fields[9]
            for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
            if (fields := line.split())
            and int(fields[1].split(":")[1], 16) == server_port
            and int(fields[2].split(":")[1], 16) == client_port
        }
        for pid in pids:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in {f"socket:[{inode}]" for inode in inodes}:
                        return pid
    return None


def test_serve_with_two_workers_answers_from_both_and_stops_on_sigterm(
    data_dir: Path, empty_database: str
) -> None:
    server = Server(data_dir, "--workers", "2", database_url=empty_database)
    try:
        server.wait_ready()
        workers = [
            pid
            for pid, command in _children(server.process.pid).items()
            if "multiprocessing.spawn" in command
        ]
        assert len(workers) == 2, _children(server.process.pid)
        # The kernel hands each new connection to one of them; both take their share.
        answered: set[int | None] = set()
        for _ in range(200):
            answered.add(_answered_by(server.port, workers))
            if answered == set(workers):
                break
        assert answered == set(workers)
        # Migrated and bootstrapped once, by the parent: one token printed, one root tenant.
        token = subprocess.run(
            [str(BIN), "bootstrap"],
            env=server.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout.split()[-1]
        assert server.graphql("{ viewer { tenant { kind } } }", token) == {
            "data": {"viewer": {"tenant": {"kind": "ROOT"}}}
        }
    finally:
        output = server.stop()
    assert server.process.returncode == 0, output
    assert output.count("Platform-admin token") == 1
    # SIGTERM to the parent stopped every worker (and multiprocessing's helper) with it.
    assert _children(server.process.pid) == {}
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists()


def test_without_database_url_or_embedded_postgres_the_cli_says_what_to_set(
    tmp_path: Path,
) -> None:
    # As in the Docker image, which leaves the embedded PostgreSQL out.
    absent = tmp_path / "site" / "embedded_postgres"
    absent.mkdir(parents=True)
    (absent / "__init__.py").write_text("raise ImportError('embedded-postgres is not installed')\n")
    env = _env(tmp_path, _free_port()) | {"PYTHONPATH": str(tmp_path / "site")}
    run = subprocess.run(
        [str(BIN), "migrate"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 1
    assert "DATABASE_URL is unset" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "pgdata").exists()
