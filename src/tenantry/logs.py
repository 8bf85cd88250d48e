"""Logging for every process the ``tenantry`` command starts (server workers included).

One stream, one line per event. By default each line is a JSON object (``log_format``
"json"; "text" for people reading a terminal) carrying, when it happens during a request,
that request's id, tenant, user, operation and read path: the access log line that ends
every request is in the same stream, with its status and duration.
"""

import json
import logging
import re
import sys
import uuid
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from tenantry.settings import Settings


@dataclass
class RequestLog:
    """What the log lines of one request say about it; filled in as the request goes."""

    request_id: str
    tenant: str | None = None
    user: str | None = None
    operation: str | None = None
    read_path: str | None = None
    # The first GraphQL error's code, when the answer carries errors.
    error_code: str | None = None

    def fields(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if v is not None}


CURRENT_REQUEST: ContextVar[RequestLog | None] = ContextVar("tenantry_request", default=None)

# An incoming X-Request-Id is kept only when it is short and plain; anything else (a
# 5,000-character header, control characters, quotes) is replaced by one of ours.
_PLAIN_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def request_id_from(header: str | None) -> str:
    if header is not None and _PLAIN_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def note_request(**fields: str | None) -> None:
    """Adds what is known now (tenant, user, operation, read path) to this request's lines."""
    current = CURRENT_REQUEST.get()
    if current is not None:
        for name, value in fields.items():
            setattr(current, name, value)


# The attributes every LogRecord has: anything else on a record came in through `extra`.
# (uvicorn adds ``color_message``: the same message with terminal colours.)
_STANDARD = set(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        current = CURRENT_REQUEST.get()
        if current is not None:
            line.update(current.fields())
        for name, value in vars(record).items():
            if name not in _STANDARD and not name.startswith("_"):
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        current = CURRENT_REQUEST.get()
        return f"{text} [request {current.request_id}]" if current is not None else text


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    # uvicorn's own lines go through the same stream; its access log is replaced by ours
    # (tenantry.access), which knows the operation, the tenant and the request id.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
