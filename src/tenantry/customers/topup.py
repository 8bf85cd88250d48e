"""Rendering a customer's top-up URL from its tenant's template, at request time."""

from collections.abc import Mapping
from urllib.parse import quote


def render_top_up_url(template: str, values: Mapping[str, str]) -> str:
    # Every value is URL-encoded whole: a name like "A&B / C" must not break the URL.
    return template.format_map({token: quote(value, safe="") for token, value in values.items()})
