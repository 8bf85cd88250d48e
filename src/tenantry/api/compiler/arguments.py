"""Argument binders shared by mappings: they accept exactly what the resolver path accepts
without an error, and normalize it to parameter values."""

from collections.abc import Mapping
from typing import Any

from tenantry.api.compiler.planner import Bound
from tenantry.api.errors import ClientError
from tenantry.api.relay import page_request
from tenantry.settings import Settings


def page(arguments: Mapping[str, Any], settings: Settings) -> Bound:
    """``first``/``after`` as ``api.relay.page_request`` reads them (ids start at 1, so
    "after 0" is the first page)."""
    try:
        request = page_request(settings, arguments.get("first"), arguments.get("after"))
    except ClientError:
        return None
    after = request.after or 0
    return None, {"first": request.first, "after": after, "has_after": request.after is not None}


# Above every id: "no cursor" on a newest-first page.
NO_UPPER_BOUND = 2**63 - 1


def page_newest_first(arguments: Mapping[str, Any], settings: Settings) -> Bound:
    """``page`` for a connection in descending id order (``pages_by_key(descending=True)``)."""
    bound = page(arguments, settings)
    if bound is None:
        return None
    values = bound[1]
    return None, {**values, "after": values["after"] if values["has_after"] else NO_UPPER_BOUND}
