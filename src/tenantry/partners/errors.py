"""Partner domain errors."""

from tenantry.core.errors import DomainError, ErrorCode, Field


def not_partner(field: Field) -> DomainError:
    return DomainError.one(
        ErrorCode.NOT_PARTNER,
        "Only a partner tenant (never a managed one) has managed tenants.",
        field,
    )


def locked(field: Field, why: str) -> DomainError:
    return DomainError.one(ErrorCode.LOCKED, why, field)
