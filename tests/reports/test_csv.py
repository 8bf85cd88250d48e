"""The report's CSV as PostgreSQL formats it is the CSV the Python builder wrote before it
(``csv.writer``, ``core.decimals.plain``, ``ledger.money.display_amount``), plus the
neutralization of cells a spreadsheet would run; and cutting it into chunks changes nothing."""

import base64
import csv
import io
import itertools
from decimal import Decimal

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenantry.core.decimals import plain
from tenantry.db.engine import Database
from tenantry.ledger.models import MONEY
from tenantry.ledger.money import display_amount
from tenantry.ledger.money_sql import display_amount as display_amount_sql
from tenantry.reports import repository as reports_repo
from tenantry.reports.csv_chunks import CsvChunks

FAST = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

# Spreadsheet formulas and CSV's own special characters, among any text PostgreSQL holds
# (not NUL). Never empty: names are never blank and an ICCID has 18 digits or more.
FORMULAS = ['=HYPERLINK("http://evil.example","Click")', "-2+3", "+1", "@SUM(A1)", "\tx", "\r=1"]
texts = st.sampled_from([*FORMULAS, 'a,"b"', "a\nb", "a\r\nb", "'=x", "=", " -1"]) | st.text(
    st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), min_size=1
)
amounts = st.decimals(min_value=0, max_value=Decimal("999999999999.999999"), places=6)
CURRENCIES = ["EUR", "JPY", "BHD"]


def neutralized(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def python_csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)  # RFC 4180: quotes as needed, CRLF line ends
    return buffer.getvalue().encode()


async def copied(db: Database, query: sa.Select[tuple[str, ...]], chunk_bytes: int) -> bytes:
    stored: list[bytes] = []

    async def store(chunk: bytes, endpoint_id: int | None) -> None:
        stored.append(chunk)

    async with CsvChunks(chunk_bytes, store) as output, db.bare() as connection:
        await reports_repo.copy_out_csv(connection, query, output)
    return b"".join(stored)


@FAST
@given(
    rows=st.lists(
        st.tuples(texts, amounts, amounts, st.sampled_from(CURRENCIES)), min_size=1, max_size=20
    ),
    chunk_bytes=st.integers(1, 300),
)
async def test_postgresql_writes_the_csv_python_wrote(
    db: Database, rows: list[tuple[str, Decimal, Decimal, str]], chunk_bytes: int
) -> None:
    values = sa.values(
        sa.column("n", sa.Integer),
        sa.column("t", sa.Text),
        sa.column("q", MONEY),
        sa.column("c", MONEY),
        sa.column("cur", sa.Text),
        name="v",
    ).data([(n, t, q, c, cur) for n, (t, q, c, cur) in enumerate(rows)])
    query = sa.select(
        sa.cast(values.c.n, sa.Text).label("n"),
        reports_repo.text_cell(values.c.t).label("text"),
        sa.cast(sa.func.trim_scale(values.c.q), sa.Text).label("quantity"),
        display_amount_sql(values.c.c, values.c.cur).label("cost"),
    ).order_by(values.c.n)
    expected = python_csv(
        [["n", "text", "quantity", "cost"]]
        + [
            [str(n), neutralized(t), str(plain(q)), str(display_amount(c, cur))]
            for n, (t, q, c, cur) in enumerate(rows)
        ]
    )
    assert await copied(db, query, chunk_bytes) == expected


def endpoint_gid(pk: int) -> str:
    return base64.b64encode(f"Endpoint:{pk}".encode()).decode()


def postgresql_csv(rows: list[list[str]]) -> bytes:
    """What COPY ... (FORMAT csv) writes: LF line ends; a value quoted when it holds a comma,
    a quote, CR or LF (csv.writer with LF ends would leave a lone CR unquoted)."""

    def value(v: str) -> str:
        return '"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\r\n') else v

    return "".join(",".join(value(v) for v in row) + "\n" for row in rows).encode()


@settings(max_examples=200, deadline=None, database=None)
@given(
    rows=st.lists(st.tuples(st.integers(1, 2**63 - 1), texts, texts), min_size=0, max_size=30).map(
        sorted
    ),
    cuts=st.lists(st.integers(0, 5_000), max_size=20),
    chunk_bytes=st.integers(1, 500),
)
async def test_chunks_are_the_csv_with_crlf_cut_to_size_and_track_the_endpoint(
    rows: list[tuple[int, str, str]], cuts: list[int], chunk_bytes: int
) -> None:
    table = [["endpoint_id", "a", "b"]] + [[endpoint_gid(pk), a, b] for pk, a, b in rows]
    streamed = postgresql_csv(table)
    stored: list[tuple[bytes, int | None]] = []

    async def store(chunk: bytes, endpoint_id: int | None) -> None:
        stored.append((chunk, endpoint_id))

    # asyncpg hands over whatever arrived: the pieces may end anywhere.
    edges = sorted({0, len(streamed), *(c for c in cuts if c < len(streamed))})
    async with CsvChunks(chunk_bytes, store) as output:
        for start, end in itertools.pairwise(edges):
            await output(streamed[start:end])

    assert b"".join(chunk for chunk, _ in stored) == python_csv(table)
    assert all(len(chunk) == chunk_bytes for chunk, _ in stored[:-1])
    # The chunk being stored, less than a chunk left over, and the piece that just came (its
    # LFs made CRLF).
    largest_piece = max((end - start for start, end in itertools.pairwise(edges)), default=0)
    assert output.peak_held < 2 * chunk_bytes + 2 * largest_piece or output.peak_held == 0
    reached = [endpoint_id for _, endpoint_id in stored if endpoint_id is not None]
    assert reached == sorted(reached)
    assert (reached[-1] if reached else None) == (rows[-1][0] if rows else None)
