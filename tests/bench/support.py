"""Shared by the benchmarks: AWS environment, the template's table, handler calls, DynamoDB call counts."""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

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
) -> Reply:
    """One request through lambda_handler as the tenant's admin; a status other than `expect` is an error."""
    headers = {"if-match": etag} if etag is not None else {}
    if idempotency_key is not None:
        headers["idempotency-key"] = idempotency_key
    reply = invoke(http_event(method, path, body=body, headers=headers, claims=claims_for(TENANT, "admin")))
    if reply.status != expect:
        raise RuntimeError(f"{method} {path}: expected {expect}, got {reply.status}: {reply.body}")
    return reply


def asset_key(asset_id: str) -> dict[str, dict[str, str]]:
    """The DynamoDB key of an asset item of the benchmark tenant (the adapter's key layout)."""
    return {"PK": {"S": f"T#{TENANT}#ASSET#{asset_id}"}, "SK": {"S": "META"}}


class DynamoCalls:
    """Counts DynamoDB API calls by operation in every botocore session created while it is installed.

    PynamoDB creates a botocore session per connection, so the hook goes into botocore's built-in
    handlers, which every new session registers: it sees PynamoDB's and boto3's clients alike.
    """

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._spec: tuple[str, Callable[..., None]] = ("before-call.dynamodb", self._on_call)

    def _on_call(self, model: Any, **_: Any) -> None:
        self.counts[model.name] += 1

    def add(self, counts: Mapping[str, int]) -> None:
        """Add calls counted elsewhere (e.g. in a subprocess)."""
        self.counts.update(counts)

    def __enter__(self) -> DynamoCalls:
        BUILTIN_HANDLERS.append(self._spec)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        BUILTIN_HANDLERS.remove(self._spec)


# Installed by the harness for the whole run: every benchmark's DynamoDB calls end up here.
RUN_CALLS = DynamoCalls()
