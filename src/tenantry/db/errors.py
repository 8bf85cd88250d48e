"""Which database errors are worth trying again: the server was away, or a conflict lost."""

import sqlalchemy.exc

# SQLSTATE classes and codes that say nothing about the statement itself
# (https://www.postgresql.org/docs/current/errcodes-appendix.html).
_TRANSIENT_CLASSES = ("08", "53")  # connection exception, insufficient resources
_TRANSIENT_CODES = {
    "40001",  # serialization_failure
    "40P01",  # deadlock_detected
    "57P01",  # admin_shutdown
    "57P02",  # crash_shutdown
    "57P03",  # cannot_connect_now
}


def sqlstate(exc: BaseException) -> str | None:
    for candidate in (exc, getattr(exc, "orig", None), exc.__cause__):
        code = getattr(candidate, "sqlstate", None)
        if isinstance(code, str):
            return code
    return None


def is_transient(exc: BaseException) -> bool:
    """True when the same work may well succeed if tried again a little later."""
    if isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated:
        return True
    # A pool that had no connection to give in time; a socket that failed.
    if isinstance(exc, sqlalchemy.exc.TimeoutError | TimeoutError | OSError):
        return True
    code = sqlstate(exc)
    if code is not None:
        return code in _TRANSIENT_CODES or code[:2] in _TRANSIENT_CLASSES
    return isinstance(exc.__cause__, OSError)
