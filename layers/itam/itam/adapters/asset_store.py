"""Assets, their history, assignments and maintenance records on the single table (the key layout is
in itam.adapters.schema)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from itam.adapters.schema import (
    AssetItem,
    GuardItem,
    Item,
    RecordItem,
    TableModels,
    asset_listing_pk,
    asset_pk,
    releases_pk,
    unique_form,
    unique_pk,
)
from itam.adapters.table import (
    Transaction,
    bind_idempotency_key,
    children_page,
    idempotency_record,
    query_page,
    register_tenant,
)
from itam.assets.errors import DuplicateValue
from itam.assets.models import (
    Asset,
    AssetFilter,
    Assignment,
    AssignmentReturn,
    HistoryEvent,
    Maintenance,
    ReleaseRecord,
)
from itam.assets.ports import AssetRecord
from itam.errors import StaleVersion
from itam.idempotency import IdempotencyClaim, IdempotencyRecord
from itam.pagination import Page, PageRequest
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
        tx = Transaction(self._m.connection)
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
        tx = Transaction(self._m.connection)
        if records:
            self._bind(ctx, tx, claim, records[0].id, event)
        tx.save(self.asset_item(ctx, current), self._m.asset.version == previous.version, StaleVersion)
        self._add_history_and_records(ctx, tx, event, records)
        for field in UNIQUE_FIELDS:
            old, new = getattr(previous, field), getattr(current, field)
            if unique_form(old) == unique_form(new):
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
        tx: Transaction,
        claim: IdempotencyClaim | None,
        owner_id: str,
        event: HistoryEvent,
    ) -> None:
        """Put the Idempotency-Key's guard, first, so that a replay is recognised before anything it
        wrote (a tag, a serial) looks taken."""
        bind_idempotency_key(self._m, ctx, tx, claim, owner_id, int(event.at.timestamp()))

    def _claim(self, ctx: TenantContext, tx: Transaction, field: str, value: str, owner_id: str) -> None:
        tx.save(
            self._guard(ctx, field, value, owner_id),
            self._m.item.PK.does_not_exist(),
            lambda: DuplicateValue(field, value),
        )

    def _add_history_and_records(
        self, ctx: TenantContext, tx: Transaction, event: HistoryEvent, records: Iterable[AssetRecord]
    ) -> None:
        m = self._m
        pk = asset_pk(ctx, event.asset_id)
        history = m.history(PK=pk, SK=f"HIST#{event.version:010d}", doc=event.model_dump_json())
        # History keys are versions: a taken key means another writer produced this version first.
        tx.save(history, m.item.PK.does_not_exist(), StaleVersion)
        for record in records:
            if isinstance(record, ReleaseRecord):
                # Replaces the record of an earlier move (done, or stopped part-way).
                item = m.record(PK=pk, SK="RELEASE")
                actions: list[Action] = [
                    m.record.entity.set(m.record),
                    m.record.doc.set(record.model_dump_json()),
                    m.record.GSI1PK.set(releases_pk(ctx)),
                    m.record.GSI1SK.set(record.asset_id),
                    m.record.expires_at.remove(),
                ]
                tx.update(item, actions, None, StaleVersion)
            elif isinstance(record, AssignmentReturn):
                item = m.record(PK=pk, SK=f"ASSIGN#{record.id}")
                condition = m.item.PK.exists() & m.record.returned.does_not_exist()
                tx.update(item, [m.record.returned.set(record.model_dump_json())], condition, StaleVersion)
            else:
                prefix = "ASSIGN" if isinstance(record, Assignment) else "MAINT"
                item = m.record(PK=pk, SK=f"{prefix}#{record.id}", doc=record.model_dump_json())
                tx.save(item, m.item.PK.does_not_exist(), StaleVersion)

    def asset_item(self, ctx: TenantContext, asset: Asset) -> AssetItem:
        """The asset's item, with the listing index keys of its filter values."""
        # Any: what PynamoDB's constructor takes for attributes passed by name.
        keys: dict[str, Any] = {"GSI1PK": asset_listing_pk(ctx), "GSI1SK": asset.id}
        for name, index in INDEXED_FILTERS:
            value = getattr(asset, name)
            keys[f"{index}PK"] = asset_listing_pk(ctx, name, value) if value is not None else None
            keys[f"{index}SK"] = asset.id if value is not None else None
        return self._m.asset(
            PK=asset_pk(ctx, asset.id),
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

    def _guard(self, ctx: TenantContext, field: str, value: str, owner_id: str) -> GuardItem:
        # Unique regardless of case and surrounding spaces: "LT-001" and "lt-001 " are one tag.
        return self._m.guard(PK=unique_pk(ctx, field, value), SK="UNIQUE", owner_id=owner_id)

    # ------------------------------------------------------------------ reads
    def idempotency_record(self, ctx: TenantContext, key_digest: str, now: int) -> IdempotencyRecord | None:
        return idempotency_record(self._m, ctx, key_digest, now)

    def get(self, ctx: TenantContext, asset_id: str) -> Asset | None:
        try:
            # Strongly consistent: a write must compare against the latest version, and a client
            # reading right after its own write must see it.
            item = self._m.asset.get(asset_pk(ctx, asset_id), "META", consistent_read=True)
        except self._m.asset.DoesNotExist:
            return None
        return Asset.model_validate_json(item.doc)

    def get_many(self, ctx: TenantContext, asset_ids: Sequence[str]) -> list[Asset]:
        wanted = list(dict.fromkeys(asset_ids))
        keys = [(asset_pk(ctx, asset_id), "META") for asset_id in wanted]
        found = {
            item.PK: Asset.model_validate_json(item.doc)
            for item in self._m.asset.batch_get(keys, consistent_read=True)
        }
        return [found[pk] for pk, _ in keys if pk in found]

    def list(self, ctx: TenantContext, filters: AssetFilter, page: PageRequest) -> Page[Asset]:
        index_name, hash_key = "GSI1", asset_listing_pk(ctx)
        remaining: list[Condition] = []
        for name, index in INDEXED_FILTERS:
            value = getattr(filters, name)
            if value is None:
                continue
            if index_name == "GSI1":
                index_name, hash_key = index, asset_listing_pk(ctx, name, value)
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
        return query_page(
            self._m,
            self._m.indexes[index_name].query,
            hash_key,
            index_name,
            scope,
            page,
            lambda item: Asset.model_validate_json(item.doc),
            pk_prefix=asset_pk(ctx, ""),
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
            item = self._m.record.get(asset_pk(ctx, asset_id), f"MAINT#{record_id}", consistent_read=True)
        except self._m.record.DoesNotExist:
            return None
        return Maintenance.model_validate_json(item.doc)

    def assignments(self, ctx: TenantContext, asset_id: str, page: PageRequest) -> Page[Assignment]:
        def to_assignment(item: Item) -> Assignment:
            assignment = Assignment.model_validate_json(item.doc)
            if isinstance(item, RecordItem) and item.returned:
                returned = AssignmentReturn.model_validate_json(item.returned)
                assignment = assignment.model_copy(update=returned.model_dump(exclude={"id", "asset_id"}))
            return assignment

        return self._children(ctx, asset_id, "ASSIGN#", page, to_assignment)

    def _children(
        self, ctx: TenantContext, asset_id: str, prefix: str, page: PageRequest, convert: Callable[[Item], T]
    ) -> Page[T]:
        scope = f"{ctx.tenant_id}|{asset_id}|{prefix}"
        return children_page(self._m, scope, asset_pk(ctx, asset_id), prefix, page, convert)


class TenantScopedAssets:
    """AssetRepository whose every call runs on the table models of the caller's tenant: with a
    tenant role configured, those use credentials that can reach that tenant's keys only."""

    def __init__(self, models_for: Callable[[TenantContext], TableModels]) -> None:
        self._models_for = models_for

    def _repo(self, ctx: TenantContext) -> DynamoAssetRepository:
        return DynamoAssetRepository(self._models_for(ctx))

    def create(
        self,
        ctx: TenantContext,
        asset: Asset,
        event: HistoryEvent,
        records: Sequence[AssetRecord],
        claim: IdempotencyClaim | None = None,
    ) -> None:
        self._repo(ctx).create(ctx, asset, event, records, claim)

    def update(
        self,
        ctx: TenantContext,
        previous: Asset,
        current: Asset,
        event: HistoryEvent,
        records: Sequence[AssetRecord],
        claim: IdempotencyClaim | None = None,
    ) -> None:
        self._repo(ctx).update(ctx, previous, current, event, records, claim)

    def idempotency_record(self, ctx: TenantContext, key_digest: str, now: int) -> IdempotencyRecord | None:
        return self._repo(ctx).idempotency_record(ctx, key_digest, now)

    def get(self, ctx: TenantContext, asset_id: str) -> Asset | None:
        return self._repo(ctx).get(ctx, asset_id)

    def get_many(self, ctx: TenantContext, asset_ids: Sequence[str]) -> list[Asset]:
        return self._repo(ctx).get_many(ctx, asset_ids)

    def list(self, ctx: TenantContext, filters: AssetFilter, page: PageRequest) -> Page[Asset]:
        return self._repo(ctx).list(ctx, filters, page)

    def history(self, ctx: TenantContext, asset_id: str, page: PageRequest) -> Page[HistoryEvent]:
        return self._repo(ctx).history(ctx, asset_id, page)

    def maintenance(self, ctx: TenantContext, asset_id: str, page: PageRequest) -> Page[Maintenance]:
        return self._repo(ctx).maintenance(ctx, asset_id, page)

    def maintenance_record(self, ctx: TenantContext, asset_id: str, record_id: str) -> Maintenance | None:
        return self._repo(ctx).maintenance_record(ctx, asset_id, record_id)

    def assignments(self, ctx: TenantContext, asset_id: str, page: PageRequest) -> Page[Assignment]:
        return self._repo(ctx).assignments(ctx, asset_id, page)
