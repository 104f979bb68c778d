"""The answers of the register's books: depreciation profiles and schedules, and total cost of ownership.

Kept apart from itam.assets.models, which every function imports: only the functions that serve
these routes create these classes. Annotations are evaluated as each class is made (see that module).
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import ConfigDict, Field

from itam.assets.models import DepreciationTerms, Model, Money
from itam.etags import etag_of

# ---------------------------------------------------------------------- depreciation


class DepreciationProfile(DepreciationTerms):
    """A category's depreciation terms, as stored and returned (PUT /v1/depreciation-profiles/{category})."""

    model_config = ConfigDict(extra="forbid")

    category: str
    version: int
    updated_at: datetime
    updated_by: str

    @property
    def etag(self) -> str:
        return etag_of(self.version)

    @property
    def terms(self) -> DepreciationTerms:
        """The terms alone, as an asset would carry them."""
        return DepreciationTerms.model_validate(self.model_dump(include=set(DepreciationTerms.model_fields)))


class DepreciationProfilePage(Model):
    items: list[DepreciationProfile]
    next_cursor: str | None = None


class DepreciationPeriod(Model):
    number: int
    start: date
    end: date
    depreciation: Money
    accumulated: Money
    book_value: Money = Field(description="At the end of the period")


class AssetDepreciation(Model):
    """GET /v1/assets/{id}/depreciation: the schedule, and the book value as of a date."""

    asset_id: str
    source: Literal["asset", "category"] = Field(
        description="asset: the asset's own terms; category: its category's profile"
    )
    category: str | None = None
    terms: DepreciationTerms
    start_date: date
    end_date: date = Field(description="The last day of the useful life")
    cost: Money
    salvage_value: Money
    period: Literal["year", "month"]
    as_of: date
    accumulated: Money = Field(description="Depreciation of the months ended on or before as_of")
    book_value: Money = Field(description="cost - accumulated, as of as_of")
    periods: list[DepreciationPeriod]


# ---------------------------------------------------------------------- total cost of ownership

CostCategory = Literal["acquisition", "maintenance", "contracts", "licenses"]


class CostItem(Model):
    """One cost behind an asset's TCO."""

    category: CostCategory
    description: str
    ref: str | None = Field(
        default=None, description="The maintenance record, contract, seat or installation"
    )
    on: date | None = Field(
        default=None, description="When it was incurred (a term's first day inside the window)"
    )
    until: date | None = Field(default=None, description="A term's last day inside the window")
    amount: Money


class CurrencyTotal(Model):
    currency: str
    acquisition: Decimal
    maintenance: Decimal
    contracts: Decimal
    licenses: Decimal
    total: Decimal


class AssetTco(Model):
    """GET /v1/assets/{id}/tco: the asset's cost over a window, per currency, with its items."""

    asset_id: str
    start: date = Field(description="The window's first day")
    end: date = Field(description="The window's last day")
    totals: list[CurrencyTotal] = Field(description="One per currency: amounts are never converted")
    items: list[CostItem]
    unpriced: list[str] = Field(
        default_factory=list, description="Seats and installations with no unit cost to price them at"
    )
