"""Billing periods given in the API: checked alike, and written alike in messages."""

from datetime import UTC, datetime

from tenantry.core.errors import ErrorCode, Problems

START_FIELD = ("input", "periodStart")
END_FIELD = ("input", "periodEnd")


def check_ended_period(
    problems: Problems, start: datetime, end: datetime, now: datetime, done: str
) -> None:
    """[start, end) must have UTC offsets, not be empty, and have ended; ``done`` says what
    is done to it in the message ("invoiced")."""
    if start.tzinfo is None:
        problems.add(ErrorCode.INVALID, "Give the time with a UTC offset.", START_FIELD)
    if end.tzinfo is None:
        problems.add(ErrorCode.INVALID, "Give the time with a UTC offset.", END_FIELD)
    if start.tzinfo is None or end.tzinfo is None:
        return
    if start >= end:
        problems.add(ErrorCode.INVALID, "'periodEnd' must be after 'periodStart'.", END_FIELD)
    elif end > now:
        problems.add(ErrorCode.INVALID, f"Only a period that has ended can be {done}.", END_FIELD)


def span_text(start: datetime, end: datetime) -> str:
    return f"{_moment(start)} – {_moment(end)} UTC"  # noqa: RUF001 (a range takes an en dash)


def _moment(at: datetime) -> str:
    # To the minute, as people read invoices; to the second when the second matters.
    at = at.astimezone(UTC)
    return f"{at:%Y-%m-%d %H:%M:%S}" if at.second else f"{at:%Y-%m-%d %H:%M}"
