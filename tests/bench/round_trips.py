"""DynamoDB round trips per API operation, against the fewest calls each operation can be served with."""

from __future__ import annotations

from collections.abc import Callable

import boto3
from moto import mock_aws

from tests.bench import Figure, figure
from tests.bench.support import DynamoCalls, aws_environment, call, table_kwargs
from tests.support.lambda_api import Reply, reset_caches

# The fewest DynamoDB calls each API operation can be served with.
MINIMUM: dict[str, dict[str, int]] = {
    "get": {"GetItem": 1},
    "list": {"Query": 1},
    "create": {"TransactWriteItems": 1},
    "create_idempotent": {"TransactWriteItems": 1},
    "update": {"GetItem": 1, "TransactWriteItems": 1},
    "transition": {"GetItem": 1, "TransactWriteItems": 1},
    "checkout": {"GetItem": 1, "TransactWriteItems": 1},
    "history": {"GetItem": 1, "Query": 1},
    # By provider key: the tenant's connector ids, then each connector's candidate asset in one batch.
    "lookup": {"Query": 1, "BatchGetItem": 1},
}
ARN = "arn:aws:ec2:eu-west-1:123456789012:instance/i-0123456789abcdef0"
CONNECTOR = {
    "type": "aws",
    "name": "Organization",
    "settings": {"role_arn": "arn:aws:iam::123456789012:role/ItamInventory", "regions": ["eu-west-1"]},
}


def _scenario(asset: dict[str, str]) -> list[tuple[str, Callable[[], Reply]]]:
    """The operations in an order each one is valid in; `asset` holds the id and current ETag."""

    def path(suffix: str = "") -> str:
        return f"/v1/assets/{asset['id']}{suffix}"

    def create() -> Reply:
        reply = call(
            "POST",
            "/v1/assets",
            {"name": "Round trip laptop", "kind": "hardware", "status": "in_stock"},
            expect=201,
        )
        asset.update(id=reply.body["id"], etag=reply.etag)
        return reply

    def write(method: str, suffix: str, body: dict[str, object]) -> Reply:
        reply = call(method, path(suffix), body, etag=asset["etag"])
        asset["etag"] = reply.etag
        return reply

    def create_idempotent() -> Reply:
        body = {"name": "Round trip dock", "kind": "hardware"}
        return call("POST", "/v1/assets", body, expect=201, idempotency_key="round-trip-1")

    return [
        ("create", create),
        ("create_idempotent", create_idempotent),
        ("get", lambda: call("GET", path())),
        ("list", lambda: call("GET", "/v1/assets")),
        ("update", lambda: write("PATCH", "", {"location": "HQ-2", "tags": {"team": "ops"}})),
        ("checkout", lambda: write("POST", "/checkout", {"assignee": "u-42", "note": "new starter"})),
        ("transition", lambda: write("POST", "/transitions", {"to": "in_maintenance", "reason": "screen"})),
        ("history", lambda: call("GET", path("/history"))),
        ("connector", lambda: call("POST", "/v1/connectors", CONNECTOR, expect=201)),
        ("lookup", lambda: call("GET", "/v1/assets", query={"external_key": ARN})),
    ]


def count_round_trips() -> dict[str, dict[str, int]]:
    """DynamoDB calls by operation name for each API operation, on a freshly started function."""
    table = table_kwargs()
    counted: dict[str, dict[str, int]] = {}
    with aws_environment(TABLE_NAME=table["TableName"]), mock_aws(), DynamoCalls() as calls:
        boto3.session.Session().client("dynamodb").create_table(**table)
        reset_caches()
        try:
            for name, operation in _scenario({}):
                calls.counts.clear()
                operation()
                if not calls.counts:
                    raise RuntimeError(
                        f"no DynamoDB call was counted for {name}: the counting hook is not installed"
                    )
                counted[name] = dict(calls.counts)
        finally:
            reset_caches()
    return counted


def run() -> list[Figure]:
    """round_trips_<operation>_ratio for every operation of MINIMUM."""
    counted = count_round_trips()
    return [
        figure(f"round_trips_{name}_ratio", sum(counted[name].values()) / sum(minimum.values()), "x", 1.0)
        for name, minimum in MINIMUM.items()
    ]
