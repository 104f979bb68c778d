"""The local runner: delivers the template's SQS messages and schedules to the handlers it maps them to.

Queues. One thread per queue that a function's SQS event reads polls it as Lambda's event source
mapping does: ReceiveMessage (up to BatchSize, a short wait, every system and message attribute), one
Lambda SQS event per batch, the handler run in-process (gateway.FunctionRuntime: a fresh import per
execution environment). If the handler raises or overruns its timeout, the whole batch fails; with
FunctionResponseTypes [ReportBatchItemFailures], only the records its result lists under
batchItemFailures fail (and a malformed list fails the whole batch, as on Lambda). Succeeded records
are deleted with DeleteMessageBatch.

Retries and the dead-letter queue. On AWS a failed record stays invisible until the queue's
VisibilityTimeout (often many minutes) has passed. Locally its visibility is set to `retry_delay_s`
(1 s by default) so that retries happen at once; each receive counts towards the queue's
RedrivePolicy maxReceiveCount, and once it is reached the emulator itself moves the message to the
dead-letter queue on the next receive, as SQS does. The runner has no redrive logic of its own.

Schedules. Nothing fires on a clock: `POST /schedules/<Function>/<Event>` (or `make schedule`) runs the
function now, synchronously, with what the schedule would deliver: its Input (for ScheduleV2 with the
Scheduler's context attributes such as <aws.scheduler.scheduled-time> filled in), else the default
event of EventBridge Scheduler (ScheduleV2) or of an EventBridge schedule rule (Schedule). Deployed,
the invocation is asynchronous and retried; locally the caller sees the result or the error.

HTTP control endpoint (127.0.0.1 only): GET /schedules, POST /schedules/<Function>/<Event>, GET /queues.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from infra.local.gateway import FunctionRuntime, resolved_function_name
from infra.local.resources import StackResources
from infra.local.template import (
    ACCOUNT_ID,
    REPO_ROOT,
    FunctionSpec,
    TemplateError,
    schedule_event_sources,
    sqs_event_sources,
)

log = logging.getLogger("infra.local.runner")

DEFAULT_RETRY_DELAY_S = 1
DEFAULT_WAIT_TIME_S = 1
# SQS returns at most 10 messages per ReceiveMessage.
MAX_RECEIVE = 10
ERROR_BACKOFF_S = 1.0
JSON = "application/json"
PROBLEM_JSON = "application/problem+json"


# ---------------------------------------------------------------- sources


@dataclass(frozen=True)
class Queue:
    """A queue the stack created: logical id, URL, ARN and name."""

    logical_id: str
    url: str
    arn: str
    name: str


@dataclass(frozen=True)
class QueueSource:
    """An SQS event of a function, resolved to the queue it reads."""

    function_id: str
    event_name: str
    queue: Queue
    batch_size: int
    report_batch_item_failures: bool

    @property
    def key(self) -> str:
        """ "<Function>.<Event>"."""
        return f"{self.function_id}.{self.event_name}"


@dataclass(frozen=True)
class ScheduleSource:
    """A Schedule or ScheduleV2 event of a function, resolved: its expression, name, ARN and Input."""

    function_id: str
    event_name: str
    kind: str
    expression: str
    name: str
    arn: str
    timezone: str | None = None
    input: str | None = None
    description: str | None = None
    enabled: bool = True

    @property
    def key(self) -> str:
        """ "<Function>.<Event>"."""
        return f"{self.function_id}.{self.event_name}"

    def describe(self) -> dict[str, Any]:
        """What GET /schedules lists for this schedule."""
        return {
            "function": self.function_id,
            "event": self.event_name,
            "type": self.kind,
            "expression": self.expression,
            "timezone": self.timezone,
            "name": self.name,
            "arn": self.arn,
            "enabled": self.enabled,
            "description": self.description,
        }


def _queues_of(stack: StackResources) -> dict[str, Queue]:
    return {
        lid: Queue(lid, url, stack.attributes[lid]["Arn"], stack.attributes[lid]["QueueName"])
        for lid, url in stack.queues.items()
    }


def resolve_queue_sources(template: Mapping[str, Any], stack: StackResources) -> list[QueueSource]:
    """The enabled SQS events of the template, each resolved to one of the stack's queues."""
    resolver = stack.resolver()
    by_arn = {q.arn: q for q in _queues_of(stack).values()}
    sources: list[QueueSource] = []
    for event in sqs_event_sources(template):
        arn = str(resolver.resolve(event.queue))
        queue = by_arn.get(arn)
        if queue is None:
            raise TemplateError(
                f"{event.function.logical_id}.{event.event_name}: queue {arn} is not a queue of this template"
            )
        if not event.enabled:
            log.info("SQS event disabled", extra={"function": event.function.logical_id})
            continue
        sources.append(
            QueueSource(
                function_id=event.function.logical_id,
                event_name=event.event_name,
                queue=queue,
                batch_size=max(1, event.batch_size),
                report_batch_item_failures=event.report_batch_item_failures,
            )
        )
    return sources


