"""Shared by the benchmarks: AWS environment, the template's table, handler calls, DynamoDB call counts."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from botocore.handlers import BUILTIN_HANDLERS

from infra.local.template import load_template, table_create_kwargs
from tests.support.events import claims_for, http_event, load_event
from tests.support.lambda_api import Reply, invoke

REPO_ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
TENANT = "acme"

# The environment a Lambda function sees, minus the real AWS: dummy credentials and no local profile.
AWS_ENV = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "itam",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    # As deployed: every data access on credentials assumed for the caller's tenant.
    "TENANT_ROLE_ARN": "arn:aws:iam::123456789012:role/itam-bench-us-east-1-tenant-data",
    # Cursors sealed with a key given directly: deployed, the secret is read once per environment.
    "ITAM_CURSOR_KEY": "bench",
}
_CLEARED = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE", "AWS_SESSION_TOKEN", "TABLE_NAME")


@contextmanager
def aws_environment(**extra: str) -> Iterator[None]:
    """Dummy AWS credentials and region (plus `extra`) in os.environ; the previous environment is restored."""
    saved = dict(os.environ)
    for name in _CLEARED:
        os.environ.pop(name, None)
    os.environ.update(AWS_ENV)
    os.environ.update(extra)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def discarded_stdout() -> Iterator[None]:
    """Send file descriptor 1 to the null device: the function's log lines are written, then dropped."""
    sys.stdout.flush()
    saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)


def table_kwargs() -> dict[str, Any]:
    """create_table kwargs of the template's table (stage "bench")."""
    [kwargs] = table_create_kwargs(load_template(), {"Stage": "bench"})
    return kwargs


def get_asset_event(asset_id: str) -> dict[str, Any]:
    """events/http/get_asset.json for `asset_id`."""
    event = load_event("http/get_asset.json")
    path = f"/v1/assets/{asset_id}"
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["pathParameters"] = {"proxy": path.removeprefix("/v1/")}
    return event


def call(
    method: str,
    path: str,
    body: Any = None,
    etag: str | None = None,
    expect: int = 200,
    idempotency_key: str | None = None,
    query: dict[str, str] | None = None,
) -> Reply:
    """One request through lambda_handler as the tenant's admin; a status other than `expect` is an error."""
    headers = {"if-match": etag} if etag is not None else {}
    if idempotency_key is not None:
        headers["idempotency-key"] = idempotency_key
    claims = claims_for(TENANT, "admin")
    reply = invoke(http_event(method, path, body=body, headers=headers, query=query, claims=claims))
    if reply.status != expect:
        raise RuntimeError(f"{method} {path}: expected {expect}, got {reply.status}: {reply.body}")
    return reply


def asset_key(asset_id: str) -> dict[str, dict[str, str]]:
    """The DynamoDB key of an asset item of the benchmark tenant (the adapter's key layout)."""
    return {"PK": {"S": f"T#{TENANT}#ASSET#{asset_id}"}, "SK": {"S": "META"}}


class BotocoreHooks:
    """Event handlers put into botocore's built-in handlers while installed (`with`), so that every
    botocore session created meanwhile registers them.

    PynamoDB creates a botocore session per connection, so this is how a benchmark sees PynamoDB's
    clients and boto3's alike.
    """

    def __init__(self, *hooks: tuple[str, Callable[..., None]]) -> None:
        self._hooks = list(hooks)

    def __enter__(self) -> Self:
        BUILTIN_HANDLERS.extend(self._hooks)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        for hook in self._hooks:
            BUILTIN_HANDLERS.remove(hook)


class DynamoCalls(BotocoreHooks):
    """Counts DynamoDB API calls by operation in every botocore session created while it is installed."""

    def __init__(self) -> None:
        super().__init__(("before-call.dynamodb", self._on_call))
        self.counts: Counter[str] = Counter()

    def _on_call(self, model: Any, **_: Any) -> None:
        self.counts[model.name] += 1

    def add(self, counts: Mapping[str, int]) -> None:
        """Add calls counted elsewhere (e.g. in a subprocess)."""
        self.counts.update(counts)


# Installed by the harness for the whole run: every benchmark's DynamoDB calls end up here.
RUN_CALLS = DynamoCalls()


# A moto server whose DynamoDB calls cost what they touch, with the same answers, as the local stack's
# (infra/local/table_cost.py): moto (5.2) alone sorts the whole table on every Query page, and a page
# of a 100,000-item partition took longer than the adapter's 4 s read timeout.
_MOTO_SERVER = """
import sys
from infra.local.table_cost import make_dynamodb_calls_cheap
from moto.server import main

make_dynamodb_calls_cheap()
main(sys.argv[1:])
"""


@contextmanager
def moto_server_process() -> Iterator[str]:
    """A moto server in a process of its own, on a free local port; yields its endpoint URL.

    Unlike `moto.mock_aws` or a ThreadedMotoServer, nothing the service does is allocated or timed in
    the benchmark's own process: tracemalloc there sees the client side only, as in a Lambda function.
    Its DynamoDB calls cost what they touch, as the local stack's do, with the same results.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryFile() as errors:
        server = subprocess.Popen(
            [sys.executable, "-c", _MOTO_SERVER, "-H", "127.0.0.1", "-p", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            cwd=REPO_ROOT,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        errors.seek(0)
                        message = errors.read().decode()
                        raise RuntimeError(f"the moto server did not start:\n{message}") from None
                    time.sleep(0.1)
            yield f"http://127.0.0.1:{port}"
        finally:
            server.terminate()
            server.wait(timeout=30)


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    """The size of a raw item ({"name": {"S": ...}, ...}) by DynamoDB's rules: the UTF-8 bytes of every
    attribute name plus the size of its value (docs: "DynamoDB item sizes and formats")."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: Mapping[str, Any]) -> int:
    [(kind, data)] = value.items()
    sizes: dict[str, Callable[[Any], int]] = {
        "S": lambda s: len(s.encode()),
        "N": _number_size,
        "B": len,
        "BOOL": lambda _: 1,
        "NULL": lambda _: 1,
        "SS": lambda ss: sum(len(s.encode()) for s in ss),
        "NS": lambda ns: sum(_number_size(n) for n in ns),
        "BS": lambda bs: sum(len(b) for b in bs),
        # 3 bytes for a list or map, 1 more per element (and a map element's name).
        "L": lambda items: 3 + sum(1 + _value_size(v) for v in items),
        "M": lambda fields: 3 + sum(1 + len(k.encode()) + _value_size(v) for k, v in fields.items()),
    }
    return sizes[kind](data)


def _number_size(text: str) -> int:
    """1 byte per two significant digits, plus 1 (leading and trailing zeros are not stored)."""
    mantissa = text.lower().split("e")[0].lstrip("+-").replace(".", "")
    digits = len(mantissa.strip("0")) or 1
    return (digits + 1) // 2 + 1
