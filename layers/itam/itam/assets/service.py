"""Use cases of the asset register. Every write is one conditional transaction with its history event."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from itam.assets.errors import AssetNotFound, KindHoldsInstallations
from itam.assets.lifecycle import OUT_OF_SERVICE, check_transition, end_reason
from itam.assets.models import (
    HOLDS_INSTALLATIONS,
    Actor,
    Asset,
    AssetCreate,
    AssetFilter,
    AssetPatch,
    Assignment,
    AssignmentReturn,
    CheckinRequest,
    CheckoutRequest,
    Discovery,
    DisposalRecord,
    FieldChange,
    HistoryEvent,
    Holdings,
    Maintenance,
    MaintenanceCreate,
    Released,
    ReleaseRecord,
    Status,
    TransitionedAsset,
    TransitionRequest,
    discovered_asset_id,
)
from itam.assets.ports import AssetHoldings, AssetRecord, AssetRepository
from itam.clock import ID_PATTERN, SystemClock, TimeOrderedIds
from itam.errors import (
    ConcurrentModification,
    IdempotencyKeyReused,
    InvalidCursor,
    InvalidInput,
    InvalidState,
    KeyAlreadyUsed,
    PreconditionFailed,
    PreconditionRequired,
    StaleVersion,
    WriteConflict,
)
from itam.etags import etag_matches
from itam.idempotency import IdempotencyClaim
from itam.pagination import Page, PageRequest
from itam.ports import Clock, EventPublisher, IdGenerator
from itam.retry import back_off
from itam.tenancy import Permission, TenantContext

if TYPE_CHECKING:  # built by the first disposal
    from itam.assets.books import Books

# Bookkeeping fields: the history event itself carries the asset id, version, time and actor.
_NOT_DIFFED = frozenset({"id", "version", "created_at", "created_by", "updated_at", "updated_by"})
# Map-valued fields diffed key by key, so history says `tags.owner` rather than the whole map.
_DIFFED_BY_KEY = ("tags", "custom_fields")
# Statuses in which an asset can be held by someone.
HOLDABLE = frozenset({"deployed", "in_maintenance"})
# Changes that write nothing when they change no field.
_SILENT_WHEN_UNCHANGED = frozenset({"updated", "missing", "restored"})
TRANSITIONED = "asset.transitioned"

logger = logging.getLogger(__name__)


@dataclass
class _Change:
    """What a mutation produces: the new asset state and what goes into history beside it."""

    asset: Asset
    type: str
    reason: str | None = None
    records: list[AssetRecord] = field(default_factory=list)
    ref: str | None = None
    # A move out of service: what the asset held when it was read (in the history event), and what
    # the release after the write ended.
    held: Holdings | None = None
    released: Released | None = None


class AssetService:
    """The asset register's use cases for one repository."""

    def __init__(
        self,
        repository: AssetRepository,
        clock: Clock | None = None,
        ids: IdGenerator | None = None,
        max_attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        connector_ids: Callable[[TenantContext], Iterable[str]] | None = None,
        holdings: Callable[[], AssetHoldings] | None = None,
        publisher: EventPublisher | None = None,
        books: Callable[[], Books] | None = None,
    ) -> None:
        """`holdings` gives licensing's side of an asset (built on first use: only a move out of
        service or a change of kind needs it); `publisher` takes the `asset.transitioned` events;
        `books` values a disposal against the asset's book value (built by the first disposal)."""
        self._repo = repository
        self._books = books
        self._connector_ids = connector_ids or (lambda ctx: ())
        self._holdings = holdings
        self._publisher = publisher
        self._clock = clock or SystemClock()
        self._ids = ids or TimeOrderedIds()
        self._max_attempts = max_attempts
        self._sleep = sleep

    @property
    def repository(self) -> AssetRepository:
        return self._repo

    # ------------------------------------------------------------------ reads
    def get_asset(self, ctx: TenantContext, asset_id: str) -> Asset:
        """The asset, or AssetNotFound (also for another tenant's id)."""
        ctx.require(Permission.READ)
        return self._load(ctx, asset_id)

    def list_assets(
        self, ctx: TenantContext, filters: AssetFilter, page: PageRequest, external_key: str | None = None
    ) -> Page[Asset]:
        """One page of the tenant's assets matching every filter.

        With `external_key` (a provider's key for a resource: an ARN, a SaaS product key), the assets
        the inventory connectors keep for that resource instead — at most one per connector, so all
        of them in one page. Their ids follow from connector and key, so this reads the tenant's
        connector ids (or takes `filters.connector_id`) and then the candidates in one batch; no
        listing is walked.
        """
        ctx.require(Permission.READ)
        if external_key is None:
            return self._repo.list(ctx, filters, page)
        if page.cursor is not None:
            raise InvalidCursor()  # a lookup answers in one page and issues none
        connectors = [filters.connector_id] if filters.connector_id else list(self._connector_ids(ctx))
        candidates = self._repo.get_many(ctx, [discovered_asset_id(c, external_key) for c in connectors])
        return Page(
            items=[
                asset
                for asset in candidates
                if asset.discovery is not None
                and asset.discovery.external_key == external_key
                and filters.matches(asset)
            ]
        )

    def asset_history(self, ctx: TenantContext, asset_id: str, page: PageRequest) -> Page[HistoryEvent]:
        """The asset's immutable change events, oldest first."""
        ctx.require(Permission.READ_HISTORY)
        self._load(ctx, asset_id)
        return self._repo.history(ctx, asset_id, page)

    def list_maintenance(self, ctx: TenantContext, asset_id: str, page: PageRequest) -> Page[Maintenance]:
        """The asset's maintenance records, oldest first."""
        ctx.require(Permission.READ)
        self._load(ctx, asset_id)
        return self._repo.maintenance(ctx, asset_id, page)

    def list_assignments(self, ctx: TenantContext, asset_id: str, page: PageRequest) -> Page[Assignment]:
        """The asset's check-outs and check-ins, oldest first."""
        ctx.require(Permission.READ)
        self._load(ctx, asset_id)
        return self._repo.assignments(ctx, asset_id, page)

    # ------------------------------------------------------------------ writes
    def register_asset(
        self,
        ctx: TenantContext,
        data: AssetCreate,
        idempotency_key: str | None = None,
        asset_id: str | None = None,
        reason: str | None = None,
    ) -> Asset:
        """Create an asset (and its first history event, and its assignment if it has an assignee).

        With an Idempotency-Key, the same request sent again gets the asset the first one created,
        and the same key with a different request is refused, for IDEMPOTENCY_TTL after the first.
        With an `asset_id` chosen by the caller (a unit of a purchase order), an asset that exists
        already is returned as it is: the create happens once. `reason` goes into the history.
        """
        ctx.require(Permission.WRITE)
        if data.assigned_to is not None and data.status not in HOLDABLE:
            raise InvalidInput(
                "an asset registered with an assignee must be deployed or in_maintenance", "assigned_to"
            )
        now = self._clock.now()
        asset = Asset(
            **data.model_dump(),
            id=asset_id or self._ids.new_id(),
            version=1,
            created_at=now,
            updated_at=now,
            created_by=ctx.user_id,
            updated_by=ctx.user_id,
        )
        asset = in_service(asset, now)
        records: list[AssetRecord] = []
        if asset.assigned_to is not None:
            assignment = self._open_assignment(ctx, asset, asset.assigned_to, asset.location, None, None, now)
            asset = asset.model_copy(update={"assignment_id": assignment.id})
            records.append(assignment)
        event = self._event(ctx, asset, "created", diff(None, asset), now, reason)
        claim = None
        if idempotency_key is not None:
            claim = IdempotencyClaim.of(idempotency_key, f"asset|{data.model_dump_json()}", now)
        for attempt in range(self._max_attempts):
            try:
                self._repo.create(ctx, asset, event, records, claim)
                return asset
            except KeyAlreadyUsed:
                assert claim is not None
                return self._load(ctx, self._replayed(ctx, claim))
            except StaleVersion:
                if asset_id is None:
                    raise
                return self._load(ctx, asset_id)  # created before, by an earlier delivery
            except WriteConflict:
                back_off(attempt, self._sleep)
        raise ConcurrentModification("the register was too busy to take this asset; retry")

    def update_asset(
        self,
        ctx: TenantContext,
        asset_id: str,
        patch: AssetPatch,
        if_match: str | None,
        reason: str | None = None,
    ) -> Asset:
        """Apply a merge patch to an asset whose current ETag is `if_match`; a patch that changes
        nothing writes nothing. `reason` goes into the history."""
        ctx.require(Permission.WRITE)
        if if_match is None:
            raise PreconditionRequired()

        def apply(asset: Asset, now: datetime) -> _Change:
            merged = merge_patch(asset, patch)
            self._check_kind(ctx, asset, merged)
            return _Change(merged, "updated", reason)

        return self._mutate(ctx, asset_id, if_match, apply).asset

    def transition_asset(
        self, ctx: TenantContext, asset_id: str, request: TransitionRequest, if_match: str | None = None
    ) -> TransitionedAsset:
        """Move an asset along the lifecycle state machine. A move out of service (retired, disposed,
        cancelled) releases the license seats the asset holds and stops counting its installations,
        and the answer says what it released."""

        def apply(asset: Asset, now: datetime) -> _Change:
            check_transition(asset.status, request.to)
            if request.to is Status.DISPOSED and request.disposal is None:
                raise InvalidInput("disposing of an asset needs `disposal` (method and date)", "disposal")
            if request.to is not Status.DISPOSED and request.disposal is not None:
                raise InvalidInput("`disposal` is only accepted with to=disposed", "disposal")
            if request.to in (Status.IN_STOCK, Status.RETIRED) and asset.assigned_to is not None:
                raise InvalidState(
                    f"asset is checked out to {asset.assigned_to}; check it in before moving it to "
                    f"{request.to}"
                )
            update: dict[str, Any] = {"status": request.to}
            if request.disposal is not None:
                update["disposal"] = (
                    self._books().disposal_record(ctx, asset, request.disposal)
                    if self._books is not None
                    else DisposalRecord(**request.disposal.model_dump())
                )
            return _Change(asset.model_copy(update=update), "transitioned", request.reason)

        change = self._mutate(ctx, asset_id, if_match, apply)
        return TransitionedAsset.model_validate({**change.asset.model_dump(), "released": change.released})

    def checkout_asset(
        self, ctx: TenantContext, asset_id: str, request: CheckoutRequest, if_match: str | None = None
    ) -> Asset:
        """Assign an in-stock (or deployed, unassigned) asset to someone; it becomes deployed."""

        def apply(asset: Asset, now: datetime) -> _Change:
            if asset.assigned_to is not None:
                raise InvalidState(f"asset is already checked out to {asset.assigned_to}; check it in first")
            if asset.status not in (Status.IN_STOCK, Status.DEPLOYED):
                raise InvalidState(
                    f"only in_stock or deployed assets can be checked out; this one is {asset.status}"
                )
            location = request.location or asset.location
            assignment = self._open_assignment(
                ctx, asset, request.assignee, location, request.expected_return, request.note, now
            )
            changed = asset.model_copy(
                update={
                    "status": Status.DEPLOYED,
                    "assigned_to": request.assignee,
                    "location": location,
                    "expected_return": request.expected_return,
                    "assignment_id": assignment.id,
                }
            )
            return _Change(changed, "checked_out", request.note, [assignment], assignment.id)

        return self._mutate(ctx, asset_id, if_match, apply).asset

    def checkin_asset(
        self, ctx: TenantContext, asset_id: str, request: CheckinRequest, if_match: str | None = None
    ) -> Asset:
        """Return a checked-out asset to stock and close its assignment."""

        def apply(asset: Asset, now: datetime) -> _Change:
            if asset.assigned_to is None or asset.assignment_id is None:
                raise InvalidState("asset is not checked out")
            update: dict[str, Any] = {
                "assigned_to": None,
                "expected_return": None,
                "assignment_id": None,
                "location": request.location or asset.location,
            }
            if request.condition is not None:
                update["condition"] = request.condition
            if asset.status is Status.DEPLOYED:
                update["status"] = Status.IN_STOCK
            closed = AssignmentReturn(
                id=asset.assignment_id,
                asset_id=asset.id,
                returned_at=now,
                returned_by=ctx.user_id,
                return_note=request.note,
                return_condition=request.condition,
            )
            return _Change(asset.model_copy(update=update), "checked_in", request.note, [closed], closed.id)

        return self._mutate(ctx, asset_id, if_match, apply).asset

    def log_maintenance(
        self,
        ctx: TenantContext,
        asset_id: str,
        request: MaintenanceCreate,
        if_match: str | None = None,
        idempotency_key: str | None = None,
    ) -> Maintenance:
        """Record a repair, upgrade, replacement or inspection of an asset (not of a disposed one).

        With an Idempotency-Key, the same request sent again gets the record the first one logged.
        """
        record_id = self._ids.new_id()
        claim = None
        if idempotency_key is not None:
            fingerprint = f"maintenance|{asset_id}|{request.model_dump_json()}"
            claim = IdempotencyClaim.of(idempotency_key, fingerprint, self._clock.now())

        def apply(asset: Asset, now: datetime) -> _Change:
            if asset.status is Status.DISPOSED:
                raise InvalidState("a disposed asset takes no more maintenance")
            record = Maintenance(
                **request.model_dump(),
                id=record_id,
                asset_id=asset.id,
                created_at=now,
                created_by=ctx.user_id,
            )
            return _Change(asset, "maintenance_logged", request.title, [record], record.id)

        try:
            [record] = self._mutate(ctx, asset_id, if_match, apply, claim).records
        except KeyAlreadyUsed:
            assert claim is not None
            return self._logged_before(ctx, asset_id, claim)
        except PreconditionFailed:
            # A retry that still carries the If-Match of before its first success.
            if claim is None or self._repo.idempotency_record(ctx, claim.key_digest, 0) is None:
                raise
            return self._logged_before(ctx, asset_id, claim)
        assert isinstance(record, Maintenance)
        return record

    def _logged_before(self, ctx: TenantContext, asset_id: str, claim: IdempotencyClaim) -> Maintenance:
        logged = self._repo.maintenance_record(ctx, asset_id, self._replayed(ctx, claim))
        if logged is None:  # the key was first used on another asset
            raise IdempotencyKeyReused()
        return logged

    # ------------------------------------------------------------------ internals
    # ------------------------------------------------------------------ inventory sync
    def discovered_asset(
        self, ctx: TenantContext, asset_id: str, data: AssetCreate, discovery: Discovery, reason: str
    ) -> tuple[Asset, HistoryEvent]:
        """A new asset that a connector found, and its first history event, for the caller to
        write (in batches: its id is derived from the external key, so a write repeated after an
        interruption puts the same items again)."""
        ctx.require(Permission.WRITE)
        now = self._clock.now()
        asset = Asset(
            **data.model_dump(),
            id=asset_id,
            version=1,
            created_at=now,
            updated_at=now,
            created_by=ctx.user_id,
            updated_by=ctx.user_id,
            discovery=discovery,
        )
        asset = in_service(asset, now)
        return asset, self._event(ctx, asset, "created", diff(None, asset), now, reason)

    def reconcile_asset(
        self,
        ctx: TenantContext,
        asset_id: str,
        apply: Callable[[Asset, datetime], tuple[Asset, str, str | None]],
    ) -> Asset:
        """Apply what a sync run decided (`apply` gives the new state, the history event's type and
        its reason), on condition of the version read; retried from a fresh read on a race."""

        def change(asset: Asset, now: datetime) -> _Change:
            current, type_, reason = apply(asset, now)
            return _Change(current, type_, reason)

        return self._mutate(ctx, asset_id, None, change).asset

    def _load(self, ctx: TenantContext, asset_id: str) -> Asset:
        if not ID_PATTERN.fullmatch(asset_id):
            raise AssetNotFound(asset_id)
        asset = self._repo.get(ctx, asset_id)
        if asset is None:
            raise AssetNotFound(asset_id)
        return asset

    def _mutate(
        self,
        ctx: TenantContext,
        asset_id: str,
        if_match: str | None,
        apply: Callable[[Asset, datetime], _Change],
        claim: IdempotencyClaim | None = None,
    ) -> _Change:
        """Read, apply, write on condition of the version read.

        A write that lost a race is retried from a fresh read, unless If-Match pinned the version it
        was based on (then 412). A write that met another transaction in flight is retried after a
        short, jittered pause; the fresh read then decides whether If-Match still holds.
        """
        ctx.require(Permission.WRITE)
        pinned = if_match is not None and if_match.strip() != "*"
        for attempt in range(self._max_attempts):
            previous = self._load(ctx, asset_id)
            if if_match is not None and not etag_matches(if_match, previous.version):
                raise PreconditionFailed()
            now = self._clock.now()
            change = apply(previous, now)
            change.asset = in_service(change.asset, now, previous)
            changes = diff(previous, change.asset)
            if change.type in _SILENT_WHEN_UNCHANGED and not changes:
                change.asset = previous  # nothing to write: the version and ETag stay
                return change
            current = change.asset.model_copy(
                update={"version": previous.version + 1, "updated_at": now, "updated_by": ctx.user_id}
            )
            leaving = self._leaves_service(previous, current)
            if leaving is not None:
                # Said in the history event; the release record, written with the move, keeps the
                # asset's seats and installations out of positions until the release below is done.
                change.held = leaving.held_by(ctx, asset_id, end_reason(current.status))
                record = ReleaseRecord(asset_id=asset_id, reason=change.held.reason, at=now, by=ctx.user_id)
                change.records.append(record)
            event = self._event(
                ctx, current, change.type, changes, now, change.reason, change.ref, change.held
            )
            try:
                self._repo.update(ctx, previous, current, event, change.records, claim)
            except StaleVersion:
                if pinned:
                    raise PreconditionFailed() from None
                continue
            except WriteConflict:
                back_off(attempt, self._sleep)
                continue
            change.asset = current
            if leaving is not None and change.held is not None:
                [record] = [r for r in change.records if isinstance(r, ReleaseRecord)]
                change.released = self._release(ctx, leaving, record, change.held)
            if change.type == "transitioned":
                self._publish_transition(ctx, previous, current, change.released)
            return change
        raise ConcurrentModification("the asset kept changing while this request was applied; retry")

    def _leaves_service(self, previous: Asset, current: Asset) -> AssetHoldings | None:
        """Licensing's side of the asset, when this change moves it out of service (or on to another
        state out of service, which finishes a release that stopped part-way)."""
        if self._holdings is None or current.status not in OUT_OF_SERVICE:
            return None
        return self._holdings() if current.status is not previous.status else None

    def _release(
        self, ctx: TenantContext, holdings: AssetHoldings, record: ReleaseRecord, held: Holdings
    ) -> Released:
        """Release what the asset held, now that its move is written. The move stands whatever
        happens here: a release that fails stays pending (positions leave it out already) and is
        finished by the next seat assignment on a full license, by a later move, or by the audit."""
        try:
            return holdings.release(ctx, record)
        except Exception:
            logger.exception("asset holdings left pending", extra={"asset_id": record.asset_id})
            return Released(**held.model_dump(), complete=False)

    def _publish_transition(
        self, ctx: TenantContext, previous: Asset, current: Asset, released: Released | None
    ) -> None:
        """Publish `asset.transitioned`. The write is what counts: an event the bus refuses is
        logged, not raised."""
        if self._publisher is None:
            return
        detail = {
            "tenant_id": ctx.tenant_id,
            "from": previous.status.value,
            "to": current.status.value,
            "asset": json.loads(current.model_dump_json()),
            "released": json.loads(released.model_dump_json()) if released is not None else None,
        }
        try:
            self._publisher.publish(TRANSITIONED, [detail])
        except Exception:
            logger.exception("asset event not published", extra={"asset_id": current.id})

    def _check_kind(self, ctx: TenantContext, before: Asset, after: Asset) -> None:
        """Refuse a change of kind to one software is not installed on while installations count."""
        if after.kind is before.kind or after.kind in HOLDS_INSTALLATIONS:
            return
        if before.kind not in HOLDS_INSTALLATIONS or self._holdings is None:
            return
        count = self._holdings().counted_installations(ctx, before.id)
        if count:
            raise KindHoldsInstallations(after.kind, count)

    def _replayed(self, ctx: TenantContext, claim: IdempotencyClaim) -> str:
        """The id of what a claimed Idempotency-Key created, if this request is the same as the first."""
        return claim.replayed(
            self._repo.idempotency_record(ctx, claim.key_digest, int(self._clock.now().timestamp()))
        )

    def _open_assignment(
        self,
        ctx: TenantContext,
        asset: Asset,
        assignee: str,
        location: str | None,
        expected_return: Any,
        note: str | None,
        now: datetime,
    ) -> Assignment:
        return Assignment(
            id=self._ids.new_id(),
            asset_id=asset.id,
            assignee=assignee,
            location=location,
            expected_return=expected_return,
            checked_out_at=now,
            checked_out_by=ctx.user_id,
            note=note,
        )

    @staticmethod
    def _event(
        ctx: TenantContext,
        asset: Asset,
        type_: str,
        changes: list[FieldChange],
        now: datetime,
        reason: str | None = None,
        ref: str | None = None,
        released: Holdings | None = None,
    ) -> HistoryEvent:
        return HistoryEvent.model_validate(
            {
                "asset_id": asset.id,
                "version": asset.version,
                "type": type_,
                "at": now,
                "actor": Actor(user_id=ctx.user_id, username=ctx.username),
                "changes": changes,
                "reason": reason,
                "ref": ref,
                "released": released,
            }
        )


