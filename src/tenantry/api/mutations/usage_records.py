"""A batch of ``UsageRecordInput`` read in one pass (see api/fast_variables.py).

A record is taken only when graphql-core would take it, and parsed to what graphql-core
would make of it (so the audit log keeps the same input): an object with exactly the five
fields, ``eventId`` and ``endpointId`` strings, ``kind`` an enum name, ``quantity`` and
``occurredAt`` read by the same functions as the ``Decimal`` and ``DateTime`` scalars. One
record that is not declines the whole batch, which graphql-core then coerces and reports as
it always has (a JSON number as ``endpointId``, which ``ID`` accepts, takes that path too).
Either way ``to_new_records`` makes the service's records of them, with no input object in
between; the service validates them as it always has.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from tenantry.api.relay import decode_id
from tenantry.api.scalars import InputValueError, parse_datetime, parse_decimal
from tenantry.tariffs.models import UsageKind
from tenantry.usage.service import NewUsageRecord

_FIELDS = {"eventId", "endpointId", "kind", "quantity", "occurredAt"}
_KINDS = {kind.name: kind for kind in UsageKind}


def parse_records(raw: object) -> list[dict[str, Any]] | None:
    """The records of a raw JSON list, or None where graphql-core should read it."""
    if type(raw) is not list:
        return None
    records: list[dict[str, Any]] = []
    append = records.append
    try:
        for item in raw:
            if type(item) is not dict or item.keys() != _FIELDS:
                return None
            event_id, endpoint, kind = item["eventId"], item["endpointId"], item["kind"]
            if type(event_id) is not str or type(endpoint) is not str or kind not in _KINDS:
                return None
            append(
                {
                    "eventId": event_id,
                    "endpointId": endpoint,
                    "kind": _KINDS[kind],
                    "quantity": parse_decimal(item["quantity"]),
                    "occurredAt": parse_datetime(item["occurredAt"]),
                }
            )
    except (InputValueError, TypeError):  # TypeError: an unhashable kind
        return None
    return records


def records_variable(raw: object) -> tuple[object, object] | None:
    """``[UsageRecordInput!]``: graphql-core coerces an empty list in its place."""
    records = parse_records(raw)
    return None if records is None else ([], records)


def input_variable(raw: object) -> tuple[object, object] | None:
    """``RecordUsageInput``: its one field, ``records``."""
    if type(raw) is not dict or raw.keys() != {"records"}:
        return None
    records = parse_records(raw["records"])
    return None if records is None else ({"records": []}, {"records": records})


def to_new_records(records: Sequence[Mapping[str, Any]]) -> list[NewUsageRecord]:
    """The service's records of coerced ``UsageRecordInput`` values (keyed by GraphQL field
    names), whether parsed here or by graphql-core."""
    endpoints: dict[str, int] = {}  # a feed repeats endpoints: each id is decoded once
    new = []
    for record in records:
        endpoint = record["endpointId"]
        endpoint_id = endpoints.get(endpoint)
        if endpoint_id is None:
            endpoint_id = endpoints[endpoint] = decode_id(endpoint, "Endpoint")
        new.append(
            NewUsageRecord(
                record["eventId"],
                endpoint_id,
                record["kind"],
                record["quantity"],
                record["occurredAt"],
            )
        )
    return new


VARIABLE_PARSERS = {
    "[UsageRecordInput!]!": records_variable,
    "[UsageRecordInput!]": records_variable,
    "RecordUsageInput!": input_variable,
    "RecordUsageInput": input_variable,
}
