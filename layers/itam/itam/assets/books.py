"""The register's books: depreciation profiles per category, an asset's schedule and book value, what a
disposal gained or lost against that book value, and an asset's total cost of ownership. The
arithmetic is itam.assets.depreciation and itam.assets.tco."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from itam.assets import depreciation, tco
from itam.assets.book_models import AssetDepreciation, AssetTco, DepreciationPeriod, DepreciationProfile
from itam.assets.errors import AssetNotFound, DepreciationUnavailable, ProfileNotFound
from itam.assets.models import (
    Asset,
    DepreciationStart,
    DepreciationTerms,
    Disposal,
    DisposalRecord,
    Maintenance,
    Money,
    SignedMoney,
)
from itam.assets.ports import AssetRepository, CostSources, DepreciationProfiles
from itam.clock import ID_PATTERN, SystemClock
from itam.errors import InvalidInput, PreconditionFailed, PreconditionRequired, StaleVersion
from itam.etags import etag_matches
from itam.pagination import MAX_PAGE_SIZE, Page, PageRequest
from itam.ports import Clock
from itam.tenancy import Permission, TenantContext

Period = Literal["year", "month"]


class Books:
    """Depreciation and cost use cases, on the asset repository, the profiles and the cost sources."""

    def __init__(
        self,
        assets: AssetRepository,
        profiles: DepreciationProfiles,
        clock: Clock | None = None,
        costs: CostSources | None = None,
    ) -> None:
        """`costs`: the contracts and licenses an asset's total cost of ownership includes."""
        self._assets = assets
        self._profiles = profiles
        self._clock = clock or SystemClock()
        self._costs = costs

    # ------------------------------------------------------------------ profiles
    def get_profile(self, ctx: TenantContext, category: str) -> DepreciationProfile:
        ctx.require(Permission.READ)
        profile = self._profiles.get_profile(ctx, category)
        if profile is None:
            raise ProfileNotFound(category)
        return profile

    def list_profiles(self, ctx: TenantContext, page: PageRequest) -> Page[DepreciationProfile]:
        ctx.require(Permission.READ)
        return self._profiles.list_profiles(ctx, page)

    def put_profile(
        self, ctx: TenantContext, category: str, terms: DepreciationTerms, if_match: str | None
    ) -> tuple[DepreciationProfile, bool]:
        """Create the category's profile (no If-Match) or replace it (If-Match its ETag, required once
        it exists); the profile, and whether it was created. Terms equal to the stored ones write
        nothing. Admins only: a profile is the tenant's accounting policy."""
        ctx.require(Permission.ADMIN)
        current = self._profiles.get_profile(ctx, category)
        if current is None:
            if if_match is not None:
                raise PreconditionFailed("depreciation profile")
        else:
            if if_match is None:
                raise PreconditionRequired()
            if not etag_matches(if_match, current.version):
                raise PreconditionFailed("depreciation profile")
            if current.terms == terms:
                return current, False
        profile = DepreciationProfile(
            **terms.model_dump(),
            category=current.category if current is not None else category,
            version=(current.version if current is not None else 0) + 1,
            updated_at=self._clock.now(),
            updated_by=ctx.user_id,
        )
        try:
            self._profiles.put_profile(ctx, profile, current.version if current is not None else None)
        except StaleVersion:
            raise PreconditionFailed("depreciation profile") from None
        return profile, current is None

    def delete_profile(self, ctx: TenantContext, category: str, if_match: str | None) -> None:
        """Remove the category's profile (If-Match its ETag). Assets of the category then have no
        depreciation unless they carry their own terms; disposals already valued keep their values."""
        ctx.require(Permission.ADMIN)
        if if_match is None:
            raise PreconditionRequired()
        current = self._profiles.get_profile(ctx, category)
        if current is None:
            raise ProfileNotFound(category)
        if not etag_matches(if_match, current.version):
            raise PreconditionFailed("depreciation profile")
        try:
            self._profiles.delete_profile(ctx, category, current.version)
        except StaleVersion:
            raise PreconditionFailed("depreciation profile") from None

    # ------------------------------------------------------------------ an asset's depreciation
    def asset_depreciation(
        self, ctx: TenantContext, asset_id: str, period: Period, as_of: date | None
    ) -> AssetDepreciation:
        """The asset's schedule by year or month and its book value as of `as_of` (today by default)."""
        ctx.require(Permission.READ)
        asset = self._asset(ctx, asset_id)
        terms, source = self._terms_of(ctx, asset)
        inputs = computable(asset, terms)
        day = as_of or self._clock.now().date()
        currency = asset.cost.currency if asset.cost is not None else ""

        def money(amount: Decimal) -> Money:
            return Money(amount=amount, currency=currency)

        accumulated = depreciation.accumulated_on(inputs, day)
        return AssetDepreciation(
            asset_id=asset.id,
            source=source,
            category=asset.category,
            terms=terms,
            start_date=inputs.start,
            end_date=depreciation.life_end(inputs),
            cost=money(inputs.cost),
            salvage_value=money(inputs.salvage),
            period=period,
            as_of=day,
            accumulated=money(accumulated),
            book_value=money(inputs.cost - accumulated),
            periods=[
                DepreciationPeriod(
                    number=p.number,
                    start=p.start,
                    end=p.end,
                    depreciation=money(p.depreciation),
                    accumulated=money(p.accumulated),
                    book_value=money(p.book_value),
                )
                for p in depreciation.schedule(inputs, period)
            ],
        )

    def asset_tco(self, ctx: TenantContext, asset_id: str, start: date | None, end: date | None) -> AssetTco:
        """The asset's total cost of ownership from `start` (its purchase by default) to `end` (today)."""
        ctx.require(Permission.READ)
        asset = self._asset(ctx, asset_id)
        first, last = tco.default_window(asset, start, end, self._clock.now().date())
        if first > last:
            raise InvalidInput("`from` is after `to`", "from")
        records: list[Maintenance] = []
        page = PageRequest(MAX_PAGE_SIZE)
        while True:
            found = self._assets.maintenance(ctx, asset.id, page)
            records += found.items
            if found.next_cursor is None:
                break
            page = PageRequest(MAX_PAGE_SIZE, found.next_cursor)
        contracts = self._costs.contracts_covering(ctx, asset.id) if self._costs is not None else []
        licenses = self._costs.license_holdings(ctx, asset.id) if self._costs is not None else []
        return tco.total_cost(asset, records, contracts, licenses, first, last)

    def _asset(self, ctx: TenantContext, asset_id: str) -> Asset:
        asset = self._assets.get(ctx, asset_id) if ID_PATTERN.fullmatch(asset_id) else None
        if asset is None:
            raise AssetNotFound(asset_id)
        return asset

    def disposal_record(self, ctx: TenantContext, asset: Asset, disposal: Disposal) -> DisposalRecord:
        """The disposal with the asset's book value on its date and the gain or loss against it; when
        that cannot be known, both are null and `unvalued_reason` says why."""
        record = DisposalRecord(**disposal.model_dump())
        try:
            terms, _ = self._terms_of(ctx, asset)
            inputs = computable(asset, terms)
        except DepreciationUnavailable as unavailable:
            return record.model_copy(update={"unvalued_reason": unavailable.detail})
        assert asset.cost is not None
        currency = asset.cost.currency
        proceeds = disposal.proceeds.amount if disposal.proceeds is not None else Decimal(0)
        if disposal.proceeds is not None and disposal.proceeds.currency != currency:
            return record.model_copy(
                update={
                    "unvalued_reason": f"the proceeds are in {disposal.proceeds.currency} and the cost in "
                    f"{currency}: the register does not convert currencies"
                }
            )
        book = depreciation.book_value_on(inputs, disposal.date)
        return record.model_copy(
            update={
                "book_value": Money(amount=book, currency=currency),
                "gain_or_loss": SignedMoney(amount=proceeds - book, currency=currency),
            }
        )

    def _terms_of(
        self, ctx: TenantContext, asset: Asset
    ) -> tuple[DepreciationTerms, Literal["asset", "category"]]:
        """The asset's own terms, else its category's profile."""
        if asset.depreciation is not None:
            return asset.depreciation, "asset"
        if asset.category is None:
            raise DepreciationUnavailable(
                "the asset has no depreciation terms of its own and no category to take a profile from"
            )
        profile = self._profiles.get_profile(ctx, asset.category)
        if profile is None:
            raise DepreciationUnavailable(
                f"there is no depreciation profile for category {asset.category!r} "
                "(PUT /v1/depreciation-profiles/{category}) and the asset has no terms of its own"
            )
        return profile.terms, "category"


