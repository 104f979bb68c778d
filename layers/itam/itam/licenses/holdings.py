"""What an asset holds in licensing — the seats assigned to it and the installations that count on it —
and their release when the asset goes out of service (retired, disposed of, cancelled).

The move out of service is written first, with a pending-release marker in the same transaction; the
release follows in the same request, and clears the marker when it is done. Every step is idempotent
(a released seat or an ended installation is skipped), so a release that stopped part-way is finished
by running it again: by a later move of the asset, by the next seat assignment on a full license, or
by the daily audit. Until then, positions leave the asset's seats and installations out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from itam.assets.lifecycle import OUT_OF_SERVICE
from itam.assets.models import EndedInstallation, EndReason, Holdings, PendingRelease, Released, ReleasedSeat
from itam.assets.ports import AssetRepository
from itam.clock import SystemClock
from itam.errors import ConcurrentModification, StaleVersion, WriteConflict
from itam.licenses.models import Installation, Seat
from itam.licenses.ports import LicenseRepository
from itam.ports import Clock
from itam.tenancy import TenantContext

RepositoryFor = Callable[[TenantContext], LicenseRepository]


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

    def release(self, ctx: TenantContext, asset_id: str, reason: EndReason) -> Released:
        """Release the asset's seats and end its counted installations, then clear its pending release;
        what was released already is skipped."""
        return self._release(ctx, asset_id, reason, ctx.user_id)

    def finish_pending(self, ctx: TenantContext) -> list[PendingRelease]:
        """Finish the tenant's releases that stopped part-way, in the name of whoever moved each
        asset out of service; the pending releases found."""
        repo = self._repo_for(ctx)
        found = repo.pending_releases(ctx)
        for pending in found:
            asset = self._assets.get(ctx, pending.asset_id) if self._assets is not None else None
            if self._assets is not None and (asset is None or asset.status not in OUT_OF_SERVICE):
                repo.release_done(ctx, pending.asset_id)  # back in service: it keeps what it holds
                continue
            self._release(ctx, pending.asset_id, pending.reason, pending.by)
        return found

    def _release(self, ctx: TenantContext, asset_id: str, reason: EndReason, by: str) -> Released:
        repo = self._repo_for(ctx)
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
        repo.release_done(ctx, asset_id)
        held = _holdings(reason, seats, [inst for inst in counted if inst.id in ended])
        return Released(**held.model_dump(), complete=True)

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


def pending_assets(repo: LicenseRepository, ctx: TenantContext) -> frozenset[str]:
    """The assets out of service whose seats and installations positions must leave out, because
    their release has not finished."""
    return frozenset(pending.asset_id for pending in repo.pending_releases(ctx))


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
