"""Billing periods given in the API: checked alike, and written alike in messages."""

from datetime import UTC, datetime

from tenantry.core.errors import ErrorCode, Problems

START_FIELD = ("input", "periodStart")
END_FIELD = ("input", "periodEnd")


def check_ended_period(
    problems: Problems,
    start: datetime,
    end: datetime,
    now: datetime,
    done: str,
    *,
    fields: tuple[tuple[str, ...], tuple[str, ...]] = (START_FIELD, END_FIELD),
) -> None:
    """[start, end) must have UTC offsets, not be empty, and have ended; ``done`` says what
    is done to it in the message ("invoiced"); ``fields`` name the two inputs."""
    start_field, end_field = fields
    if start.tzinfo is None:
        problems.add(ErrorCode.INVALID, "Give the time with a UTC offset.", start_field)
    if end.tzinfo is None:
        problems.add(ErrorCode.INVALID, "Give the time with a UTC offset.", end_field)
    if start.tzinfo is None or end.tzinfo is None:
        return
    if start >= end:
        message = f"'{end_field[-1]}' must be after '{start_field[-1]}'."
        problems.add(ErrorCode.INVALID, message, end_field)
    elif end > now:
        problems.add(ErrorCode.INVALID, f"Only a period that has ended can be {done}.", end_field)


def span_text(start: datetime, end: datetime) -> str:
    return f"{_moment(start)} – {_moment(end)} UTC"  # noqa: RUF001 (a range takes an en dash)


def _moment(at: datetime) -> str:
    # To the minute, as people read invoices; to the second when the second matters.
    at = at.astimezone(UTC)
    return f"{at:%Y-%m-%d %H:%M:%S}" if at.second else f"{at:%Y-%m-%d %H:%M}"
