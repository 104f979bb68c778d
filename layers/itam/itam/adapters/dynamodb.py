"""Single-table DynamoDB persistence (PynamoDB). The only module that knows PynamoDB and key layouts.

Key layout (every key starts with the tenant prefix `T#<tenant>#`):

    asset        PK T#<t>#ASSET#<id>               SK META
    history      PK T#<t>#ASSET#<id>               SK HIST#<version, 10 digits>
    assignment   PK T#<t>#ASSET#<id>               SK ASSIGN#<assignment id>
    maintenance  PK T#<t>#ASSET#<id>               SK MAINT#<record id>
    unique guard PK T#<t>#UNIQUE#<field>#<value>   SK UNIQUE   (asset_tag, serial_number)
    idempotency  PK T#<t>#IDEMPOTENCY#<key digest> SK UNIQUE   (expires through the table's TTL)

Sparse listing indexes on the asset item (sort key: the time-ordered asset id):
    GSI1 T#<t>#ASSETS, GSI2 ...#kind#<kind>, GSI3 ...#status#<s>, GSI4 ...#category#<c>,
    GSI5 ...#location#<l>, GSI6 ...#assigned_to#<user>
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

from pynamodb.attributes import (
    BooleanAttribute,
    DiscriminatorAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.connection import Connection
from pynamodb.exceptions import QueryError, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from itam.adapters import sessions
from itam.adapters.credentials import Credentials
from itam.assets.errors import DuplicateValue
from itam.assets.models import Asset, AssetFilter, Assignment, AssignmentReturn, HistoryEvent, Maintenance
from itam.assets.ports import AssetRecord
from itam.errors import InvalidCursor, KeyAlreadyUsed, StaleVersion, WriteConflict
from itam.pagination import MAX_PAGE_SIZE, Page, PageRequest, decode_cursor, encode_cursor
from itam.ports import IdempotencyClaim, IdempotencyRecord
from itam.tenancy import TenantContext

T = TypeVar("T")

UNIQUE_FIELDS = ("asset_tag", "serial_number")
# Listing filters in the order an index is chosen for them (most selective first); GSI1 lists all.
INDEXED_FILTERS = (
    ("assigned_to", "GSI6"),
    ("location", "GSI5"),
    ("category", "GSI4"),
    ("status", "GSI3"),
    ("kind", "GSI2"),
)


def _index(number: int) -> type[GlobalSecondaryIndex[Any]]:
    meta = type("Meta", (), {"index_name": f"GSI{number}", "projection": AllProjection()})
    body = {
        "Meta": meta,
        "pk": UnicodeAttribute(hash_key=True, attr_name=f"GSI{number}PK"),
        "sk": UnicodeAttribute(range_key=True, attr_name=f"GSI{number}SK"),
    }
    return type(f"GSI{number}", (GlobalSecondaryIndex,), body)


@dataclass(frozen=True)
class TableModels:
    """The PynamoDB classes bound to one table, endpoint and region."""

    item: Any
    asset: Any
    history: Any
    guard: Any
    record: Any
    indexes: dict[str, Any]
    connection: Connection
    license: Any
    tenant: Any
    report: Any
    finding: Any
    versioned: Any


# With per-tenant credentials each entry holds a botocore client: a few MB, so keep the busiest tenants.
@lru_cache(maxsize=16)
def table_models(
    table_name: str, region: str, host: str | None, credentials: Credentials | None = None
) -> TableModels:
    """Model classes bound to `table_name` — cached per (table, region, endpoint, credentials), never
    per class alone: with per-tenant credentials each tenant gets its own classes and client."""

    class Meta:
        pass

    Meta.table_name = table_name  # type: ignore[attr-defined]
    Meta.region = region  # type: ignore[attr-defined]
    Meta.host = host  # type: ignore[attr-defined]
    if credentials is not None:
        Meta.aws_access_key_id = credentials.access_key  # type: ignore[attr-defined]
        Meta.aws_secret_access_key = credentials.secret_key  # type: ignore[attr-defined]
        Meta.aws_session_token = credentials.session_token  # type: ignore[attr-defined]
    # Fail a stuck call well within the function's 10 s timeout, so the caller gets an answer.
    Meta.connect_timeout_seconds = 2  # type: ignore[attr-defined]
    Meta.read_timeout_seconds = 4  # type: ignore[attr-defined]
    Meta.max_retry_attempts = 2  # type: ignore[attr-defined]

    attrs: dict[str, Any] = {
        "Meta": Meta,
        "PK": UnicodeAttribute(hash_key=True),
        "SK": UnicodeAttribute(range_key=True),
        "entity": DiscriminatorAttribute(),
        "doc": UnicodeAttribute(null=True),
    }
    for n in range(1, 7):
        attrs[f"GSI{n}PK"] = UnicodeAttribute(null=True)
        attrs[f"GSI{n}SK"] = UnicodeAttribute(null=True)
        attrs[f"gsi{n}"] = _index(n)()
    item: Any = type("Item", (Model,), attrs)
    # PynamoDB binds a copy of each index to the model class: query through those copies.
    indexes = {f"GSI{n}": getattr(item, f"gsi{n}") for n in range(1, 7)}

    asset = type(
        "AssetItem",
        (item,),
        {
            "version": NumberAttribute(),
            "kind": UnicodeAttribute(),
            "status": UnicodeAttribute(),
            "category": UnicodeAttribute(null=True),
            "location": UnicodeAttribute(null=True),
            "assigned_to": UnicodeAttribute(null=True),
            "tags": MapAttribute[str, Any](default=dict),  # type: ignore[no-untyped-call]
            # Discovered assets: list filters (FilterExpression) on what the inventory sync keeps.
            "connector_id": UnicodeAttribute(null=True),
            "discovery_state": UnicodeAttribute(null=True),
        },
        discriminator="asset",
    )
    history = type("HistoryItem", (item,), {}, discriminator="history")
    guard = type(
        "GuardItem",
        (item,),
        {
            "owner_id": UnicodeAttribute(),
            "request_digest": UnicodeAttribute(null=True),
            # The table's TTL attribute: DynamoDB deletes expired idempotency guards by itself.
            "expires_at": NumberAttribute(null=True),
        },
        discriminator="guard",
    )
    record = type("RecordItem", (item,), {"returned": UnicodeAttribute(null=True)}, discriminator="record")
    license_ = type(
        "LicenseItem",
        (item,),
        {
            "version": NumberAttribute(),
            "quantity": NumberAttribute(),
            # Seats assigned now and at most: counters kept by seat transactions, not by the document.
            "assigned": NumberAttribute(default=0),
            "peak_assigned": NumberAttribute(default=0),
            "allow_over": BooleanAttribute(default=False),
            # Listing filters (FilterExpression): the document itself is opaque to DynamoDB.
            "metric": UnicodeAttribute(null=True),
            "vendor_key": UnicodeAttribute(null=True),
            "end_date": UnicodeAttribute(null=True),
        },
        discriminator="license",
    )
    tenant = type(
        "TenantItem",
        (item,),
        {
            "rules_version": NumberAttribute(null=True),
            "normalized_version": NumberAttribute(null=True),
        },
        discriminator="tenant",
    )
    report = type(
        "AuditItem",
        (item,),
        {"status": UnicodeAttribute(null=True), "run": UnicodeAttribute(null=True)},
        discriminator="audit",
    )
    finding = type(
        "FindingItem",
        (item,),
        {"run": UnicodeAttribute(null=True), "expires_at": NumberAttribute(null=True)},
        discriminator="finding",
    )
    # Transactions use the models' own connection: one botocore client per tenant, not two (each costs
    # tens of milliseconds of a cold start to build).
    connection = item._get_connection().connection
    if credentials is not None:
        # PynamoDB makes its session on first use; handing it one on the shared loader instead saves
        # reading the botocore data a second time (see itam.adapters.sessions). It signs with the
        # same credentials as Meta above, which PynamoDB would use anyway in another thread.
        connection._local.session = sessions.new_session(
            credentials.access_key, credentials.secret_key, credentials.session_token
        )
    # A document with a version (webhook endpoints, purchase-order state).
    versioned = type("VersionedItem", (item,), {"version": NumberAttribute()}, discriminator="versioned")
    return TableModels(
        item, asset, history, guard, record, indexes, connection, license_, tenant, report, finding, versioned
    )


class DynamoAssetRepository:
    """AssetRepository on one DynamoDB table."""

    def __init__(self, models: TableModels) -> None:
        self._m = models

    # ------------------------------------------------------------------ writes
    def create(
        self,
        ctx: TenantContext,
        asset: Asset,
        event: HistoryEvent,
        records: Sequence[AssetRecord],
        claim: IdempotencyClaim | None = None,
    ) -> None:
        tx = _Transaction(self._m.connection)
        self._bind(ctx, tx, claim, asset.id, event)
        tx.save(self.asset_item(ctx, asset), self._m.item.PK.does_not_exist(), StaleVersion)
        register_tenant(self._m, ctx, tx)
        self._add_history_and_records(ctx, tx, event, records)
        for field in UNIQUE_FIELDS:
            value = getattr(asset, field)
            if value is not None:
                self._claim(ctx, tx, field, value, asset.id)
        tx.commit()

    def update(
        self,
        ctx: TenantContext,
        previous: Asset,
        current: Asset,
        event: HistoryEvent,
        records: Sequence[AssetRecord],
        claim: IdempotencyClaim | None = None,
    ) -> None:
        tx = _Transaction(self._m.connection)
        if records:
            self._bind(ctx, tx, claim, records[0].id, event)
        tx.save(self.asset_item(ctx, current), self._m.asset.version == previous.version, StaleVersion)
        self._add_history_and_records(ctx, tx, event, records)
        for field in UNIQUE_FIELDS:
            old, new = getattr(previous, field), getattr(current, field)
            if _unique_form(old) == _unique_form(new):
                continue  # the same guard, even if the spelling changed
            if new is not None:
                self._claim(ctx, tx, field, new, current.id)
            if old is not None:
                guard = self._guard(ctx, field, old, previous.id)
                tx.delete(guard, self._m.guard.owner_id == previous.id, StaleVersion)
        tx.commit()

    def _bind(
        self,
        ctx: TenantContext,
        tx: _Transaction,
        claim: IdempotencyClaim | None,
        owner_id: str,
        event: HistoryEvent,
    ) -> None:
        """Put the Idempotency-Key's guard, first, so that a replay is recognised before anything it
        wrote (a tag, a serial) looks taken."""
        bind_idempotency_key(self._m, ctx, tx, claim, owner_id, int(event.at.timestamp()))

    def _claim(self, ctx: TenantContext, tx: _Transaction, field: str, value: str, owner_id: str) -> None:
        tx.save(
            self._guard(ctx, field, value, owner_id),
            self._m.item.PK.does_not_exist(),
            lambda: DuplicateValue(field, value),
        )

    def _add_history_and_records(
        self, ctx: TenantContext, tx: _Transaction, event: HistoryEvent, records: Iterable[AssetRecord]
    ) -> None:
        m = self._m
        pk = _asset_pk(ctx, event.asset_id)
        history = m.history(PK=pk, SK=f"HIST#{event.version:010d}", doc=event.model_dump_json())
        # History keys are versions: a taken key means another writer produced this version first.
        tx.save(history, m.item.PK.does_not_exist(), StaleVersion)
        for record in records:
            if isinstance(record, AssignmentReturn):
                item = m.record(PK=pk, SK=f"ASSIGN#{record.id}")
                condition = m.item.PK.exists() & m.record.returned.does_not_exist()
                tx.update(item, [m.record.returned.set(record.model_dump_json())], condition, StaleVersion)
            else:
                prefix = "ASSIGN" if isinstance(record, Assignment) else "MAINT"
                item = m.record(PK=pk, SK=f"{prefix}#{record.id}", doc=record.model_dump_json())
                tx.save(item, m.item.PK.does_not_exist(), StaleVersion)

    def asset_item(self, ctx: TenantContext, asset: Asset) -> Any:
        keys: dict[str, str | None] = {"GSI1PK": _listing_pk(ctx), "GSI1SK": asset.id}
        for name, index in INDEXED_FILTERS:
            value = getattr(asset, name)
            keys[f"{index}PK"] = _listing_pk(ctx, name, value) if value is not None else None
            keys[f"{index}SK"] = asset.id if value is not None else None
        return self._m.asset(
            PK=_asset_pk(ctx, asset.id),
            SK="META",
            doc=asset.model_dump_json(),
            version=asset.version,
            kind=asset.kind.value,
            status=asset.status.value,
            category=asset.category,
            location=asset.location,
            assigned_to=asset.assigned_to,
            tags=dict(asset.tags),
            connector_id=asset.discovery.connector_id if asset.discovery else None,
            discovery_state=asset.discovery.state if asset.discovery else None,
            **keys,
        )

    def _guard(self, ctx: TenantContext, field: str, value: str, owner_id: str) -> Any:
        # Unique regardless of case and surrounding spaces: "LT-001" and "lt-001 " are one tag.
        return self._m.guard(
            PK=f"{ctx.key_prefix}UNIQUE#{field}#{_unique_form(value)}", SK="UNIQUE", owner_id=owner_id
        )

    # ------------------------------------------------------------------ reads
    def idempotency_record(self, ctx: TenantContext, key_digest: str, now: int) -> IdempotencyRecord | None:
        return idempotency_record(self._m, ctx, key_digest, now)

    def get(self, ctx: TenantContext, asset_id: str) -> Asset | None:
        try:
            # Strongly consistent: a write must compare against the latest version, and a client
            # reading right after its own write must see it.
            item = self._m.asset.get(_asset_pk(ctx, asset_id), "META", consistent_read=True)
        except self._m.asset.DoesNotExist:
            return None
        return Asset.model_validate_json(item.doc)

    def get_many(self, ctx: TenantContext, asset_ids: Sequence[str]) -> list[Asset]:
        wanted = list(dict.fromkeys(asset_ids))
        keys = [(_asset_pk(ctx, asset_id), "META") for asset_id in wanted]
        found = {
            item.PK: Asset.model_validate_json(item.doc)
            for item in self._m.asset.batch_get(keys, consistent_read=True)
        }
        return [found[pk] for pk, _ in keys if pk in found]

    def list(self, ctx: TenantContext, filters: AssetFilter, page: PageRequest) -> Page[Asset]:
        index_name, hash_key = "GSI1", _listing_pk(ctx)
        remaining: list[Condition] = []
        for name, index in INDEXED_FILTERS:
            value = getattr(filters, name)
            if value is None:
                continue
            if index_name == "GSI1":
                index_name, hash_key = index, _listing_pk(ctx, name, value)
            else:
                remaining.append(getattr(self._m.asset, name) == str(value))
        if filters.tag is not None:
            key, value = filters.tag
            remaining.append(self._m.asset.tags[key] == value)
        for name in ("connector_id", "discovery_state"):
            value = getattr(filters, name)
            if value is not None:
                remaining.append(getattr(self._m.asset, name) == value)
        filter_condition = None
        for condition in remaining:
            filter_condition = condition if filter_condition is None else filter_condition & condition
        scope = f"{ctx.tenant_id}|assets|{filters.model_dump_json()}"
        return _query_page_on(
            self._m,
            self._m.indexes[index_name].query,
            hash_key,
            index_name,
            scope,
            page,
            lambda item: Asset.model_validate_json(item.doc),
            pk_prefix=f"{ctx.key_prefix}ASSET#",
            filter_condition=filter_condition,
            scan_index_forward=False,
        )

    def history(self, ctx: TenantContext, asset_id: str, page: PageRequest) -> Page[HistoryEvent]:
        return self._children(
            ctx, asset_id, "HIST#", page, lambda item: HistoryEvent.model_validate_json(item.doc)
        )

    def maintenance(self, ctx: TenantContext, asset_id: str, page: PageRequest) -> Page[Maintenance]:
        return self._children(
            ctx, asset_id, "MAINT#", page, lambda item: Maintenance.model_validate_json(item.doc)
        )

    def maintenance_record(self, ctx: TenantContext, asset_id: str, record_id: str) -> Maintenance | None:
        try:
            item = self._m.record.get(_asset_pk(ctx, asset_id), f"MAINT#{record_id}", consistent_read=True)
        except self._m.record.DoesNotExist:
            return None
        return Maintenance.model_validate_json(item.doc)

    def assignments(self, ctx: TenantContext, asset_id: str, page: PageRequest) -> Page[Assignment]:
        def to_assignment(item: Any) -> Assignment:
            assignment = Assignment.model_validate_json(item.doc)
            if item.returned:
                returned = AssignmentReturn.model_validate_json(item.returned)
                assignment = assignment.model_copy(update=returned.model_dump(exclude={"id", "asset_id"}))
            return assignment

        return self._children(ctx, asset_id, "ASSIGN#", page, to_assignment)

    def _children(
        self, ctx: TenantContext, asset_id: str, prefix: str, page: PageRequest, convert: Callable[[Any], T]
    ) -> Page[T]:
        return _query_page_on(
            self._m,
            self._m.item.query,
            _asset_pk(ctx, asset_id),
            None,
            f"{ctx.tenant_id}|{asset_id}|{prefix}",
            page,
            convert,
            range_key_condition=self._m.item.SK.startswith(prefix),
            scan_index_forward=True,
            consistent_read=True,
        )


def _query_page_on(
    models: TableModels,
    query: Callable[..., Any],
    hash_key: str,
    index_name: str | None,
    scope: str,
    page: PageRequest,
    convert: Callable[[Any], T],
    pk_prefix: str | None = None,
    **kwargs: Any,
) -> Page[T]:
    """Exactly one Query call: one page of at most `page.limit` items and the cursor after it.

    A cursor is taken only if it holds exactly the key attributes of this query, in its
    partition and in the caller's tenant (`pk_prefix`, or the partition itself).
    """
    start = None
    if page.cursor is not None:
        key = decode_cursor(page.cursor, scope)
        names = {"PK", "SK"} | ({f"{index_name}PK", f"{index_name}SK"} if index_name else set())
        hash_attr = f"{index_name}PK" if index_name else "PK"
        in_partition = key.get(hash_attr) == hash_key and key.get("PK", "").startswith(pk_prefix or hash_key)
        if set(key) != names or not in_partition:
            raise InvalidCursor()
        start = {name: {"S": value} for name, value in key.items()}
    limit = max(1, min(page.limit, MAX_PAGE_SIZE))
    results = query(hash_key, page_size=limit, last_evaluated_key=start, **kwargs)
    try:
        raw = next(results.page_iter)
    except QueryError as error:
        if start is not None and error.cause_response_code == "ValidationException":
            raise InvalidCursor() from error  # a well-formed cursor DynamoDB still refuses
        raise
    items = [convert(models.item.from_raw_data(data)) for data in raw.get("Items", [])]
    last = raw.get("LastEvaluatedKey")
    cursor = encode_cursor({k: v["S"] for k, v in last.items()}, scope) if last else None
    return Page(items=items, next_cursor=cursor)


def document(model: Any, pk: str, convert: Callable[[str], T], sk: str = "META") -> T | None:
    """One item's document, read strongly consistent, or None when it does not exist."""
    try:
        item = model.get(pk, sk, consistent_read=True)
    except model.DoesNotExist:
        return None
    return convert(item.doc)


