"""The license audit of one tenant at 10,000 and 100,000 items: DynamoDB reads against the fewest
1 MB pages, peak memory at 100,000 against 10,000, and time per 10,000 items.

Data. Each size is a tenant of its own on a fresh moto server (a separate process, so that neither
the service's memory nor its work is measured as the audit's): N items = N/10 hardware assets and
9N/10 installations (nine products per asset, out of a catalogue of 250), users in a pool of 0.8 per
asset; in both sizes the same 5,000 licenses over the first 200 products, 1,000 seats, 50 SaaS
subscriptions and 50 normalization rules (the installations stored already normalized, as the API
stores them). Everything comes from one seeded generator. The items are written with batch writes,
built by the adapter's own item code (asset and license items) or as it builds them (installations,
seats, rules, the tenant item); before loading, `check_item_shapes` has the real services write one
of each and compares them, attribute for attribute, with what the generator builds from the same
objects. Items the audit never reads (histories, unique and seat guards) are not written: DynamoDB's
cost of a query does not depend on them (moto's would, since it filters the whole table per page).
The server's Query is made faster without changing its answers (`support._MOTO_SERVER` says how).

Measurement. The audit runs through `AuditRunner.audit`, the worker's code, wired by
`itam.bootstrap.audit_runner()` as the worker wires it (tenant-scoped credentials included). Each
tenant is audited twice: the first run is timed and its DynamoDB calls counted (a botocore hook, each
read attributed to the partition it reads); then the publication markers it wrote are deleted, so that
the second run does the same work, and the second run, warm, is traced with tracemalloc (peak Python
memory between start and stop).

Minimum reads. For each partition the audit must read -- licenses (GSI1), seats (GSI3), installations
(GSI2), SaaS and hardware assets (GSI2), normalization rules (table) -- the fewest Query pages are
ceil(bytes of its items / page limit), at least 1, with item sizes computed as DynamoDB computes them
(`support.item_size`) and the page limit of the service under test (moto cuts a page at 1,000,000
bytes; DynamoDB at 1 MB). Add 1 GetItem of the tenant item (rule versions), 1 GetItem of the report
and, for the once-a-day publication check, one BatchGetItem per 100 findings. The figure divides the
reads made (Query + GetItem + BatchGetItem) by that minimum. Writes (report, findings, publication
markers) are reported, without a target.
"""

from __future__ import annotations

import gc
import hashlib
import json
import math
import os
import random
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
from moto.dynamodb.models.table import RESULT_SIZE_LIMIT

from itam.adapters.asset_store import DynamoAssetRepository
from itam.adapters.licensing import DynamoLicenseRepository
from itam.adapters.schema import TableModels, table_models
from itam.assets.models import Asset, AssetCreate, Kind, Money, SaasSeats, Status
from itam.licenses.audit import AuditReport, AuditStatus, scheduled_audit_id
from itam.licenses.models import (
    Installation,
    InstallationCreate,
    License,
    LicenseCreate,
    Metric,
    Rule,
    RuleCreate,
    Seat,
    SeatCreate,
    VersionRange,
    consumer_key,
    product_key,
)
from itam.licenses.normalization import Normalizer
from itam.tenancy import Role, TenantContext
from tests.bench import Figure, figure
from tests.bench.support import (
    REGION,
    BotocoreHooks,
    aws_environment,
    item_size,
    moto_server_process,
    table_kwargs,
)
from tests.support.lambda_api import reset_caches

SIZES = (10_000, 100_000)
SEED = 20261127
DAY = date(2026, 6, 1)  # the audited day
CREATED = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
PRODUCTS = 250
LICENSED_PRODUCTS = 200
LICENSES = 5_000
SEATS = 1_000
SAAS = 50
RULES = 50  # one per product of the first 50, which discovery reports under several names
INSTALLS_PER_ASSET = 9
USERS_PER_ASSET = 0.8
PAGE_BYTES = RESULT_SIZE_LIMIT  # the page limit of the service under test (moto)
BATCH_GET_KEYS = 100
REQUESTS_TARGET = 1.1
MEMORY_TARGET = 1.25
READS = ("Query", "GetItem", "BatchGetItem")
METRICS = (
    Metric.PER_USER,
    Metric.PER_DEVICE,
    Metric.PER_CORE,
    Metric.PER_PROCESSOR,
    Metric.SUBSCRIPTION,
    Metric.CONCURRENT,
    Metric.SITE,
)
VERSIONS = ("2.1", "4.0", "6.3.1", "8.0", "9.2", "10.0", "12.4")


