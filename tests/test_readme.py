"""The README's GraphQL blocks, run in order against a fresh server, as a new user would.

A new user pastes each operation into GraphiQL as the platform admin, replacing each
`<placeholder>` with an id from an earlier answer. This test does the same: every operation
must answer without errors and without userErrors, and the figures the README states in
words are checked against the answers.
"""

import re
from pathlib import Path
from typing import Any

from tenantry.db.engine import Database
from tests.fixtures.factories import create_platform
from tests.fixtures.graphql import GraphQLClient

README = Path(__file__).resolve().parent.parent / "README.md"

# Where each placeholder's value comes from: (root field, its n-th answer, path in it).
PLACEHOLDERS: dict[str, tuple[str, int, str]] = {
    "<the tenant id from above>": ("viewer", 0, "tenant.id"),
    "<platform id>": ("viewer", 0, "tenant.id"),
    "<wholesale tariff id>": ("createTariff", 0, "tariff.id"),
    "<stacuity id>": ("createSubTenant", 1, "tenant.id"),
    "<retail tariff id>": ("createTariff", 1, "tariff.id"),
    "<customer id>": ("createCustomer", 0, "customer.id"),
    "<customer account id>": ("createCustomer", 0, "customer.account.id"),
    "<operator id>": ("createSponsorOperator", 0, "sponsorOperator.id"),
    "<endpoint id>": ("createEndpoint", 0, "endpoint.id"),
    "<entity id>": ("createBillingEntity", 0, "billingEntity.id"),
    "<basic id>": ("createPlan", 0, "plan.id"),
    "<standard id>": ("createPlan", 1, "plan.id"),
    "<tenant id>": ("createSubTenant", 1, "tenant.id"),
    "<northwind id>": ("createSubTenant", 0, "tenant.id"),
}


def graphql_blocks(text: str) -> list[str]:
    return re.findall(r"```graphql\n(.*?)```", text, flags=re.DOTALL)


def operations(block: str) -> list[str]:
    """The block's operations, comments dropped: each ends where its outer braces close."""
    source = "\n".join(line for line in block.splitlines() if not line.lstrip().startswith("#"))
    found, start, depth = [], None, 0
    for i, char in enumerate(source):
        if start is None and not char.isspace():
            start = i
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0 and start is not None:
                found.append(source[start : i + 1].strip())
                start = None
    assert depth == 0 and start is None, f"unbalanced braces in:\n{block}"
    return found


def _at(value: Any, path: str) -> Any:
    for key in path.split("."):
        value = value[key]
    return value


def _user_errors(data: Any) -> list[Any]:
    if isinstance(data, dict):
        found = list(data.get("userErrors") or [])
        for key, value in data.items():
            if key != "userErrors":
                found += _user_errors(value)
        return found
    if isinstance(data, list):
        return [e for item in data for e in _user_errors(item)]
    return []


async def test_the_readme_graphql_blocks_run_in_order(gql: GraphQLClient, db: Database) -> None:
    _, admin = await create_platform(db)
    answers: dict[str, list[Any]] = {}
    ran: list[tuple[str, dict[str, Any]]] = []
    for block in graphql_blocks(README.read_text()):
        for pasted in operations(block):
            operation = pasted
            for placeholder in set(re.findall(r"<[^>]+>", pasted)):
                assert placeholder in PLACEHOLDERS, f"no value for {placeholder} in {operation}"
                field, nth, path = PLACEHOLDERS[placeholder]
                assert len(answers.get(field, [])) > nth, f"{placeholder} before its {field}"
                operation = operation.replace(placeholder, _at(answers[field][nth], path))
            data = await gql.data(operation, token=admin.token)
            assert _user_errors(data) == [], (operation, data)
            for field, value in data.items():
                answers.setdefault(field, []).append(value)
            ran.append((operation, data))

    assert len(ran) >= 20
    # Step 7: 11 started MB at 0.05 and 0.01: the customer paid 0.55, Stacuity kept 0.44.
    step7 = next(data for op, data in ran if "usage(from:" in op and "stacuity" in op)
    stacuity = step7["tenant"]
    assert stacuity["account"]["balance"]["amount"] == "0.44"
    (customer,) = [edge["node"] for edge in stacuity["customers"]["edges"]]
    assert customer["account"] == {"balance": {"amount": "-0.55"}, "billingStatus": "BLOCKED"}
    (data_total,) = [t for t in stacuity["usage"]["totals"] if t["kind"] == "DATA"]
    assert (data_total["cost"]["amount"], data_total["revenue"]["amount"]) == ("0.11", "0.55")
    # Step 8: topped up by 20.00.
    assert answers["topUpAccount"][0]["account"]["balance"]["amount"] == "19.45"
    # Step 9: no SIM existed in November: nothing charged.
    assert answers["chargeEndpointFees"][0]["run"]["endpointCount"] == 0
    # Step 11: the entity's first number of the year, a zero invoice, nothing posted.
    invoice = answers["generateInvoice"][0]["invoice"]
    assert invoice["number"].startswith("PLT-") and invoice["number"].endswith("-000001")
    assert (invoice["total"]["amount"], invoice["lines"], invoice["transaction"]) == (
        "0.00",
        [],
        None,
    )
    # The usage report section: requested for Stacuity.
    assert answers["requestUsageReport"][0]["report"]["status"] == "PENDING"
    # Moving a sub-tree: a dry run, Northwind still under the platform.
    move = answers["moveTenant"][0]
    assert move["dryRun"] is True and move["changes"]
    assert move["tenant"]["parent"]["moniker"] == "platform"


def test_operations_are_split_where_their_braces_close() -> None:
    block = "# a comment { with a brace\n{ a { b } }\nmutation { m(input: { x: 1 }) { id } }\n"
    assert operations(block) == ["{ a { b } }", "mutation { m(input: { x: 1 }) { id } }"]
    assert operations("query Q { a }\n{ b }") == ["query Q { a }", "{ b }"]