def listing_page(
    models: TableModels,
    partition: str,
    scope: str,
    page: PageRequest,
    convert: Callable[[str], T],
    pk_prefix: str,
) -> Page[T]:
    """One page, newest first, of the documents listed in a GSI1 partition of the tenant."""
    return _query_page_on(
        models,
        models.indexes["GSI1"].query,
        partition,
        "GSI1",
        scope,
        page,
        lambda item: convert(item.doc),
        pk_prefix=pk_prefix,
        scan_index_forward=False,
    )


class _Transaction:
    """One TransactWriteItems call whose failed conditions become domain errors, action by action."""

    def __init__(self, connection: Connection) -> None:
        self._tx = TransactWrite(connection=connection)
        # PynamoDB sends deletes, then puts, then updates: keep the failure of each action in that order.
        self._deletes: list[Callable[[], Exception]] = []
        self._puts: list[Callable[[], Exception]] = []
        self._updates: list[Callable[[], Exception]] = []

    def save(self, item: Any, condition: Condition, on_fail: Callable[[], Exception]) -> None:
        self._tx.save(item, condition=condition)
        self._puts.append(on_fail)

    def update(
        self, item: Any, actions: list[Any], condition: Condition | None, on_fail: Callable[[], Exception]
    ) -> None:
        self._tx.update(item, actions=actions, condition=condition)
        self._updates.append(on_fail)

    def delete(self, item: Any, condition: Condition, on_fail: Callable[[], Exception]) -> None:
        self._tx.delete(item, condition=condition)
        self._deletes.append(on_fail)

    def commit(self) -> None:
        try:
            with self._tx:
                pass
        except TransactWriteError as error:
            if error.cause_response_code != "TransactionCanceledException":
                raise
            codes = [reason.code if reason is not None else None for reason in error.cancellation_reasons]
            if "TransactionConflict" in codes:
                raise WriteConflict() from error
            failures = self._deletes + self._puts + self._updates
            for on_fail, code in zip(failures, codes, strict=False):
                if code == "ConditionalCheckFailed":
                    raise on_fail() from error
            raise