def merge_patch(asset: Asset, patch: AssetPatch) -> Asset:
    """Apply an RFC 7396-style merge patch: present fields replace, null clears, maps merge by key."""
    update: dict[str, Any] = {}
    for name in patch.model_fields_set:
        value = getattr(patch, name)
        if name in _DIFFED_BY_KEY and value is None:
            update[name] = {}
        elif name in _DIFFED_BY_KEY:
            merged = dict(getattr(asset, name))
            for key, item in value.items():
                if item is None:
                    merged.pop(key, None)
                else:
                    merged[key] = item
            update[name] = merged
        else:
            update[name] = value
    merged_asset = asset.model_copy(update=update)
    # Re-validate the whole asset so cross-field rules (warranty after purchase) hold after the merge.
    try:
        return Asset.model_validate(merged_asset.model_dump())
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise InvalidInput(first["msg"].removeprefix("Value error, "), field or None) from exc


def diff(before: Asset | None, after: Asset) -> list[FieldChange]:
    """Field-level changes between two states of an asset (map fields key by key)."""
    old = before.model_dump(mode="json") if before is not None else {}
    new = after.model_dump(mode="json")
    changes: list[FieldChange] = []
    for name in new:
        if name in _NOT_DIFFED:
            continue
        if name in _DIFFED_BY_KEY:
            old_map, new_map = old.get(name) or {}, new.get(name) or {}
            for key in sorted(set(old_map) | set(new_map)):
                if not _same(old_map.get(key), new_map.get(key)):
                    changes.append(
                        FieldChange(field=f"{name}.{key}", old=old_map.get(key), new=new_map.get(key))
                    )
        elif not _same(old.get(name), new.get(name)):
            changes.append(FieldChange(field=name, old=old.get(name), new=new.get(name)))
    return changes


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON: 1, 1.0 and true are three different values of a custom field."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def in_service(asset: Asset, now: datetime, previous: Asset | None = None) -> Asset:
    """An asset deployed (created so, or moved there from `previous`) without an in-service date gets
    today's: its first deployment."""
    moved = previous is None or previous.status is not Status.DEPLOYED
    if moved and asset.status is Status.DEPLOYED and asset.in_service_date is None:
        return asset.model_copy(update={"in_service_date": now.date()})
    return asset
