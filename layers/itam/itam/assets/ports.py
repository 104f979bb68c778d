"""What the asset register needs from the outside world, as Protocols. Adapters implement them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from itam.assets.models import (
    Asset,
    AssetFilter,
    Assignment,
    AssignmentReturn,
    EndReason,
    HistoryEvent,
    Holdings,
    Maintenance,
    Released,
    ReleaseRecord,
)
from itam.idempotency import IdempotencyClaim, IdempotencyRecord
from itam.pagination import Page, PageRequest
from itam.tenancy import TenantContext

if TYPE_CHECKING:  # the books' types: only the functions that serve the books load them
    from itam.assets.book_models import DepreciationProfile
    from itam.assets.tco import ContractFacts, LicenseFacts

# Records written beside an asset change, in the same transaction.
AssetRecord = Assignment | AssignmentReturn | Maintenance | ReleaseRecord


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


class DepreciationProfiles(Protocol):
    """Persistence of the tenant's depreciation profiles, one per category (categories compared
    Unicode-normalised and case-folded: "Laptops" and "laptops " share one)."""

    def get_profile(self, ctx: TenantContext, category: str) -> DepreciationProfile | None:
        """The category's profile (read strongly consistent), or None."""

    def put_profile(
        self, ctx: TenantContext, profile: DepreciationProfile, expected_version: int | None
    ) -> None:
        """Create the profile (expected_version None) or replace it if `expected_version` is still
        stored; StaleVersion otherwise."""

    def delete_profile(self, ctx: TenantContext, category: str, expected_version: int) -> None:
        """Remove the profile if `expected_version` is still stored; StaleVersion otherwise."""

    def list_profiles(self, ctx: TenantContext, page: PageRequest) -> Page[DepreciationProfile]:
        """One page of the tenant's profiles, by category (one Query)."""


class CostSources(Protocol):
    """What an asset's total cost of ownership needs from other contexts: the contracts covering it,
    and its license seats and installations with the unit costs they are priced at."""

    def contracts_covering(self, ctx: TenantContext, asset_id: str) -> list[ContractFacts]:
        """The contracts covering the asset that have a cost."""

    def license_holdings(self, ctx: TenantContext, asset_id: str) -> list[LicenseFacts]:
        """The seats the asset holds and its counted installations of products it holds no seat of."""


class AssetHoldings(Protocol):
    """What an asset holds in licensing: license seats, and installations that count. Licensing
    implements it (itam.licenses.holdings); the register loads it only when an asset leaves service
    or changes kind, so that an asset request does not load licensing."""

    def held_by(self, ctx: TenantContext, asset_id: str, reason: EndReason) -> Holdings:
        """The seats the asset holds and its counted installations (read strongly consistent)."""

    def release(self, ctx: TenantContext, record: ReleaseRecord) -> Released:
        """Release the asset's seats and stop counting its installations (kept, marked), then record
        the release as done. Idempotent: what is released already is skipped, so it can be retried."""

    def counted_installations(self, ctx: TenantContext, asset_id: str) -> int:
        """How many installations on the asset count towards license positions."""
