"""A batch of ``UsageRecordInput`` read in one pass (see api/fast_variables.py).

A record is taken only when graphql-core would take it and give the same values: an object
with exactly the five fields, ``eventId`` and ``endpointId`` strings, ``kind`` an enum name,
``quantity`` and ``occurredAt`` read by the same functions as the ``Decimal`` and
``DateTime`` scalars. One record that is not declines the whole batch, which graphql-core
then coerces and reports as it always has (a JSON number as ``endpointId``, which ``ID``
accepts, takes that path too). The service validates the records as it always has.
"""

from collections.abc import Sequence
from typing import Any

from tenantry.api.relay import decode_id
from tenantry.api.scalars import InputValueError, parse_datetime, parse_decimal
from tenantry.tariffs.models import UsageKind
from tenantry.usage.service import NewUsageRecord

_FIELDS = {"eventId", "endpointId", "kind", "quantity", "occurredAt"}
_KINDS = {kind.name: kind for kind in UsageKind}


class ParsedRecords(list[NewUsageRecord]):
    """Records read by ``parse_records``: they need no further conversion."""


def parse_records(raw: object) -> ParsedRecords | None:
    """The records of a raw JSON list, or None where graphql-core should read it."""
    if type(raw) is not list:
        return None
    endpoints: dict[str, int] = {}  # a feed repeats endpoints: each id is decoded once
    records = ParsedRecords()
    append = records.append
    try:
        for item in raw:
            if type(item) is not dict or item.keys() != _FIELDS:
                return None
            event_id, endpoint, kind = item["eventId"], item["endpointId"], item["kind"]
            if type(event_id) is not str or type(endpoint) is not str or kind not in _KINDS:
                return None
            endpoint_id = endpoints.get(endpoint)
            if endpoint_id is None:
                endpoint_id = endpoints[endpoint] = decode_id(endpoint, "Endpoint")
            append(
                NewUsageRecord(
                    event_id,
                    endpoint_id,
                    _KINDS[kind],
                    parse_decimal(item["quantity"]),
                    parse_datetime(item["occurredAt"]),
                )
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


def to_new_records(records: Sequence[Any]) -> list[NewUsageRecord]:
    """Records as graphql-core and Strawberry converted them (``UsageRecordInput``)."""
    return [
        NewUsageRecord(
            r.event_id, decode_id(r.endpoint_id, "Endpoint"), r.kind, r.quantity, r.occurred_at
        )
        for r in records
    ]


VARIABLE_PARSERS = {
    "[UsageRecordInput!]!": records_variable,
    "[UsageRecordInput!]": records_variable,
    "RecordUsageInput!": input_variable,
    "RecordUsageInput": input_variable,
}
