"""Argument binders shared by mappings: they accept exactly what the resolver path accepts
without an error, and normalize it to parameter values."""

from collections.abc import Mapping
from typing import Any

from tenantry.api.compiler.planner import Bound, PlannedField
from tenantry.api.errors import ClientError
from tenantry.api.relay import page_request
from tenantry.settings import Settings

# Above every id: "no cursor" where a cursor bounds ids from above.
NO_UPPER_BOUND = 2**63 - 1


def page(arguments: Mapping[str, Any], settings: Settings) -> Bound:
    """``first``/``after``/``last``/``before`` as ``api.relay.page_request`` reads them,
    for a list in ascending id order (ids start at 1, so "after 0" is no bound). The page
    size is bound as ``first``, or as ``last`` for a page read backwards (``backward``);
    both at once, which the spec discourages, are left to the resolver path."""
    try:
        request = page_request(
            settings,
            arguments.get("first"),
            arguments.get("after"),
            arguments.get("last"),
            arguments.get("before"),
        )
    except ClientError:
        return None
    if request.first is not None and request.last is not None:
        return None
    size = {"last": request.last} if request.first is None else {"first": request.first}
    return None, {
        **size,
        "after": request.after or 0,
        "has_after": request.after is not None,
        "before": NO_UPPER_BOUND if request.before is None else request.before,
        "has_before": request.before is not None,
    }


def backward(field: PlannedField) -> bool:
    """Whether the field's page (bound by ``page``) is read from the end of the list; the
    plan's signature holds the bound arguments' names, so it tells the statements apart."""
    return "last" in field.slots


def page_newest_first(arguments: Mapping[str, Any], settings: Settings) -> Bound:
    """``page`` for a connection in descending id order (``pages_by_key(descending=True)``):
    ``after`` bounds ids from above, ``before`` from below."""
    bound = page(arguments, settings)
    if bound is None:
        return None
    values = bound[1]
    after = values["after"] if values["has_after"] else NO_UPPER_BOUND
    before = values["before"] if values["has_before"] else 0
    return None, {**values, "after": after, "before": before}


def page_forward(arguments: Mapping[str, Any], settings: Settings) -> Bound:
    """``page`` for lists compiled forward only (paged by position, as ``Tariff.versions``):
    a page read backwards is the resolver path's."""
    if arguments.get("last") is not None or arguments.get("before") is not None:
        return None
    return page(arguments, settings)
