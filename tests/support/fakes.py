"""In-memory implementations of the ports, for unit tests. Type-checked against the Protocols below."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from itam.assets.book_models import DepreciationProfile
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
from itam.assets.ports import AssetRecord, AssetRepository, DepreciationProfiles
from itam.errors import KeyAlreadyUsed, StaleVersion, WriteConflict
from itam.idempotency import IdempotencyClaim, IdempotencyRecord
from itam.pagination import Page, PageRequest
from itam.ports import Clock, IdGenerator, JobQueue
from itam.tenancy import TenantContext


class IdempotencyKeys:
    """Idempotency-Key bindings per tenant: key digest -> (what it created, request digest, expiry)."""

    def __init__(self) -> None:
        self.keys: dict[tuple[str, str], tuple[str, str, int]] = {}

    def _bind(self, ctx: TenantContext, claim: IdempotencyClaim | None, owner: str, at: datetime) -> None:
        self._check_key(ctx, claim, at)
        self._keep_key(ctx, claim, owner)

    def _check_key(self, ctx: TenantContext, claim: IdempotencyClaim | None, at: datetime) -> None:
        """KeyAlreadyUsed if the claim's key is bound (and its binding has not expired at `at`): the
        first condition of the adapters' transactions, so it wins over the others."""
        if claim is None:
            return
        bound = self.keys.get((ctx.tenant_id, claim.key_digest))
        if bound is not None and bound[2] >= int(at.timestamp()):
            raise KeyAlreadyUsed()

    def _keep_key(self, ctx: TenantContext, claim: IdempotencyClaim | None, owner: str) -> None:
        """Bind the claim's key to `owner`, once the write it came with has succeeded."""
        if claim is not None:
            self.keys[(ctx.tenant_id, claim.key_digest)] = (owner, claim.request_digest, claim.expires_at)

    def idempotency_record(self, ctx: TenantContext, key_digest: str, now: int) -> IdempotencyRecord | None:
        bound = self.keys.get((ctx.tenant_id, key_digest))
        if bound is None or bound[2] < now:
            return None
        return IdempotencyRecord(resource_id=bound[0], request_digest=bound[1])


class FakeAssetRepository(IdempotencyKeys):
    """Keeps assets per tenant in dicts. `fail_updates` makes the next N updates lose a race (stale
    version); `conflicts` makes the next N writes meet another transaction in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.assets: dict[tuple[str, str], Asset] = {}
        self.events: dict[tuple[str, str], list[HistoryEvent]] = {}
        self.records: dict[tuple[str, str], list[AssetRecord]] = {}
        # Release records of assets that left service (the licensing fake reads and completes them).
        self.releases: dict[tuple[str, str], ReleaseRecord] = {}
        self.fail_updates = 0
        self.conflicts = 0
        self.update_calls = 0

    def _maybe_conflict(self) -> None:
        if self.conflicts > 0:
            self.conflicts -= 1
            raise WriteConflict()

    def create(
        self,
        ctx: TenantContext,
        asset: Asset,
        event: HistoryEvent,
        records: Sequence[AssetRecord],
        claim: IdempotencyClaim | None = None,
    ) -> None:
        self._maybe_conflict()
        self._bind(ctx, claim, asset.id, event.at)
        self._check_unique(ctx, asset)
        key = (ctx.tenant_id, asset.id)
        self.assets[key] = asset
        self.events[key] = [event]
        self.records[key] = list(records)

    def maintenance_record(self, ctx: TenantContext, asset_id: str, record_id: str) -> Maintenance | None:
        records = self.records.get((ctx.tenant_id, asset_id), [])
        return next((r for r in records if isinstance(r, Maintenance) and r.id == record_id), None)

    def get(self, ctx: TenantContext, asset_id: str) -> Asset | None:
        return self.assets.get((ctx.tenant_id, asset_id))

    def get_many(self, ctx: TenantContext, asset_ids: Sequence[str]) -> list[Asset]:
        found = (self.assets.get((ctx.tenant_id, asset_id)) for asset_id in dict.fromkeys(asset_ids))
        return [asset for asset in found if asset is not None]

    def list(self, ctx: TenantContext, filters: AssetFilter, page: PageRequest) -> Page[Asset]:
        items = [a for (t, _), a in self.assets.items() if t == ctx.tenant_id and filters.matches(a)]
        return Page(items=sorted(items, key=lambda a: a.id, reverse=True)[: page.limit])

    def update(
        self,
        ctx: TenantContext,
        previous: Asset,
        current: Asset,
        event: HistoryEvent,
        records: Sequence[AssetRecord],
        claim: IdempotencyClaim | None = None,
    ) -> None:
        self.update_calls += 1
        self._maybe_conflict()
        if records:
            self._bind(ctx, claim, records[0].id, event.at)
        key = (ctx.tenant_id, previous.id)
        if self.fail_updates > 0:
            self.fail_updates -= 1
            raise StaleVersion()
        if self.assets[key].version != previous.version:
            raise StaleVersion()
        self._check_unique(ctx, current)
        self.assets[key] = current
        self.events[key].append(event)
        for record in records:
            if isinstance(record, ReleaseRecord):
                self.releases[key] = record
            else:
                self.records[key].append(record)

    def history(self, ctx: TenantContext, asset_id: str, page: PageRequest) -> Page[HistoryEvent]:
        return Page(items=self.events.get((ctx.tenant_id, asset_id), [])[: page.limit])

    def maintenance(self, ctx: TenantContext, asset_id: str, page: PageRequest) -> Page[Maintenance]:
        records = self.records.get((ctx.tenant_id, asset_id), [])
        return Page(items=[r for r in records if isinstance(r, Maintenance)][: page.limit])

    def assignments(self, ctx: TenantContext, asset_id: str, page: PageRequest) -> Page[Assignment]:
        records = self.records.get((ctx.tenant_id, asset_id), [])
        opened = {r.id: r for r in records if isinstance(r, Assignment)}
        for r in records:
            if isinstance(r, AssignmentReturn):
                opened[r.id] = opened[r.id].model_copy(update=r.model_dump(exclude={"id", "asset_id"}))
        return Page(items=list(opened.values())[: page.limit])

    def _check_unique(self, ctx: TenantContext, asset: Asset) -> None:
        for field in ("asset_tag", "serial_number"):
            value = getattr(asset, field)
            for (tenant, other_id), other in self.assets.items():
                taken = getattr(other, field)
                same = bool(value and taken and taken.casefold() == value.casefold())
                if same and tenant == ctx.tenant_id and other_id != asset.id:
                    raise DuplicateValue(field, value)


class FixedClock:
    """A clock that advances one second per reading."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 27, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        self.current += timedelta(seconds=1)
        return self.current


