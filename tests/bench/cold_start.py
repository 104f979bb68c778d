"""Cold start: a fresh interpreter serving the first GET of each bounded context, through the function
template.yaml routes it to, against the floor the prescribed stack sets and a bare boto3 GetItem."""

from __future__ import annotations

import compileall
import json
import logging
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import boto3
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from infra.local.gateway import RouteTable
from infra.local.template import http_routes, load_template
from tests.bench import Figure, figure
from tests.bench.support import (
    REPO_ROOT,
    RUN_CALLS,
    TENANT,
    asset_key,
    aws_environment,
    call,
    get_asset_event,
    table_kwargs,
)
from tests.support.events import claims_for, http_event
from tests.support.lambda_api import reset_caches

ROUNDS = 15
# Each context's first request may cost at most 10% more than the floor's (measured in the same run).
TARGET_OVER_FLOOR = 1.10

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

# The function as Lambda runs it: its code root first on sys.path, then `module.attribute` from the
# template's Handler.
HANDLER_CHILD = (
    _COUNTING
    + """
import importlib
sys.path.insert(0, request["code_root"])
handler = getattr(importlib.import_module(request["module"]), request["attribute"])
class Context:
    function_name = "itam-bench-api"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:itam-bench-api"
    aws_request_id = "00000000-0000-4000-8000-000000000000"
    def get_remaining_time_in_millis(self):
        return 10000
result = handler(request["event"], Context())
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

# The floor with the product's botocore data loader (layers/itam/itam/adapters/sessions.py, loaded on
# its own, without the domain package): what the floor would be if it read botocore's data the way
# the product does. Informational: the targets are against the floor above.
LEAN_FLOOR_CHILD = FLOOR_CHILD.replace(
    """    client = botocore.session.get_session().create_client("dynamodb")""",
    """    import importlib.util
    spec = importlib.util.spec_from_file_location("lean_sessions", request["sessions_module"])
    sessions = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sessions)
    session = botocore.session.get_session()
    session.register_component("data_loader", sessions.data_loader(session))
    client = session.create_client("dynamodb")""",
)
if LEAN_FLOOR_CHILD == FLOOR_CHILD:  # the floor's client line changed: the lean floor would be the floor
    raise RuntimeError("the lean floor no longer differs from the floor")
SESSIONS_MODULE = REPO_ROOT / "layers/itam/itam/adapters/sessions.py"


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


@dataclass(frozen=True)
class Probe:
    """One bounded context's first request: what to create beforehand, and the GET that is timed."""

    suffix: str
    create: str
    body: dict[str, Any]

    def read_path(self, created_id: str) -> str:
        """The GET of the created object."""
        return f"{self.create}/{created_id}"


PROBES = (
    Probe("", "/v1/assets", {"name": "Cold start laptop", "kind": "hardware"}),
    Probe(
        "_licenses",
        "/v1/licenses",
        {"product": "Cold start suite", "vendor": "Example", "metric": "per_user", "quantity": 5},
    ),
    Probe(
        "_connectors",
        "/v1/connectors",
        {
            "type": "aws",
            "name": "Cold start organization",
            "settings": {"role_arn": "arn:aws:iam::123456789012:role/ItamInventory"},
        },
    ),
    Probe("_requests", "/v1/requests", {"kind": "hardware", "category": "laptop", "justification": "a hire"}),
    Probe("_finance", "/v1/contracts", {"type": "support", "vendor": "Example", "start_date": "2026-01-01"}),
)


def _seed(table: dict[str, Any]) -> dict[str, str]:
    """Create the table and one object per context through the API; the path each GET reads."""
    boto3.session.Session().client("dynamodb").create_table(**table)
    reset_caches()
    try:
        return {
            probe.suffix: probe.read_path(str(call("POST", probe.create, probe.body, expect=201).body["id"]))
            for probe in PROBES
        }
    finally:
        reset_caches()


def deployed_request(path: str) -> dict[str, Any]:
    """The child's request for `GET path`: the function template.yaml routes it to, and its event."""
    matched = RouteTable(http_routes(load_template())).match("GET", path)
    if matched is None:
        raise RuntimeError(f"template.yaml routes no function for GET {path}")
    route, params = matched
    event = http_event("GET", path, claims=claims_for(TENANT, "admin"))
    event["routeKey"] = event["requestContext"]["routeKey"] = route.route_key
    event["pathParameters"] = params or None
    function = route.function
    return {
        "code_root": str(REPO_ROOT / function.code_uri),
        "module": function.module_name,
        "attribute": function.attribute,
        "event": event,
    }


def _compile_project() -> None:
    """Bytecode for the function and the domain package, as the deployed layer ships it (the
    dependencies in the virtualenv were compiled by pip already)."""
    for folder in ("layers/itam/itam", "functions/api"):
        compileall.compile_dir(REPO_ROOT / folder, quiet=1)


def _rounds(children: dict[str, tuple[str, dict[str, Any]]]) -> dict[str, list[float]]:
    """Each child's wall times over ROUNDS rounds, every child once a round, the order rotated."""
    for script, request in children.values():  # warm-up: compiled bytecode and OS file cache
        _run_child(script, request)
    names = list(children)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(ROUNDS):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(_run_child(*children[name]))
    return times


def paired_ratio(times: list[float], against: list[float]) -> float:
    """The median of the round-by-round ratios: each pair ran within the same second, so a change in
    the machine's load between rounds moves both sides of a ratio alike."""
    return statistics.median(a / b for a, b in zip(times, against, strict=True))


def run() -> list[Figure]:
    """Each context's first GET against the floor (the targets), and against bare boto3."""
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
            paths = _seed(table)
            asset_id = paths[""].rsplit("/", 1)[-1]
            key = {"table": table["TableName"], "key": asset_key(asset_id)}
            children: dict[str, tuple[str, dict[str, Any]]] = {
                "baseline": (BASELINE_CHILD, key),
                "floor": (FLOOR_CHILD, {**key, "event": get_asset_event(asset_id)}),
                "lean_floor": (
                    LEAN_FLOOR_CHILD,
                    {**key, "event": get_asset_event(asset_id), "sessions_module": str(SESSIONS_MODULE)},
                ),
            }
            for probe in PROBES:
                children[probe.suffix] = (HANDLER_CHILD, deployed_request(paths[probe.suffix]))
            times = _rounds(children)
    finally:
        server.stop()
        access_log.setLevel(level)
    ms = {name: statistics.median(values) for name, values in times.items()}
    floor_ms, baseline_ms = ms["floor"], ms["baseline"]
    figures = [
        figure(
            f"cold_start_over_floor_ratio{p.suffix}",
            paired_ratio(times[p.suffix], times["floor"]),
            "x",
            TARGET_OVER_FLOOR,
        )
        for p in PROBES
    ]
    lean = [
        figure(
            f"cold_start_over_lean_floor_ratio{p.suffix}",
            paired_ratio(times[p.suffix], times["lean_floor"]),
            "x",
        )
        for p in PROBES
    ]
    return [
        *figures,
        *lean,
        figure("cold_start_ratio", paired_ratio(times[""], times["baseline"]), "x"),
        figure("cold_start_floor_ratio", paired_ratio(times["floor"], times["baseline"]), "x"),
        figure("cold_start_handler_ms", ms[""], "ms"),
        *(figure(f"cold_start_handler{p.suffix}_ms", ms[p.suffix], "ms") for p in PROBES[1:]),
        figure("cold_start_baseline_ms", baseline_ms, "ms"),
        figure("cold_start_floor_ms", floor_ms, "ms"),
        figure("cold_start_lean_floor_ms", ms["lean_floor"], "ms"),
    ]