def computable(asset: Asset, terms: DepreciationTerms) -> depreciation.Terms:
    """What the arithmetic needs, from the asset and its terms (DepreciationUnavailable: what is missing)."""
    if asset.cost is None:
        raise DepreciationUnavailable("the asset has no cost")
    salvage = terms.salvage_value.amount if terms.salvage_value is not None else Decimal(0)
    if terms.salvage_value is not None and terms.salvage_value.currency != asset.cost.currency:
        raise DepreciationUnavailable(
            f"the salvage value is in {terms.salvage_value.currency} and the cost in {asset.cost.currency}: "
            "the register does not convert currencies (give the asset terms of its own)"
        )
    if terms.start is DepreciationStart.IN_SERVICE:
        if asset.in_service_date is None:
            raise DepreciationUnavailable(
                "the asset has no in_service_date (it is set by its first deployment, or can be given)"
            )
        start = asset.in_service_date
    else:
        if asset.purchase_date is None:
            raise DepreciationUnavailable("the terms start at purchase and the asset has no purchase_date")
        start = asset.purchase_date
    return depreciation.Terms(
        method=terms.method,
        useful_life_months=terms.useful_life_months,
        cost=asset.cost.amount,
        salvage=salvage,
        start=start,
        rate=terms.rate,
    )
