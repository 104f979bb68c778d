"""The load and cleanup steps of an inventory sync run at 10,000 and 50,000 cloud resources:
BatchWriteItem calls of a first sync against the fewest, writes and reads of a re-sync that finds
nothing changed, and peak memory at 50,000 against 10,000 resources.

Data. A connector reports N AWS resources -- EC2 instances, EBS volumes and Lambda functions over
four accounts and three regions, with a few tags each -- made by one seeded generator as raw API
records (the documented response shapes), turned into `CloudResource` by the connector's own
transform functions and into `Discovered` by `AwsCollector.discovered`, with two configured tag
keys (owner, cost centre). The resources are generated one at a time as the run asks for them, so
the collector holds none of them: the memory measured is the run's.

Measurement. Each connector belongs to a tenant on a fresh moto server (a separate process, so
that neither the service's memory nor its work is measured as the run's), with the template's table.
The run is `Reconciler.run`, wired as `itam.bootstrap.sync_runner()` wires it: the asset service and
the inventory repository on tenant-scoped credentials. A warm-up connector of 50 resources is synced
twice first (clients, credentials and validators built, as in a worker that has run before). Each
measured run's DynamoDB calls are counted by operation (a botocore hook, which also counts the items
each BatchWriteItem carries) and the run is traced with tracemalloc (peak Python memory between
start and stop).

- 10,000 resources: a new connector is synced twice; the first sync creates every asset, the second
  reports the same resources and must change nothing. Its links are then read back and must be, item
  for item, those the adapter's own item code builds for the resources (`Tenant.built_links`).
- 50,000 resources: the first sync is measured on one server; the re-sync on another, where the
  connector's links are written beforehand with batch writes from `Tenant.built_links` -- the re-sync
  of unchanged resources reads nothing but the links, and the 10,000-resource run checks that the
  first sync writes exactly those items. The 50,000-resource first sync runs in the benchmark's
  process; the 10,000-resource connector and then the 50,000-resource re-sync run in a child process
  alongside it (each process traces only itself).

Fewest calls. A first sync writes three items per resource (asset, first history event, link) and
BatchWriteItem takes 25 items: the fewest calls are ceil(items written / 25). A re-sync of unchanged
resources needs no write at all, and reads only the connector's link partition: the fewest Query
pages are ceil(bytes of its link items / page limit), at least 1, with item sizes computed as
DynamoDB computes them (`support.item_size`) and the page limit of the service under test (moto cuts
a page at 1,000,000 bytes). The link items are read with a plain Query after the runs, uncounted.
"""

from __future__ import annotations

import gc
import json
import math
import os
import random
import subprocess
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from moto.dynamodb.models.table import RESULT_SIZE_LIMIT

from itam.adapters.aws.ebs_volumes import transform_ebs_volume
from itam.adapters.aws.ec2_instances import transform_ec2_instance
from itam.adapters.aws.lambda_functions import ListedFunction, transform_lambda_function
from itam.adapters.aws.model import AwsConnectorSettings, CloudResource, Scope
from itam.adapters.aws.walk import AwsInventory
from itam.adapters.collectors import AwsCollector
from itam.assets.models import discovered_asset_id
from itam.inventory.models import Discovered, RunError
from itam.inventory.reconcile import Link
from itam.inventory.sync import Outcome, Reconciler, RunPlan
from itam.tenancy import TenantContext
from tests.bench import Figure, figure
from tests.bench.support import (
    REGION,
    REPO_ROOT,
    RUN_CALLS,
    BotocoreHooks,
    DynamoCalls,
    aws_environment,
    item_size,
    moto_server_process,
    table_kwargs,
)
from tests.support.lambda_api import reset_caches