def _progress(text: str) -> None:
    print(f"  audit: {text}", file=sys.stderr, flush=True)


def _context(tenant_id: str) -> TenantContext:
    """The worker's context for a tenant (functions/audit_worker/handler.py)."""
    return TenantContext(
        tenant_id=tenant_id, user_id="system:audit", username="license audit", roles=frozenset({Role.ADMIN})
    )


# ---------------------------------------------------------------------- items as the adapter writes them


class ItemBuilder:
    """Raw items ({"name": {"S": ...}}) of one tenant, built as the adapter builds them."""

    def __init__(self, models: TableModels, ctx: TenantContext) -> None:
        self._m, self._ctx, self._prefix = models, ctx, ctx.key_prefix
        self._assets = DynamoAssetRepository(models)
        self._licenses = DynamoLicenseRepository(models)

    def asset(self, asset: Asset) -> dict[str, Any]:
        """The asset item (DynamoAssetRepository.create)."""
        return dict(self._assets.asset_item(self._ctx, asset).serialize())

    def license(self, lic: License) -> dict[str, Any]:
        """The license item (create_license), with the seat counters its seats' transactions set."""
        item = self._licenses.license_item(self._ctx, lic)
        item.assigned, item.peak_assigned = lic.assigned, lic.peak_assigned
        return dict(item.serialize())

    def seat(self, seat: Seat) -> dict[str, Any]:
        """The seat item (assign_seat)."""
        item = self._m.record(
            PK=f"{self._prefix}LICENSE#{seat.license_id}",
            SK=f"SEAT#{seat.id}",
            doc=seat.model_dump_json(),
            GSI3PK=f"{self._prefix}SEATS",
            GSI3SK=f"{seat.license_id}#{seat.id}",
        )
        return dict(item.serialize())

    def installation(self, inst: Installation) -> dict[str, Any]:
        """The installation item (add_installation)."""
        consumer = consumer_key(inst.user, inst.asset_id)
        item = self._m.record(
            PK=f"{self._prefix}ASSET#{inst.asset_id}",
            SK=f"SW#{inst.id}",
            doc=inst.model_dump_json(),
            GSI2PK=f"{self._prefix}INSTALLS",
            GSI2SK=f"{product_key(inst.canonical_product)}#{consumer}#{inst.asset_id}#{inst.id}",
        )
        return dict(item.serialize())

    def rule(self, rule: Rule) -> dict[str, Any]:
        """The rule item (create_rule)."""
        item = self._m.record(PK=f"{self._prefix}RULES", SK=f"RULE#{rule.id}", doc=rule.model_dump_json())
        return dict(item.serialize())

    def tenant(self, rules_version: int) -> dict[str, Any]:
        """The tenant item: directory entry, rules created so far, all of them applied."""
        item = self._m.tenant(
            PK=f"{self._prefix}TENANT",
            SK="META",
            GSI1PK="TENANTS",
            GSI1SK=self._ctx.tenant_id,
            rules_version=rules_version,
            normalized_version=rules_version,
        )
        return dict(item.serialize())


