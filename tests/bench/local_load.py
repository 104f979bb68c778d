"""The local stack (`make dev`) as people use it: a create's cost as the register grows, its memory under
a minute of mixed load, no 5xx and no time-out in that minute (its state kept meanwhile, as `make dev`
keeps it; restarts are measured in local_state).

The stack runs as `python -m infra.local` in a process of its own, on free ports, with its state in a
temporary directory; the register is grown with BatchWriteItem straight into the emulator (copies of
the items one create over the API wrote, each with its own id, tag and serial), never through the API.
"""

from __future__ import annotations

import json
import random
import statistics
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from infra.local.token import issue_token
from tests.bench import Figure, figure
from tests.support.stack_process import Stack, local_stack

TENANT = "bench-load"
SMALL, LARGE = 100, 10_000
CREATES_MEASURED = 40
CLIENTS = 8
LOAD_SECONDS = 60.0
START_TIMEOUT_S = 120.0
# Lower case: the unique guards keep the case-folded form, and every copy must replace both.
TEMPLATE_TAG, TEMPLATE_SERIAL = "seedtemplate000001", "seedserial00000001"
GROWTH_TARGET = 1.5
MEMORY_TARGET = 1.5


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any
    seconds: float


def call(url: str, token: str, method: str, path: str, body: Any = None, **headers: str) -> Reply:
    """One HTTP call; a time-out on our side is status 0 (the gateway's own is a 500 after 10 s)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    for name, value in headers.items():
        request.add_header(name.replace("_", "-"), value)
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, answer_headers, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, answer_headers, raw = error.code, dict(error.headers), error.read()
    except (TimeoutError, urllib.error.URLError, OSError):
        return Reply(0, {}, None, time.perf_counter() - started)
    seconds = time.perf_counter() - started
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    return Reply(status, answer_headers, parsed, seconds)


def new_asset(n: int) -> dict[str, Any]:
    return {
        "name": f"Laptop {n}",
        "category": "laptop",
        "kind": "hardware",
        "asset_tag": f"LOAD{n:012d}",
        "serial_number": f"SN{n:012d}",
        "cost": {"amount": "1299.00", "currency": "EUR"},
    }


class Seeder:
    """Grows the register with copies of the items one create wrote, through BatchWriteItem."""

    def __init__(self, stack: Stack, token: str) -> None:
        self.client = boto3.client(
            "dynamodb",
            endpoint_url=stack.state["moto_url"],
            region_name=stack.state["region"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        self.table = stack.state["table_name"]
        body = new_asset(0) | {"asset_tag": TEMPLATE_TAG, "serial_number": TEMPLATE_SERIAL}
        created = call(stack.gateway_url, token, "POST", "/v1/assets", body)
        if created.status != 201:
            raise RuntimeError(f"the template create failed: {created.status} {created.body}")
        self.asset_id = str(created.body["id"])
        self.template = [json.dumps(item) for item in self._stored_items()]
        self.seeded = 0

    def _stored_items(self) -> list[dict[str, Any]]:
        """The template asset's items: its partition (item, history) and its two unique guards."""
        prefix = f"T#{TENANT}#"
        items = self.client.query(
            TableName=self.table,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": f"{prefix}ASSET#{self.asset_id}"}},
        )["Items"]
        for guard in (f"asset_tag#{TEMPLATE_TAG}", f"serial_number#{TEMPLATE_SERIAL}"):
            key = {"PK": {"S": f"{prefix}UNIQUE#{guard}"}, "SK": {"S": "UNIQUE"}}
            items.append(self.client.get_item(TableName=self.table, Key=key)["Item"])
        return list(items)

    def seed(self, count: int) -> None:
        """Add `count` assets (each: its item, its history, its tag and serial guards)."""
        batch: list[dict[str, Any]] = []
        for _ in range(count):
            self.seeded += 1
            asset_id = f"{self.seeded:012x}{random.getrandbits(80):020x}"
            tag, serial = f"seed{self.seeded:014d}", f"seedsn{self.seeded:012d}"
            for text in self.template:
                text = text.replace(self.asset_id, asset_id).replace(TEMPLATE_TAG, tag)
                batch.append({"PutRequest": {"Item": json.loads(text.replace(TEMPLATE_SERIAL, serial))}})
                if len(batch) == 25:
                    self._write(batch)
                    batch = []
        if batch:
            self._write(batch)

    def _write(self, batch: list[dict[str, Any]]) -> None:
        pending: dict[str, Any] = {self.table: batch}
        while pending:
            pending = self.client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


