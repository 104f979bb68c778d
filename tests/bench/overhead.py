"""Throughput of GET /v1/assets/{id} through lambda_handler against the bare boto3 GetItem it is built on."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import boto3
from moto import mock_aws

from tests.bench import Figure, figure
from tests.bench.support import asset_key, aws_environment, call, get_asset_event, table_kwargs
from tests.support.lambda_api import LambdaContext, reset_caches

WARM_UP = 30
REQUESTS = 300  # per path and round
BLOCK = 30  # the paths take turns every BLOCK requests, so a burst of load elsewhere hits both alike
ROUNDS = 5
TARGET = 2.0


def _seconds(request: Callable[[], bool], count: int) -> float:
    """Time taken by `count` successive calls of `request`."""
    started = time.perf_counter()
    for _ in range(count):
        if not request():
            raise RuntimeError("a request of the throughput benchmark failed")
    return time.perf_counter() - started


def _round(paths: dict[str, Callable[[], bool]]) -> dict[str, float]:
    """Requests per second of each path over REQUESTS requests, the paths interleaved block by block."""
    blocks = REQUESTS // BLOCK
    spent = dict.fromkeys(paths, 0.0)
    for block in range(blocks):
        order = list(paths) if block % 2 == 0 else list(reversed(paths))
        for name in order:
            spent[name] += _seconds(paths[name], BLOCK)
    return {name: blocks * BLOCK / seconds for name, seconds in spent.items()}


def measure() -> list[dict[str, float]]:
    """Requests per second of the handler path and of the boto3 path in each round, on in-process moto."""
    from functions.api.handler import lambda_handler

    table = table_kwargs()
    with aws_environment(TABLE_NAME=table["TableName"]), mock_aws():
        client = boto3.session.Session().client("dynamodb")
        client.create_table(**table)
        reset_caches()
        try:
            created = call(
                "POST", "/v1/assets", {"name": "Throughput laptop", "kind": "hardware"}, expect=201
            )
            asset_id = str(created.body["id"])
            event, context, key = get_asset_event(asset_id), LambdaContext(), asset_key(asset_id)

            def through_handler() -> bool:
                return bool(lambda_handler(event, context)["statusCode"] == 200)  # type: ignore[arg-type]

            def through_boto3() -> bool:
                return "Item" in client.get_item(TableName=table["TableName"], Key=key)

            paths = {"handler": through_handler, "boto3": through_boto3}
            for request in paths.values():
                _seconds(request, WARM_UP)
            rounds = [_round(paths) for _ in range(ROUNDS)]
        finally:
            reset_caches()
    return rounds


def run() -> list[Figure]:
    """handler_overhead_ratio and the two throughputs it is made of."""
    rounds = measure()
    return [
        # The median of the rounds' ratios: each ratio compares two paths measured under the same load.
        figure(
            "handler_overhead_ratio",
            statistics.median(r["boto3"] / r["handler"] for r in rounds),
            "x",
            TARGET,
        ),
        figure("handler_rps", statistics.median(r["handler"] for r in rounds), "req/s", better="higher"),
        figure("boto3_rps", statistics.median(r["boto3"] for r in rounds), "req/s", better="higher"),
    ]
