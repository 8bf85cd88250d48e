"""Expected failures. Services raise ``DomainError``; the GraphQL edge turns it into userErrors."""

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class ErrorCode(StrEnum):
    INVALID = "INVALID"
    TAKEN = "TAKEN"
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    NOT_PARTNER = "NOT_PARTNER"
    LOCKED = "LOCKED"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    READ_ONLY = "READ_ONLY"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
    CYCLE = "CYCLE"


Field = tuple[str, ...]


@dataclass(frozen=True)
class Problem:
    code: ErrorCode
    message: str
    field: Field | None = None


class DomainError(Exception):
    """One or more problems with a request; nothing it asked for has been written."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = list(problems)

    @classmethod
    def one(cls, code: ErrorCode, message: str, field: Field | None = None) -> "DomainError":
        return cls([Problem(code, message, field)])


READ_ONLY = Problem(ErrorCode.READ_ONLY, "This impersonation is read-only: nothing can be changed.")


def not_found(field: Field | None, what: str = "object") -> DomainError:
    # The same words whether the id is malformed, unknown, or outside the caller's scope.
    return DomainError.one(ErrorCode.NOT_FOUND, f"No such {what}.", field)


def forbidden(message: str, field: Field | None = None) -> DomainError:
    return DomainError.one(ErrorCode.FORBIDDEN, message, field)


class Problems:
    """Collects every problem in an input so they can be reported together."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, code: ErrorCode, message: str, field: Field | None = None) -> None:
        self.items.append(Problem(code, message, field))

    def has(self, field: Field) -> bool:
        return any(p.field == field for p in self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise DomainError(self.items)
