"""Logging for the local stack: one JSON format for the stack and the functions, and each invocation's
lines carrying its own request's keys.

Format. The functions log through Powertools' Logger (JSON lines: level, location, message, timestamp,
service, then the Lambda context, the correlation id and any extra keys). The stack's own lines (the
gateway's access log, the runner, the start) go through the same formatter, as service `itam-local`,
so one filter reads both; the gateway's access line carries the request id as `correlation_id`, the
key the API's lines carry it under, so a request's lines join on it.

One invocation, its own keys. On Lambda one execution environment is one process serving one request
at a time, so the keys a Logger appends (the Lambda context, the correlation id) are that request's.
Locally the environments share one process: each imports its handler module afresh, but the Logger of a
service is one `logging` logger with one formatter, whose keys every environment would overwrite
(under concurrency, most of the API's lines carried another request's id). `make_logger_keys_per_thread`
gives the Powertools formatter one set of keys per thread: an invocation runs on one thread (the
gateway's request thread, the runner's poller), appends its keys there, and no other thread sees them.
A thread starts from the keys the Logger was created with.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

STACK_SERVICE = "itam-local"
_MARK = "__itam_per_thread__"


class _ThreadKeys:
    """A formatter's keys as created, and each thread's own copy of them."""

    def __init__(self, created: dict[str, Any]) -> None:
        self.created = created
        self.local = threading.local()


class _PerThreadLogFormat:
    """`LambdaPowertoolsFormatter.log_format`, one dict per thread once the formatter is built."""

    def __get__(self, formatter: Any, owner: type | None = None) -> Any:
        if formatter is None:
            return self
        keys: _ThreadKeys | None = formatter.__dict__.get("_itam_thread_keys")
        if keys is None:  # while the formatter is being built (or built before this was installed)
            return formatter.__dict__.get("_itam_log_format", formatter.__dict__.get("log_format"))
        mine = getattr(keys.local, "log_format", None)
        if mine is None:
            mine = keys.local.log_format = dict(keys.created)
        return mine

    def __set__(self, formatter: Any, value: dict[str, Any]) -> None:
        keys: _ThreadKeys | None = formatter.__dict__.get("_itam_thread_keys")
        if keys is None:
            built_before = "log_format" in formatter.__dict__
            formatter.__dict__["log_format" if built_before else "_itam_log_format"] = value
        else:
            keys.local.log_format = value


def make_logger_keys_per_thread() -> None:
    """Give every Powertools formatter one set of appended keys per thread (idempotent)."""
    if getattr(LambdaPowertoolsFormatter, _MARK, False):
        return
    build = LambdaPowertoolsFormatter.__init__

    def __init__(self: LambdaPowertoolsFormatter, *args: Any, **kwargs: Any) -> None:
        build(self, *args, **kwargs)
        self.__dict__["_itam_thread_keys"] = _ThreadKeys(dict(self.__dict__.pop("_itam_log_format")))

    LambdaPowertoolsFormatter.log_format = _PerThreadLogFormat()  # type: ignore[assignment]
    LambdaPowertoolsFormatter.__init__ = __init__  # type: ignore[method-assign]
    setattr(LambdaPowertoolsFormatter, _MARK, True)


def configure_logging(level: str = "INFO") -> None:
    """Send the stack's log records to stderr in the functions' JSON format; quiet the emulator's
    per-request lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LambdaPowertoolsFormatter(service=STACK_SERVICE, utc=True))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # The emulator logs one plain-text line per AWS call; the access log already covers requests.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
