"""What the contracts context needs from the outside world, as Protocols. Adapters implement them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from itam.contracts.models import Contract, ContractFilter, ContractHistoryEvent
from itam.idempotency import IdempotencyClaim, IdempotencyRecord
from itam.pagination import Page, PageRequest
from itam.tenancy import TenantContext


class ContractRepository(Protocol):
    """Persistence of contracts, their history and what they cover, for one tenant at a time."""

    def create(
        self,
        ctx: TenantContext,
        contract: Contract,
        event: ContractHistoryEvent,
        claim: IdempotencyClaim | None,
    ) -> None:
        """Store a new contract, its first history event and its coverage keys (and bind `claim`);
        KeyAlreadyUsed if the claim's key is bound already."""

    def idempotency_record(self, ctx: TenantContext, key_digest: str, now: int) -> IdempotencyRecord | None:
        """What the key is bound to, unless nothing is or the binding expired before `now`."""

    def get(self, ctx: TenantContext, contract_id: str) -> Contract | None:
        """The contract (read strongly consistent), or None."""

    def update(
        self, ctx: TenantContext, previous: Contract, current: Contract, event: ContractHistoryEvent
    ) -> None:
        """Replace `previous` by `current` (and its coverage keys) if `previous.version` is still
        stored, else StaleVersion."""

    def listing(self, ctx: TenantContext, filters: ContractFilter, page: PageRequest) -> Page[Contract]:
        """One page of the tenant's contracts matching `filters`, newest first (one Query)."""

    def history(self, ctx: TenantContext, contract_id: str, page: PageRequest) -> Page[ContractHistoryEvent]:
        """The contract's history events, oldest first."""

    def covering(self, ctx: TenantContext, asset_id: str) -> list[Contract]:
        """The contracts that cover the asset."""


class Register(Protocol):
    """Which ids name assets and licenses of the tenant (a contract may cover only those)."""

    def missing_assets(self, ctx: TenantContext, asset_ids: Sequence[str]) -> list[str]:
        """Those of `asset_ids` that are no asset of the tenant."""

    def missing_licenses(self, ctx: TenantContext, license_ids: Sequence[str]) -> list[str]:
        """Those of `license_ids` that are no license of the tenant."""