def median_create_ms(url: str, token: str, first: int) -> float:
    """The median of CREATES_MEASURED sequential creates, after 5 not counted."""
    seconds = []
    for n in range(first, first + CREATES_MEASURED + 5):
        reply = call(url, token, "POST", "/v1/assets", new_asset(n))
        if reply.status != 201:
            raise RuntimeError(f"create failed: {reply.status} {reply.body}")
        seconds.append(reply.seconds)
    return statistics.median(seconds[5:]) * 1000


@dataclass
class LoadResult:
    statuses: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    created: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, reply: Reply) -> None:
        with self.lock:
            self.statuses.append(reply.status)
            self.seconds.append(reply.seconds)
            if reply.status == 201:
                self.created += 1


def _client_loop(url: str, token: str, ids: list[str], first: int, until: float, result: LoadResult) -> None:
    rng = random.Random(first)
    n = first
    while time.monotonic() < until:
        choice = rng.random()
        if choice < 0.35:
            result.record(call(url, token, "GET", f"/v1/assets/{rng.choice(ids)}"))
        elif choice < 0.55:
            reply = call(url, token, "GET", "/v1/assets?limit=50")
            result.record(reply)
            cursor = (reply.body or {}).get("next_cursor") if isinstance(reply.body, dict) else None
            if cursor:
                result.record(call(url, token, "GET", f"/v1/assets?limit=50&cursor={cursor}"))
        elif choice < 0.75:
            n += 1
            reply = call(url, token, "POST", "/v1/assets", new_asset(n))
            result.record(reply)
            if reply.status == 201:
                ids.append(str(reply.body["id"]))
        else:
            asset_id = rng.choice(ids)
            read = call(url, token, "GET", f"/v1/assets/{asset_id}")
            result.record(read)
            if read.status == 200:
                body = {"location": f"Shelf {rng.randrange(100)}"}
                etag = read.headers["ETag"]
                result.record(call(url, token, "PATCH", f"/v1/assets/{asset_id}", body, If_Match=etag))


def mixed_load(url: str, token: str, ids: list[str]) -> LoadResult:
    """CLIENTS threads mixing GET, list (two pages), POST and GET+PATCH for LOAD_SECONDS."""
    result = LoadResult()
    until = time.monotonic() + LOAD_SECONDS
    threads = [
        threading.Thread(target=_client_loop, args=(url, token, ids, 1_000_000 * (i + 1), until, result))
        for i in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return result


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="itam-bench-local-") as tmp, local_stack(Path(tmp)) as stack:
        token = issue_token(stack.state, TENANT, "admin")
        url = stack.gateway_url
        seeder = Seeder(stack, token)
        seeder.seed(SMALL - 1)
        small_ms = median_create_ms(url, token, 1)
        rss_small = stack.rss_bytes()
        seeder.seed(LARGE - SMALL - CREATES_MEASURED - 5)
        rss_large = stack.rss_bytes()
        bytes_per_asset = max(0.0, (rss_large - rss_small) / (LARGE - SMALL - CREATES_MEASURED - 5))
        large_ms = median_create_ms(url, token, 100_000)
        ids = [seeder.asset_id]
        before = stack.rss_bytes()
        load = mixed_load(url, token, ids)
        after = stack.rss_bytes()
    net_after = after - load.created * bytes_per_asset
    errors = sum(1 for s in load.statuses if s >= 500)
    timeouts = sum(1 for s, t in zip(load.statuses, load.seconds, strict=True) if s == 0 or t >= 10.0)
    return [
        figure("local_write_growth_ratio", large_ms / small_ms, "x", GROWTH_TARGET),
        figure("local_create_ms_100", small_ms, "ms"),
        figure("local_create_ms_10k", large_ms, "ms"),
        figure("local_memory_growth_ratio", net_after / before, "x", MEMORY_TARGET),
        figure("local_rss_mb_before_load", before / 2**20, "MB"),
        figure("local_rss_mb_after_load", after / 2**20, "MB"),
        figure("local_rss_kb_per_asset", bytes_per_asset / 1024, "KB"),
        figure("local_load_5xx", errors, "responses", 0),
        figure("local_load_timeouts", timeouts, "responses", 0),
        figure("local_load_requests", len(load.statuses), "requests"),
        figure("local_load_requests_per_s", len(load.statuses) / LOAD_SECONDS, "req/s"),
        figure("local_load_p50_ms", _percentile(load.seconds, 0.50) * 1000, "ms"),
        figure("local_load_p95_ms", _percentile(load.seconds, 0.95) * 1000, "ms"),
        figure("local_load_p99_ms", _percentile(load.seconds, 0.99) * 1000, "ms"),
    ]
