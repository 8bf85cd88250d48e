"""A plan -> one SQLAlchemy Core statement that builds the response's ``data`` JSON.

Each object is a ``json_build_object`` of its fields; a to-one relation is a correlated
scalar subselect; a connection is a correlated subselect over a keyset page (see
``connection``). The mapping of each type's fields lives beside its Strawberry type
(``api/types/*_sql.py``); this module holds what they share.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.util import ClauseAdapter

from tenantry.api.compiler import arguments
from tenantry.api.compiler.planner import Binder, PlannedField, no_arguments
from tenantry.auth.principal import Principal
from tenantry.auth.scope import Scope
from tenantry.db.base import Base
from tenantry.db.sqltext import base64_text
from tenantry.db.sqltext import global_id as global_id  # noqa: PLC0414 (for the *_sql modules)

M = TypeVar("M", bound=Base)

# The name of the caller's user parameter (``Build.user_id``; the executor binds it).
USER = "user"

Builder = Callable[["Build", Any, PlannedField], sa.ColumnElement[Any]]


@dataclass(frozen=True)
class FieldSQL:
    """How one GraphQL field becomes SQL: ``build`` from the parent's source (a row alias,
    or what a value type is made of), and ``bind`` to check and normalize its arguments."""

    build: Builder
    bind: Binder = no_arguments


def column(name: str) -> FieldSQL:
    """A field that is the column of the same name on the parent row."""
    return FieldSQL(lambda b, row, f: getattr(row, name))


class Build:
    """Builds one statement for one plan. ``scope`` is the caller's scope helper (with a
    placeholder tenant: see ``executor``); every visibility predicate comes from it."""

    def __init__(
        self,
        types: dict[str, dict[str, FieldSQL]],
        scope: Scope,
        principal: Principal,
        values: dict[str, Any],
    ) -> None:
        self.types = types
        self.scope = scope
        self.principal = principal
        self.values = values

    def user_id(self) -> "Parameter":
        """The caller's user: a parameter of every statement (like its tenant)."""
        return Parameter(sa.bindparam(USER, type_=sa.BigInteger()))

    def param(self, field: PlannedField, argument: str) -> "Parameter":
        slot = field.slots[argument]
        return Parameter(sa.bindparam(slot, self.values[slot], type_=_type_of(self.values[slot])))

    def object(
        self, type_name: str, source: Any, fields: Sequence[PlannedField]
    ) -> sa.ColumnElement[Any]:
        mapping = self.types[type_name]
        # Keys are response keys: GraphQL names (letters, digits, "_"), rendered inline.
        pairs: list[Any] = []
        for f in fields:
            value = (
                typename(type_name)
                if f.name == "__typename"
                else mapping[f.name].build(self, source, f)
            )
            pairs += [sa.literal(f.key, sa.Text), value]
        return sa.func.json_build_object(*pairs)

    def row_object(
        self, type_name: str, row: Any, fields: Sequence[PlannedField], *where: Any
    ) -> sa.ColumnElement[Any]:
        """A to-one relation: the object of the row matching ``where``, or null."""
        return sa.select(self.object(type_name, row, fields)).where(*where).scalar_subquery()


class Parameter(ColumnElement[Any]):
    """A value bound at execution, in a statement whose other values are rendered inline
    (compiled with ``literal_binds``: constants cost a prepared statement more as
    parameters than as literals, measured)."""

    inherit_cache = True

    def __init__(self, bind: sa.BindParameter[Any]) -> None:
        self.bind = bind
        self.type = bind.type


@compiles(Parameter)
def _compile_parameter(element: Parameter, compiler: SQLCompiler, **kw: Any) -> str:
    kw["literal_binds"] = False
    text: str = compiler.process(element.bind, **kw)
    return text


def _type_of(value: Any) -> sa.types.TypeEngine[Any]:
    if isinstance(value, bool):
        return sa.Boolean()
    if isinstance(value, int):
        return sa.BigInteger()
    if isinstance(value, str):
        return sa.Text()
    if isinstance(value, datetime):
        return sa.DateTime(timezone=True)
    if isinstance(value, list) and all(isinstance(v, int) for v in value):
        return ARRAY(sa.BigInteger())
    raise TypeError(f"no SQL type for a parameter of type {type(value).__name__}")


def typename(name: str) -> sa.ColumnElement[Any]:
    return sa.literal(name, sa.Text)