def resolve_schedule_sources(template: Mapping[str, Any], stack: StackResources) -> list[ScheduleSource]:
    """The template's schedules with names, ARNs and Input resolved against the stack."""
    resolver = stack.resolver()
    sources: list[ScheduleSource] = []
    for event in schedule_event_sources(template):
        function_id = event.function.logical_id
        if event.kind == "ScheduleV2":
            name = str(resolver.resolve(event.name or f"{stack.stack_name}-{function_id}{event.event_name}"))
            group = str(resolver.resolve(event.group_name or "default"))
            arn = f"arn:aws:scheduler:{stack.region}:{ACCOUNT_ID}:schedule/{group}/{name}"
        else:
            name = str(resolver.resolve(event.name or f"{stack.stack_name}-{function_id}{event.event_name}"))
            arn = f"arn:aws:events:{stack.region}:{ACCOUNT_ID}:rule/{name}"
        source = ScheduleSource(
            function_id=function_id,
            event_name=event.event_name,
            kind=event.kind,
            expression=str(resolver.resolve(event.expression)),
            name=name,
            arn=arn,
            timezone=None if event.timezone is None else str(resolver.resolve(event.timezone)),
            input=None if event.input is None else str(resolver.resolve(event.input)),
            description=event.description,
            enabled=event.enabled,
        )
        schedule_event(source, region=stack.region)  # an Input that is not JSON stops the start
        sources.append(source)
    return sources


# ---------------------------------------------------------------- events


def _utc(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def schedule_event(source: ScheduleSource, *, region: str, now: float | None = None) -> Any:
    """The event a schedule delivers to its function at `now`.

    With an Input, the Input (JSON); for ScheduleV2, EventBridge Scheduler first replaces its context
    attributes <aws.scheduler.schedule-arn>, <aws.scheduler.scheduled-time>, <aws.scheduler.execution-id>
    and <aws.scheduler.attempt-number>. Without one, EventBridge Scheduler's default notification
    (source "aws.scheduler", detail the string "{}") or, for a Schedule rule, EventBridge's scheduled
    event (source "aws.events", detail {}).
    """
    now = time.time() if now is None else now
    event_id = str(uuid.uuid4())
    if source.input is not None:
        text = source.input
        if source.kind == "ScheduleV2":
            for keyword, value in {
                "schedule-arn": source.arn,
                "scheduled-time": _utc(now),
                "execution-id": event_id.replace("-", "")[:16],
                "attempt-number": "1",
            }.items():
                text = text.replace(f"<aws.scheduler.{keyword}>", value)
        try:
            return json.loads(text)
        except ValueError:
            raise TemplateError(f"{source.key}: Input is not well-formed JSON: {source.input!r}") from None
    scheduler = source.kind == "ScheduleV2"
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler" if scheduler else "aws.events",
        "account": ACCOUNT_ID,
        "time": _utc(now),
        "region": region,
        "resources": [source.arn],
        "detail": "{}" if scheduler else {},
    }


