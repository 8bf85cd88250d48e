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
