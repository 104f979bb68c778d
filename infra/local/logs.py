"""Logging for the local stack: one JSON format for the stack and the functions, and each execution
environment's lines carrying its own request's keys.

Format. The functions log through Powertools' Logger (JSON lines: level, location, message, timestamp,
service, then the Lambda context, the correlation id and any extra keys). The stack's own lines (the
gateway's access log, the runner, the start) go through the same formatter, as service `itam-local`,
with the same key names, so one filter reads both. The gateway's access line carries the request id as
`correlation_id`, the key the API's lines carry it under, and every line about an invocation carries
its `function_request_id`, so a request's or a delivery's lines join on either.

One environment, its own logger state. On Lambda one execution environment is one process serving one
request at a time, so the keys a Logger appends (the Lambda context, the correlation id, keys appended
at import or per record) and its cold start flag are that environment's. Locally the environments
share one process: each imports its handler module afresh, but the Logger of a service is one
`logging` logger with one formatter, whose keys every environment would overwrite (under concurrency,
most of the API's lines carried another request's correlation id), and Powertools' cold start flag is
one per process. `LogState` is one environment's state: the environment is imported and every
invocation runs inside its own `contextvars.Context`, and `isolate_environments` makes every Powertools
formatter keep its keys per environment there (starting from the keys the formatter was created with),
and the cold start flag too; Powertools' context-scoped keys (`thread_safe_append_keys`) already live
in that context. Outside any environment a formatter keeps one set of keys, as Powertools does. Threads
a handler starts itself run outside its environment: their lines carry the keys as created.
"""

from __future__ import annotations

import contextvars
import logging
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools.logging import logger as powertools_logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

STACK_SERVICE = "itam-local"
_MARK = "__itam_local_environments__"
T = TypeVar("T")


class LogState:
    """One execution environment's logging state: each formatter's keys, the cold start flag, and the
    context its import and its invocations run in (one at a time, as the environment serves them)."""

    def __init__(self) -> None:
        self.keys: dict[LambdaPowertoolsFormatter, dict[str, Any]] = {}
        self.cold_start = True
        self.invocation: dict[str, str] = {}
        self._context = contextvars.Context()
        self._context.run(_ENVIRONMENT.set, self)

    def run(self, function: Callable[..., T], *args: Any) -> T:
        """Call function(*args) in this environment's context."""
        return self._context.run(function, *args)

    def invoke(self, handler: Callable[[Any, Any], T], event: Any, context: Any) -> T:
        """Run one invocation of the environment's handler; library lines logged meanwhile name it."""
        self.invocation = {
            "function_name": context.function_name,
            "function_request_id": context.aws_request_id,
        }
        try:
            return self.run(handler, event, context)
        finally:
            self.invocation = {}

    def keys_of(self, formatter: LambdaPowertoolsFormatter) -> dict[str, Any]:
        """The formatter's keys in this environment, first those it was created with."""
        keys = self.keys.get(formatter)
        if keys is None:
            keys = self.keys[formatter] = dict(formatter.__dict__["log_format"])
        return keys


_ENVIRONMENT: contextvars.ContextVar[LogState | None] = contextvars.ContextVar(
    "itam_local_environment", default=None
)


class _LogFormatPerEnvironment:
    """`LambdaPowertoolsFormatter.log_format`: the running environment's keys, else the formatter's own
    (kept in the instance's `__dict__`, where Powertools alone would keep them)."""

    def __get__(self, formatter: Any, owner: type | None = None) -> Any:
        if formatter is None:
            return self
        environment = _ENVIRONMENT.get()
        return formatter.__dict__["log_format"] if environment is None else environment.keys_of(formatter)

    def __set__(self, formatter: Any, value: dict[str, Any]) -> None:
        environment = _ENVIRONMENT.get()
        if environment is None:
            formatter.__dict__["log_format"] = value
        else:
            environment.keys[formatter] = value


def isolate_environments() -> None:
    """Keep every Powertools formatter's keys, and the cold start flag, per `LogState` (idempotent)."""
    if getattr(LambdaPowertoolsFormatter, _MARK, False):
        return
    build = LambdaPowertoolsFormatter.__init__
    process_cold_start = powertools_logger._is_cold_start

    def __init__(self: LambdaPowertoolsFormatter, *args: Any, **kwargs: Any) -> None:
        # A formatter's keys as created are its own, whichever environment happens to create it.
        token = _ENVIRONMENT.set(None)
        try:
            build(self, *args, **kwargs)
        finally:
            _ENVIRONMENT.reset(token)

    def is_cold_start() -> bool:
        environment = _ENVIRONMENT.get()
        if environment is None:
            return process_cold_start()
        cold, environment.cold_start = environment.cold_start, False
        return cold

    LambdaPowertoolsFormatter.log_format = _LogFormatPerEnvironment()  # type: ignore[assignment]
    LambdaPowertoolsFormatter.__init__ = __init__  # type: ignore[method-assign]
    powertools_logger._is_cold_start = is_cold_start
    setattr(LambdaPowertoolsFormatter, _MARK, True)


class _NameTheInvocation(logging.Filter):
    """Lines that libraries log (through the stack's handler) while a function runs name its invocation,
    as Lambda's own log handler does."""

    def filter(self, record: logging.LogRecord) -> bool:
        environment = _ENVIRONMENT.get()
        if environment is not None:
            for key, value in environment.invocation.items():
                record.__dict__.setdefault(key, value)
        return True


def configure_logging(level: str = "INFO") -> None:
    """Send the stack's log records to stderr in the functions' JSON format; quiet the emulator's
    per-request lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LambdaPowertoolsFormatter(service=STACK_SERVICE, utc=True))
    handler.addFilter(_NameTheInvocation())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # The emulator logs one plain-text line per AWS call; the access log already covers requests.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
