"""Total cost of ownership: what an asset cost over a window, per currency, and the items behind it.

The rules (the README's "Total cost of ownership" says the same to users):
- acquisition: the asset's cost, dated its purchase date (its creation day without one);
- maintenance: each maintenance record's cost, dated its completion date (its start without one);
- contracts: each contract covering the asset, divided evenly among everything the contract covers
  (assets and licenses); a one-time cost dated the contract's start, a monthly or yearly cost for the
  days of its term inside the window (a month is a twelfth of 365 days);
- licenses: each seat the asset holds, at its license's unit cost, dated its assignment; each counted
  installation of a product the asset holds no seat of, at the unit cost of the product's first
  license that has one, dated its install date (its recording day without one);
- an item counts when its date, or part of its term, falls inside the window (both ends included);
- amounts are kept per currency, never converted; each is rounded half up to its own decimal places
  (at least 2, at most 4).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from itam.assets.book_models import AssetTco, CostItem, CurrencyTotal
from itam.assets.depreciation import quantum
from itam.assets.models import Asset, Maintenance, Money

CATEGORIES = ("acquisition", "maintenance", "contracts", "licenses")


@dataclass(frozen=True)
class ContractFacts:
    """A contract covering the asset, as the cost needs it."""

    contract_id: str
    description: str
    start: date
    end: date | None
    amount: Decimal
    currency: str
    period: str  # one_time, month, year
    covered: int  # assets and licenses it covers together


@dataclass(frozen=True)
class LicenseFacts:
    """A seat or a counted installation on the asset, with the unit cost it is priced at (if any)."""

    kind: str  # seat, installation
    ref: str
    license_id: str | None
    product: str
    on: date
    amount: Decimal | None
    currency: str | None


def _round(value: Decimal, like: Decimal) -> Decimal:
    return value.quantize(quantum(like))


def _contract_item(contract: ContractFacts, start: date, end: date) -> CostItem | None:
    share = Decimal(1) / max(1, contract.covered)
    note = contract.description if contract.covered == 1 else f"{contract.description} (1/{contract.covered})"
    if contract.period == "one_time":
        if not start <= contract.start <= end:
            return None
        amount, first, last = contract.amount * share, contract.start, contract.start
    else:
        first, last = max(contract.start, start), min(contract.end or end, end)
        if first > last:
            return None
        days = Decimal((last - first).days + 1)
        per_year = contract.amount * (12 if contract.period == "month" else 1)
        amount = per_year * days / 365 * share
    return CostItem(
        category="contracts",
        description=note,
        ref=contract.contract_id,
        on=first,
        until=last,
        amount=Money(amount=_round(amount, contract.amount), currency=contract.currency),
    )


def total_cost(
    asset: Asset,
    maintenance: Iterable[Maintenance],
    contracts: Iterable[ContractFacts],
    licenses: Iterable[LicenseFacts],
    start: date,
    end: date,
) -> AssetTco:
    """The asset's cost between `start` and `end`, per currency, with every item behind it."""
    items: list[CostItem] = []
    bought = asset.purchase_date or asset.created_at.date()
    if asset.cost is not None and start <= bought <= end:
        items.append(CostItem(category="acquisition", description="purchase", on=bought, amount=asset.cost))
    for record in maintenance:
        on = record.completion_date or record.start_date
        if record.cost is not None and start <= on <= end:
            items.append(
                CostItem(
                    category="maintenance", description=record.title, ref=record.id, on=on, amount=record.cost
                )
            )
    items += [item for c in contracts if (item := _contract_item(c, start, end)) is not None]
    unpriced: list[str] = []
    for held in licenses:
        if not start <= held.on <= end:
            continue
        if held.amount is None or held.currency is None:
            unpriced.append(f"{held.kind} {held.ref} ({held.product}): no license with a unit cost")
            continue
        items.append(
            CostItem(
                category="licenses",
                description=f"{held.kind} of {held.product}",
                ref=held.ref,
                on=held.on,
                amount=Money(amount=held.amount, currency=held.currency),
            )
        )
    return AssetTco(
        asset_id=asset.id,
        start=start,
        end=end,
        totals=_totals(items),
        items=sorted(items, key=lambda i: (i.on or start, i.category)),
        unpriced=unpriced,
    )


def _totals(items: list[CostItem]) -> list[CurrencyTotal]:
    """Per currency and category, written to the most decimal places of the currency's items."""
    sums: dict[str, dict[str, Decimal]] = {}
    steps: dict[str, Decimal] = {}
    for item in items:
        currency = item.amount.currency
        per = sums.setdefault(currency, dict.fromkeys(CATEGORIES, Decimal(0)))
        per[item.category] += item.amount.amount
        steps[currency] = min(steps.get(currency, Decimal("0.01")), quantum(item.amount.amount))
    return [
        CurrencyTotal(
            currency=currency,
            **{k: v.quantize(steps[currency]) for k, v in per.items()},
            total=sum(per.values(), Decimal(0)).quantize(steps[currency]),
        )
        for currency, per in sorted(sums.items())
    ]


def default_window(asset: Asset, start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """The window asked for, or from the purchase (the creation) to today."""
    return start or asset.purchase_date or asset.created_at.date(), end or today
