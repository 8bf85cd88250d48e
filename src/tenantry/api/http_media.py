"""GraphQL over HTTP (https://graphql.github.io/graphql-over-http/draft/): which media type
a response is in, and its status code.

``application/json`` (the legacy type, and the answer to ``*/*`` or no ``Accept``) says
everything with 200 and the errors in the body, as clients written before the spec expect.
``application/graphql-response+json`` lets the status code speak: a *request error* (the
document does not parse or validate, a variable does not coerce, a limit refuses the
operation before it runs) is answered 4xx without a ``data`` entry; once execution has
begun, the answer is 200 whatever the field errors.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from strawberry.http import GraphQLHTTPResponse

JSON = "application/json"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"

# Request errors that have a status of their own; every other request error is 400.
STATUS_OF_CODE = {"UNAUTHENTICATED": 401, "RATE_LIMITED": 429, "SERVICE_UNAVAILABLE": 503}


def _quality(params: Sequence[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def response_media_type(accept: str | None) -> str:
    """The media type the client prefers among those we speak (the first of equal quality);
    ``application/json`` when it names neither (a 406 would help no one)."""
    best, best_quality = JSON, 0.0
    for item in (accept or "").split(","):
        media_range, *params = item.split(";")
        media_range = media_range.strip().lower()
        quality = _quality(params)
        if media_range == GRAPHQL_RESPONSE_JSON:
            offered = GRAPHQL_RESPONSE_JSON
        elif media_range in (JSON, "application/*", "*/*"):
            offered = JSON
        else:
            continue
        if quality > best_quality:
            best, best_quality = offered, quality
    return best


def _is_request_error(result: Mapping[str, Any]) -> bool:
    """No data and only errors from before execution (execution errors have a path)."""
    errors = result.get("errors")
    return (
        result.get("data") is None
        and bool(errors)
        and all(isinstance(e, dict) and e.get("path") is None for e in errors or ())
    )


def graphql_response_status(result: GraphQLHTTPResponse) -> int | None:
    """For ``application/graphql-response+json``: the status of a request error (and drops
    its ``data`` entry, as the spec asks), None for a result of execution."""
    if not _is_request_error(result):
        return None
    result.pop("data", None)
    errors: list[dict[str, Any]] = result.get("errors") or []  # type: ignore[assignment]
    codes = [str((e.get("extensions") or {}).get("code")) for e in errors]
    return max((STATUS_OF_CODE.get(code, 400) for code in codes), default=400)