class SequentialIds:
    def __init__(self) -> None:
        self.counter = 0

    def new_id(self) -> str:
        self.counter += 1
        return f"{self.counter:032x}"


# The fakes must satisfy the ports: mypy checks these assignments.
_repository: AssetRepository = FakeAssetRepository()
_clock: Clock = FixedClock()
_ids: IdGenerator = SequentialIds()


class Versioned(Protocol):
    """A stored document with an optimistic-locking version."""

    @property
    def version(self) -> int: ...


V = TypeVar("V", bound=Versioned)


def save_versioned(
    store: dict[tuple[str, str], V], key: tuple[str, str], item: V, expected: int | None
) -> None:
    """Store `item` as a versioned adapter does: a create (no `expected`) only where nothing is, an
    update only over the version read; StaleVersion otherwise."""
    stored = store.get(key)
    stale = stored is not None if expected is None else stored is None or stored.version != expected
    if stale:
        raise StaleVersion()
    store[key] = item


class FakeDepreciationProfiles:
    """Profiles per tenant and folded category, listed in folded-category order."""

    def __init__(self) -> None:
        self.profiles: dict[tuple[str, str], DepreciationProfile] = {}

    @staticmethod
    def _key(ctx: TenantContext, category: str) -> tuple[str, str]:
        return ctx.tenant_id, unicodedata.normalize("NFKC", category).strip().casefold()

    def get_profile(self, ctx: TenantContext, category: str) -> DepreciationProfile | None:
        return self.profiles.get(self._key(ctx, category))

    def put_profile(
        self, ctx: TenantContext, profile: DepreciationProfile, expected_version: int | None
    ) -> None:
        save_versioned(self.profiles, self._key(ctx, profile.category), profile, expected_version)

    def delete_profile(self, ctx: TenantContext, category: str, expected_version: int) -> None:
        stored = self.profiles.get(self._key(ctx, category))
        if stored is None or stored.version != expected_version:
            raise StaleVersion()
        del self.profiles[self._key(ctx, category)]

    def list_profiles(self, ctx: TenantContext, page: PageRequest) -> Page[DepreciationProfile]:
        mine = sorted((k[1], p) for k, p in self.profiles.items() if k[0] == ctx.tenant_id)
        return Page(items=[p for _, p in mine[: page.limit]])  # one page, as the other fakes


_profiles: DepreciationProfiles = FakeDepreciationProfiles()


class RecordingQueue:
    """A job queue that keeps what was sent (`sent`, and each call's messages in `batches`);
    `refuse` makes send_batch hand back that many messages as not taken."""

    def __init__(self, refuse: int = 0) -> None:
        self.sent: list[Mapping[str, Any]] = []
        self.batches: list[list[Mapping[str, Any]]] = []
        self._refuse = refuse

    def send(self, message: Mapping[str, Any]) -> None:
        self.sent.append(message)
        self.batches.append([message])

    def send_batch(self, messages: Sequence[Mapping[str, Any]]) -> list[str]:
        refused, self._refuse = min(self._refuse, len(messages)), max(0, self._refuse - len(messages))
        self.sent.extend(messages[refused:])
        self.batches.append(list(messages))
        return [str(m) for m in messages[:refused]]


_queue: JobQueue = RecordingQueue()
