"""Software licensing: entitlements, seats, discovered installations, normalization rules, positions.

Annotations are evaluated as each class is made (no `from __future__ import annotations`): pydantic
would otherwise compile every field's annotation from a string, a sixth of the models' share of a cold start.
"""

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field, StrictBool, StrictInt, model_validator
from pydantic.json_schema import SkipJsonSchema

from itam.assets.models import (
    Actor,
    Day,
    EndReason,
    FieldChange,
    Model,
    Money,
    Note,
    ShortText,
    Strict,
    Text,
)
from itam.etags import etag_of

# Fields the server owns on a license: a PATCH may not set them.
LICENSE_READ_ONLY_FIELDS = frozenset(
    {"id", "version", "assigned", "peak_assigned", "created_at", "updated_at", "created_by", "updated_by"}
)
Quantity = Annotated[StrictInt, Field(ge=0, le=10_000_000)]
VersionText = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z][0-9A-Za-z._+-]*$")]
Pattern = Annotated[
    str,
    Field(min_length=1, max_length=200, description="Case-insensitive; `*` matches any run of characters"),
]


class Metric(StrEnum):
    PER_USER = "per_user"
    PER_DEVICE = "per_device"
    PER_CORE = "per_core"
    PER_PROCESSOR = "per_processor"
    CONCURRENT = "concurrent"
    SITE = "site"
    SUBSCRIPTION = "subscription"


class VersionRange(Strict):
    """Versions a license covers, both ends included; an open end covers everything on that side."""

    min: VersionText | None = None
    max: VersionText | None = None

    @model_validator(mode="after")
    def _ordered(self) -> "VersionRange":
        if self.min and self.max and version_key(self.max) < version_key(self.min):
            raise ValueError("version_range.max is below version_range.min")
        return self

    def covers(self, version: str | None) -> bool:
        if version is None:
            return True  # an installation of unknown version is given the benefit of the doubt
        key = version_key(version)
        if self.min is not None and key < version_key(self.min):
            return False
        return not (self.max is not None and key > version_key(self.max))


