"""Use cases of contracts: record them, read and list them, change them under If-Match, their history.
Every write is one transaction with its history event and the keys of what the contract covers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from itam.assets.models import FieldChange
from itam.changes import field_changes, merged
from itam.clock import ID_PATTERN, SystemClock, TimeOrderedIds
from itam.contracts.errors import ContractNotFound, UnknownCovered
from itam.contracts.models import (
    Contract,
    ContractCreate,
    ContractFilter,
    ContractHistoryEvent,
    ContractPatch,
)
from itam.contracts.ports import ContractRepository, Register
from itam.errors import (
    ConcurrentModification,
    PreconditionFailed,
    PreconditionRequired,
    StaleVersion,
    WriteConflict,
)
from itam.etags import etag_matches
from itam.idempotency import claim_of, create_once
from itam.pagination import Page, PageRequest
from itam.ports import Clock, IdGenerator
from itam.tenancy import Permission, TenantContext


class ContractService:
    """Contracts of one repository, covering assets and licenses the register knows."""

    def __init__(
        self,
        repository: ContractRepository,
        register: Register,
        clock: Clock | None = None,
        ids: IdGenerator | None = None,
        max_attempts: int = 3,
    ) -> None:
        self._repo = repository
        self._register = register
        self._clock = clock or SystemClock()
        self._ids = ids or TimeOrderedIds()
        self._max_attempts = max_attempts

    def create_contract(
        self, ctx: TenantContext, data: ContractCreate, idempotency_key: str | None = None
    ) -> Contract:
        """Record a contract. With an Idempotency-Key, the same request sent again gets the contract
        the first one created, as it is now."""
        ctx.require(Permission.WRITE)
        self._check_covered(ctx, data.asset_ids, data.license_ids)
        now = self._clock.now()
        contract = Contract(
            **data.model_dump(),
            id=self._ids.new_id(),
            version=1,
            created_at=now,
            updated_at=now,
            created_by=ctx.user_id,
            updated_by=ctx.user_id,
        )
        event = _event(ctx, contract, "created", field_changes(None, contract), now)
        claim = claim_of(idempotency_key, f"contract|{data.model_dump_json()}", now)

        def create() -> Contract:
            self._repo.create(ctx, contract, event, claim)
            return contract

        return create_once(ctx, self._repo, claim, now, create, lambda first: self._contract(ctx, first))

    def get_contract(self, ctx: TenantContext, contract_id: str) -> Contract:
        ctx.require(Permission.READ)
        return self._contract(ctx, contract_id)

    def list_contracts(
        self,
        ctx: TenantContext,
        filters: ContractFilter,
        page: PageRequest,
        ending_within_days: int | None = None,
        asset_id: str | None = None,
    ) -> Page[Contract]:
        """A page of the tenant's contracts, newest first; `ending_within_days`: those whose end date
        falls between today and that many days ahead; `asset_id`: those covering the asset (one page)."""
        ctx.require(Permission.READ)
        if ending_within_days is not None:
            today = self._clock.now().date()
            filters = filters.model_copy(
                update={"ending_after": today, "ending_before": today + timedelta(days=ending_within_days)}
            )
        if asset_id is None:
            return self._repo.listing(ctx, filters, page)
        covering = self._repo.covering(ctx, asset_id) if ID_PATTERN.fullmatch(asset_id) else []
        return Page(
            items=sorted((c for c in covering if matches(c, filters)), key=lambda c: c.id, reverse=True)
        )

    def update_contract(
        self, ctx: TenantContext, contract_id: str, patch: ContractPatch, if_match: str | None
    ) -> Contract:
        """Apply a merge patch under If-Match; a patch that changes nothing writes nothing."""
        ctx.require(Permission.WRITE)
        if if_match is None:
            raise PreconditionRequired()
        pinned = if_match.strip() != "*"
        for _ in range(self._max_attempts):
            previous = self._contract(ctx, contract_id)
            if not etag_matches(if_match, previous.version):
                raise PreconditionFailed("contract")
            changed = merged(previous, patch)
            changes = field_changes(previous, changed)
            if not changes:
                return previous
            self._check_covered(
                ctx,
                [a for a in changed.asset_ids if a not in previous.asset_ids],
                [lic for lic in changed.license_ids if lic not in previous.license_ids],
            )
            now = self._clock.now()
            current = changed.model_copy(
                update={"version": previous.version + 1, "updated_at": now, "updated_by": ctx.user_id}
            )
            try:
                self._repo.update(ctx, previous, current, _event(ctx, current, "updated", changes, now))
            except (StaleVersion, WriteConflict):
                if pinned:
                    raise PreconditionFailed("contract") from None
                continue
            return current
        raise ConcurrentModification("the contract kept changing while this request was applied; retry")

    def contract_history(
        self, ctx: TenantContext, contract_id: str, page: PageRequest
    ) -> Page[ContractHistoryEvent]:
        ctx.require(Permission.READ_HISTORY)
        self._contract(ctx, contract_id)
        return self._repo.history(ctx, contract_id, page)

    def _contract(self, ctx: TenantContext, contract_id: str) -> Contract:
        contract = self._repo.get(ctx, contract_id) if ID_PATTERN.fullmatch(contract_id) else None
        if contract is None:
            raise ContractNotFound(contract_id)
        return contract

    def _check_covered(self, ctx: TenantContext, asset_ids: list[str], license_ids: list[str]) -> None:
        """Only the tenant's own assets and licenses may be covered (another tenant's id is unknown)."""
        if asset_ids and (missing := self._register.missing_assets(ctx, asset_ids)):
            raise UnknownCovered("asset", missing, "asset_ids")
        if license_ids and (missing := self._register.missing_licenses(ctx, license_ids)):
            raise UnknownCovered("license", missing, "license_ids")


def matches(contract: Contract, filters: ContractFilter) -> bool:
    """Whether the contract passes the filters (the listing applies them in DynamoDB)."""
    checks: list[Callable[[], bool]] = [
        lambda: filters.type is None or contract.type is filters.type,
        lambda: filters.vendor is None or contract.vendor.casefold() == filters.vendor.strip().casefold(),
        lambda: (
            filters.ending_after is None
            or (contract.end_date is not None and contract.end_date >= filters.ending_after)
        ),
        lambda: (
            filters.ending_before is None
            or (contract.end_date is not None and contract.end_date <= filters.ending_before)
        ),
    ]
    return all(check() for check in checks)


def _event(
    ctx: TenantContext, contract: Contract, type_: str, changes: list[FieldChange], now: datetime
) -> ContractHistoryEvent:
    return ContractHistoryEvent.model_validate(
        {
            "contract_id": contract.id,
            "version": contract.version,
            "type": type_,
            "at": now,
            "actor": {"user_id": ctx.user_id, "username": ctx.username},
            "changes": changes,
        }
    )
