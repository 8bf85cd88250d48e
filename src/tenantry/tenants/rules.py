"""Field rules shared by creating and editing tenants. Each adds problems; none raises."""

import re
import string
from urllib.parse import urlsplit

import pycountry

from tenantry.core.errors import ErrorCode, Field, Problems
from tenantry.tenants.models import SubscriptionType

MONIKER_RE = re.compile(r"[a-z0-9_-]{1,63}")
NAME_MAX = 200
TOP_UP_URL_TOKENS = frozenset(
    {
        "customer_id",
        "customer_name",
        "tenant_id",
        "tenant_moniker",
        "account_id",
        "balance",
        "currency",
        "expires",
        "signature",
    }
)
# "{signature}" is the value of the last query parameter, with nothing after it.
SIGNED_ENDING = re.compile(r"[?&][^?&#={}]+=\{signature\}")


def check_name(problems: Problems, field: Field, name: str) -> str:
    cleaned = name.strip()
    if not cleaned:
        problems.add(ErrorCode.INVALID, "Name must not be blank.", field)
    elif len(cleaned) > NAME_MAX:
        problems.add(ErrorCode.INVALID, f"Name must be at most {NAME_MAX} characters.", field)
    return cleaned


def check_moniker(problems: Problems, field: Field, moniker: str) -> bool:
    if MONIKER_RE.fullmatch(moniker):
        return True
    problems.add(
        ErrorCode.INVALID,
        "Moniker must be 1-63 characters of lowercase letters, digits, '_' or '-'.",
        field,
    )
    return False


def check_subscription_types(
    problems: Problems, field: Field, types: list[SubscriptionType]
) -> list[str]:
    if SubscriptionType.INTEGRATED not in types:
        problems.add(
            ErrorCode.INVALID, "Available subscription types must include INTEGRATED.", field
        )
    # Stored in declaration order, without duplicates.
    return [t.value for t in SubscriptionType if t in types]


# ISO 4217 codes that are not money anyone pays with: precious metals, bond-market and
# accounting units, SDR, the testing code and "no currency", and the fund codes (list one's
# "Fund" entries). Accounts, tariffs and invoices are in active currencies only.
NOT_TENDER = frozenset(
    {"XAD", "XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XPD", "XPT", "XSU", "XTS", "XUA"}
    | {"XXX", "BOV", "CHE", "CHW", "CLF", "COU", "MXV", "USN", "UYI", "UYW"}
)


def check_currency(problems: Problems, field: Field, code: str) -> None:
    if not (
        len(code) == 3
        and code.isascii()
        and code.isupper()
        and code not in NOT_TENDER
        and pycountry.currencies.get(alpha_3=code)
    ):
        problems.add(ErrorCode.INVALID, f"'{code}' is not an active ISO 4217 currency code.", field)


def check_country(problems: Problems, field: Field, code: str) -> None:
    if not (len(code) == 2 and code.isupper() and pycountry.countries.get(alpha_2=code)):
        problems.add(ErrorCode.INVALID, f"'{code}' is not an ISO 3166-1 alpha-2 country.", field)


def check_top_up_url(problems: Problems, field: Field, template: str, *, has_secret: bool) -> None:
    """A template of known tokens making an absolute http(s) URL; a signed one (customers/
    topup.py) ends in its signature parameter and needs the tenant's top-up secret."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        problems.add(ErrorCode.INVALID, "Top-up URL has an unbalanced '{' or '}'.", field)
        return
    unknown = sorted(
        {
            name
            for _, name, spec, conv in parsed
            if name is not None and name not in TOP_UP_URL_TOKENS
        }
        | {name for _, name, spec, conv in parsed if name and (spec or conv)}
    )
    if unknown:
        known = ", ".join("{" + t + "}" for t in sorted(TOP_UP_URL_TOKENS))
        problems.add(
            ErrorCode.INVALID,
            f"Unknown token(s) {', '.join(unknown) or '{}'} in top-up URL; known: {known}.",
            field,
        )
        return
    sample = urlsplit(template.format(**{token: "x" for token in TOP_UP_URL_TOKENS}))
    if sample.scheme not in ("http", "https") or not sample.netloc:
        problems.add(ErrorCode.INVALID, "Top-up URL must be an absolute http(s) URL.", field)
    elif "{signature}" in template:
        _check_signed(problems, field, template, has_secret=has_secret)


def _check_signed(problems: Problems, field: Field, template: str, *, has_secret: bool) -> None:
    ending = SIGNED_ENDING.search(template)
    if template.count("{signature}") > 1 or ending is None or ending.end() != len(template):
        problems.add(
            ErrorCode.INVALID,
            "{signature} must be the value of the top-up URL's last query parameter, once "
            "(e.g. ...&sig={signature}).",
            field,
        )
    elif not has_secret:
        problems.add(
            ErrorCode.INVALID,
            "A signed top-up URL needs the tenant's top-up secret: rotate one first "
            "(rotateTopUpSecret).",
            field,
        )