def _b64(value: bytes | str) -> str:
    raw = value.encode() if isinstance(value, str) else value
    return base64.b64encode(raw).decode("ascii")


def lambda_message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """An SQS message attribute in the shape Lambda puts in the event (lower camel case, base64 binary)."""
    attribute: dict[str, Any] = {}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = _b64(value["BinaryValue"])
    attribute["stringListValues"] = list(value.get("StringListValues") or [])
    attribute["binaryListValues"] = [_b64(v) for v in value.get("BinaryListValues") or []]
    attribute["dataType"] = value["DataType"]
    return attribute


def sqs_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One record of a Lambda SQS event, from a ReceiveMessage message."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": {
            name: lambda_message_attribute(value)
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    record.update({"eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": region})
    return record


def sqs_event(messages: Iterable[Mapping[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """A Lambda SQS event for a batch of messages."""
    return {"Records": [sqs_record(m, queue_arn, region) for m in messages]}


class BatchResponseError(ValueError):
    """The handler's result is not a valid partial batch response."""


def failed_message_ids(result: Any, message_ids: list[str]) -> set[str]:
    """The records a ReportBatchItemFailures result fails, with Lambda's rules.

    No result, no batchItemFailures or an empty list: every record succeeded. A result that is not an
    object, or an item whose itemIdentifier is missing, empty or not a message of the batch, fails the
    whole batch (BatchResponseError).
    """
    if result is None:
        return set()
    if not isinstance(result, dict):
        raise BatchResponseError(f"the result is a {type(result).__name__}, not an object")
    failures = result.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        raise BatchResponseError("batchItemFailures is not a list")
    failed: set[str] = set()
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in message_ids:
            raise BatchResponseError(f"batchItemFailures names no message of the batch: {item!r}")
        failed.add(identifier)
    return failed


# ---------------------------------------------------------------- the runner


@dataclass
class BatchOutcome:
    """What one delivery did: the event, the Lambda request id it ran as, the handler's result or error,
    and what became of each record."""

    source: QueueSource
    event: dict[str, Any]
    function_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    result: Any = None
    error: str | None = None
    failed: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


class ScheduleNotFoundError(LookupError):
    """No schedule of that function and event name."""


def _chunks(items: list[Any], size: int = MAX_RECEIVE) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Runner:
    """Polls the template's SQS event sources, fires its schedules on request, and serves the control API."""

    def __init__(
        self,
        *,
        runtimes: Mapping[str, FunctionRuntime],
        queue_sources: list[QueueSource],
        schedules: list[ScheduleSource],
        queues: Mapping[str, Queue],
        region: str,
        sqs_client: Callable[[], Any],
        retry_delay_s: int = DEFAULT_RETRY_DELAY_S,
        wait_time_s: int = DEFAULT_WAIT_TIME_S,
    ) -> None:
        self.runtimes = dict(runtimes)
        self.queue_sources = list(queue_sources)
        self.schedules = {s.key: s for s in schedules}
        self.queues = dict(queues)
        self.region = region
        self.retry_delay_s = max(0, int(retry_delay_s))
        self.wait_time_s = max(0, min(20, int(wait_time_s)))
        self._sqs_client = sqs_client
        self._sqs: Any = None
        self._stopping = threading.Event()
        self._pollers: list[threading.Thread] = []
        self._server: ThreadingHTTPServer | None = None
        self._server_thread: threading.Thread | None = None

    @classmethod
    def from_template(
        cls,
        template: Mapping[str, Any],
        stack: StackResources,
        *,
        moto_url: str,
        root: Path = REPO_ROOT,
        retry_delay_s: int = DEFAULT_RETRY_DELAY_S,
        wait_time_s: int = DEFAULT_WAIT_TIME_S,
        session: boto3.Session | None = None,
    ) -> Runner:
        """A runner for every SQS and schedule event of the template, on the stack's resources."""
        queue_sources = resolve_queue_sources(template, stack)
        schedules = resolve_schedule_sources(template, stack)
        specs: dict[str, FunctionSpec] = {}
        for sqs_source in sqs_event_sources(template):
            specs[sqs_source.function.logical_id] = sqs_source.function
        for schedule in schedule_event_sources(template):
            specs[schedule.function.logical_id] = schedule.function
        resolver = stack.resolver()
        runtimes = {
            lid: FunctionRuntime(spec, resolved_function_name(spec, resolver, stack), stack.region, root)
            for lid, spec in specs.items()
        }
        boto = session or boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=stack.region
        )
        # Fail fast and retry in the poll loop instead of botocore's own retries.
        config = Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=wait_time_s + 30)

        def sqs_client() -> Any:
            make_client: Any = boto.client
            return make_client("sqs", endpoint_url=moto_url, region_name=stack.region, config=config)

        return cls(
            runtimes=runtimes,
            queue_sources=queue_sources,
            schedules=schedules,
            queues=_queues_of(stack),
            region=stack.region,
            sqs_client=sqs_client,
            retry_delay_s=retry_delay_s,
            wait_time_s=wait_time_s,
        )

    def load_functions(self) -> None:
        """Import every handler now, so a broken module fails at start rather than on first delivery."""
        for runtime in self.runtimes.values():
            runtime.load()

    @property
    def sqs(self) -> Any:
        """An SQS client for the control API and for callers of poll_once."""
        if self._sqs is None:
            self._sqs = self._sqs_client()
        return self._sqs

    # ------------------------------------------------------------ queues

    def _receive(self, source: QueueSource, client: Any) -> list[dict[str, Any]]:
        """Up to BatchSize messages: one long-poll receive, then short ones while full batches come back."""
        messages: list[dict[str, Any]] = []
        wait = self.wait_time_s
        while len(messages) < source.batch_size:
            wanted = min(MAX_RECEIVE, source.batch_size - len(messages))
            received = client.receive_message(
                QueueUrl=source.queue.url,
                MaxNumberOfMessages=wanted,
                WaitTimeSeconds=wait,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            messages.extend(received)
            if len(received) < wanted:
                break
            wait = 0
        return messages

    def poll_once(self, source: QueueSource, client: Any = None) -> BatchOutcome | None:
        """Receive one batch from the source's queue and deliver it; None if the queue had nothing."""
        client = client or self.sqs
        messages = self._receive(source, client)
        if not messages:
            return None
        return self.deliver(source, messages, client)

    def deliver(
        self, source: QueueSource, messages: list[dict[str, Any]], client: Any = None
    ) -> BatchOutcome:
        """Run the function on a batch, then delete the records that succeeded and retry the others."""
        client = client or self.sqs
        started = time.perf_counter()
        outcome = BatchOutcome(source, sqs_event(messages, source.queue.arn, self.region))
        ids = [m["MessageId"] for m in messages]
        try:
            outcome.result = self.runtimes[source.function_id].invoke(
                outcome.event, outcome.function_request_id
            )
            failed = failed_message_ids(outcome.result, ids) if source.report_batch_item_failures else set()
        except BatchResponseError as error:
            outcome.error = f"invalid batch response: {error}"
            failed = set(ids)
        except Exception as error:
            outcome.error = f"{type(error).__name__}: {error}"
            failed = set(ids)
            log.error(
                "handler raised %s",
                type(error).__name__,
                extra={
                    "function": source.function_id,
                    "function_request_id": outcome.function_request_id,
                    "queue": source.queue.name,
                    "traceback": traceback.format_exc(),
                },
            )
        outcome.failed = [i for i in ids if i in failed]
        outcome.deleted = [i for i in ids if i not in failed]
        self._settle(source, messages, failed, client)
        level = logging.WARNING if outcome.failed else logging.INFO
        log.log(
            level,
            "batch delivered",
            extra={
                "function": source.function_id,
                "function_request_id": outcome.function_request_id,
                "event": source.event_name,
                "queue": source.queue.name,
                "message_ids": ids,
                "failed_ids": outcome.failed,
                "error": outcome.error,
                "latency_ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        return outcome

    def _settle(
        self, source: QueueSource, messages: list[dict[str, Any]], failed: set[str], client: Any
    ) -> None:
        done = [m for m in messages if m["MessageId"] not in failed]
        retry = [m for m in messages if m["MessageId"] in failed]
        for chunk in _chunks(done):
            response = client.delete_message_batch(
                QueueUrl=source.queue.url,
                Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(chunk)],
            )
            for failure in response.get("Failed", []):
                log.error("delete failed", extra={"queue": source.queue.name, "failure": failure})
        for chunk in _chunks(retry):
            client.change_message_visibility_batch(
                QueueUrl=source.queue.url,
                Entries=[
                    {
                        "Id": str(n),
                        "ReceiptHandle": m["ReceiptHandle"],
                        "VisibilityTimeout": self.retry_delay_s,
                    }
                    for n, m in enumerate(chunk)
                ],
            )

    def _poll_loop(self, source: QueueSource) -> None:
        client: Any = None
        while not self._stopping.is_set():
            try:
                client = client or self._sqs_client()
                self.poll_once(source, client)
            except Exception:
                if self._stopping.is_set():
                    return
                log.exception(
                    "polling failed", extra={"queue": source.queue.name, "function": source.function_id}
                )
                self._stopping.wait(ERROR_BACKOFF_S)

    def queue_status(self) -> list[dict[str, Any]]:
        """Every queue of the stack with its approximate message counts and the events that read it."""
        consumers: dict[str, list[str]] = {}
        for source in self.queue_sources:
            consumers.setdefault(source.queue.logical_id, []).append(source.key)
        status: list[dict[str, Any]] = []
        for queue in self.queues.values():
            attributes = self.sqs.get_queue_attributes(
                QueueUrl=queue.url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                ],
            )["Attributes"]
            status.append(
                {
                    "logicalId": queue.logical_id,
                    "name": queue.name,
                    "url": queue.url,
                    "consumers": consumers.get(queue.logical_id, []),
                    **{key: int(value) for key, value in attributes.items()},
                }
            )
        return status

    # ------------------------------------------------------------ schedules

    def schedule(self, function_id: str, event_name: str) -> ScheduleSource:
        """A schedule by function logical id and event name."""
        try:
            return self.schedules[f"{function_id}.{event_name}"]
        except KeyError:
            raise ScheduleNotFoundError(f"{function_id} has no schedule event {event_name}") from None

    def fire(self, function_id: str, event_name: str) -> tuple[Any, Any]:
        """Run a schedule's function now with the event the schedule delivers: (event, result).

        The handler's exception, or FunctionTimeoutError, propagates.
        """
        source = self.schedule(function_id, event_name)
        event = schedule_event(source, region=self.region)
        ids = {"function": function_id, "function_request_id": str(uuid.uuid4()), "event": event_name}
        started = time.perf_counter()
        try:
            result = self.runtimes[function_id].invoke(event, ids["function_request_id"])
        except Exception as error:
            log.error(
                "schedule handler raised %s",
                type(error).__name__,
                extra={**ids, "traceback": traceback.format_exc()},
            )
            raise
        log.info(
            "schedule fired",
            extra={**ids, "latency_ms": round((time.perf_counter() - started) * 1000, 1)},
        )
        return event, result

    # ------------------------------------------------------------ serving

    @property
    def url(self) -> str:
        """The base URL of the control API."""
        if self._server is None:
            raise RuntimeError("runner not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve the control API on host:port (0 picks a free port) and start one poller per queue."""
        self._stopping.clear()
        handler = type("BoundRunnerHandler", (_ControlHandler,), {"runner": self})
        self._server = _Server((host, port), handler)
        self._server_thread = threading.Thread(
            target=self._server.serve_forever, name="runner-http", daemon=True
        )
        self._server_thread.start()
        for source in self.queue_sources:
            thread = threading.Thread(
                target=self._poll_loop, args=(source,), name=f"runner-{source.key}", daemon=True
            )
            thread.start()
            self._pollers.append(thread)
        log.info(
            "runner listening",
            extra={
                "url": self.url,
                "queues": [s.queue.name for s in self.queue_sources],
                "schedules": sorted(self.schedules),
            },
        )

    def stop(self) -> None:
        """Stop polling (a batch being delivered finishes first) and stop serving."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for thread in self._pollers:
            thread.join(timeout=self.wait_time_s + 10)
            if thread.is_alive():
                log.warning("poller still busy at stop", extra={"thread": thread.name})
        if self._server_thread is not None:
            self._server_thread.join(timeout=5)
        self._pollers.clear()
        self._server = None
        self._server_thread = None


# ---------------------------------------------------------------- control API


@dataclass
class ControlResponse:
    """A control API answer: status, JSON body and extra headers."""

    status: int
    body: Any
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)


def _problem(status: int, title: str, detail: str, instance: str, **extra: Any) -> ControlResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, "instance": instance}
    return ControlResponse(status, {**body, **extra}, PROBLEM_JSON)


def _not_allowed(allowed: str, path: str) -> ControlResponse:
    response = _problem(405, "Method Not Allowed", f"{path} accepts {allowed} only", path)
    response.headers["allow"] = allowed
    return response


def route(runner: Runner, method: str, path: str) -> ControlResponse:
    """Answer one control request."""
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    if parts == ["schedules"]:
        if method != "GET":
            return _not_allowed("GET", path)
        return ControlResponse(200, {"schedules": [s.describe() for s in runner.schedules.values()]})
    if parts == ["queues"]:
        if method != "GET":
            return _not_allowed("GET", path)
        return ControlResponse(200, {"queues": runner.queue_status()})
    if len(parts) == 3 and parts[0] == "schedules":
        if method != "POST":
            return _not_allowed("POST", path)
        return _fire(runner, parts[1], parts[2], path)
    return _problem(
        404,
        "Not Found",
        "the runner serves GET /schedules, POST /schedules/<Function>/<Event>, GET /queues",
        path,
    )


def _fire(runner: Runner, function_id: str, event_name: str, path: str) -> ControlResponse:
    try:
        event, result = runner.fire(function_id, event_name)
    except ScheduleNotFoundError as error:
        return _problem(404, "Not Found", str(error), path)
    except Exception as error:
        return _problem(
            502,
            "Bad Gateway",
            f"the handler failed: {type(error).__name__}: {error}",
            path,
            function=function_id,
            event=event_name,
            errorType=type(error).__name__,
            errorMessage=str(error),
        )
    return ControlResponse(
        200, {"function": function_id, "event": event_name, "payload": event, "result": result}
    )


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class _ControlHandler(BaseHTTPRequestHandler):
    """Adapts http.server requests to route()."""

    runner: Runner
    protocol_version = "HTTP/1.1"
    server_version = "itam-local-runner"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: the runner logs deliveries and schedule firings itself."""

    def _handle(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        try:
            response = route(self.runner, self.command, self.path)
        except Exception as error:
            log.exception("control request failed", extra={"path": self.path})
            response = _problem(500, "Internal Server Error", str(error), self.path)
        body = json.dumps(response.body, default=str).encode()
        self.send_response(response.status)
        self.send_header("content-type", response.content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle
