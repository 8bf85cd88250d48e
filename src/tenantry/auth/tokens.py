"""API token material: random, shown once, stored as a SHA-256 digest.

A fast hash is right here: the tokens carry 256 bits of randomness, so there is nothing
for a slow password hash to protect against, and lookups stay one indexed equality.
"""

import hashlib
import secrets

TOKEN_PREFIX = "tnt_"
IMPERSONATION_PREFIX = "tni_"


def new_token(prefix: str = TOKEN_PREFIX) -> str:
    return prefix + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
