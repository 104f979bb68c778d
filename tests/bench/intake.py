"""Procurement webhook intake: acknowledgement time against a function that only answers 202, and
DynamoDB round trips per delivery against the fewest the intake's protocol can be served with.

A delivery is verified (Standard Webhooks), recorded once per webhook-id, queued and acknowledged
(`Intake.receive`, `functions/webhook_intake/handler.py`). The fewest DynamoDB calls for a first
delivery are three, in this order around the one SQS SendMessage:

1. GetItem of the endpoint: it must exist and be enabled at the time of the delivery. The read comes
   before the signature check, so a request for a made-up endpoint id costs one read and no Secrets
   Manager call (made-up ids would always miss the secret cache); the endpoint's
   `enabled` flag is in its JSON document, so no condition of a later write could test it instead.
2. Conditional PutItem of the delivery record (`attribute_not_exists(PK)`): recording once per
   webhook-id is a check-and-write, and it must precede the send: the queued message carries ids,
   not the body, so the worker must find the record when the message arrives, and a concurrent
   duplicate must be refused before it queues a second message.
3. UpdateItem of the record to `queued`, after the send succeeded. The record cannot say `queued`
   before the send: if the function died between the two (a timeout, a throttled SendMessage), a
   retry would read `queued`, answer 202 and never queue the delivery. The other single-write order
   (send, then write the record once) lets the worker receive a message whose record does not exist
   yet (`Processor.process` drops it) and queues a message for every concurrent duplicate. Dropping
   the mark altogether would save it only by giving up the `queued` state of the product's API (the
   202 body, the deliveries listing) and re-queueing every retry of an in-flight delivery.

A repeated delivery (same webhook-id, already queued) needs two: the endpoint's GetItem and the
conditional PutItem that fails; with `ReturnValuesOnConditionCheckFailure=ALL_OLD` the failure
carries the stored record, whose status is the answer. Its figures are informational.

The Secrets Manager read of the signing secret is cached for a minute (the secret store's cache), and
the tenant-scoped credentials (STS AssumeRole) for their lifetime: a warm delivery makes neither.
Both are counted apart from DynamoDB, for the first delivery of a new function and for warm ones.

Time: warm deliveries with new webhook-ids through `functions/webhook_intake/handler.lambda_handler`
against `minimal_handler`, a function that reads the same event and answers 202 (the issue's
baseline), and against the floor, the same four calls and the signature check made with bare boto3
and the library; on in-process moto, the paths taking turns block by block, each ratio the median
over rounds of the round's median times.
"""

from __future__ import annotations

import base64
import json
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from moto import mock_aws
from standardwebhooks import Webhook

from tests.bench import Figure, figure
from tests.bench.support import TENANT, BotocoreHooks, aws_environment, table_kwargs
from tests.support.events import http_event
from tests.support.lambda_api import LambdaContext, reset_caches

SECRET_PREFIX = "itam-bench/webhooks"
QUEUE_NAME = "itam-bench-procurement"
WARM_UP = 10  # untimed deliveries per path before the rounds
BLOCK = 10  # the paths take turns every BLOCK deliveries, so a burst of load elsewhere hits all alike
BLOCKS = 5  # per path and round
ROUNDS = 7
COUNTED = 10  # warm deliveries whose calls are counted
TARGET = 1.0

# The fewest calls (the module docstring says why) for a first delivery and for a repeated one.
MINIMUM: dict[str, dict[str, int]] = {
    "first": {"GetItem": 1, "PutItem": 1, "UpdateItem": 1},
    "repeat": {"GetItem": 1, "PutItem": 1},
}

# A realistic purchase order approval: three lines, about 750 bytes.
PURCHASE_ORDER = {
    "type": "po.approved",
    "occurred_at": "2026-11-27T09:00:00Z",
    "data": {
        "po_number": "PO-2026-0042",
        "supplier": "Gravis",
        "currency": "EUR",
        "lines": [
            {
                "line_number": 1,
                "sku": "MBP14-M4",
                "manufacturer": "Apple",
                "manufacturer_part": "A2442",
                "description": "MacBook Pro 14",
                "category": "hardware",
                "quantity": 3,
                "unit_price": "2399.00",
            },
            {
                "line_number": 2,
                "sku": "U2724D",
                "manufacturer": "Dell",
                "manufacturer_part": "DELL-U2724D",
                "description": "Dell UltraSharp 27 monitor",
                "category": "hardware",
                "quantity": 6,
                "unit_price": "489.00",
            },
            {
                "line_number": 3,
                "description": "Microsoft 365 E3",
                "manufacturer": "Microsoft",
                "category": "saas",
                "quantity": 50,
                "unit_price": "33.00",
                "service_start": "2026-12-01",
                "service_end": "2027-11-30",
            },
        ],
    },
}
BODY = json.dumps(PURCHASE_ORDER)


