"""What an asset's total cost of ownership takes from the contracts and licensing contexts, read on the
table models of the caller's tenant (itam.assets.ports.CostSources). `contract_facts` and
`license_facts` turn those contexts' records into the cost's facts (the test fakes use them too)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

from itam.adapters.contract_store import DynamoContractRepository
from itam.adapters.licensing import DynamoLicenseRepository
from itam.adapters.schema import TableModels
from itam.assets.models import Money
from itam.assets.tco import ContractFacts, LicenseFacts
from itam.contracts.models import Contract
from itam.licenses.models import Installation, License, Seat, product_key
from itam.tenancy import TenantContext


class TableCostSources:
    """Contracts covering an asset, and its seats and installations with their licenses' unit costs."""

    def __init__(self, models_for: Callable[[TenantContext], TableModels]) -> None:
        self._models_for = models_for

    def contracts_covering(self, ctx: TenantContext, asset_id: str) -> list[ContractFacts]:
        return contract_facts(DynamoContractRepository(self._models_for).covering(ctx, asset_id))

    def license_holdings(self, ctx: TenantContext, asset_id: str) -> list[LicenseFacts]:
        repo = DynamoLicenseRepository(self._models_for(ctx))
        return license_facts(
            repo.all_licenses(ctx), repo.asset_seats(ctx, asset_id), repo.asset_installations(ctx, asset_id)
        )


def contract_facts(contracts: Iterable[Contract]) -> list[ContractFacts]:
    """The contracts that have a cost, as the cost needs them."""
    facts = []
    for contract in contracts:
        if contract.cost is None:
            continue
        named = f"{contract.type} contract with {contract.vendor}"
        facts.append(
            ContractFacts(
                contract_id=contract.id,
                description=f"{named} ({contract.reference})" if contract.reference else named,
                start=contract.start_date,
                end=contract.end_date,
                amount=contract.cost.amount,
                currency=contract.cost.currency,
                period=contract.cost.period.value,
                covered=len(contract.asset_ids) + len(contract.license_ids),
            )
        )
    return facts


def license_facts(
    licenses: Iterable[License], seats: Iterable[tuple[Seat, str]], installations: Iterable[Installation]
) -> list[LicenseFacts]:
    """Each seat at its license's unit cost; each counted installation of a product the asset holds no
    seat of, at the unit cost of the product's first license (by id) that has one."""
    ordered = sorted(licenses, key=lambda lic: lic.id)
    by_id = {lic.id: lic for lic in ordered}
    priced: dict[str, License] = {}
    for lic in ordered:
        if lic.unit_cost is not None:
            priced.setdefault(product_key(lic.product), lic)
    facts: list[LicenseFacts] = []
    seat_products = set()
    for seat, product in seats:
        seat_products.add(product_key(product))
        cost = by_id[seat.license_id].unit_cost if seat.license_id in by_id else None
        facts.append(_fact("seat", seat.id, seat.license_id, product, seat.assigned_at.date(), cost))
    for installed in installations:
        key = product_key(installed.canonical_product)
        if not installed.counted or key in seat_products:
            continue
        pricing = priced.get(key)
        facts.append(
            _fact(
                "installation",
                installed.id,
                pricing.id if pricing else None,
                installed.canonical_product,
                installed.install_date or installed.recorded_at.date(),
                pricing.unit_cost if pricing else None,
            )
        )
    return facts


def _fact(
    kind: str, ref: str, license_id: str | None, product: str, on: date, money: Money | None
) -> LicenseFacts:
    return LicenseFacts(
        kind=kind,
        ref=ref,
        license_id=license_id,
        product=product,
        on=on,
        amount=money.amount if money else None,
        currency=money.currency if money else None,
    )
