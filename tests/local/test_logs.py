"""The local stack's logs: every invocation's lines carry its own request's keys, as on Lambda where an
execution environment serves one request at a time, although the local environments share one process;
the stack's lines and the functions' are in one format, and a request's lines join on its ids."""

from __future__ import annotations

import http.client
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from infra.local.gateway import FunctionRuntime, Gateway
from infra.local.logs import STACK_SERVICE, configure_logging
from infra.local.runner import Queue, QueueSource, Runner, ScheduleSource
from infra.local.template import ACCOUNT_ID, FunctionSpec, Route
from tests.local.conftest import FIXTURES, REGION

BASE_KEYS = {"level", "location", "message", "timestamp", "service"}
API_FUNCTIONS = ("ApiA", "ApiB")
REQUESTS_PER_FUNCTION = 10
MESSAGES = 3


def spec(logical_id: str, attribute: str) -> FunctionSpec:
    return FunctionSpec(logical_id, f"handler.{attribute}", "logging_fn", 128, 5, f"logs-{logical_id}")


def runtime(logical_id: str, attribute: str) -> FunctionRuntime:
    return FunctionRuntime(spec(logical_id, attribute), f"logs-{logical_id}", REGION, root=FIXTURES)


@pytest.fixture
def root_logger() -> Iterator[None]:
    """The root logger's handlers and level put back after the test (the stack's logging replaces them)."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    yield
    root.handlers[:], root.level = saved


@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch) -> str:
    """The functions' Powertools service (the template sets it in their environment), new per test."""
    name = f"logs-test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", name)
    return name


def get(url: str, path: str) -> str:
    """GET path; the request id API Gateway answered with."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request("GET", path)
    response = connection.getresponse()
    response.read()
    connection.close()
    assert response.status == 200
    return str(response.headers["apigw-requestid"])


def run_together(calls: list[Callable[[], Any]]) -> None:
    threads = [threading.Thread(target=call) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_concurrent_invocations_each_log_their_own_keys_in_one_format(
    capfd: pytest.CaptureFixture[str], root_logger: None, service: str, moto_url: str
) -> None:
    # Given two API functions behind the gateway, a queue worker and a scheduled function, all logging
    # through one Powertools service as the product's functions do, and the stack's logging as `make dev`
    # configures it (here, as capfd captures stderr only from the test's call on)
    configure_logging("INFO")
    routes = [Route("GET", f"/{f.lower()}/{{id}}", spec(f, "api"), "Get", "Api", None) for f in API_FUNCTIONS]
    gateway = Gateway(routes, runtimes={f: runtime(f, "api") for f in API_FUNCTIONS}, verifiers={})
    sqs = boto3.client(
        "sqs",
        endpoint_url=moto_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    name = f"logs-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue = Queue("Jobs", url, f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}", name)
    source = QueueSource("Worker", "Jobs", queue, MESSAGES, True)
    schedule = ScheduleSource("Clock", "Tick", "ScheduleV2", "rate(1 hour)", "ClockTick", "arn:clock-tick")
    runner = Runner(
        runtimes={"Worker": runtime("Worker", "worker"), "Clock": runtime("Clock", "clock")},
        queue_sources=[source],
        schedules=[schedule],
        queues={"Jobs": queue},
        region=REGION,
        sqs_client=lambda: sqs,
    )
    message_ids = [sqs.send_message(QueueUrl=url, MessageBody="{}")["MessageId"] for _ in range(MESSAGES)]
    gateway.start("127.0.0.1", 0)
    request_ids: list[str] = []
    fired: list[Any] = []

    # When 20 requests, a queue delivery and a schedule run at once
    try:
        run_together(
            [
                *(
                    lambda f=f, n=n: request_ids.append(get(gateway.url, f"/{f.lower()}/{n}"))
                    for f in API_FUNCTIONS
                    for n in range(REQUESTS_PER_FUNCTION)
                ),
                lambda: fired.append(runner.poll_once(source)),
                lambda: fired.append(runner.fire("Clock", "Tick")),
            ]
        )
    finally:
        gateway.stop()

    # Then every line is JSON in Powertools' format, the functions' and the stack's alike
    captured = capfd.readouterr()
    lines = [json.loads(line) for line in (captured.out + captured.err).splitlines() if line.strip()]
    assert [line for line in lines if not line.keys() >= BASE_KEYS] == []
    # and every line a function (or a library it called) logged shows its own invocation's keys:
    # correlation id, Lambda context, its environment's init keys and cold start, its record's keys
    own = [line for line in lines if "expected" in line]
    mismatched = [
        {key: (line.get(key), value) for key, value in line["expected"].items() if line.get(key) != value}
        for line in own
    ]
    assert [keys for keys in mismatched if keys] == []
    functions = [line for line in own if line["service"] == service]
    assert len(functions) == 2 * len(request_ids) + MESSAGES + 1
    assert len(request_ids) == len(API_FUNCTIONS) * REQUESTS_PER_FUNCTION
    assert len({line["environment"] for line in functions}) > len(API_FUNCTIONS), "several environments ran"
    assert [line["message"] for line in own if line["service"] == STACK_SERVICE] == ["library line"]

    # and a request's lines join on its ids: the access line carries the request id the handler's lines
    # carry as correlation_id, and the Lambda request id they carry as function_request_id
    stack = [line for line in lines if line["service"] == STACK_SERVICE and "expected" not in line]
    for request_id in request_ids:
        (access,) = [line for line in stack if line.get("correlation_id") == request_id]
        handler = [line for line in functions if line.get("correlation_id") == request_id]
        assert access["message"] == "request"
        assert [line["function_request_id"] for line in handler] == [access["function_request_id"]] * 2
    # and so do a delivery's: the runner's line names the Lambda request and the messages it delivered
    (batch,) = [line for line in stack if line["message"] == "batch delivered"]
    assert sorted(batch["message_ids"]) == sorted(message_ids)
    records = [line for line in functions if line["message"] == "record processed"]
    assert sorted(line["message_id"] for line in records) == sorted(message_ids)
    assert {line["function_request_id"] for line in records} == {batch["function_request_id"]}
    (tick,) = [line for line in stack if line["message"] == "schedule fired"]
    (clock,) = [line for line in functions if line["message"] == "tick"]
    assert clock["function_request_id"] == tick["function_request_id"]
