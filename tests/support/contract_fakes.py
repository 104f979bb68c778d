"""In-memory contracts and register for unit tests, type-checked against the contracts' ports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from itam.adapters.cost_sources import contract_facts, license_facts
from itam.assets.ports import CostSources
from itam.assets.tco import ContractFacts, LicenseFacts
from itam.contracts.models import Contract, ContractFilter, ContractHistoryEvent
from itam.contracts.ports import ContractRepository, Register
from itam.idempotency import IdempotencyClaim
from itam.licenses.ports import LicenseRepository
from itam.pagination import Page, PageRequest
from itam.tenancy import TenantContext
from tests.support.fakes import IdempotencyKeys, save_versioned
from tests.support.license_fakes import FakeLicenseRepository


class FakeContractRepository(IdempotencyKeys):
    def __init__(self) -> None:
        super().__init__()
        self.contracts: dict[tuple[str, str], Contract] = {}
        self.events: dict[tuple[str, str], list[ContractHistoryEvent]] = {}

    def create(
        self,
        ctx: TenantContext,
        contract: Contract,
        event: ContractHistoryEvent,
        claim: IdempotencyClaim | None,
    ) -> None:
        self._check_key(ctx, claim, event.at)
        save_versioned(self.contracts, (ctx.tenant_id, contract.id), contract, None)
        self.events[(ctx.tenant_id, contract.id)] = [event]
        self._keep_key(ctx, claim, contract.id)

    def get(self, ctx: TenantContext, contract_id: str) -> Contract | None:
        return self.contracts.get((ctx.tenant_id, contract_id))

    def update(
        self, ctx: TenantContext, previous: Contract, current: Contract, event: ContractHistoryEvent
    ) -> None:
        save_versioned(self.contracts, (ctx.tenant_id, current.id), current, previous.version)
        self.events[(ctx.tenant_id, current.id)].append(event)

    def listing(self, ctx: TenantContext, filters: ContractFilter, page: PageRequest) -> Page[Contract]:
        from itam.contracts.service import matches

        mine = [c for (t, _), c in self.contracts.items() if t == ctx.tenant_id and matches(c, filters)]
        return Page(items=sorted(mine, key=lambda c: c.id, reverse=True)[: page.limit])

    def history(self, ctx: TenantContext, contract_id: str, page: PageRequest) -> Page[ContractHistoryEvent]:
        return Page(items=self.events.get((ctx.tenant_id, contract_id), [])[: page.limit])

    def covering(self, ctx: TenantContext, asset_id: str) -> list[Contract]:
        mine = [c for (t, _), c in self.contracts.items() if t == ctx.tenant_id and asset_id in c.asset_ids]
        return sorted(mine, key=lambda c: c.id)


class FakeRegister:
    """The register as the contracts see it: which ids are the tenant's assets and licenses."""

    def __init__(
        self, assets: Mapping[tuple[str, str], object], licenses: Mapping[tuple[str, str], object]
    ) -> None:
        self._assets = assets
        self._licenses = licenses

    def missing_assets(self, ctx: TenantContext, asset_ids: Sequence[str]) -> list[str]:
        return [a for a in asset_ids if (ctx.tenant_id, a) not in self._assets]

    def missing_licenses(self, ctx: TenantContext, license_ids: Sequence[str]) -> list[str]:
        return [lic for lic in license_ids if (ctx.tenant_id, lic) not in self._licenses]


_repository: ContractRepository = FakeContractRepository()
_register: Register = FakeRegister({}, {})


class FakeCostSources:
    """The cost sources on the contract and license fakes, through the adapter's own conversions."""

    def __init__(self, contracts: FakeContractRepository, licenses: LicenseRepository) -> None:
        self._contracts = contracts
        self._licenses = licenses

    def contracts_covering(self, ctx: TenantContext, asset_id: str) -> list[ContractFacts]:
        return contract_facts(self._contracts.covering(ctx, asset_id))

    def license_holdings(self, ctx: TenantContext, asset_id: str) -> list[LicenseFacts]:
        repo = self._licenses
        return license_facts(
            repo.all_licenses(ctx), repo.asset_seats(ctx, asset_id), repo.asset_installations(ctx, asset_id)
        )


_costs: CostSources = FakeCostSources(FakeContractRepository(), FakeLicenseRepository())
