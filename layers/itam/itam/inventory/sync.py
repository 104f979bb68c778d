"""The load and cleanup steps of a sync run: what a connector reports, reconciled with the register.

    get + transform (a Collector)  ->  load: create / update / restore  ->  cleanup: missing / retire

An asset's id is derived from the connector and the external key, so every write a run makes is
the same when repeated: a run interrupted midway is re-run safely. New assets are written in
batches (assets and their first history events, then their links, so that a link never points at
an asset that is not there); changed, restored, missing and retired ones through the register's
own conditional update, with their history event. Unchanged resources get no write at all.

The cleanup step runs only after a collection that completed: a run that failed midway never takes
what it did not get to see for a deletion, and neither does a scope the connector reports skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import ValidationError

from itam.assets.models import Asset, Discovery, HistoryEvent, Status, discovered_asset_id
from itam.assets.service import AssetService
from itam.errors import DomainError
from itam.inventory.models import MAX_RUN_ERRORS, Discovered, RunError
from itam.inventory.ports import Collector, LinkStore
from itam.inventory.reconcile import Action, Link, LinkIndex, Observed, RunCounts, decide, decide_unseen
from itam.tenancy import TenantContext

# New assets written per batch: 25 assets and 25 history events, then their 25 links (three full
# BatchWriteItem calls).
CREATE_BATCH = 25
RETIRABLE = frozenset({Status.IN_STOCK, Status.DEPLOYED, Status.IN_MAINTENANCE})


@dataclass
class Outcome:
    counts: RunCounts = field(default_factory=RunCounts)
    errors: list[RunError] = field(default_factory=list)
    errors_total: int = 0

    def error(self, code: str, message: str, scope: str | None = None) -> None:
        self.errors_total += 1
        self.counts.errors += 1
        if len(self.errors) < MAX_RUN_ERRORS:
            self.errors.append(RunError(code=code, message=message[:500], scope=scope))


@dataclass(frozen=True)
class RunPlan:
    """What a run needs to know of its connector."""

    connector_id: str
    connector_name: str
    provider: str
    run_id: str
    retire_after: int
    last_completed_at: datetime | None  # when the previous complete run started


class Reconciler:
    def __init__(self, assets: AssetService, links: LinkStore) -> None:
        self._assets = assets
        self._links = links

    def run(self, ctx: TenantContext, plan: RunPlan, collector: Collector, started_at: datetime) -> Outcome:
        """Load what `collector` reports and clean up what it no longer does. Raises what the
        collector raises (ConnectorError): the cleanup step is then not run."""
        outcome = Outcome()
        index = LinkIndex()
        for stored in self._links.links(ctx, plan.connector_id):
            index.add(stored)
        pending: list[tuple[Asset, HistoryEvent, Link]] = []
        for found in collector.collect():
            outcome.counts.seen += 1
            asset_id = discovered_asset_id(plan.connector_id, found.external_key)
            link = index.find(asset_id)
            action = decide(Observed(found.external_key, found.content_hash), link)
            if link is not None:
                index.mark_seen(asset_id)
            if action is Action.CREATE:
                pending.append(self._new(ctx, plan, asset_id, found, started_at))
                if len(pending) == CREATE_BATCH:
                    self._links.create(ctx, plan.connector_id, pending)
                    pending = []
            elif action is not Action.UNCHANGED:
                self._apply(ctx, plan, asset_id, found, action, outcome)
                continue
            outcome.counts.count(action)
        if pending:
            self._links.create(ctx, plan.connector_id, pending)
        for problem in collector.problems():
            outcome.error(problem.code, problem.message, problem.scope)
        if index.unseen:
            self._sweep(ctx, plan, index, collector, outcome)
        return outcome

    # ------------------------------------------------------------------ load
    def _new(
        self, ctx: TenantContext, plan: RunPlan, asset_id: str, found: Discovered, now: datetime
    ) -> tuple[Asset, HistoryEvent, Link]:
        discovery = Discovery(
            connector_id=plan.connector_id,
            provider=plan.provider,
            external_key=found.external_key,
            state="present",
            first_seen_at=now,
            run_id=plan.run_id,
        )
        reason = f"discovered by connector {plan.connector_name!r} (run {plan.run_id})"
        asset, event = self._assets.discovered_asset(ctx, asset_id, found.fields, discovery, reason)
        return asset, event, Link(asset_id, found.content_hash[:16], scope=found.scope)

    def _apply(
        self,
        ctx: TenantContext,
        plan: RunPlan,
        asset_id: str,
        found: Discovered,
        action: Action,
        outcome: Outcome,
    ) -> None:
        def observed(asset: Asset, now: datetime) -> tuple[Asset, str, str | None]:
            current = _with_observation(asset, found)
            discovery = _discovery(asset, plan, found.external_key, now).model_copy(
                update={"state": "present", "misses": 0, "run_id": plan.run_id}
            )
            update: dict[str, object] = {"discovery": discovery}
            if action is Action.RESTORE:
                was_retired = asset.discovery is not None and asset.discovery.state == "retired"
                if was_retired and asset.status is Status.RETIRED:
                    update["status"] = Status.DEPLOYED
                return current.model_copy(update=update), "restored", f"seen again by run {plan.run_id}"
            return (
                current.model_copy(update=update),
                "updated",
                f"changed at the provider (run {plan.run_id})",
            )

        try:
            self._assets.reconcile_asset(ctx, asset_id, observed)
        except (DomainError, ValidationError) as error:
            outcome.error(type(error).__name__, f"{found.external_key}: {_reason(error)}", found.scope)
            return
        self._links.save_link(
            ctx, plan.connector_id, Link(asset_id, found.content_hash[:16], scope=found.scope)
        )
        outcome.counts.count(action)

    # ------------------------------------------------------------------ cleanup
    def _sweep(
        self, ctx: TenantContext, plan: RunPlan, index: LinkIndex, collector: Collector, outcome: Outcome
    ) -> None:
        for link in self._links.links(ctx, plan.connector_id):
            if index.was_seen(link.asset_id) is not False or link.retired:
                continue  # seen, new in this run, or retired already
            if collector.was_skipped(link.scope):
                continue
            action = decide_unseen(link, plan.retire_after)
            if action is None:
                continue
            misses = link.misses + 1
            unseen = _unseen_change(plan, action, misses)
            try:
                self._assets.reconcile_asset(ctx, link.asset_id, unseen)
            except (DomainError, ValidationError) as error:
                outcome.error(type(error).__name__, f"asset {link.asset_id}: {_reason(error)}", link.scope)
                continue
            retired = action is Action.RETIRE
            self._links.save_link(
                ctx,
                plan.connector_id,
                Link(link.asset_id, link.content_hash, misses=misses, retired=retired, scope=link.scope),
            )
            outcome.counts.count(action)


def _unseen_change(
    plan: RunPlan, action: Action, misses: int
) -> Callable[[Asset, datetime], tuple[Asset, str, str | None]]:
    """The change a miss makes: discovery state missing (or retired, with the asset's status when
    it is in service and held by no one), with when it was last seen."""

    def unseen(asset: Asset, now: datetime) -> tuple[Asset, str, str | None]:
        before = _discovery(asset, plan, None, now)
        last_seen = before.last_seen_at if before.state != "present" else plan.last_completed_at
        discovery = before.model_copy(
            update={
                "state": "retired" if action is Action.RETIRE else "missing",
                "misses": misses,
                "last_seen_at": last_seen or before.first_seen_at,
                "run_id": plan.run_id,
            }
        )
        update: dict[str, object] = {"discovery": discovery}
        if action is Action.RETIRE:
            reason = f"not seen by {misses} completed runs in a row (run {plan.run_id})"
            if asset.status in RETIRABLE and asset.assigned_to is None:
                update["status"] = Status.RETIRED
                return asset.model_copy(update=update), "transitioned", reason
            return asset.model_copy(update=update), "missing", reason
        reason = f"not seen by run {plan.run_id} (miss {misses} of {plan.retire_after})"
        return asset.model_copy(update=update), "missing", reason

    return unseen


def _discovery(asset: Asset, plan: RunPlan, external_key: str | None, now: datetime) -> Discovery:
    if asset.discovery is not None:
        return asset.discovery
    return Discovery(  # an asset linked before it carried a discovery record
        connector_id=plan.connector_id,
        provider=plan.provider,
        external_key=external_key or "",
        state="present",
        first_seen_at=asset.created_at,
        run_id=plan.run_id,
    )


def _with_observation(asset: Asset, found: Discovered) -> Asset:
    """The asset with the fields the connector keeps replaced by what it reported now. Other
    fields (notes, cost, custom fields of the tenant's own) stay as the tenant set them."""
    data = found.fields
    kept = {k: v for k, v in asset.custom_fields.items() if k not in found.owned_custom_fields}
    update: dict[str, object] = {
        "name": data.name,
        "category": data.category,
        "manufacturer": data.manufacturer,
        "model": data.model,
        "vendor": data.vendor,
        "tags": dict(data.tags),
        "custom_fields": kept | dict(data.custom_fields),
        "saas": data.saas,
    }
    if data.location is not None:
        update["location"] = data.location
    return Asset.model_validate(asset.model_dump() | update)


def _reason(error: Exception) -> str:
    if isinstance(error, DomainError):
        return error.detail
    return str(error).splitlines()[0]
