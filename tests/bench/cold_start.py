"""Cold start: a fresh interpreter serving one GET /v1/assets/{id} against one bare boto3 GetItem."""

from __future__ import annotations

import compileall
import json
import logging
import os
import statistics
import subprocess
import sys
import time
from typing import Any

import boto3
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from tests.bench import Figure, figure
from tests.bench.support import (
    REPO_ROOT,
    RUN_CALLS,
    asset_key,
    aws_environment,
    call,
    get_asset_event,
    table_kwargs,
)
from tests.support.lambda_api import reset_caches

ROUNDS = 9
TARGET = 1.3

# Both children count their DynamoDB calls the same way and print {"status", "calls"} as their last line.
_COUNTING = """
import json, sys
from botocore.handlers import BUILTIN_HANDLERS
calls = {}
def count(model, **_):
    calls[model.name] = calls.get(model.name, 0) + 1
BUILTIN_HANDLERS.append(("before-call.dynamodb", count))
request = json.loads(sys.stdin.read())
"""

HANDLER_CHILD = (
    _COUNTING
    + """
from functions.api.handler import lambda_handler
class Context:
    function_name = "itam-bench-api"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:itam-bench-api"
    aws_request_id = "00000000-0000-4000-8000-000000000000"
    def get_remaining_time_in_millis(self):
        return 10000
result = lambda_handler(request, Context())
print(json.dumps({"status": result["statusCode"], "calls": calls}), flush=True)
"""
)

BASELINE_CHILD = (
    _COUNTING
    + """
import boto3
item = boto3.client("dynamodb").get_item(TableName=request["table"], Key=request["key"])
print(json.dumps({"status": 200 if "Item" in item else 404, "calls": calls}), flush=True)
"""
)

# The smallest handler the prescribed stack allows: the Powertools resolver with validation (as
# every API handler here must use), one route, one GetItem on a bare botocore client, no models,
# no tenant role. No handler on this stack can start faster, so its ratio is the floor of ours.
FLOOR_CHILD = (
    _COUNTING
    + """
import botocore.session
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
app = APIGatewayHttpResolver(enable_validation=True)
@app.get("/v1/assets/<asset_id>")
def get_asset(asset_id: str) -> dict:
    client = botocore.session.get_session().create_client("dynamodb")
    return client.get_item(TableName=request["table"], Key=request["key"])["Item"]
result = app.resolve(request["event"], None)
print(json.dumps({"status": result["statusCode"], "calls": calls}), flush=True)
"""
)


def _run_child(script: str, request: dict[str, Any]) -> float:
    """Wall time in ms from starting a fresh interpreter running `script` to its answer.

    The clock stops when the answer line arrives, not when the process exits: an execution
    environment serves its first request and stays up, so interpreter teardown is no part of a
    cold start (it also grows with the number of loaded modules, which would blur the figure).
    """
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env=dict(os.environ),
    )
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(json.dumps(request))
    child.stdin.close()
    outcome: dict[str, Any] | None = None
    elapsed = 0.0
    for line in child.stdout:
        if line.startswith('{"status"'):
            elapsed = (time.perf_counter() - started) * 1000
            outcome = json.loads(line)
            break
    rest = child.stdout.read()
    errors = child.stderr.read() if child.stderr is not None else ""
    child.wait()
    if child.returncode != 0 or outcome is None:
        raise RuntimeError(f"cold start child failed ({child.returncode}):\n{rest}{errors}")
    if outcome["status"] != 200:
        raise RuntimeError(f"cold start child got status {outcome['status']}:\n{rest}{errors}")
    RUN_CALLS.add(outcome["calls"])
    return elapsed


def _seed(table: dict[str, Any]) -> str:
    """Create the table and one asset through the handler; the asset's id."""
    boto3.session.Session().client("dynamodb").create_table(**table)
    reset_caches()
    try:
        created = call("POST", "/v1/assets", {"name": "Cold start laptop", "kind": "hardware"}, expect=201)
    finally:
        reset_caches()
    return str(created.body["id"])


def _compile_project() -> None:
    """Bytecode for the function and the domain package, as the deployed layer ships it (the
    dependencies in the virtualenv were compiled by pip already)."""
    for folder in ("layers/itam/itam", "functions/api"):
        compileall.compile_dir(REPO_ROOT / folder, quiet=1)


def run() -> list[Figure]:
    """cold_start_ratio, the floor the prescribed stack sets for it, and the medians they are made of."""
    _compile_project()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    access_log = logging.getLogger("werkzeug")
    level = access_log.level
    access_log.setLevel(logging.WARNING)
    server.start()
    try:
        host, port = server.get_host_and_port()
        table = table_kwargs()
        with aws_environment(AWS_ENDPOINT_URL=f"http://{host}:{port}", TABLE_NAME=table["TableName"]):
            asset_id = _seed(table)
            key = {"table": table["TableName"], "key": asset_key(asset_id)}
            children = {
                "handler": (HANDLER_CHILD, get_asset_event(asset_id)),
                "baseline": (BASELINE_CHILD, key),
                "floor": (FLOOR_CHILD, {**key, "event": get_asset_event(asset_id)}),
            }
            for script, request in children.values():  # warm-up: compiled bytecode and OS file cache
                _run_child(script, request)
            times: dict[str, list[float]] = {name: [] for name in children}
            for round_ in range(ROUNDS):
                order = list(children)[round_ % 3 :] + list(children)[: round_ % 3]
                for name in order:
                    times[name].append(_run_child(*children[name]))
    finally:
        server.stop()
        access_log.setLevel(level)
    handler_ms, baseline_ms, floor_ms = (statistics.median(times[name]) for name in children)
    return [
        figure("cold_start_ratio", handler_ms / baseline_ms, "x", TARGET),
        figure("cold_start_floor_ratio", floor_ms / baseline_ms, "x"),
        figure("cold_start_handler_ms", handler_ms, "ms"),
        figure("cold_start_baseline_ms", baseline_ms, "ms"),
        figure("cold_start_floor_ms", floor_ms, "ms"),
    ]
