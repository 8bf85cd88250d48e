"""A recordUsage batch is read by our own one-pass parser (api/fast_variables.py): graphql-core
coerces nothing of it, and every way of sending records, good or bad, answers as before."""

import json
from typing import Any

import pytest
import sqlalchemy as sa
from graphql.execution import values

from tenantry.audit.models import AuditEvent
from tenantry.db.engine import Database
from tests.fixtures.graphql import GraphQLClient
from tests.fixtures.money import RECORD, Priced, record
from tests.fixtures.world import World

BY_INPUT = """mutation($input: RecordUsageInput!) { recordUsage(input: $input) {
  accepted duplicates userErrors { field code message } } }"""
BALANCE = (
    """query($id: ID!) { node(id: $id) { ... on Customer { account { balance { amount } } } } }"""
)


@pytest.fixture
def coerced(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The values graphql-core coerces for an operation's variables, one per variable."""
    seen: list[Any] = []
    coerce = values.coerce_input_value

    def keeping(value: Any, type_: Any, *args: Any) -> Any:
        seen.append(value)
        return coerce(value, type_, *args)

    monkeypatch.setattr(values, "coerce_input_value", keeping)
    return seen


async def test_graphql_core_coerces_none_of_a_batchs_records(
    gql: GraphQLClient, world: World, priced: Priced, coerced: list[Any]
) -> None:
    records = [record(priced.endpoint_id, f"e{i}", "1") for i in range(3)]
    data = await gql.data(RECORD, {"r": records}, token=world.root_admin.token)
    assert data["recordUsage"] == {"accepted": 3, "duplicates": 0, "userErrors": []}
    assert coerced == [[]]  # in the records' place: an empty list


async def test_every_way_of_sending_a_batch_records_it_alike(
    gql: GraphQLClient, db: Database, world: World, priced: Priced
) -> None:
    root = world.root_admin.token

    def batch(name: str) -> list[dict[str, str]]:
        return [record(priced.endpoint_id, f"{name}-{i}", "10") for i in range(2)]

    as_list = await gql.data(RECORD, {"r": batch("list")}, token=root)
    as_input = await gql.data(BY_INPUT, {"input": {"records": batch("input")}}, token=root)
    literal = ", ".join(
        f'{{eventId: "{r["eventId"]}", endpointId: "{r["endpointId"]}", kind: DATA, '
        f'quantity: "10", occurredAt: "{r["occurredAt"]}"}}'
        for r in batch("literal")
    )
    in_document = await gql.data(
        f"mutation {{ recordUsage(input: {{records: [{literal}]}}) {{ accepted duplicates "
        "userErrors { field code message } } }",
        token=root,
    )
    expected = {"accepted": 2, "duplicates": 0, "userErrors": []}
    assert [as_list, as_input, in_document] == [{"recordUsage": expected}] * 3
    # 6 records of 10 MB at 0.05.
    balance = await gql.data(BALANCE, {"id": priced.customer_id}, token=root)
    assert balance["node"]["account"]["balance"]["amount"] == "-3.00"
    # The audit log keeps a variable's input as it was coerced, however it was read (and a
    # literal as it was written).
    async with db.read() as session:
        kept = await session.scalars(
            sa.select(AuditEvent.details)
            .where(AuditEvent.action == "recordUsage")
            .order_by(AuditEvent.id)
        )
        first_records = [json.loads(details or "")["records"][0] for details in kept][:2]
    assert first_records == [
        {
            "endpointId": priced.endpoint_id,
            "eventId": f"{name}-0",
            "kind": "DATA",
            "occurredAt": "2026-11-15 12:00:00+00:00",
            "quantity": "10",
        }
        for name in ("list", "input")
    ]


async def test_a_batch_the_parser_declines_is_answered_as_graphql_core_answers_it(
    gql: GraphQLClient, world: World, priced: Priced
) -> None:
    root = world.root_admin.token
    bad = [record(priced.endpoint_id, "ok", "1"), record(priced.endpoint_id, "bad", "1e5")]
    refused = await gql.execute(RECORD, {"r": bad}, token=root)
    assert refused["data"] is None
    (error,) = refused["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert error["message"].startswith(
        "Variable '$r' has invalid value at [1].quantity: A Decimal is a JSON string"
    )
    # A number is an ID too: read by graphql-core, then an endpoint no one has.
    by_number = dict(record(priced.endpoint_id, "n", "1"), endpointId=12345)
    data = await gql.data(RECORD, {"r": [by_number]}, token=root)
    assert data["recordUsage"]["userErrors"] == [
        {
            "field": ["input", "records", "0", "endpointId"],
            "code": "NOT_FOUND",
            "message": "No such endpoint.",
        }
    ]
