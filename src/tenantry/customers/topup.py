"""Rendering a customer's top-up URL from its tenant's template, at request time.

A template may ask for a signed link: ``{expires}`` is a Unix time (seconds) the link is good
until, and ``{signature}`` -- always the value of the template's last query parameter -- is
the lowercase hex HMAC-SHA256, keyed by the UTF-8 text of the template owner's top-up secret,
of the rendered URL up to (not including) the ``?`` or ``&`` that starts that parameter. A
payment page checks it with the same secret (README, "Signed top-up links").
"""

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

SIGNATURE = "signature"


@dataclass(frozen=True)
class TopUpTemplate:
    template: str
    # The template owner's key; None while it has none (a signed template is then refused).
    secret: str | None


def sign(message: str, secret: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def render_top_up_url(
    template: TopUpTemplate, values: Mapping[str, str], *, expires: int
) -> str | None:
    """The filled-in URL; None for a signed template whose owner has no secret."""
    # Every value is URL-encoded whole: a name like "A&B / C" must not break the URL, and no
    # value can hold the "?" or "&" that the signed part ends before.
    filled = {token: quote(value, safe="") for token, value in values.items()}
    filled["expires"] = str(expires)
    if "{" + SIGNATURE + "}" not in template.template:
        return template.template.format_map(filled)
    if template.secret is None:
        return None
    unsigned = template.template.format_map({**filled, SIGNATURE: ""})
    signed_part = unsigned[: max(unsigned.rfind("?"), unsigned.rfind("&"))]
    return unsigned + sign(signed_part, template.secret)
