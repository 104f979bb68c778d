"""Each local invocation's log lines carry its own request's keys, as on Lambda where an execution
environment serves one request at a time, although the local environments share one process."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import pytest

from infra.local.gateway import FunctionRuntime
from infra.local.logs import STACK_SERVICE, configure_logging
from infra.local.template import REPO_ROOT, FunctionSpec

SPEC = FunctionSpec(
    logical_id="LoggingFunction",
    handler="handler.lambda_handler",
    code_uri="tests/local/fixtures/logging_fn",
    memory_mb=128,
    timeout_s=5,
    function_name="logging-fn",
)
BASE_KEYS = {"level", "location", "message", "timestamp", "service"}


def event(request_id: str) -> dict[str, Any]:
    return {"version": "2.0", "rawPath": "/v1/x", "requestContext": {"requestId": request_id}}


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_concurrent_invocations_log_their_own_correlation_id(capfd: pytest.CaptureFixture[str]) -> None:
    runtime = FunctionRuntime(SPEC, "logging-fn", "us-east-1", root=REPO_ROOT, concurrency=10)
    requests = [f"request-{n:02d}" for n in range(30)]
    threads = [threading.Thread(target=runtime.invoke, args=(event(r),)) for r in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    lines = [line for line in json_lines(capfd.readouterr().out) if "own_request_id" in line]
    assert len(lines) == 2 * len(requests)
    mismatched = [line for line in lines if line.get("correlation_id") != line["own_request_id"]]
    assert mismatched == []
    # Each invocation's Lambda context too: one function_request_id per request, never shared.
    ids_of = {line["own_request_id"]: set() for line in lines}
    for line in lines:
        ids_of[line["own_request_id"]].add(line["function_request_id"])
    assert all(len(ids) == 1 for ids in ids_of.values())
    assert len({next(iter(ids)) for ids in ids_of.values()}) == len(requests)
    assert all(line.keys() >= BASE_KEYS for line in lines)


def test_the_stack_logs_in_the_functions_format(capfd: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        configure_logging("INFO")
        logging.getLogger("infra.local.access").info(
            "request", extra={"correlation_id": "r-1", "status": 200}
        )
    finally:
        root.handlers[:], root.level = saved
    (line,) = json_lines(capfd.readouterr().err)
    assert line.keys() >= BASE_KEYS
    assert (line["service"], line["message"], line["correlation_id"], line["status"]) == (
        STACK_SERVICE,
        "request",
        "r-1",
        200,
    )