TENANT_DIRECTORY = "TENANTS"


def register_tenant(m: TableModels, ctx: TenantContext, tx: _Transaction) -> None:
    """Enter the tenant in the tenant directory (one GSI1 partition the audit schedule reads), in the
    transaction of a create. Idempotent, and it keeps the tenant item's other attributes."""
    item = m.tenant(PK=tenant_pk(ctx), SK="META")
    actions = [
        m.tenant.entity.set(m.tenant),
        m.tenant.GSI1PK.set(TENANT_DIRECTORY),
        m.tenant.GSI1SK.set(ctx.tenant_id),
    ]
    tx.update(item, actions, None, WriteConflict)


def save_versioned(m: TableModels, ctx: TenantContext, item: Any, expected_version: int | None) -> None:
    """Create a versioned document (expected_version None; the tenant enters the directory in the
    same transaction) or replace it if its stored version is still `expected_version`; StaleVersion
    otherwise."""
    tx = _Transaction(m.connection)
    if expected_version is None:
        tx.save(item, m.item.PK.does_not_exist(), StaleVersion)
        register_tenant(m, ctx, tx)
    else:
        tx.save(item, m.versioned.version == expected_version, StaleVersion)
    tx.commit()


def tenant_pk(ctx: TenantContext) -> str:
    return f"{ctx.key_prefix}TENANT"


