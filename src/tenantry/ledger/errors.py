"""Ledger domain errors."""

from tenantry.core.errors import DomainError, ErrorCode, Field, forbidden, not_found


def account_not_found(field: Field) -> DomainError:
    return not_found(field, "account")


def own_account_forbidden(field: Field) -> DomainError:
    return forbidden(
        "A tenant cannot top up or adjust its own account: it pays through its top-up URL.",
        field,
    )


def insufficient_funds(field: Field) -> DomainError:
    return DomainError.one(
        ErrorCode.INSUFFICIENT_FUNDS, "This would take the account past its credit limit.", field
    )


def idempotency_key_reused(field: Field) -> DomainError:
    return DomainError.one(
        ErrorCode.IDEMPOTENCY_KEY_REUSED,
        "This idempotency key was already used for a different request.",
        field,
    )
