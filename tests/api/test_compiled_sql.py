"""The SQL pieces of the compiled read path render exactly what the resolver path renders,
and every field either compiles or is listed as falling back to the resolver path."""

from datetime import UTC, datetime
from decimal import Decimal

import orjson
import sqlalchemy as sa
from graphql import GraphQLObjectType
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenantry.api.compiler.registry import binder_of
from tenantry.api.compiler.sql import cursor, global_id, iso_datetime
from tenantry.api.schema import build_schema
from tenantry.api.types.account_sql import billing_status as billing_status_sql
from tenantry.api.types.report_sql import python_float
from tenantry.core.pagination import encode_cursor
from tenantry.db.engine import Database
from tenantry.ledger.models import MONEY, Account
from tenantry.ledger.money import display_amount
from tenantry.ledger.money_sql import display_amount as display_amount_sql
from tenantry.ledger.service import billing_status
from tenantry.settings import Settings
from tests.ids import gid

# Fields that run on the resolver path: this list may only shrink (when a field compiles).
FALLBACK_FIELDS = {
    "Query.billingEntities",
    "Query.sponsorOperators",
    "Viewer.impersonation",
    "Tenant.settingSources",
    "Customer.topUpUrl",
    # Signed per answer: an HMAC over an expiry counted from the request (report_sql.py).
    "UsageReport.downloadUrl",
}
# Types with no compiled field at all (reached only through fallback fields).
FALLBACK_TYPES = {
    "ApiToken",
    "FeeRun",
    "Impersonation",
    "SettingSource",
    "TariffPreview",
    "TariffPreviewLine",
}


def _read_types() -> dict[str, GraphQLObjectType]:
    schema = build_schema(Settings())._schema
    return {
        name: t
        for name, t in schema.type_map.items()
        if isinstance(t, GraphQLObjectType)
        and not name.startswith("__")
        and name not in ("Mutation", "Subscription", "PageInfo", "UserError")
        and not name.endswith(("Connection", "Edge", "Payload"))
    }


def test_every_field_compiles_or_is_listed_as_fallback() -> None:
    falling_back = set()
    for name, t in _read_types().items():
        for field in t.fields:
            if binder_of(name, field) is None:
                falling_back.add(f"{name}.{field}")
    whole_types = {
        name
        for name, t in _read_types().items()
        if all(f"{name}.{field}" in falling_back for field in t.fields)
    }
    assert whole_types == FALLBACK_TYPES
    listed = {f for f in falling_back if f.split(".")[0] not in FALLBACK_TYPES}
    assert listed == FALLBACK_FIELDS


CURRENCIES = ["EUR", "JPY", "BHD", "CLF", "USD", "XXX"]
amounts = st.decimals(
    min_value=Decimal("-999999999999.999999"),
    max_value=Decimal("999999999999.999999"),
    places=6,
    allow_nan=False,
    allow_infinity=False,
) | st.sampled_from([Decimal(0), Decimal("100"), Decimal("1E+2"), Decimal("0.000001")])

FAST = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


async def _row(db: Database, *columns: sa.ColumnElement[object]) -> list[object]:
    async with db.read() as session:
        return list((await session.execute(sa.select(*columns))).one())


@FAST
@given(values=st.lists(st.tuples(amounts, st.sampled_from(CURRENCIES)), min_size=1, max_size=30))
async def test_amounts_render_as_display_amount(
    db: Database, values: list[tuple[Decimal, str]]
) -> None:
    columns = [
        display_amount_sql(sa.cast(sa.literal(str(a)), MONEY), sa.literal(c)) for a, c in values
    ]
    assert await _row(db, *columns) == [str(display_amount(a, c)) for a, c in values]


thresholds = st.none() | st.decimals(min_value=-100, max_value=100, places=2)


@FAST
@given(
    accounts=st.lists(
        st.tuples(
            st.decimals(min_value=-200, max_value=200, places=6),
            st.decimals(min_value=0, max_value=100, places=2),
            thresholds,
        ),
        min_size=1,
        max_size=30,
    )
)
async def test_billing_status_agrees_with_the_ledger_rule(
    db: Database, accounts: list[tuple[Decimal, Decimal, Decimal | None]]
) -> None:
    rows = [
        sa.select(
            sa.cast(sa.literal(str(b)), MONEY).label("balance"),
            sa.cast(sa.literal(str(c)), MONEY).label("credit_limit"),
            sa.cast(sa.literal(None if t is None else str(t)), MONEY).label(
                "low_balance_threshold"
            ),
        ).subquery()
        for b, c, t in accounts
    ]
    expected = [
        billing_status(Account(balance=b, credit_limit=c, low_balance_threshold=t)).value
        for b, c, t in accounts
    ]
    columns = [sa.select(billing_status_sql(r.c)).scalar_subquery() for r in rows]
    assert await _row(db, *columns) == expected


moments = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
) | st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)).map(
    lambda d: d.replace(microsecond=0, tzinfo=UTC)
)


@FAST
@given(values=st.lists(moments, min_size=1, max_size=30))
async def test_datetimes_render_as_strawberry_does(db: Database, values: list[datetime]) -> None:
    columns = [iso_datetime(sa.literal(v, sa.DateTime(timezone=True))) for v in values]
    assert await _row(db, *columns) == [v.isoformat() for v in values]


@FAST
@given(ids=st.lists(st.integers(1, 2**63 - 1), min_size=1, max_size=30))
async def test_global_ids_and_cursors_are_the_resolver_paths(db: Database, ids: list[int]) -> None:
    columns = [global_id("AccountTransaction", sa.literal(i, sa.BigInteger)) for i in ids]
    columns += [cursor(sa.literal(i, sa.BigInteger)) for i in ids]
    expected = [gid("AccountTransaction", i) for i in ids] + [encode_cursor(i) for i in ids]
    assert await _row(db, *columns) == expected


floats = st.floats(min_value=0, max_value=1e15, exclude_max=True) | st.sampled_from(
    [0.0, 1.0, 1e-5, 0.00005, 9.9e-5, 1e-4, 1.5e-6, 1e-7, 2.0**40 + 1, 1 / 3, 0.1 + 0.2]
)


@FAST
@given(values=st.lists(floats, min_size=1, max_size=30))
async def test_floats_render_as_the_json_encoder_writes_them(
    db: Database, values: list[float]
) -> None:
    """Byte for byte what the resolver path's orjson writes (report progress, byte size)."""
    columns = [
        sa.cast(python_float(sa.cast(sa.literal(repr(v)), sa.Float)), sa.Text) for v in values
    ]
    assert await _row(db, *columns) == [orjson.dumps(v).decode() for v in values]