def check_item_shapes(client: Any, models: TableModels) -> None:
    """Have the real services write one item of each kind the generator writes, and require the
    generator's item built from the same objects to be identical."""
    from itam.bootstrap import asset_service, audit_runner, license_service

    ctx = TenantContext("bench-shapes", "u-bench", "bench", frozenset({Role.ADMIN}))
    assets, licenses = asset_service(), license_service()
    hardware = assets.register_asset(
        ctx,
        AssetCreate.model_validate(
            {
                "name": "Shape laptop",
                "kind": "hardware",
                "status": "deployed",
                "asset_tag": "SHAPE-1",
                "serial_number": "SN-SHAPE-1",
                "category": "laptop",
                "location": "HQ",
                "cost": {"amount": "1200.00", "currency": "USD"},
                "warranty_end": "2027-01-31",
                "tags": {"team": "platform"},
            }
        ),
    )
    saas = assets.register_asset(
        ctx,
        AssetCreate.model_validate(
            {
                "name": "Shape SaaS",
                "kind": "saas",
                "saas": {"product": "Shape Cloud", "purchased": 10, "assigned": 8, "active": 6},
            }
        ),
    )
    rule = licenses.create_rule(ctx, RuleCreate(match_product="shape suite*", product="Shape Suite"))
    created = licenses.create_license(
        ctx,
        LicenseCreate.model_validate(
            {"product": "Shape Suite", "vendor": "Shape Inc", "metric": "per_user", "quantity": 5}
        ),
    )
    seat = licenses.assign_seat(ctx, created.id, SeatCreate(user="shape.user"))
    inst = licenses.add_installation(
        ctx,
        hardware.id,
        InstallationCreate(product="Shape Suite Pro", vendor="Shape Inc", version="1.2", user="Shape.User"),
    )
    audit_runner().normalize(ctx)
    build = ItemBuilder(models, ctx)
    expected = [
        build.asset(hardware),
        build.asset(saas),
        build.rule(rule),
        build.license(licenses.get_license(ctx, created.id)),
        build.seat(seat),
        build.installation(inst),
        build.tenant(rules_version=1),
    ]
    table = models.item.Meta.table_name
    for item in expected:
        key = {"PK": item["PK"], "SK": item["SK"]}
        stored = client.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        if stored != item:
            raise RuntimeError(
                f"the benchmark's item for {key} is not what the product writes:\n"
                f"  product:   {json.dumps(stored, sort_keys=True)}\n"
                f"  benchmark: {json.dumps(item, sort_keys=True)}"
            )


# ---------------------------------------------------------------------- the generated tenant


@dataclass(frozen=True)
class Product:
    name: str
    vendor: str
    names: tuple[str, ...]  # the names discovery reports it under
    metrics: tuple[Metric, ...]


def catalogue() -> list[Product]:
    """The products every tenant licenses and installs: the first LICENSED_PRODUCTS have licenses,
    the first RULES are reported under several names and normalized by a rule."""
    products = []
    for i in range(PRODUCTS):
        name = f"Product {i:03d}"
        names = (name, f"{name} (x64)", f"{name} Enterprise Edition") if i < RULES else (name,)
        metrics = (METRICS[i % len(METRICS)],)
        if i % 5 == 0 and metrics[0] is not Metric.PER_DEVICE:
            metrics += (Metric.PER_DEVICE,)
        licensed = metrics if i < LICENSED_PRODUCTS else ()
        products.append(Product(name, f"Vendor {i % 25:02d}", names, licensed))
    return products


@dataclass
class Tenant:
    """The generated content of one tenant and the bytes of each partition it fills."""

    ctx: TenantContext
    assets: int = 0
    installations: int = 0
    partition_bytes: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, item: Mapping[str, Mapping[str, Any]]) -> None:
        """Count an item's bytes in the table partition and each index partition it is in."""
        size = item_size(item)
        self.partition_bytes["table", item["PK"]["S"]] += size
        for n in range(1, 7):
            if f"GSI{n}PK" in item:
                self.partition_bytes[f"GSI{n}", item[f"GSI{n}PK"]["S"]] += size

    def streams(self) -> dict[str, tuple[str, str]]:
        """The partitions the audit reads, by name."""
        p = self.ctx.key_prefix
        return {
            "licenses": ("GSI1", f"{p}LICENSES"),
            "seats": ("GSI3", f"{p}SEATS"),
            "installations": ("GSI2", f"{p}INSTALLS"),
            "saas assets": ("GSI2", f"{p}ASSETS#kind#saas"),
            "hardware assets": ("GSI2", f"{p}ASSETS#kind#hardware"),
            "rules": ("table", f"{p}RULES"),
        }

    def minimum_pages(self) -> dict[str, int]:
        return {
            name: max(1, math.ceil(self.partition_bytes[partition] / PAGE_BYTES))
            for name, partition in self.streams().items()
        }


