"""``Keep`` marks an update field the caller left out (as opposed to setting it to null)."""

from typing import Final, TypeAlias, TypeVar, Union


class Keep:
    _instance: "Keep | None" = None

    def __new__(cls) -> "Keep":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Final = Keep()

T = TypeVar("T")
Change: TypeAlias = Union[T, Keep]  # noqa: UP007 - a generic alias needs Union
