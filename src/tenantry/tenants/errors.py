"""Tenant domain errors."""

from tenantry.core.errors import DomainError, ErrorCode, Field, not_found


def tenant_not_found(field: Field) -> DomainError:
    return not_found(field, "tenant")


def moniker_taken(field: Field) -> DomainError:
    return DomainError.one(ErrorCode.TAKEN, "This moniker is already in use.", field)
