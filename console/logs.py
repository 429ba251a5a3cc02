"""Request ids in every log line, in the web process and in the worker task a request queued.

The id lives in a context variable: RequestIdMiddleware sets it for a request, the solve task
sets it from the kwarg the request passed when it enqueued the run, and RequestIdFilter copies it
onto each log record (as `request_id`), so the JSON formatter of production logs prints it.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_request_id: ContextVar[str] = ContextVar("wattson_request_id", default="")

# A client's X-Request-ID is kept only when it is short and plain: it ends up in logs and in a
# response header, where newlines or markup would forge lines or headers.
_ACCEPTABLE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def current_request_id() -> str:
    """The id of the request (or of the task it queued) this code runs for; "" outside both."""
    return _request_id.get()


def acceptable_request_id(candidate: str | None) -> str:
    """The client's id when it is safe to echo, else a new one."""
    if candidate and _ACCEPTABLE_ID.fullmatch(candidate):
        return candidate
    return uuid.uuid4().hex


def request_id_begin(request_id: str) -> None:
    """From now until request_id_end, this thread's log lines carry `request_id`.

    Not a `with` block: Django logs a request's 4xx/5xx after the middleware returns, and that
    line must carry the id too (RequestIdMiddleware begins, the request_finished signal ends).
    """
    _request_id.set(request_id)


def request_id_end(**_signal_kwargs: object) -> None:
    _request_id.set("")


@contextmanager
def request_id_bound(request_id: str) -> Iterator[None]:
    """Log lines inside carry `request_id`; the previous id comes back afterwards."""
    token = _request_id.set(request_id)
    try:
        yield
    finally:
        _request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record, so any formatter may name it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get() or "-"
        return True


JSON_FORMAT = "%(asctime)s %(levelname)s %(name)s %(process)d %(request_id)s %(message)s"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def logging_config(*, json_logs: bool, level: str) -> dict:
    """Django's LOGGING: JSON lines (python-json-logger) in production, plain text elsewhere."""
    if json_logs:
        formatter = {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": JSON_FORMAT,
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    else:
        formatter = {"format": TEXT_FORMAT}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "console.logs.RequestIdFilter"}},
        "formatters": {"default": formatter},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "filters": ["request_id"],
                "formatter": "default",
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            # django-q2 gives its logger a handler of its own unless one is configured.
            "django-q": {"handlers": ["console"], "level": level, "propagate": False},
        },
    }
