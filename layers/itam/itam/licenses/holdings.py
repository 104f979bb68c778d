"""What an asset holds in licensing — the seats assigned to it and the installations that count on it —
and their release when the asset goes out of service (retired, disposed of, cancelled).

The move out of service is written first, with a release record in the same transaction; the release
follows in the same request and marks the record done. Every step is idempotent (a released seat or an
ended installation is skipped), so a release that stopped part-way is finished by running it again:
by a later move of the asset, by the next seat assignment on a full license, or by the daily audit.
Positions leave the asset's seats and installations out while its release is pending, and for
SETTLE after it is done, while the indexes they are read from catch up with the release.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from itam.assets.lifecycle import OUT_OF_SERVICE
from itam.assets.models import EndedInstallation, EndReason, Holdings, Released, ReleasedSeat, ReleaseRecord
from itam.assets.ports import AssetRepository
from itam.clock import SystemClock
from itam.errors import ConcurrentModification, StaleVersion, WriteConflict
from itam.licenses.models import Installation, Seat
from itam.licenses.ports import LicenseRepository
from itam.ports import Clock
from itam.tenancy import TenantContext

RepositoryFor = Callable[[TenantContext], LicenseRepository]
# How long after its release an asset stays out of positions: DynamoDB's indexes (the installations
# positions stream from, the release records) follow a write within a second or so, normally.
SETTLE = timedelta(minutes=5)
# How long a release record stays once done (the table's TTL then takes it).
KEEP_DONE = timedelta(days=1)


class LicenseHoldings:
    """The asset register's AssetHoldings port, on the license repository."""

    def __init__(
        self,
        repository_for: RepositoryFor,
        assets: AssetRepository | None = None,
        clock: Clock | None = None,
        max_attempts: int = 3,
    ) -> None:
        """`assets` lets pending releases be checked against the asset's state before they are
        finished (an asset the inventory sync brought back into service keeps what it holds)."""
        self._repo_for = repository_for
        self._assets = assets
        self._clock = clock or SystemClock()
        self._max_attempts = max_attempts

    def held_by(self, ctx: TenantContext, asset_id: str, reason: EndReason) -> Holdings:
        """The seats the asset holds and its counted installations."""
        repo = self._repo_for(ctx)
        counted = [inst for inst in repo.asset_installations(ctx, asset_id) if inst.counted]
        return _holdings(reason, repo.asset_seats(ctx, asset_id), counted)

    def counted_installations(self, ctx: TenantContext, asset_id: str) -> int:
        """How many installations on the asset count towards license positions."""
        return sum(1 for inst in self._repo_for(ctx).asset_installations(ctx, asset_id) if inst.counted)

    def release(self, ctx: TenantContext, record: ReleaseRecord) -> Released:
        """Release the asset's seats and end its counted installations in the name of whoever moved
        it out of service, then mark the record done; what was released already is skipped."""
        return self._release(ctx, record)

    def finish_pending(self, ctx: TenantContext) -> list[ReleaseRecord]:
        """Finish the tenant's releases that stopped part-way, in the name of whoever moved each
        asset out of service; the pending releases found."""
        repo = self._repo_for(ctx)
        found = [record for record in repo.release_records(ctx) if record.released_at is None]
        for pending in found:
            asset = self._assets.get(ctx, pending.asset_id) if self._assets is not None else None
            if self._assets is not None and (asset is None or asset.status not in OUT_OF_SERVICE):
                self._done(repo, ctx, pending)  # back in service: it keeps what it holds
                continue
            self._release(ctx, pending)
        return found

    def _release(self, ctx: TenantContext, record: ReleaseRecord) -> Released:
        repo = self._repo_for(ctx)
        asset_id, reason, by = record.asset_id, record.reason, record.by
        now = self._clock.now()
        seats: list[tuple[Seat, str]] = []
        for seat, product in repo.asset_seats(ctx, asset_id):
            released = seat.model_copy(
                update={"released_at": now, "released_by": by, "release_reason": reason}
            )
            if self._release_seat(ctx, repo, released):
                seats.append((released, product))
        counted = [inst for inst in repo.asset_installations(ctx, asset_id) if inst.counted]
        ending = [
            inst.model_copy(update={"counted": False, "ended_at": now, "ended_by": by, "end_reason": reason})
            for inst in counted
        ]
        ended = set(repo.end_installations(ctx, ending))
        self._done(repo, ctx, record)
        held = _holdings(reason, seats, [inst for inst in counted if inst.id in ended])
        return Released(**held.model_dump(), complete=True)

    def _done(self, repo: LicenseRepository, ctx: TenantContext, record: ReleaseRecord) -> None:
        now = self._clock.now()
        repo.release_done(
            ctx, record.model_copy(update={"released_at": now}), int((now + KEEP_DONE).timestamp())
        )

    def _release_seat(self, ctx: TenantContext, repo: LicenseRepository, released: Seat) -> bool:
        """Release one seat; False if it was released already (by someone else, or an earlier run)."""
        for _ in range(self._max_attempts):
            try:
                repo.release_seat(ctx, released)
            except StaleVersion:
                return False
            except WriteConflict:
                continue
            return True
        raise ConcurrentModification("the license was too busy to release a seat; retry")


def leaving_assets(repo: LicenseRepository, ctx: TenantContext, now: datetime) -> frozenset[str]:
    """The assets out of service whose seats and installations positions must leave out: their
    release is pending, or done less than SETTLE ago."""
    return frozenset(
        record.asset_id
        for record in repo.release_records(ctx)
        if record.released_at is None or record.released_at > now - SETTLE
    )


def _holdings(
    reason: EndReason, seats: Iterable[tuple[Seat, str]], installations: Iterable[Installation]
) -> Holdings:
    return Holdings(
        reason=reason,
        seats=[
            ReleasedSeat(license_id=seat.license_id, assignment_id=seat.id, product=product)
            for seat, product in seats
        ],
        installations=[
            EndedInstallation(id=inst.id, product=inst.canonical_product, version=inst.version)
            for inst in installations
        ],
    )