def minimal_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The least an intake function can be: read the event as the intake does, answer 202."""
    endpoint_id = str((event.get("pathParameters") or {}).get("endpoint_id") or "")
    raw = event.get("body") or ""
    data = base64.b64decode(raw) if event.get("isBase64Encoded") else str(raw).encode()
    data.decode("utf-8")
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    answer = {"delivery_id": headers.get("webhook-id", ""), "status": "queued", "endpoint": endpoint_id}
    return {"statusCode": 202, "headers": {"Content-Type": "application/json"}, "body": json.dumps(answer)}


class ServiceCalls(BotocoreHooks):
    """AWS API calls as (service, operation), in order, in every botocore session created while it is
    installed (the same hook as `support.DynamoCalls`, for every service)."""

    def __init__(self) -> None:
        super().__init__(("before-call", self._on_call))
        self.made: list[tuple[str, str]] = []

    def _on_call(self, model: Any, **_: Any) -> None:
        self.made.append((model.service_model.service_name, model.name))

    def take(self) -> list[tuple[str, str]]:
        """The calls made since the last take."""
        made, self.made = self.made, []
        return made


@dataclass
class Stage:
    """The moto account: table, queue, and an endpoint created through the product, with its secret."""

    table: str
    queue_url: str
    endpoint_id: str
    secret: str


@contextmanager
def stage() -> Iterator[Stage]:
    """In-process moto with the template's table, the procurement queue and one webhook endpoint of
    the benchmark tenant created by `EndpointService.create` (its secret in moto's Secrets Manager)."""
    table = table_kwargs()
    with aws_environment(TABLE_NAME=table["TableName"], WEBHOOK_SECRET_PREFIX=SECRET_PREFIX), mock_aws():
        boto3.session.Session().client("dynamodb").create_table(**table)
        queue_url = boto3.session.Session().client("sqs").create_queue(QueueName=QUEUE_NAME)["QueueUrl"]
        os.environ["PROCUREMENT_QUEUE_URL"] = queue_url  # aws_environment restores os.environ
        reset_caches()
        try:
            from itam.bootstrap import endpoint_service
            from itam.procurement.models import EndpointCreate
            from itam.tenancy import Role, TenantContext

            admin = TenantContext(TENANT, f"{TENANT}-u-1", f"{TENANT}-u-1", frozenset({Role.ADMIN}))
            created = endpoint_service().create(admin, EndpointCreate(name="Coupa", description="purchasing"))
            # The intake starts as a new function would: no cached settings, clients or secrets.
            reset_caches()
            yield Stage(table["TableName"], queue_url, created.id, created.secret)
        finally:
            reset_caches()


class Sender:
    """The procurement system: signs each delivery with the endpoint's secret, as the library does."""

    def __init__(self, endpoint_id: str, secret: str) -> None:
        self.endpoint_id = endpoint_id
        self.webhook = Webhook(secret)
        self.sent = 0

    def headers(self, webhook_id: str) -> dict[str, str]:
        at = datetime.now(UTC)
        return {
            "webhook-id": webhook_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": self.webhook.sign(webhook_id, at, BODY),
        }

    def event(self, webhook_id: str | None = None) -> dict[str, Any]:
        """The HTTP API event of one signed delivery; a new webhook-id unless one is given."""
        if webhook_id is None:
            self.sent += 1
            webhook_id = f"msg_bench_{self.sent:06d}"
        path = f"/v1/webhooks/{self.endpoint_id}"
        event = http_event("POST", path, raw_body=BODY, headers=self.headers(webhook_id))
        event["pathParameters"] = {"endpoint_id": self.endpoint_id}
        event["routeKey"] = "POST /v1/webhooks/{endpoint_id}"
        event["requestContext"].pop("authorizer", None)
        return event


def _deliver(event: dict[str, Any]) -> dict[str, Any]:
    from functions.webhook_intake.handler import lambda_handler

    result = lambda_handler(event, LambdaContext())  # type: ignore[arg-type]
    if result["statusCode"] != 202:
        raise RuntimeError(f"a delivery was answered {result['statusCode']}: {result.get('body')}")
    return result


def _calls_of(calls: ServiceCalls, deliver: Callable[[], object]) -> list[tuple[str, str]]:
    calls.take()
    deliver()
    return calls.take()


def count_calls(sender: Sender, calls: ServiceCalls) -> dict[str, list[tuple[str, str]]]:
    """The calls of the first delivery of a new function, of a warm one (the same for COUNTED
    deliveries, else an error) and of a repeated one, each in the order made."""
    first = _calls_of(calls, lambda: _deliver(sender.event()))
    warm = [_calls_of(calls, lambda: _deliver(sender.event())) for _ in range(COUNTED)]
    if any(made != warm[0] for made in warm):
        raise RuntimeError(f"warm deliveries made different calls: {sorted(set(map(tuple, warm)))}")
    repeat_id = f"msg_bench_{sender.sent:06d}"
    repeats = [_calls_of(calls, lambda: _deliver(sender.event(repeat_id))) for _ in range(COUNTED)]
    if any(made != repeats[0] for made in repeats):
        raise RuntimeError(f"repeated deliveries made different calls: {sorted(set(map(tuple, repeats)))}")
    return {"first": first, "warm": warm[0], "repeat": repeats[0]}


def _floor(stage_: Stage) -> Callable[[dict[str, Any]], object]:
    """The same work with nothing but boto3 and the library: read the endpoint item, verify, write the
    record if new, send the message, mark the record queued (no framework, no models, no logging)."""
    session = boto3.session.Session()
    dynamodb, sqs = session.client("dynamodb"), session.client("sqs")
    endpoint_key = {"PK": {"S": f"T#{TENANT}#WEBHOOK#{stage_.endpoint_id}"}, "SK": {"S": "META"}}
    floor_pk = f"T#{TENANT}#WEBHOOK#floor"

    def deliver(event: dict[str, Any]) -> object:
        headers = event["headers"]
        dynamodb.get_item(TableName=stage_.table, Key=endpoint_key, ConsistentRead=True)
        Webhook(stage_.secret).verify(event["body"], headers, json_parse=False)
        key = {"PK": {"S": floor_pk}, "SK": {"S": f"DELIVERY#{headers['webhook-id']}"}}
        doc = {"id": headers["webhook-id"], "status": "received", "event_type": "po.approved"}
        item = {**key, "doc": {"S": json.dumps(doc)}, "returned": {"S": event["body"]}}
        dynamodb.put_item(TableName=stage_.table, Item=item, ConditionExpression="attribute_not_exists(PK)")
        sqs.send_message(QueueUrl=stage_.queue_url, MessageBody=json.dumps({"delivery_id": doc["id"]}))
        doc["status"] = "queued"
        return dynamodb.update_item(
            TableName=stage_.table,
            Key=key,
            UpdateExpression="SET doc = :doc",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues={":doc": {"S": json.dumps(doc)}},
        )

    return deliver


def _timed(
    handler: Callable[[dict[str, Any]], object],
    events: list[dict[str, Any]],
    after: Callable[[], object] | None = None,
) -> list[float]:
    """Seconds each event took through `handler`; `after` runs after each one, untimed."""
    spent = []
    for event in events:
        started = time.perf_counter()
        handler(event)
        spent.append(time.perf_counter() - started)
        if after is not None:
            after()
    return spent


def measure_times(stage_: Stage, sender: Sender) -> list[dict[str, list[float]]]:
    """Seconds per delivery of each path: the intake (new webhook-ids), the intake with an id it has
    queued already, the bare calls, and the 202-only function; warm, the paths taking turns; by round.

    The queue is emptied after every delivery, untimed, as the worker keeps it in production: moto's
    SendMessage computes the queue's attributes over every message it holds (about 0.02 ms a message),
    so a queue filling up over the run would make each send slower than the one before.
    """
    repeat_id = f"msg_bench_{sender.sent:06d}"
    context = LambdaContext()
    sqs = boto3.session.Session().client("sqs")

    def drain() -> None:  # PurgeQueue is allowed once a minute: receive and delete instead
        while batch := sqs.receive_message(QueueUrl=stage_.queue_url, MaxNumberOfMessages=10).get("Messages"):
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
            sqs.delete_message_batch(QueueUrl=stage_.queue_url, Entries=entries)

    Path = tuple[
        Callable[[dict[str, Any]], object], Callable[[], dict[str, Any]], Callable[[], object] | None
    ]
    paths: dict[str, Path] = {
        "intake": (_deliver, sender.event, drain),
        "repeat": (_deliver, lambda: sender.event(repeat_id), None),
        "floor": (_floor(stage_), sender.event, drain),
        "baseline": (lambda event: minimal_handler(event, context), sender.event, None),
    }
    drain()
    for handler, make, after in paths.values():
        _timed(handler, [make() for _ in range(WARM_UP)], after)
    rounds: list[dict[str, list[float]]] = []
    for _ in range(ROUNDS):
        spent: dict[str, list[float]] = {name: [] for name in paths}
        for block in range(BLOCKS):
            order = list(paths) if block % 2 == 0 else list(reversed(paths))
            for name in order:
                handler, make, after = paths[name]
                # Signed just before the block (within the 5-minute tolerance): signing is the sender's work.
                spent[name] += _timed(handler, [make() for _ in range(BLOCK)], after)
        rounds.append(spent)
    return rounds


def _dynamodb(made: list[tuple[str, str]]) -> Counter[str]:
    return Counter(operation for service, operation in made if service == "dynamodb")


def _of(made: list[tuple[str, str]], service: str) -> int:
    return sum(1 for name, _ in made if name == service)


def _ms(rounds: list[dict[str, list[float]]], path: str) -> float:
    """The median over rounds of the path's median milliseconds per delivery."""
    return statistics.median(statistics.median(spent[path]) for spent in rounds) * 1000


def _ratio(rounds: list[dict[str, list[float]]], path: str, baseline: str) -> float:
    """The median over rounds of the path's median time per delivery over the baseline's: each ratio
    compares paths measured under the same load."""
    return statistics.median(statistics.median(r[path]) / statistics.median(r[baseline]) for r in rounds)


def run() -> list[Figure]:
    """intake_overhead_ratio, intake_round_trips_ratio and the measurements they are made of."""
    with ServiceCalls() as calls, stage() as stage_:
        sender = Sender(stage_.endpoint_id, stage_.secret)
        made = count_calls(sender, calls)
        spent = measure_times(stage_, sender)
    warm, repeat = made["warm"], made["repeat"]
    for kind, calls_made in (("first", warm), ("repeat", repeat)):
        if extra := _dynamodb(calls_made) - Counter(MINIMUM[kind]):
            sequence = ", ".join(f"{service}.{operation}" for service, operation in calls_made)
            print(
                f"intake: a {kind} delivery calls {dict(extra)} beyond the minimum: {sequence}",
                file=sys.stderr,
            )
    minimum, repeat_minimum = sum(MINIMUM["first"].values()), sum(MINIMUM["repeat"].values())
    return [
        figure("intake_overhead_ratio", _ratio(spent, "intake", "baseline"), "x"),
        figure("intake_ms", _ms(spent, "intake"), "ms"),
        figure("intake_baseline_ms", _ms(spent, "baseline"), "ms"),
        figure("intake_floor_ms", _ms(spent, "floor"), "ms"),
        figure("intake_floor_ratio", _ratio(spent, "intake", "floor"), "x"),
        figure("intake_round_trips_ratio", sum(_dynamodb(warm).values()) / minimum, "x", TARGET),
        figure("intake_dynamodb_calls", sum(_dynamodb(warm).values()), "calls"),
        figure("intake_sqs_calls", _of(warm, "sqs"), "calls"),
        figure("intake_secretsmanager_calls", _of(warm, "secretsmanager"), "calls"),
        figure("intake_first_dynamodb_calls", sum(_dynamodb(made["first"]).values()), "calls"),
        figure("intake_first_secretsmanager_calls", _of(made["first"], "secretsmanager"), "calls"),
        figure("intake_first_sts_calls", _of(made["first"], "sts"), "calls"),
        figure("intake_repeat_ms", _ms(spent, "repeat"), "ms"),
        figure("intake_repeat_dynamodb_calls", sum(_dynamodb(repeat).values()), "calls"),
        figure("intake_repeat_round_trips_ratio", sum(_dynamodb(repeat).values()) / repeat_minimum, "x"),
    ]


def describe() -> None:
    """Print the calls of each kind of delivery in order (`python -m tests.bench.intake`)."""
    with ServiceCalls() as calls, stage() as stage_:
        made = count_calls(Sender(stage_.endpoint_id, stage_.secret), calls)
    for kind, sequence in made.items():
        print(f"{kind}: " + ", ".join(f"{service}.{operation}" for service, operation in sequence))


if __name__ == "__main__":
    describe()
