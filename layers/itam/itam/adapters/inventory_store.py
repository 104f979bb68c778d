"""Inventory connectors, sync runs, leases and links on the single table.

Key layout (every key starts with the tenant prefix `T#<tenant>#`):

    connector    PK T#<t>#CONN#<connector id>   SK META        GSI1 T#<t>#CONNECTORS / <connector id>
                 enabled ones also GSI2 CONNECTORS / <tenant>#<connector id> (the schedule's directory)
    lease        PK T#<t>#CONN#<connector id>   SK LEASE       (expires through the table's TTL)
    link         PK T#<t>#CONN#<connector id>   SK LINK#<asset id>
    sync run     PK T#<t>#RUN#<run id>          SK META
                 GSI1 T#<t>#CONN#<connector id>#RUNS / <queued at>#<run id>
    external id  PK T#<t>#INVENTORY             SK EXTERNAL_ID

A link holds what reconciliation needs of one external resource: the start of its content hash
(`h`), its consecutive misses (`m`), whether it was retired (`r`), its scope (`s`) and its key (`k`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from itam.adapters.asset_store import DynamoAssetRepository
from itam.adapters.schema import (
    CONNECTOR_DIRECTORY,
    Item,
    LinkItem,
    TableModels,
    asset_pk,
    connector_listing_pk,
    connector_pk,
    inventory_pk,
    run_listing_pk,
    run_pk,
    table_models,
)
from itam.adapters.table import (
    conditional_check_failed,
    document,
    idempotency_record,
    listing_page,
    save_versioned,
)
from itam.assets.models import Asset, HistoryEvent
from itam.errors import WriteConflict
from itam.idempotency import IdempotencyClaim, IdempotencyRecord
from itam.inventory.models import Connector, SyncRun
from itam.inventory.reconcile import Link
from itam.pagination import Page, PageRequest
from itam.settings import Settings
from itam.tenancy import TenantContext

BATCH_SIZE = 25  # BatchWriteItem's limit
BATCH_ATTEMPTS = 8
LINK_ATTRIBUTES = ("PK", "SK", "entity", "h", "m", "r", "s")


class DynamoInventoryRepository:
    """ConnectorRepository and LinkStore on one DynamoDB table."""

    def __init__(self, models: TableModels) -> None:
        self._m = models

    # ------------------------------------------------------------------ connectors
    def save_connector(
        self,
        ctx: TenantContext,
        connector: Connector,
        expected_version: int | None,
        claim: IdempotencyClaim | None = None,
    ) -> None:
        m = self._m
        directory = f"{ctx.tenant_id}#{connector.id}" if connector.enabled else None
        item = m.versioned(
            PK=connector_pk(ctx, connector.id),
            SK="META",
            doc=connector.model_dump_json(),
            version=connector.version,
            GSI1PK=connector_listing_pk(ctx),
            GSI1SK=connector.id,
            GSI2PK=CONNECTOR_DIRECTORY if directory else None,
            GSI2SK=directory,
        )
        now = int(connector.updated_at.timestamp())
        save_versioned(m, ctx, item, expected_version, claim, connector.id, now)

    def idempotency_record(self, ctx: TenantContext, key_digest: str, now: int) -> IdempotencyRecord | None:
        return idempotency_record(self._m, ctx, key_digest, now)

    def get_connector(self, ctx: TenantContext, connector_id: str) -> Connector | None:
        return document(self._m.item, connector_pk(ctx, connector_id), Connector.model_validate_json)

    def list_connectors(self, ctx: TenantContext, page: PageRequest) -> Page[Connector]:
        partition, scope = connector_listing_pk(ctx), f"{ctx.tenant_id}|connectors"
        return listing_page(
            self._m, partition, scope, page, Connector.model_validate_json, connector_pk(ctx, "")
        )

    def connector_ids(self, ctx: TenantContext) -> Iterator[str]:
        """Ids of the tenant's connectors, every page of them (only the keys are read)."""
        index = self._m.indexes["GSI1"]
        for item in index.query(connector_listing_pk(ctx), attributes_to_get=["entity", "GSI1SK"]):
            yield str(item.GSI1SK)

    def delete_connector(self, ctx: TenantContext, connector_id: str) -> None:
        """Delete the connector (its links and runs stay: the record of what it found)."""
        self._m.item(PK=connector_pk(ctx, connector_id), SK="META").delete()

    def external_id(self, ctx: TenantContext, proposed: str) -> str:
        m = self._m
        pk = inventory_pk(ctx)
        stored = document(m.record, pk, str, sk="EXTERNAL_ID")
        if stored is not None:
            return stored
        try:
            m.record(PK=pk, SK="EXTERNAL_ID", doc=proposed).save(condition=m.item.PK.does_not_exist())
        except Exception as error:
            if not conditional_check_failed(error):
                raise
            return document(m.record, pk, str, sk="EXTERNAL_ID") or proposed
        return proposed

    # ------------------------------------------------------------------ runs
    def save_run(self, ctx: TenantContext, run: SyncRun, create: bool = False) -> None:
        m = self._m
        item = m.record(
            PK=run_pk(ctx, run.id),
            SK="META",
            doc=run.model_dump_json(),
            GSI1PK=run_listing_pk(ctx, run.connector_id),
            GSI1SK=f"{run.queued_at.isoformat()}#{run.id}",
        )
        if not create:
            item.save()
            return
        try:
            item.save(condition=m.item.PK.does_not_exist())
        except Exception as error:
            if not conditional_check_failed(error):
                raise

    def get_run(self, ctx: TenantContext, run_id: str) -> SyncRun | None:
        return document(self._m.record, run_pk(ctx, run_id), SyncRun.model_validate_json)

    def list_runs(self, ctx: TenantContext, connector_id: str, page: PageRequest) -> Page[SyncRun]:
        partition = run_listing_pk(ctx, connector_id)
        scope = f"{ctx.tenant_id}|{connector_id}|runs"
        return listing_page(self._m, partition, scope, page, SyncRun.model_validate_json, run_pk(ctx, ""))

    # ------------------------------------------------------------------ lease
    def acquire_lease(
        self, ctx: TenantContext, connector_id: str, run_id: str, now: datetime, until: datetime
    ) -> str | None:
        m = self._m
        lease = m.guard(
            PK=connector_pk(ctx, connector_id),
            SK="LEASE",
            owner_id=run_id,
            expires_at=int(until.timestamp()),
        )
        free = (
            m.item.PK.does_not_exist()
            | (m.guard.expires_at < int(now.timestamp()))
            | (m.guard.owner_id == run_id)
        )
        try:
            lease.save(condition=free)
        except Exception as error:
            if not conditional_check_failed(error):
                raise
            try:
                holder = m.guard.get(connector_pk(ctx, connector_id), "LEASE", consistent_read=True)
            except m.guard.DoesNotExist:
                return self.acquire_lease(ctx, connector_id, run_id, now, until)  # released just now
            return str(holder.owner_id)
        return None

    def release_lease(self, ctx: TenantContext, connector_id: str, run_id: str) -> None:
        m = self._m
        try:
            m.guard(PK=connector_pk(ctx, connector_id), SK="LEASE").delete(
                condition=m.guard.owner_id == run_id
            )
        except Exception as error:
            if not conditional_check_failed(error):
                raise  # taken over by another run after this one's lease expired: leave it

    # ------------------------------------------------------------------ links
    def links(self, ctx: TenantContext, connector_id: str) -> Iterator[Link]:
        model = self._m.link
        # The external key (up to 2 KB) is left on the server: a run needs the rest only.
        for item in model.query(
            connector_pk(ctx, connector_id),
            model.SK.startswith("LINK#"),
            consistent_read=True,
            attributes_to_get=list(LINK_ATTRIBUTES),
        ):
            yield Link(
                asset_id=item.SK[5:],
                content_hash=item.h,
                misses=int(item.m),
                retired=bool(item.r),
                scope=item.s,
            )

    def create(
        self, ctx: TenantContext, connector_id: str, created: Sequence[tuple[Asset, HistoryEvent, Link]]
    ) -> None:
        m = self._m
        assets = DynamoAssetRepository(m)
        stored: list[Item] = []
        for asset, event, _ in created:
            stored.append(assets.asset_item(ctx, asset))
            history = m.history(PK=asset_pk(ctx, asset.id), SK=f"HIST#{event.version:010d}")
            history.doc = event.model_dump_json()
            stored.append(history)
        self._put_all(stored)
        # Only once every asset is stored: a link never points at an asset that is not there.
        self._put_all(
            self.link_item(ctx, connector_id, link, asset.discovery.external_key if asset.discovery else None)
            for asset, _, link in created
        )

    def _put_all(self, items: Iterable[Item]) -> None:
        """Put `items` with BatchWriteItem, 25 a call; what DynamoDB leaves unprocessed (throttling)
        is sent again after a jittered, growing pause, up to BATCH_ATTEMPTS calls per chunk."""
        chunk: list[dict[str, Any]] = []
        for item in items:
            chunk.append(item.serialize())
            if len(chunk) == BATCH_SIZE:
                self._put_chunk(chunk)
                chunk = []
        if chunk:
            self._put_chunk(chunk)

    def _put_chunk(self, chunk: list[dict[str, Any]]) -> None:
        table = self._m.item.Meta.table_name
        pending = chunk
        for attempt in range(BATCH_ATTEMPTS):
            answer = self._m.connection.batch_write_item(table, put_items=pending)
            left = (answer.get("UnprocessedItems") or {}).get(table) or []
            if not left:
                return
            pending = [request["PutRequest"]["Item"] for request in left]
            time.sleep(random.uniform(0, min(2.0, 0.05 * 2**attempt)))  # noqa: S311 - jitter
        raise WriteConflict()

    def save_link(self, ctx: TenantContext, connector_id: str, link: Link) -> None:
        """Update the link's state (its external key stays as the create wrote it)."""
        model = self._m.link
        model(PK=connector_pk(ctx, connector_id), SK=f"LINK#{link.asset_id}").update(
            actions=[
                model.entity.set(model),
                model.h.set(link.content_hash),
                model.m.set(link.misses),
                model.r.set(link.retired),
                model.s.set(link.scope),
            ]
        )

    def link_item(self, ctx: TenantContext, connector_id: str, link: Link, key: str | None) -> LinkItem:
        """A link's item as the first sync of its resource writes it, with the resource's external key."""
        return self._m.link(
            PK=connector_pk(ctx, connector_id),
            SK=f"LINK#{link.asset_id}",
            h=link.content_hash,
            m=link.misses,
            r=link.retired,
            s=link.scope,
            k=key,
        )


def connector_directory(settings: Settings) -> Iterator[tuple[str, str]]:
    """(tenant id, connector id) of every enabled connector: one GSI2 partition, read in 1 MB pages."""
    models = table_models(settings.table_name, settings.region, settings.dynamodb_endpoint)
    for item in models.indexes["GSI2"].query(CONNECTOR_DIRECTORY):
        tenant_id, _, connector_id = str(item.GSI2SK).partition("#")
        yield tenant_id, connector_id
