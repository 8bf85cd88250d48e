"""Auth domain errors."""

from tenantry.core.errors import DomainError, ErrorCode, Field, not_found


def user_not_found(field: Field) -> DomainError:
    return not_found(field, "user")


def token_not_found(field: Field) -> DomainError:
    return not_found(field, "API token")


def email_taken(field: Field) -> DomainError:
    return DomainError.one(ErrorCode.TAKEN, "A user with this email already exists here.", field)
