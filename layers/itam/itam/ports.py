"""Ports: what the services need from the outside world, as Protocols. Adapters implement them."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from itam.assets.models import Asset, AssetFilter, Assignment, AssignmentReturn, HistoryEvent, Maintenance
from itam.errors import IdempotencyKeyReused
from itam.pagination import Page, PageRequest
from itam.tenancy import TenantContext

# Records written beside an asset change, in the same transaction.
AssetRecord = Assignment | AssignmentReturn | Maintenance


# How long an Idempotency-Key stays bound to what it created.
IDEMPOTENCY_TTL = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """What an Idempotency-Key is bound to."""

    resource_id: str
    request_digest: str


@dataclass(frozen=True, slots=True)
class IdempotencyClaim:
    """A client's Idempotency-Key for one create: digests of the key and of the request, and the
    time (epoch seconds) until which the key stays bound to what it created."""

    key_digest: str
    request_digest: str
    expires_at: int

    @classmethod
    def of(cls, key: str, fingerprint: str, now: datetime) -> IdempotencyClaim:
        """The claim of `key` for the request `fingerprint` describes, bound for IDEMPOTENCY_TTL."""
        return cls(_digest(key), _digest(fingerprint), int((now + IDEMPOTENCY_TTL).timestamp()))

    def replayed(self, record: IdempotencyRecord | None) -> str:
        """The id of what the key's first request created, when `record` (what the key is bound to)
        shows this request is that one again; IdempotencyKeyReused when the key is bound to another
        request (or its binding expired just now, which a retry with a new key resolves)."""
        if record is None or record.request_digest != self.request_digest:
            raise IdempotencyKeyReused()
        return record.resource_id


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class AssetRepository(Protocol):
    """Persistence of assets, their history and their side records for one tenant at a time."""

    def create(
        self,
        ctx: TenantContext,
        asset: Asset,
        event: HistoryEvent,
        records: Sequence[AssetRecord],
        claim: IdempotencyClaim | None = None,
    ) -> None:
        """Store a new asset with its first history event (and bind `claim` to it); raise
        KeyAlreadyUsed if the claim's key is bound already, DuplicateValue on a taken tag/serial."""

    def idempotency_record(self, ctx: TenantContext, key_digest: str, now: int) -> IdempotencyRecord | None:
        """What the key is bound to, unless nothing is or the binding expired before `now`."""

    def get(self, ctx: TenantContext, asset_id: str) -> Asset | None:
        """The asset, or None when it does not exist for this tenant."""

    def get_many(self, ctx: TenantContext, asset_ids: Sequence[str]) -> list[Asset]:
        """Those of the assets that exist for this tenant, in the order asked (one BatchGetItem per
        100 ids)."""

    def list(self, ctx: TenantContext, filters: AssetFilter, page: PageRequest) -> Page[Asset]:
        """One page of the tenant's assets matching `filters` (one Query)."""

    def update(
        self,
        ctx: TenantContext,
        previous: Asset,
        current: Asset,
        event: HistoryEvent,
        records: Sequence[AssetRecord],
        claim: IdempotencyClaim | None = None,
    ) -> None:
        """Replace `previous` by `current` if `previous.version` is still stored, else raise StaleVersion
        (and bind `claim` to the first record; KeyAlreadyUsed if its key is bound already)."""

    def history(self, ctx: TenantContext, asset_id: str, page: PageRequest) -> Page[HistoryEvent]:
        """The asset's history events, oldest first."""

    def maintenance(self, ctx: TenantContext, asset_id: str, page: PageRequest) -> Page[Maintenance]:
        """The asset's maintenance records, oldest first."""

    def maintenance_record(self, ctx: TenantContext, asset_id: str, record_id: str) -> Maintenance | None:
        """One maintenance record of the asset, or None."""

    def assignments(self, ctx: TenantContext, asset_id: str, page: PageRequest) -> Page[Assignment]:
        """The asset's check-outs, oldest first."""


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""


class IdGenerator(Protocol):
    def new_id(self) -> str:
        """A new unique, opaque id."""


class SecretStore(Protocol):
    """Named secrets (JSON objects): webhook signing secrets, connector credentials."""

    def create(self, name: str, value: Mapping[str, Any]) -> None: ...
    def put(self, name: str, value: Mapping[str, Any]) -> None: ...
    def read(self, name: str, fresh: bool = False) -> dict[str, Any]: ...
    def delete(self, name: str) -> None: ...