SIZES = (10_000, 50_000)
SEED = 20261203
WARM_UP = 50  # resources of the warm-up connector
WARM_UP_CONNECTOR = "a" * 32
STARTED = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
BATCH_ITEMS = 25  # BatchWriteItem's limit
ITEMS_PER_RESOURCE = 3  # asset, first history event, link
PAGE_BYTES = RESULT_SIZE_LIMIT  # the page limit of the service under test (moto)
BATCH_WRITES_TARGET = 1.05
READS_TARGET = 1.0
MEMORY_TARGET = 1.25
READS = ("Query", "GetItem", "BatchGetItem")
WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
ACCOUNTS = ("111122223333", "444455556666", "777788889999", "210987654321")
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
TEAMS = ("payments", "search", "identity", "data", "platform", "mobile", "growth", "billing")
APPS = ("api", "worker", "web", "etl", "cache", "gateway", "scheduler", "reports")
TAG_KEYS = {"owner": "Owner", "cost_center": "CostCenter"}


def _progress(text: str) -> None:
    print(f"  sync: {text}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------- the connector's resources


class Resources:
    """Cloud resources of one connector, from a seeded generator, as the AWS transform makes them
    from the raw records of DescribeInstances, DescribeVolumes and ListFunctions (+ ListTags)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def __call__(self, count: int) -> Iterator[CloudResource]:
        rng = self.rng
        for number in range(count):
            account, region = rng.choice(ACCOUNTS), rng.choice(REGIONS)
            kind = rng.choices(("ec2", "ebs", "lambda"), (40, 45, 15))[0]
            team, app = rng.choice(TEAMS), rng.choice(APPS)
            tags = self._tags(team, app, number)
            if kind == "ec2":
                yield self._instance(number, account, region, tags)
            elif kind == "ebs":
                yield self._volume(number, account, region, tags)
            else:
                name = f"{team}-{app}-{number:06d}"
                yield self._function(name, account, region, {t["Key"]: t["Value"] for t in tags})

    def _tags(self, team: str, app: str, number: int) -> list[dict[str, str]]:
        rng = self.rng
        tags = {
            "Name": f"{team}-{app}-{number:06d}",
            "Environment": rng.choices(("prod", "staging", "dev"), (5, 2, 3))[0],
            "Team": team,
        }
        if rng.random() < 0.8:
            tags["Owner"] = f"{team}-lead-{rng.randrange(4)}@example.com"
        if rng.random() < 0.7:
            tags["CostCenter"] = f"CC-{rng.randrange(100, 400)}"
        if rng.random() < 0.2:
            tags["aws:cloudformation:stack-name"] = f"{team}-{app}-stack"
        return [{"Key": key, "Value": value} for key, value in tags.items()]

    def _moment(self) -> datetime:
        return STARTED - timedelta(seconds=self.rng.randrange(3 * 365 * 86_400))

    def _zone(self, region: str) -> str:
        return region + self.rng.choice("abc")

    def _instance(self, number: int, account: str, region: str, tags: list[dict[str, str]]) -> CloudResource:
        rng = self.rng
        instance_id = f"i-{number:08x}{rng.getrandbits(36):09x}"
        raw = {
            "InstanceId": instance_id,
            "InstanceType": rng.choice(("t3.micro", "t3.large", "m6i.xlarge", "c7g.2xlarge", "r6i.4xlarge")),
            "State": {"Name": rng.choices(("running", "stopped"), (8, 2))[0]},
            "Placement": {"AvailabilityZone": self._zone(region)},
            "PlatformDetails": rng.choices(("Linux/UNIX", "Windows"), (9, 1))[0],
            "Architecture": rng.choice(("x86_64", "arm64")),
            "VpcId": f"vpc-{ACCOUNTS.index(account):02d}{REGIONS.index(region):02d}{rng.randrange(3):013x}",
            "RootDeviceName": "/dev/xvda",
            "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"AttachTime": self._moment()}}],
            "Tags": tags,
        }
        resource = transform_ec2_instance(raw, Scope(account, region))
        if resource is None:
            raise RuntimeError("the generator made a terminated instance")
        return resource

    def _volume(self, number: int, account: str, region: str, tags: list[dict[str, str]]) -> CloudResource:
        rng = self.rng
        attached = rng.random() < 0.85
        raw = {
            "VolumeId": f"vol-{number:08x}{rng.getrandbits(36):09x}",
            "Size": rng.choice((8, 20, 50, 100, 500)),
            "State": "in-use" if attached else "available",
            "VolumeType": rng.choice(("gp3", "gp2", "io2")),
            "AvailabilityZone": self._zone(region),
            "Encrypted": rng.random() < 0.9,
            "Attachments": [{"InstanceId": f"i-{rng.getrandbits(68):017x}"}] if attached else [],
            "CreateTime": self._moment(),
            "Tags": tags,
        }
        return transform_ebs_volume(raw, Scope(account, region))

    def _function(self, name: str, account: str, region: str, tags: dict[str, str]) -> CloudResource:
        rng = self.rng
        raw = {
            "FunctionName": name,
            "FunctionArn": f"arn:aws:lambda:{region}:{account}:function:{name}",
            "MemorySize": rng.choice((128, 256, 512, 1024)),
            "Runtime": rng.choice(("python3.12", "nodejs20.x", "java21")),
            "Architectures": [rng.choice(("x86_64", "arm64"))],
            "PackageType": "Zip",
        }
        return transform_lambda_function(ListedFunction(raw, tags), Scope(account, region))


class GeneratedCollector:
    """A Collector of `count` generated resources: each made when the run asks for the next one."""

    provider = "aws"

    def __init__(self, seed: int, count: int) -> None:
        settings = AwsConnectorSettings(
            role_arn=f"arn:aws:iam::{ACCOUNTS[0]}:role/itam-inventory",
            tag_keys=TAG_KEYS,
            external_id="itam-bench-0123456789abcdef",
        )
        self._aws = AwsCollector(AwsInventory(settings))
        self._seed, self._count = seed, count

    def collect(self) -> Iterator[Discovered]:
        for resource in Resources(self._seed)(self._count):
            yield self._aws.discovered(resource)

    def was_skipped(self, scope: str) -> bool:
        return False

    def problems(self) -> list[RunError]:
        return []


# ---------------------------------------------------------------------- counting a run's calls


class SyncCalls(BotocoreHooks):
    """DynamoDB calls by operation, and the items BatchWriteItem carried, of the run named by `run`
    (None: not counted), in every botocore session created while installed."""

    def __init__(self) -> None:
        super().__init__(("before-parameter-build.dynamodb", self._call))
        self.run: str | None = None
        self.operations: dict[str, Counter[str]] = {}
        self.batch_items: Counter[str] = Counter()

    def _call(self, model: Any, params: Mapping[str, Any], **_: Any) -> None:
        if self.run is None:
            return
        self.operations.setdefault(self.run, Counter())[model.name] += 1
        if model.name == "BatchWriteItem":
            self.batch_items[self.run] += sum(len(requests) for requests in params["RequestItems"].values())


@dataclass
class Run:
    """One sync of a measured connector."""

    counts: dict[str, int]
    seconds: float
    peak_bytes: int
    operations: Counter[str]
    batch_items: int

    @property
    def reads(self) -> int:
        return sum(self.operations[name] for name in READS)

    @property
    def writes(self) -> int:
        return sum(self.operations[name] for name in WRITES)

    @property
    def batch_writes(self) -> int:
        return self.operations["BatchWriteItem"]

    @property
    def fewest_batch_writes(self) -> int:
        return math.ceil(self.batch_items / BATCH_ITEMS)

    def as_json(self) -> dict[str, Any]:
        fields = ("counts", "seconds", "peak_bytes", "batch_items")
        return {**{name: getattr(self, name) for name in fields}, "operations": dict(self.operations)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Run:
        return cls(**{**data, "operations": Counter(data["operations"])})


@dataclass
class Links:
    """A connector's stored links, read with a plain Query after its runs."""

    items: int
    bytes: int
    pages: int  # the pages that Query took

    @property
    def fewest_pages(self) -> int:
        return max(1, math.ceil(self.bytes / PAGE_BYTES))


@dataclass
class Measurement:
    """A first sync and a re-sync of a connector of `size` resources, and its links."""

    size: int
    first: Run
    again: Run
    links: Links

    def as_json(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "first": self.first.as_json(),
            "again": self.again.as_json(),
            "links": asdict(self.links),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Measurement:
        first, again = (Run.from_json(data[name]) for name in ("first", "again"))
        return cls(data["size"], first, again, Links(**data["links"]))


# ---------------------------------------------------------------------- one tenant on a fresh server


def _plan(connector_id: str, run: int) -> RunPlan:
    return RunPlan(
        connector_id=connector_id,
        connector_name="AWS production",
        provider="aws",
        run_id=f"{run:032x}",
        retire_after=3,
        last_completed_at=None if run == 1 else STARTED,
    )


def _collector(connector_id: str, size: int) -> GeneratedCollector:
    """The resources of a connector: its id seeds the generator."""
    return GeneratedCollector(SEED + int(connector_id, 16), size)


@dataclass
class Tenant:
    """A tenant on a fresh moto server, with the reconcilers of the sync worker."""

    ctx: TenantContext
    table: str
    endpoint: str
    calls: SyncCalls
    reconciler_for: Callable[[TenantContext], Reconciler]

    def sync(self, connector_id: str, run: int, size: int) -> Outcome:
        """Run number `run` of the connector, reporting its `size` resources."""
        reconciler = self.reconciler_for(self.ctx)
        return reconciler.run(self.ctx, _plan(connector_id, run), _collector(connector_id, size), STARTED)

    def measured(self, name: str, connector_id: str, run: int, size: int) -> Run:
        """A sync, its calls counted and `Reconciler.run` traced."""
        reconciler = self.reconciler_for(self.ctx)
        plan, collector = _plan(connector_id, run), _collector(connector_id, size)
        gc.collect()
        self.calls.run = name
        tracemalloc.start()
        try:
            started = time.perf_counter()
            outcome = reconciler.run(self.ctx, plan, collector, STARTED)
            seconds = time.perf_counter() - started
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            self.calls.run = None
        if outcome.errors_total:
            raise RuntimeError(f"the {name} sync of {size:,} resources had errors: {outcome.errors}")
        operations = self.calls.operations.get(name, Counter())
        _progress(f"{size:,}: {'first sync' if run == 1 else 're-sync'} in {seconds:.1f} s")
        return Run(outcome.counts.as_dict(), seconds, peak, operations, self.calls.batch_items[name])

    def stored_links(self, connector_id: str) -> list[list[dict[str, Any]]]:
        """The pages of the connector's link items, read with a plain Query (consistently)."""
        pages = (
            boto3.client("dynamodb")
            .get_paginator("query")
            .paginate(
                TableName=self.table,
                KeyConditionExpression="PK = :pk AND begins_with(SK, :links)",
                ExpressionAttributeValues={
                    ":pk": {"S": f"{self.ctx.key_prefix}CONN#{connector_id}"},
                    ":links": {"S": "LINK#"},
                },
                ConsistentRead=True,
            )
        )
        return [page["Items"] for page in pages]

    def built_links(self, connector_id: str, size: int) -> Iterator[dict[str, Any]]:
        """The link items of the connector's resources, built by the adapter's own item code, as
        its first sync writes them."""
        from itam.adapters.inventory_store import DynamoInventoryRepository
        from itam.adapters.schema import table_models

        repository = DynamoInventoryRepository(table_models(self.table, REGION, self.endpoint))
        for found in _collector(connector_id, size).collect():
            link = Link(
                discovered_asset_id(connector_id, found.external_key),
                found.content_hash[:16],
                scope=found.scope,
            )
            yield dict(repository.link_item(self.ctx, connector_id, link, found.external_key).serialize())


@contextmanager
def tenant_on_moto(size: int) -> Iterator[Tenant]:
    """A tenant on a fresh moto server with the template's table; a warm-up connector synced twice
    (clients, credentials and validators built, as in a worker that has run before)."""
    from itam.adapters import models_for_tenant
    from itam.adapters.inventory_store import DynamoInventoryRepository
    from itam.bootstrap import asset_service
    from itam.settings import load_settings

    table = table_kwargs()
    name = table["TableName"]
    with (
        moto_server_process() as endpoint,
        aws_environment(AWS_ENDPOINT_URL=endpoint, TABLE_NAME=name),
        SyncCalls() as calls,
    ):
        boto3.client("dynamodb").create_table(**table)
        reset_caches()
        try:
            # As `itam.bootstrap.sync_runner()` makes them: a reconciler per run, on repositories
            # whose tenant-scoped credentials and clients are kept for the process.
            models_for = models_for_tenant(load_settings())
            tenant = Tenant(
                TenantContext.system(f"sync-{size // 1000}k", "inventory", "inventory sync"),
                name,
                endpoint,
                calls,
                lambda ctx: Reconciler(asset_service(), DynamoInventoryRepository(models_for(ctx))),
            )
            for run in (1, 2):
                tenant.sync(WARM_UP_CONNECTOR, run, WARM_UP)
            yield tenant
        finally:
            reset_caches()


def _links(pages: list[list[dict[str, Any]]]) -> Links:
    items = [item for page in pages for item in page]
    return Links(len(items), sum(item_size(item) for item in items), len(pages))


def _put(table: str, items: Iterable[dict[str, Any]]) -> None:
    """BatchWriteItem, 25 items a call (unprocessed items sent again)."""
    client = boto3.client("dynamodb")
    batch: list[dict[str, Any]] = []

    def send() -> None:
        pending: dict[str, Any] = {table: [{"PutRequest": {"Item": item}} for item in batch]}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
        batch.clear()

    for item in items:
        batch.append(item)
        if len(batch) == BATCH_ITEMS:
            send()
    if batch:
        send()


def _connector(size: int) -> str:
    return f"{size:032x}"


def _check_first(size: int, first: Run) -> None:
    if first.counts["seen"] != size or first.counts["created"] != size:
        raise RuntimeError(f"the first sync of {size:,} resources counted {first.counts}")
    if first.batch_items != ITEMS_PER_RESOURCE * size:
        raise RuntimeError(f"the first sync of {size:,} resources wrote {first.batch_items:,} items")


def _check_again(size: int, again: Run, links: Links) -> None:
    if again.counts["seen"] != size or again.counts["unchanged"] != size:
        raise RuntimeError(f"the re-sync of {size:,} unchanged resources counted {again.counts}")
    if links.items != size:
        raise RuntimeError(f"{links.items:,} links stored for {size:,} resources")


def measure(size: int) -> Measurement:
    """A connector of `size` resources synced twice, both syncs counted and traced; its links read
    back and required to be, item for item, those `Tenant.built_links` builds."""
    connector_id = _connector(size)
    with tenant_on_moto(size) as tenant:
        first = tenant.measured("first", connector_id, 1, size)
        _check_first(size, first)
        again = tenant.measured("again", connector_id, 2, size)
        pages = tenant.stored_links(connector_id)
        stored = {item["SK"]["S"]: item for page in pages for item in page}
        for item in tenant.built_links(connector_id, size):
            if stored.pop(item["SK"]["S"], None) != item:
                raise RuntimeError(f"the first sync did not write the link {json.dumps(item)}")
        links = _links(pages)
    _check_again(size, again, links)
    return Measurement(size, first, again, links)


def measure_first(size: int) -> Run:
    """The first sync of a connector of `size` resources, counted and traced."""
    with tenant_on_moto(size) as tenant:
        first = tenant.measured("first", _connector(size), 1, size)
    _check_first(size, first)
    return first


def measure_again(size: int) -> tuple[Run, Links]:
    """The re-sync of a connector of `size` resources whose links are there (written with batch
    writes from `Tenant.built_links`: an unchanged resource's re-sync reads nothing else), counted
    and traced."""
    connector_id = _connector(size)
    with tenant_on_moto(size) as tenant:
        _put(tenant.table, tenant.built_links(connector_id, size))
        _progress(f"{size:,}: links written")
        again = tenant.measured("again", connector_id, 2, size)
        links = _links(tenant.stored_links(connector_id))
    _check_again(size, again, links)
    return again, links


# ---------------------------------------------------------------------- the sizes side by side


@contextmanager
def in_child() -> Iterator[Callable[[], tuple[Measurement, tuple[Run, Links]]]]:
    """`measure(SIZES[0])`, then `measure_again(SIZES[1])`, in a child process (this module run as
    a script, at a lower priority), started on entry; yields the function that waits for its
    results. Its DynamoDB calls are added to the run's."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.bench.sync"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env=dict(os.environ),
    )

    def result() -> tuple[Measurement, tuple[Run, Links]]:
        out, _ = child.communicate()
        lines = out.splitlines()
        if child.returncode != 0 or not lines:
            raise RuntimeError(f"the sync benchmark's child process failed ({child.returncode})")
        answer = json.loads(lines[-1])
        RUN_CALLS.add(answer["calls"])
        again = answer["again"]
        return Measurement.from_json(answer["small"]), (Run.from_json(again["run"]), Links(**again["links"]))

    try:
        yield result
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def describe(m: Measurement) -> str:
    """Calls, items and peaks of both runs, for the log."""
    first, again = m.first, m.again
    return "\n".join(
        [
            f"{m.size:,} resources:",
            f"  first sync: {first.seconds:.1f} s, peak {first.peak_bytes / 2**20:.2f} MB, "
            f"calls {dict(sorted(first.operations.items()))}, {first.batch_items:,} items in batches "
            f"(fewest calls {first.fewest_batch_writes:,})",
            f"  re-sync: {again.seconds:.1f} s, peak {again.peak_bytes / 2**20:.2f} MB, "
            f"calls {dict(sorted(again.operations.items()))}",
            f"  links: {m.links.items:,} items, {m.links.bytes / 1e6:.2f} MB, "
            f"fewest pages {m.links.fewest_pages} (a plain Query took {m.links.pages})",
        ]
    )


def run() -> list[Figure]:
    """sync_batch_writes_ratio, sync_unchanged_writes, sync_read_requests_ratio, sync_memory_ratio
    and what they are made of. The first sync of the larger connector runs here; the smaller
    connector and the re-sync of the larger one run in a child process alongside."""
    with in_child() as child:
        large_first = measure_first(SIZES[1])
        small, (large_again, large_links) = child()
    large = Measurement(SIZES[1], large_first, large_again, large_links)
    for m in (small, large):
        _progress(describe(m))
    first, again = small.first, small.again
    per_10k = large.size / 10_000
    return [
        figure(
            "sync_batch_writes_ratio",
            first.batch_writes / first.fewest_batch_writes,
            "x",
            BATCH_WRITES_TARGET,
        ),
        figure("sync_unchanged_writes", again.writes, "calls", 0),
        figure("sync_read_requests_ratio", again.reads / small.links.fewest_pages, "x", READS_TARGET),
        figure("sync_memory_ratio", large.first.peak_bytes / first.peak_bytes, "x", MEMORY_TARGET),
        figure("sync_resync_memory_ratio", large.again.peak_bytes / again.peak_bytes, "x"),
        figure("sync_batch_writes_10k", first.batch_writes, "calls"),
        figure("sync_min_batch_writes_10k", first.fewest_batch_writes, "calls"),
        figure("sync_first_read_requests_10k", first.reads, "calls"),
        figure("sync_read_requests_10k", again.reads, "calls"),
        figure("sync_min_read_requests_10k", small.links.fewest_pages, "calls"),
        figure(
            "sync_batch_writes_ratio_50k", large.first.batch_writes / large.first.fewest_batch_writes, "x"
        ),
        figure("sync_unchanged_writes_50k", large.again.writes, "calls"),
        figure("sync_read_requests_ratio_50k", large.again.reads / large.links.fewest_pages, "x"),
        figure("sync_peak_mb_10k", first.peak_bytes / 2**20, "MB"),
        figure("sync_peak_mb_50k", large.first.peak_bytes / 2**20, "MB"),
        figure("sync_resync_peak_mb_10k", again.peak_bytes / 2**20, "MB"),
        figure("sync_resync_peak_mb_50k", large.again.peak_bytes / 2**20, "MB"),
        figure("sync_seconds_per_10k", large.first.seconds / per_10k, "s"),
        figure("sync_resync_seconds_per_10k", large.again.seconds / per_10k, "s"),
    ]


def child_main() -> int:
    """The child process of `in_child`: its last line on stdout is its results and the DynamoDB
    calls it made, as JSON."""
    os.nice(5)
    with DynamoCalls() as calls:
        small = measure(SIZES[0])
        again, links = measure_again(SIZES[1])
    answer = {
        "small": small.as_json(),
        "again": {"run": again.as_json(), "links": asdict(links)},
        "calls": dict(calls.counts),
    }
    print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(child_main())