class LicenseFields(Strict):
    """What a license manager records about an entitlement."""

    product: Text
    vendor: ShortText | None = None
    edition: ShortText | None = None
    version_range: VersionRange | None = None
    metric: Metric
    core_factor: Annotated[Decimal, Field(gt=0, le=10, max_digits=4, decimal_places=2)] | None = Field(
        default=None, description="per_core only: cores are multiplied by it and rounded up (default 1)"
    )
    quantity: Quantity = Field(description="Users, devices, cores, processors or seats bought")
    unit_cost: Money | None = Field(default=None, description="Price of one unit of the metric")
    start_date: Day | None = None
    end_date: Day | None = None
    renewal_date: Day | None = None
    auto_renew: StrictBool = False
    contract_ref: ShortText | None = None
    po_number: ShortText | None = None
    scope: ShortText | None = Field(
        default=None, description="site licenses: the site or organisation covered"
    )
    notes: Note | None = None
    allow_overallocation: StrictBool = Field(
        default=False, description="Accept seat assignments beyond the quantity (they show as a shortfall)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> "LicenseFields":
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        if self.core_factor is not None and self.metric is not Metric.PER_CORE:
            raise ValueError("core_factor applies to per_core licenses only")
        return self


class LicenseCreate(LicenseFields):
    """Body of POST /v1/licenses."""


class LicensePatch(Strict):
    """Body of PATCH /v1/licenses/{id}: a merge patch; `null` clears an optional field."""

    product: Text | SkipJsonSchema[None] = None
    vendor: ShortText | None = None
    edition: ShortText | None = None
    version_range: VersionRange | None = None
    metric: Metric | SkipJsonSchema[None] = None
    core_factor: Annotated[Decimal, Field(gt=0, le=10, max_digits=4, decimal_places=2)] | None = None
    quantity: Quantity | SkipJsonSchema[None] = None
    unit_cost: Money | None = None
    start_date: Day | None = None
    end_date: Day | None = None
    renewal_date: Day | None = None
    auto_renew: StrictBool | SkipJsonSchema[None] = None
    contract_ref: ShortText | None = None
    po_number: ShortText | None = None
    scope: ShortText | None = None
    notes: Note | None = None
    allow_overallocation: StrictBool | SkipJsonSchema[None] = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> "LicensePatch":
        for name in ("product", "metric", "quantity", "auto_renew", "allow_overallocation"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be cleared")
        return self


class License(LicenseFields):
    """An entitlement as stored and returned."""

    id: str
    version: int
    assigned: int = Field(default=0, description="Seats explicitly assigned now")
    peak_assigned: int = Field(default=0, description="Most seats ever assigned at once (concurrent use)")
    created_at: datetime
    updated_at: datetime
    created_by: str
    updated_by: str

    @property
    def etag(self) -> str:
        return etag_of(self.version)

    def active_on(self, day: date) -> bool:
        """In its term on `day` (an auto-renewing license is taken as renewed)."""
        if self.start_date is not None and day < self.start_date:
            return False
        return self.end_date is None or day <= self.end_date or self.auto_renew


class LicenseFilter(Model):
    product: str | None = None
    vendor: str | None = None
    metric: Metric | None = None
    expiring_after: date | None = None
    expiring_before: date | None = None


class LicenseHistoryEvent(Model):
    """An immutable change to a license: who, when, what changed."""

    license_id: str
    version: int
    type: Literal["created", "updated"]
    at: datetime
    actor: Actor
    changes: list[FieldChange]
    reason: str | None = Field(default=None, description="Why, e.g. the purchase order and delivery")


class SeatCreate(Strict):
    """Body of POST /v1/licenses/{id}/assignments: exactly one of `user` and `asset_id`."""

    user: ShortText | None = None
    asset_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")] | None = None
    note: Note | None = None

    @model_validator(mode="after")
    def _one_assignee(self) -> "SeatCreate":
        if (self.user is None) == (self.asset_id is None):
            raise ValueError("give exactly one of user and asset_id")
        return self

    @property
    def consumer(self) -> str:
        return consumer_key(self.user, self.asset_id)


class Seat(Model):
    """A license seat assigned to a user or an asset; released seats are kept as history."""

    id: str
    license_id: str
    user: str | None = None
    asset_id: str | None = None
    note: str | None = None
    assigned_at: datetime
    assigned_by: str
    released_at: datetime | None = None
    released_by: str | None = None
    release_reason: EndReason | None = Field(
        default=None, description="Set when the seat was released because its asset went out of service"
    )

    @property
    def consumer(self) -> str:
        return consumer_key(self.user, self.asset_id)


class InstallationCreate(Strict):
    """Body of POST /v1/assets/{id}/software: one product found installed on the asset."""

    product: Text
    vendor: ShortText | None = None
    version: VersionText | None = None
    edition: ShortText | None = None
    install_date: Day | None = None
    user: ShortText | None = Field(
        default=None, description="The device's primary user as the discovery source reports it"
    )
    cores: Annotated[StrictInt, Field(ge=1, le=4096)] | None = Field(
        default=None, description="Cores of the host the software runs on (per_core licensing)"
    )
    processors: Annotated[StrictInt, Field(ge=1, le=256)] | None = Field(
        default=None, description="Processors (sockets) of the host (per_processor licensing)"
    )
    source: ShortText | None = Field(default=None, description="The discovery tool or connector")


class Installation(InstallationCreate):
    id: str
    asset_id: str
    recorded_at: datetime
    recorded_by: str
    canonical_product: str = Field(description="The product after the tenant's normalization rules")
    counted: bool = Field(
        default=True,
        description="Whether it counts towards license positions: false once its asset went out of "
        "service (it is kept, as a record of what was installed)",
    )
    ended_at: datetime | None = Field(default=None, description="When it stopped counting")
    ended_by: str | None = None
    end_reason: EndReason | None = None


class RuleCreate(Strict):
    """Body of POST /v1/normalization-rules: raw names matching the patterns become `product`."""

    match_product: Pattern
    match_vendor: Pattern | None = None
    match_version: Pattern | None = None
    product: Text = Field(description="The canonical product name")
    vendor: ShortText | None = Field(default=None, description="The canonical vendor name")


class Rule(RuleCreate):
    id: str
    created_at: datetime
    created_by: str

    def matches(self, product: str, vendor: str | None, version: str | None) -> bool:
        if not _glob(self.match_product).fullmatch(_fold(product)):
            return False
        if self.match_vendor is not None and not _glob(self.match_vendor).fullmatch(_fold(vendor or "")):
            return False
        return self.match_version is None or bool(_glob(self.match_version).fullmatch(_fold(version or "")))


class Consumer(Model):
    """Who or what makes up a product's consumption."""

    key: str = Field(description="user:<id> or asset:<asset id>")
    user: str | None = None
    asset_ids: list[str] = Field(default_factory=list)
    sources: list[Literal["assignment", "installation"]] = Field(default_factory=list)


class Expiring(Model):
    license_id: str
    end_date: date
    days_left: int
    quantity: int
    auto_renew: bool


class Position(Model):
    """A product's effective license position under one metric."""

    product: str = Field(description="Canonical product name")
    metric: Metric | None = Field(description="null: installations of a product with no entitlement")
    entitled: int | None = Field(description="Active entitlements (null: a site license, unlimited in scope)")
    consumed: int
    position: int | None = Field(description="entitled - consumed; negative is under-licensed")
    shortfall: int
    exposure: Money | None = Field(description="shortfall x unit price: the true-up exposure")
    surplus: int
    waste: Money | None = Field(description="surplus x unit price")
    license_ids: list[str]
    devices: int = Field(description="Distinct devices with an installation or a seat")
    users: int = Field(description="Distinct users (devices without a known user count as one)")
    unlicensed_installs: int = Field(
        description="Devices whose installation no entitlement of the product covers (by version range)"
    )
    unknown_hardware: int = Field(
        default=0,
        description="per_core/per_processor: devices counted with 1 core or processor for want of data",
    )
    saas_assigned: int = Field(default=0, description="Seats assigned in SaaS subscriptions of the product")
    saas_inactive: int = Field(default=0, description="Assigned SaaS seats without recent activity")
    expiring: list[Expiring] = Field(default_factory=list, description="Ending within 90 days")
    expiring_30: int = Field(default=0, description="Quantity of entitlements ending within 30 days")
    expiring_60: int = Field(default=0, description="Quantity ending within 60 days (30 included)")
    expiring_90: int = Field(default=0, description="Quantity ending within 90 days (60 included)")
    expired_in_use: list[str] = Field(default_factory=list, description="Ended licenses still consumed")


class ProductCompliance(Model):
    """GET /v1/compliance/{product}: the product's positions and who makes up its consumption."""

    product: str
    positions: list[Position]
    consumers: list[Consumer]
    consumers_truncated: bool
    normalization_pending: bool


class CompliancePage(Model):
    items: list[Position]
    normalization_pending: bool = Field(
        description="Normalization rules changed and installations are still being re-normalized"
    )
    as_of: date


class LicensePage(Model):
    items: list[License]
    next_cursor: str | None = None


class LicenseHistoryPage(Model):
    items: list[LicenseHistoryEvent]
    next_cursor: str | None = None


class SeatPage(Model):
    items: list[Seat]
    next_cursor: str | None = None


class InstallationPage(Model):
    items: list[Installation]
    next_cursor: str | None = None


class RulePage(Model):
    items: list[Rule]
    next_cursor: str | None = None


# ---------------------------------------------------------------------- names and versions


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def product_key(name: str) -> str:
    """The form product names are compared and indexed in: normalised, case-folded, spaces collapsed;
    `#` (the key delimiter) is replaced."""
    return _fold(name).replace("#", "_")


def consumer_key(user: str | None, asset_id: str | None) -> str:
    return f"user:{_fold(user).replace('#', '_')}" if user is not None else f"asset:{asset_id}"


_GLOBS: dict[str, re.Pattern[str]] = {}


def _glob(pattern: str) -> re.Pattern[str]:
    compiled = _GLOBS.get(pattern)
    if compiled is None:
        compiled = re.compile(".*".join(re.escape(part) for part in _fold(pattern).split("*")))
        _GLOBS[pattern] = compiled
    return compiled


def version_key(version: str) -> tuple[Any, ...]:
    """Order versions by their numeric parts: 9.2 < 10.0, 16.0.1 > 16.0; text parts sort after."""
    parts: list[tuple[int, int | str]] = []
    for piece in re.split(r"[._+-]", version):
        parts.append((0, int(piece)) if piece.isdigit() else (1, piece.casefold()))
    while parts and parts[-1] == (0, 0):
        parts.pop()
    return tuple(parts)