class Generator:
    """One tenant's licenses, seats, assets, installations and rules, from a seeded generator."""

    def __init__(self, builder: ItemBuilder, tenant: Tenant, size: int) -> None:
        self.rng = random.Random(SEED + size)
        self.build, self.tenant, self.ctx = builder, tenant, tenant.ctx
        self.products = catalogue()
        self.asset_count = size // (INSTALLS_PER_ASSET + 1)
        self.users = max(1, int(self.asset_count * USERS_PER_ASSET))
        self.rules = [self._rule(product) for product in self.products[:RULES]]
        self.normalizer = Normalizer(self.rules)
        self.hardware_ids: list[str] = []

    def new_id(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"

    def items(self) -> Iterator[dict[str, Any]]:
        """Every item, in write order."""
        yield self.build.tenant(rules_version=len(self.rules))
        yield from (self.build.rule(rule) for rule in self.rules)
        for number in range(self.asset_count):
            asset = self._hardware(number)
            self.hardware_ids.append(asset.id)
            yield self.build.asset(asset)
            for inst in self._installations(asset):
                yield self.build.installation(inst)
        yield from (self.build.asset(self._saas(number)) for number in range(SAAS))
        licenses = [self._license(number) for number in range(LICENSES)]
        seats = self._seats(licenses)
        yield from (self.build.seat(seat) for seat in seats)
        held = Counter(seat.license_id for seat in seats)
        for lic in licenses:
            taken = held[lic.id]
            quantity = max(lic.quantity, taken)
            counted = {"assigned": taken, "peak_assigned": taken, "quantity": quantity}
            yield self.build.license(lic.model_copy(update=counted))

    def _rule(self, product: Product) -> Rule:
        return Rule(
            match_product=f"{product.name}*",
            product=product.name,
            vendor=product.vendor,
            id=self.new_id(),
            created_at=CREATED,
            created_by="u-admin",
        )

    def _user(self) -> str:
        return f"user{self.rng.randrange(self.users):06d}"

    def _hardware(self, number: int) -> Asset:
        rng = self.rng
        category = rng.choices(("laptop", "desktop", "server"), (8, 1, 1))[0]
        purchased = DAY - timedelta(days=rng.randrange(4 * 365))
        status = rng.choices((Status.DEPLOYED, Status.IN_STOCK, Status.RETIRED), (85, 10, 5))[0]
        return Asset(
            id=self.new_id(),
            name=f"{category.title()} {number:06d}",
            kind=Kind.HARDWARE,
            status=status,
            asset_tag=f"HW-{number:06d}",
            serial_number=f"SN{rng.getrandbits(40):010X}",
            category=category,
            manufacturer=rng.choice(("Lenovo", "Dell", "HP", "Apple")),
            model=f"Model {rng.randrange(40):02d}",
            location=f"Site {rng.randrange(20):02d}",
            cost=Money(amount=Decimal(rng.randrange(600, 9000)), currency="USD"),
            purchase_date=purchased,
            warranty_end=purchased + timedelta(days=3 * 365),
            po_number=f"PO-{rng.randrange(100_000):05d}",
            tags={"team": f"team-{rng.randrange(30):02d}", "os": rng.choice(("windows", "macos", "linux"))},
            version=1,
            created_at=CREATED,
            updated_at=CREATED,
            created_by="u-admin",
            updated_by="u-admin",
        )

    def _installations(self, asset: Asset) -> Iterator[Installation]:
        rng = self.rng
        server = asset.category == "server"
        user = None if server else self._user()
        for index in rng.sample(range(PRODUCTS), INSTALLS_PER_ASSET):
            product = self.products[index]
            raw, version = rng.choice(product.names), rng.choice(VERSIONS)
            self.tenant.installations += 1
            yield Installation(
                id=self.new_id(),
                asset_id=asset.id,
                product=raw,
                vendor=product.vendor,
                version=version,
                install_date=asset.purchase_date,
                user=None if rng.random() < 0.05 else user,
                cores=rng.choice((8, 16, 32, 64)) if server else None,
                processors=rng.choice((1, 2, 4)) if server else None,
                source="intune",
                recorded_at=CREATED,
                recorded_by="system:discovery",
                canonical_product=self.normalizer.canonical(raw, product.vendor, version),
            )
        self.tenant.assets += 1

    def _saas(self, number: int) -> Asset:
        rng = self.rng
        product = self.products[rng.randrange(PRODUCTS)]
        purchased = rng.randrange(50, 2000)
        assigned = rng.randrange(purchased // 2, purchased + 1)
        seats = SaasSeats(
            product=rng.choice(product.names),
            vendor=product.vendor,
            purchased=purchased,
            assigned=assigned,
            active=rng.randrange(assigned // 2, assigned + 1),
            observed_at=CREATED,
        )
        return Asset(
            id=self.new_id(),
            name=f"{product.name} subscription {number}",
            kind=Kind.SAAS,
            status=Status.DEPLOYED,
            saas=seats,
            version=1,
            created_at=CREATED,
            updated_at=CREATED,
            created_by="u-admin",
            updated_by="u-admin",
        )

    def _license(self, number: int) -> License:
        rng = self.rng
        product = self.products[number % LICENSED_PRODUCTS]
        metric = product.metrics[(number // LICENSED_PRODUCTS) % len(product.metrics)]
        start = DAY - timedelta(days=rng.randrange(30, 900))
        end = None if metric is Metric.SITE else start + timedelta(days=rng.randrange(365, 3 * 365))
        ranged = rng.random() < 0.3
        return License(
            id=self.new_id(),
            product=rng.choice(product.names),
            vendor=product.vendor,
            edition=rng.choice((None, "Standard", "Professional")),
            version_range=VersionRange(min="4", max="10") if ranged else None,
            metric=metric,
            core_factor=Decimal("0.5") if metric is Metric.PER_CORE else None,
            quantity=rng.randrange(5, 80),
            unit_cost=Money(amount=Decimal(rng.randrange(5, 400)), currency=rng.choice(("USD", "EUR"))),
            start_date=start,
            end_date=end,
            auto_renew=rng.random() < 0.3,
            contract_ref=f"C-{rng.randrange(10_000):04d}",
            po_number=f"PO-{rng.randrange(100_000):05d}",
            version=1,
            created_at=CREATED,
            updated_at=CREATED,
            created_by="u-admin",
            updated_by="u-admin",
        )

    def _seats(self, licenses: list[License]) -> list[Seat]:
        rng, seats, taken = self.rng, [], set()
        while len(seats) < SEATS:
            lic = licenses[rng.randrange(len(licenses))]
            to_asset = rng.random() < 0.3
            user = None if to_asset else self._user()
            asset_id = rng.choice(self.hardware_ids) if to_asset else None
            if (lic.id, consumer_key(user, asset_id)) in taken:
                continue
            taken.add((lic.id, consumer_key(user, asset_id)))
            seats.append(
                Seat(
                    id=self.new_id(),
                    license_id=lic.id,
                    user=user,
                    asset_id=asset_id,
                    assigned_at=CREATED,
                    assigned_by="u-admin",
                )
            )
        return seats


def load(client: Any, table: str, items: Iterable[dict[str, Any]], tenant: Tenant) -> None:
    """BatchWriteItem, 25 items a call (unprocessed items sent again)."""
    batch: list[dict[str, Any]] = []

    def send() -> None:
        pending = {table: [{"PutRequest": {"Item": item}} for item in batch]}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
        batch.clear()

    for written, item in enumerate(items, 1):
        tenant.add(item)
        batch.append(item)
        if len(batch) == 25:
            send()
        if written % 20_000 == 0:
            _progress(f"{tenant.ctx.tenant_id}: {written:,} items written")
    if batch:
        send()


# ---------------------------------------------------------------------- counting the audit's calls


class AuditCalls(BotocoreHooks):
    """DynamoDB calls by operation, reads by the partition they read, and the time spent waiting for
    the service (from sending a request to having its answer, before botocore parses it), in every
    botocore session created while installed."""

    def __init__(self, streams: Mapping[str, tuple[str, str]]) -> None:
        super().__init__(
            ("before-call.dynamodb", self._call),
            ("before-send.dynamodb", self._send),
            ("before-parse.dynamodb", self._answered),
        )
        self._streams = {partition: name for name, partition in streams.items()}
        self.operations: Counter[str] = Counter()
        self.reads: Counter[str] = Counter()
        self.service_seconds = 0.0
        self._sent = 0.0

    def _call(self, model: Any, params: Mapping[str, Any], **_: Any) -> None:
        self.operations[model.name] += 1
        if model.name in ("Query", "GetItem"):
            self.reads[self._partition(model.name, json.loads(params["body"]))] += 1

    def _send(self, **_: Any) -> None:
        self._sent = time.perf_counter()

    def _answered(self, **_: Any) -> None:
        self.service_seconds += time.perf_counter() - self._sent

    def _partition(self, operation: str, body: Mapping[str, Any]) -> str:
        if operation == "GetItem":
            pk = body["Key"]["PK"]["S"]
            return "tenant item" if pk.endswith("#TENANT") else "report" if "#AUDIT#" in pk else pk
        index = body.get("IndexName", "table")
        for value in body.get("ExpressionAttributeValues", {}).values():
            name = self._streams.get((index, value.get("S")))
            if name is not None:
                return name
        return f"other query on {index}"


@dataclass
class Measurement:
    """One tenant's audit."""

    size: int
    tenant: Tenant
    report: AuditReport
    seconds: float
    service_seconds: float
    peak_bytes: int
    operations: Counter[str]
    reads: Counter[str]

    @property
    def read_requests(self) -> int:
        return sum(self.operations[name] for name in READS)

    @property
    def write_requests(self) -> int:
        return sum(n for name, n in self.operations.items() if name not in READS)

    @property
    def minimum_reads(self) -> int:
        fixed = 2 + math.ceil(self.report.findings_total / BATCH_GET_KEYS)  # tenant item, report, checks
        return sum(self.tenant.minimum_pages().values()) + fixed


def _create_resources(table: dict[str, Any]) -> None:
    """The template's table, the audit queue and the event bus, in the moto server."""
    boto3.client("dynamodb").create_table(**table)
    queue = boto3.client("sqs").create_queue(QueueName="itam-bench-audits")["QueueUrl"]
    boto3.client("events").create_event_bus(Name="itam-bench")
    os.environ.update(AUDIT_QUEUE_URL=queue, EVENT_BUS_NAME="itam-bench")


def _forget_publications(client: Any, table: str, ctx: TenantContext, report: AuditReport) -> None:
    """Delete the day's publication markers of the report's findings, so that a second audit
    publishes them again and does the same work as the first."""
    paginator = client.get_paginator("query")
    pages = paginator.paginate(
        TableName=table,
        KeyConditionExpression="PK = :pk AND begins_with(SK, :findings)",
        ExpressionAttributeValues={
            ":pk": {"S": f"{ctx.key_prefix}AUDIT#{report.id}"},
            ":findings": {"S": "FINDING#"},
        },
        ProjectionExpression="SK",
    )
    fingerprints = [item["SK"]["S"].removeprefix("FINDING#") for page in pages for item in page["Items"]]
    prefix = f"{ctx.key_prefix}PUBLISHED#{report.day.isoformat()}#"
    for start in range(0, len(fingerprints), 25):
        deletes = [
            {"DeleteRequest": {"Key": {"PK": {"S": prefix + fp}, "SK": {"S": "UNIQUE"}}}}
            for fp in fingerprints[start : start + 25]
        ]
        pending: dict[str, Any] = {table: deletes}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


def _audit(ctx: TenantContext, audit_id: str, trigger: str) -> AuditReport:
    from itam.bootstrap import audit_runner

    report = audit_runner().audit(ctx, audit_id, trigger, DAY)
    if report.status is not AuditStatus.COMPLETE:
        raise RuntimeError(f"the audit of {ctx.tenant_id} ended {report.status}")
    return report


def measure(size: int, check_shapes: bool = False) -> Measurement:
    """Load a tenant of `size` items into a fresh moto server, audit it twice and measure."""
    table = table_kwargs()
    name = table["TableName"]
    with moto_server_process() as endpoint, aws_environment(AWS_ENDPOINT_URL=endpoint, TABLE_NAME=name):
        _create_resources(table)
        client = boto3.client("dynamodb")
        models = table_models(name, REGION, endpoint)
        reset_caches()
        if check_shapes:
            check_item_shapes(client, models)
            reset_caches()
        tenant = Tenant(_context(f"audit-{size // 1000}k"))
        started = time.perf_counter()
        load(client, name, Generator(ItemBuilder(models, tenant.ctx), tenant, size).items(), tenant)
        _progress(f"{tenant.ctx.tenant_id}: loaded in {time.perf_counter() - started:.0f} s; auditing")
        with AuditCalls(tenant.streams()) as calls:
            started = time.perf_counter()
            report = _audit(tenant.ctx, scheduled_audit_id(tenant.ctx.tenant_id, DAY), "schedule")
            seconds = time.perf_counter() - started
            # Copies: the client keeps the hooks it was created with, and the second run uses it too.
            operations, reads = Counter(calls.operations), Counter(calls.reads)
            service_seconds = calls.service_seconds
        _forget_publications(client, name, tenant.ctx, report)
        _progress(f"{tenant.ctx.tenant_id}: audited in {seconds:.1f} s; again under tracemalloc")
        second_id = hashlib.sha256(f"bench|{size}".encode()).hexdigest()[:32]
        gc.collect()
        tracemalloc.start()
        try:
            again = _audit(tenant.ctx, second_id, "on_demand")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            reset_caches()
    if again.findings_total != report.findings_total:
        raise RuntimeError("the second audit found something else than the first")
    return Measurement(size, tenant, report, seconds, service_seconds, peak, operations, reads)


def describe(m: Measurement) -> str:
    """Reads per partition against the fewest pages, for the log."""
    minimum = m.tenant.minimum_pages()
    lines = [
        f"{m.tenant.ctx.tenant_id}: {m.tenant.assets:,} assets + {m.tenant.installations:,} installations, "
        f"{m.report.findings_total:,} findings over {m.report.products} products; "
        f"{m.seconds:.1f} s ({m.service_seconds:.1f} s waiting for moto); "
        f"peak {m.peak_bytes / 2**20:.1f} MB",
        f"  calls: {dict(sorted(m.operations.items()))}",
    ]
    for name, partition in m.tenant.streams().items():
        size = m.tenant.partition_bytes[partition]
        pages = f"{m.reads[name]:>4} pages, fewest {minimum[name]:>4}"
        lines.append(f"  {name:<16} {pages} ({size / 1e6:.2f} MB)")
    others = {k: v for k, v in m.reads.items() if k not in minimum}
    lines.append(f"  single reads: {others}; reads {m.read_requests}, fewest {m.minimum_reads}")
    return "\n".join(lines)


def run() -> list[Figure]:
    """audit_requests_ratio, audit_memory_ratio, audit_seconds_per_10k and what they are made of."""
    small, large = (measure(size, check_shapes=size == SIZES[0]) for size in SIZES)
    for m in (small, large):
        _progress(describe(m))
    per_10k = (large.tenant.assets + large.tenant.installations) / 10_000
    return [
        figure("audit_requests_ratio", large.read_requests / large.minimum_reads, "x", REQUESTS_TARGET),
        figure("audit_memory_ratio", large.peak_bytes / small.peak_bytes, "x", MEMORY_TARGET),
        figure("audit_seconds_per_10k", large.seconds / per_10k, "s"),
        figure("audit_service_seconds_per_10k", large.service_seconds / per_10k, "s"),
        figure("audit_requests_ratio_10k", small.read_requests / small.minimum_reads, "x"),
        figure("audit_read_requests_100k", large.read_requests, "calls"),
        figure("audit_min_read_requests_100k", large.minimum_reads, "calls"),
        figure("audit_write_requests_100k", large.write_requests, "calls"),
        figure("audit_peak_mb_10k", small.peak_bytes / 2**20, "MB"),
        figure("audit_peak_mb_100k", large.peak_bytes / 2**20, "MB"),
        figure("audit_findings_100k", large.report.findings_total, "findings"),
    ]