def _listing_pk(ctx: TenantContext, name: str | None = None, value: object = None) -> str:
    """Partition key of a listing index: all the tenant's assets, or those with `name` = `value`."""
    base = f"{ctx.key_prefix}ASSETS"
    return base if name is None else f"{base}#{name}#{value}"


def _unique_form(value: str | None) -> str | None:
    """The form a unique value is compared in: Unicode-normalised, trimmed, case-folded."""
    return None if value is None else unicodedata.normalize("NFKC", value).strip().casefold()


def _idempotency_pk(ctx: TenantContext, key_digest: str) -> str:
    return f"{ctx.key_prefix}IDEMPOTENCY#{key_digest}"


def bind_idempotency_key(
    m: TableModels,
    ctx: TenantContext,
    tx: _Transaction,
    claim: IdempotencyClaim | None,
    owner_id: str,
    now: int,
) -> None:
    """Add the Idempotency-Key's guard to `tx`: KeyAlreadyUsed if the key is bound already. The guard
    names what the create makes (`owner_id`) and the request's digest; one bound until before `now`
    has expired and counts as free (DynamoDB's TTL deletes it in time)."""
    if claim is None:
        return
    guard = m.guard(
        PK=_idempotency_pk(ctx, claim.key_digest),
        SK="UNIQUE",
        owner_id=owner_id,
        request_digest=claim.request_digest,
        expires_at=claim.expires_at,
    )
    tx.save(guard, m.item.PK.does_not_exist() | (m.guard.expires_at < now), KeyAlreadyUsed)


def idempotency_record(
    m: TableModels, ctx: TenantContext, key_digest: str, now: int
) -> IdempotencyRecord | None:
    """What the key is bound to (read strongly consistent), unless nothing is or the binding expired
    before `now`."""
    try:
        guard = m.guard.get(_idempotency_pk(ctx, key_digest), "UNIQUE", consistent_read=True)
    except m.guard.DoesNotExist:
        return None
    if guard.expires_at is None or guard.expires_at < now:
        return None
    return IdempotencyRecord(resource_id=guard.owner_id, request_digest=guard.request_digest or "")


def _asset_pk(ctx: TenantContext, asset_id: str) -> str:
    return f"{ctx.key_prefix}ASSET#{asset_id}"