def on(row: Any, predicate: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    """A predicate written on a model (a scope helper's, a repository's), on an alias."""
    adapted: sa.ColumnElement[bool] = ClauseAdapter(sa.inspect(row).selectable).traverse(predicate)
    return adapted


def all_on(row: Any, predicates: Sequence[sa.ColumnElement[bool]]) -> list[Any]:
    return [on(row, p) for p in predicates]


def cursor(id_column: Any) -> sa.ColumnElement[str]:
    """``core.pagination.encode_cursor`` (URL-safe base64 of ``cursor:<id>``)."""
    plain = base64_text(sa.literal("cursor:", sa.Text) + sa.cast(id_column, sa.Text))
    return sa.func.translate(plain, "+/", "-_")


def iso_datetime(value: Any) -> sa.ColumnElement[str]:
    """``datetime.isoformat()`` of a UTC timestamp, as Strawberry's DateTime renders it:
    microseconds only when there are any, and ``+00:00``."""
    utc = sa.func.timezone("UTC", value)
    fraction = sa.case(
        (sa.extract("microseconds", value) % 1_000_000 == 0, ""),
        else_=sa.func.to_char(utc, ".US"),
    )
    return sa.func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS') + fraction + "+00:00"


def null_if(condition: sa.ColumnElement[bool], value: Any) -> sa.ColumnElement[Any]:
    return sa.case((condition, sa.null()), else_=value)


def plain(value: Any) -> sa.ColumnElement[str]:
    """``core.decimals.plain`` as the Decimal scalar writes it."""
    return sa.cast(sa.func.trim_scale(value), sa.Text)


def object_list(
    b: Build,
    type_name: str,
    row: Any,
    fields: Sequence[PlannedField],
    *,
    where: Sequence[Any],
    order_by: Sequence[Any],
) -> sa.ColumnElement[Any]:
    """A list field: the objects of the rows of ``row`` (an alias) matching ``where``, in
    ``order_by`` order; ``[]`` when none."""
    listed = sa.func.json_agg(b.object(type_name, row, fields)).aggregate_order_by(*order_by)
    return (
        sa.select(sa.func.coalesce(listed, sa.text("'[]'::json"))).where(*where).scalar_subquery()
    )


def connection(
    b: Build,
    field: PlannedField,
    model: type[M],
    where: Sequence[sa.ColumnElement[bool]],
    node_type: str,
    *,
    match: Callable[[Any], sa.ColumnElement[bool]] | None = None,
    correlate: Any = None,
    newest_first: bool = False,
) -> sa.ColumnElement[Any]:
    """A connection in id order (or ``newest_first``: descending ids), as
    ``api.relay.build_connection`` shapes it, with the bounds ``arguments.page`` binds.

    ``where`` is written on ``model`` (repository and scope predicates); ``match`` ties a
    row (an alias of ``model``) to the parent row ``correlate``. The page holds ``first``
    rows after the cursors from the start of the list, or ``last`` from its end (read in
    the reverse order, then aggregated in the list's); whether the size cut rows off is
    one more (index-only) look.
    """
    backward = arguments.backward(field)
    size = b.param(field, "last" if backward else "first")
    after, before = b.param(field, "after"), b.param(field, "before")
    row = aliased(model)
    row_id = row.id  # type: ignore[attr-defined]
    matched = [*all_on(row, where), *([match(row)] if match else [])]
    bounds = (
        [row_id < after, row_id > before] if newest_first else [row_id > after, row_id < before]
    )
    filtered = [*matched, *bounds]
    order = row_id.desc() if newest_first != backward else row_id
    page_select = sa.select(row).where(*filtered).order_by(order).limit(size)
    more_select = sa.select(row_id).where(*filtered).order_by(order).limit(size + 1)
    count_select = sa.select(sa.func.count()).select_from(row).where(*matched)
    if correlate is not None:
        # The parent row sits several selects up: say so, or it joins the FROM list.
        page_select = page_select.correlate(correlate)
        more_select = more_select.correlate(correlate)
        count_select = count_select.correlate(correlate)
    page = page_select.subquery()
    node: Any = aliased(model, page)
    node_id = node.id

    # Aggregates over the page (edges, cursors) make one row of it; nothing else reads it.
    aggregates = False
    start, end = (sa.func.max, sa.func.min) if newest_first else (sa.func.min, sa.func.max)

    def part(child: PlannedField) -> sa.ColumnElement[Any]:
        nonlocal aggregates
        if child.name == "__typename":
            return typename(field.type_name)
        if child.name == "totalCount":
            return count_select.scalar_subquery()
        if child.name == "edges":
            aggregates = True
            edge = fixed_object(
                child,
                {
                    "cursor": lambda f: cursor(node_id),
                    "node": lambda f: b.object(node_type, node, f.children),
                },
            )
            agg = sa.func.json_agg(edge).aggregate_order_by(
                node_id.desc() if newest_first else node_id
            )
            return sa.func.coalesce(agg, sa.text("'[]'::json"))
        assert child.name == "pageInfo"
        more = sa.select(sa.func.count()).select_from(more_select.subquery()).scalar_subquery()
        cut_off, has_after = more > size, b.param(field, "has_after")
        return fixed_object(
            child,
            {
                "hasNextPage": lambda f: b.param(field, "has_before") if backward else cut_off,
                "hasPreviousPage": lambda f: cut_off if backward else has_after,
                "startCursor": lambda f: cursor(_aggregate(start(node_id))),
                "endCursor": lambda f: cursor(_aggregate(end(node_id))),
            },
        )

    def _aggregate(value: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        nonlocal aggregates
        aggregates = True
        return value

    pairs: list[Any] = []
    for child in field.children:
        pairs += [sa.literal(child.key, sa.Text), part(child)]
    built = sa.select(sa.func.json_build_object(*pairs))
    return (built.select_from(page) if aggregates else built).scalar_subquery()


def fixed_object(
    field: PlannedField, parts: dict[str, Callable[[PlannedField], sa.ColumnElement[Any]]]
) -> sa.ColumnElement[Any]:
    """The object of a connection's edge or page info: fixed parts by field name."""
    pairs: list[Any] = []
    for child in field.children:
        value = (
            typename(field.type_name) if child.name == "__typename" else parts[child.name](child)
        )
        pairs += [sa.literal(child.key, sa.Text), value]
    return sa.func.json_build_object(*pairs)


CONNECTION_FIELDS = {"edges", "pageInfo", "totalCount"}
EDGE_FIELDS = {"cursor", "node"}
PAGE_INFO_FIELDS = {"hasNextPage", "hasPreviousPage", "startCursor", "endCursor"}
