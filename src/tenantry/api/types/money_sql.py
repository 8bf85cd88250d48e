"""Money in the compiled read path: the same strings ``ledger.money.display_amount`` gives."""

from tenantry.api.compiler.sql import FieldSQL
from tenantry.ledger.money_sql import display_amount

# The source of a Money object: (amount column, currency column).
MONEY = {
    "amount": FieldSQL(lambda b, money, f: display_amount(*money)),
    "currency": FieldSQL(lambda b, money, f: money[1]),
}
