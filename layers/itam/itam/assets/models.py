"""The asset register's domain and API models (pydantic v2).

Annotations are evaluated as each class is made (no `from __future__ import annotations`): pydantic
would otherwise compile every field's annotation from a string, a sixth of the models' share of a cold start.
"""

import hashlib
import re
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema, WithJsonSchema

from itam.etags import etag_of

# Fields the server owns, which a PATCH may not set (status and assigned_to may be given at creation;
# afterwards they change through transitions and check-out/in).
READ_ONLY_FIELDS = frozenset(
    {
        "id",
        "tenant_id",
        "version",
        "status",
        "created_at",
        "updated_at",
        "created_by",
        "updated_by",
        "assigned_to",
        "assignment_id",
        "expected_return",
        "disposal",
        "discovery",
    }
)

Text = Annotated[str, Field(min_length=1, max_length=200)]
ShortText = Annotated[str, Field(min_length=1, max_length=128)]
Note = Annotated[str, Field(min_length=1, max_length=2000)]
TAG_KEY = r"[A-Za-z0-9_./=+@-]{1,64}"
# Tag keys exclude ":" so that a `tag=key:value` filter is unambiguous.
TagKey = Annotated[str, Field(pattern=rf"^{TAG_KEY}$")]
TagValue = Annotated[str, Field(max_length=256)]
FieldKey = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_]*$")]
CustomValue = Annotated[StrictStr, Field(max_length=1024)] | StrictBool | StrictInt | StrictFloat


ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date_only(value: Any) -> Any:
    # A string of digits would otherwise be read as seconds since 1970 ("0" is 1970-01-01).
    if isinstance(value, str) and not ISO_DAY.fullmatch(value.strip()):
        raise ValueError("dates are ISO 8601 strings (YYYY-MM-DD)")
    if not isinstance(value, str | date):
        raise ValueError("dates are ISO 8601 strings (YYYY-MM-DD)")
    return value


# Calendar dates as ISO strings only: a number is not read as a count of days since 1970.
Day = Annotated[date, BeforeValidator(_iso_date_only)]


def _iso_datetime_only(value: Any) -> Any:
    if not isinstance(value, str | datetime):
        raise ValueError("times are RFC 3339 strings")
    return value


# Points in time as RFC 3339 strings only (not seconds since 1970).
Stamp = Annotated[datetime, BeforeValidator(_iso_datetime_only)]
# Decimal amounts: a string or a number, at most 10 digits before the point and 4 after.
AMOUNT_SCHEMA = {
    "anyOf": [
        {"type": "string", "pattern": r"^[0-9]{1,10}(\.[0-9]{1,4})?$"},
        {"type": "number", "minimum": 0, "maximum": 9999999999.9999, "multipleOf": 0.0001},
    ]
}
# Maps of up to 50 entries whose keys must match their pattern (said so in the schema too).
KEYED = Field(max_length=50, json_schema_extra={"additionalProperties": False})
AssetTag = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")]


class Kind(StrEnum):
    HARDWARE = "hardware"
    SOFTWARE = "software"
    SAAS = "saas"
    CLOUD = "cloud"


class Status(StrEnum):
    PLANNED = "planned"
    ORDERED = "ordered"
    IN_STOCK = "in_stock"
    DEPLOYED = "deployed"
    IN_MAINTENANCE = "in_maintenance"
    RETIRED = "retired"
    DISPOSED = "disposed"
    CANCELLED = "cancelled"  # planned or ordered, and never to arrive


# Kinds on which software is installed: installations are recorded on these only.
HOLDS_INSTALLATIONS = frozenset({Kind.HARDWARE, Kind.CLOUD})


class Condition(StrEnum):
    NEW = "new"
    GOOD = "good"
    FAIR = "fair"
    POOR = "poor"
    BROKEN = "broken"


class DisposalMethod(StrEnum):
    RECYCLED = "recycled"
    SOLD = "sold"
    DONATED = "donated"
    DESTROYED = "destroyed"
    RETURNED_TO_VENDOR = "returned_to_vendor"
    LOST_OR_STOLEN = "lost_or_stolen"


class MaintenanceType(StrEnum):
    REPAIR = "repair"
    UPGRADE = "upgrade"
    REPLACEMENT = "replacement"
    INSPECTION = "inspection"


class Model(BaseModel):
    """Base of the register's models: validators are built on first use, which keeps cold starts short."""

    model_config = ConfigDict(defer_build=True, allow_inf_nan=False)


class Strict(Model):
    """Input models: unknown fields are an error, never silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Money(Strict):
    amount: Annotated[
        Decimal,
        Field(ge=0, max_digits=14, decimal_places=4),
        WithJsonSchema(AMOUNT_SCHEMA, mode="validation"),
    ]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")]


SIGNED_AMOUNT_SCHEMA = {"type": "string", "pattern": r"^-?[0-9]{1,10}(\.[0-9]{1,4})?$"}


class SignedMoney(Model):
    """An amount that may be negative (a loss), with its currency: answers only."""

    amount: Annotated[Decimal, WithJsonSchema(SIGNED_AMOUNT_SCHEMA)]
    currency: str


class Disposal(Strict):
    method: DisposalMethod
    date: Day
    notes: Note | None = None
    proceeds: Money | None = Field(
        default=None, description="What the disposal brought in (a sale, a trade-in)"
    )


class DisposalRecord(Disposal):
    """A disposal as stored: what was given, and its value on the disposal date (server-set)."""

    book_value: Money | None = Field(
        default=None, description="The asset's book value on the disposal date (its depreciation's)"
    )
    gain_or_loss: SignedMoney | None = Field(
        default=None, description="proceeds - book_value (no proceeds count as 0); negative is a loss"
    )
    unvalued_reason: str | None = Field(
        default=None, description="Why book_value and gain_or_loss are null, when they are"
    )


class DepreciationMethod(StrEnum):
    STRAIGHT_LINE = "straight_line"
    DECLINING_BALANCE = "declining_balance"
    DOUBLE_DECLINING_BALANCE = "double_declining_balance"
    SUM_OF_YEARS_DIGITS = "sum_of_years_digits"


class DepreciationStart(StrEnum):
    IN_SERVICE = "in_service"
    PURCHASE = "purchase"


Rate = Annotated[Decimal, Field(gt=0, le=1, max_digits=5, decimal_places=4)]


class DepreciationTerms(Strict):
    """How an asset depreciates: a category's profile, or an asset's own (which wins)."""

    method: DepreciationMethod
    useful_life_months: Annotated[StrictInt, Field(ge=1, le=1200)]
    salvage_value: Money | None = Field(default=None, description="Left after the life; none is 0")
    rate: Rate | None = Field(default=None, description="declining_balance only: the yearly rate, e.g. 0.3")
    start: DepreciationStart = Field(
        default=DepreciationStart.IN_SERVICE,
        description="in_service: the asset's in_service_date (its first deployment); purchase: purchase_date",
    )

    @model_validator(mode="after")
    def _rate_for_declining_balance(self) -> "DepreciationTerms":
        if self.method is DepreciationMethod.DECLINING_BALANCE and self.rate is None:
            raise ValueError("declining_balance needs a rate")
        if self.method is not DepreciationMethod.DECLINING_BALANCE and self.rate is not None:
            raise ValueError("rate is for declining_balance only")
        return self


class SaasSeats(Strict):
    """Seats of a SaaS subscription as its provider reports them (the inventory sync fills these)."""

    product: Text
    vendor: ShortText | None = None
    purchased: Annotated[StrictInt, Field(ge=0, le=10_000_000)]
    assigned: Annotated[StrictInt, Field(ge=0, le=10_000_000)]
    active: Annotated[StrictInt, Field(ge=0, le=10_000_000)] = Field(
        description="Assigned seats in recent use"
    )
    observed_at: Stamp | None = Field(default=None, description="RFC 3339 date-time")


class AssetFields(Strict):
    """Fields a client may write (on create, and on PATCH unless noted)."""

    name: Text
    kind: Kind
    asset_tag: AssetTag | None = None
    serial_number: ShortText | None = None
    category: ShortText | None = None
    manufacturer: ShortText | None = None
    model: ShortText | None = None
    condition: Condition | None = None
    location: ShortText | None = None
    assigned_to: ShortText | None = None
    cost: Money | None = None
    purchase_date: Day | None = None
    in_service_date: Day | None = Field(
        default=None, description="When it went into service: set by its first deployment unless given"
    )
    warranty_end: Day | None = None
    vendor: ShortText | None = None
    po_number: ShortText | None = None
    depreciation: DepreciationTerms | None = Field(
        default=None, description="Its own depreciation terms, instead of its category's profile"
    )
    tags: Annotated[dict[TagKey, TagValue], KEYED] = Field(default_factory=dict)
    custom_fields: Annotated[dict[FieldKey, CustomValue], KEYED] = Field(default_factory=dict)
    notes: Note | None = None
    saas: SaasSeats | None = Field(default=None, description="saas assets: the subscription's seat counts")

    @model_validator(mode="after")
    def _warranty_after_purchase(self) -> "AssetFields":
        if self.purchase_date and self.warranty_end and self.warranty_end < self.purchase_date:
            raise ValueError("warranty_end is before purchase_date")
        if self.saas is not None and self.kind is not Kind.SAAS:
            raise ValueError("saas seat counts belong to saas assets")
        return self


class AssetCreate(AssetFields):
    """Body of POST /v1/assets. The smallest valid body is {"name": ..., "kind": ...}."""

    status: Literal["planned", "ordered", "in_stock", "deployed", "in_maintenance"] = Field(
        default="planned", description="Initial lifecycle state; later changes go through /transitions."
    )


class AssetPatch(Strict):
    """Body of PATCH /v1/assets/{id}: a merge patch. `null` clears a field; in tags and
    custom_fields, `null` removes that key. Status and assignee change through their own routes."""

    # Required on the asset: they may be changed but not cleared, so null is not part of their schema.
    name: Text | SkipJsonSchema[None] = None
    kind: Kind | SkipJsonSchema[None] = None
    asset_tag: AssetTag | None = None
    serial_number: ShortText | None = None
    category: ShortText | None = None
    manufacturer: ShortText | None = None
    model: ShortText | None = None
    condition: Condition | None = None
    location: ShortText | None = None
    cost: Money | None = None
    purchase_date: Day | None = None
    in_service_date: Day | None = None
    warranty_end: Day | None = None
    vendor: ShortText | None = None
    po_number: ShortText | None = None
    depreciation: DepreciationTerms | None = None
    tags: Annotated[dict[TagKey, TagValue | None], KEYED] | None = None
    custom_fields: Annotated[dict[FieldKey, CustomValue | None], KEYED] | None = None
    notes: Note | None = None
    saas: SaasSeats | None = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> "AssetPatch":
        for name in ("name", "kind"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be cleared")
        return self


DiscoveryState = Literal["present", "missing", "retired"]


class Discovery(Model):
    """How an inventory connector knows an asset: written by the sync only."""

    connector_id: str
    provider: str
    external_key: str = Field(description="The provider's key: an ARN, a SaaS product key")
    state: DiscoveryState = Field(
        description="missing: not seen by the last completed run(s); retired: retired after N misses"
    )
    first_seen_at: datetime
    last_seen_at: datetime | None = Field(
        default=None, description="When a completed run last saw it (set when it goes missing)"
    )
    misses: int = Field(default=0, description="Consecutive completed runs that did not see it")
    run_id: str = Field(description="The run that last changed this record")


def discovered_asset_id(connector_id: str, external_key: str) -> str:
    """The id of the asset an inventory connector keeps for a provider's resource: stable across
    runs (so a sync finds its assets again), and computable from the key (so a lookup needs no index)."""
    return hashlib.sha256(f"{connector_id}\n{external_key}".encode()).hexdigest()[:32]


class Asset(AssetFields):
    """An asset as stored and returned."""

    model_config = ConfigDict(extra="forbid")

    id: str
    status: Status
    version: int
    created_at: datetime
    updated_at: datetime
    created_by: str
    updated_by: str
    assignment_id: str | None = None
    expected_return: date | None = None
    disposal: DisposalRecord | None = None
    discovery: Discovery | None = Field(
        default=None, description="Set on assets an inventory connector keeps (read-only)"
    )

    @property
    def etag(self) -> str:
        return etag_of(self.version)


class EndReason(StrEnum):
    """Why a license seat or an installation stopped counting: its asset went out of service."""

    ASSET_RETIRED = "asset_retired"
    ASSET_DISPOSED = "asset_disposed"
    ASSET_CANCELLED = "asset_cancelled"


class ReleasedSeat(Model):
    """A license seat the asset held, released when it went out of service."""

    license_id: str
    assignment_id: str = Field(description="The seat's id: GET /v1/licenses/{license_id}/assignments")
    product: str


class EndedInstallation(Model):
    """An installation on the asset that stopped counting when it went out of service (it is kept)."""

    id: str
    product: str = Field(description="The canonical product")
    version: str | None = None


class Holdings(Model):
    """What an asset held in licensing when it went out of service, which the move ends."""

    reason: EndReason
    seats: list[ReleasedSeat] = Field(default_factory=list)
    installations: list[EndedInstallation] = Field(default_factory=list)


class Released(Holdings):
    """What a move out of service released."""

    complete: bool = Field(
        description="false: the release stopped part-way (they are listed all the same); the "
        "compliance position leaves them out already, and the rest is released by the next seat "
        "assignment on a full license or by the daily audit"
    )


class ReleaseRecord(Model):
    """The release of what an asset held, written with its move out of service: pending until
    `released_at`. While it is pending, and for a few minutes after (while the indexes positions are
    read from catch up), positions leave the asset's seats and installations out."""

    asset_id: str
    reason: EndReason
    at: datetime
    by: str = Field(description="Who moved the asset out of service: the release is in their name")
    released_at: datetime | None = None

    @property
    def id(self) -> str:
        """One per asset: a later move replaces it."""
        return self.asset_id


class TransitionRequest(Strict):
    to: Status
    reason: Note | None = None
    disposal: Disposal | None = Field(default=None, description="Required when `to` is disposed.")


class TransitionedAsset(Asset):
    """The answer to a transition: the asset, and what the move released."""

    released: Released | None = Field(
        default=None,
        description="Moves out of service (to retired, disposed or cancelled): the license seats the "
        "asset held, now released, and its installations, which stop counting. null for other moves.",
    )


class CheckoutRequest(Strict):
    assignee: ShortText
    location: ShortText | None = None
    expected_return: Day | None = None
    note: Note | None = None


class CheckinRequest(Strict):
    location: ShortText | None = None
    condition: Condition | None = None
    note: Note | None = None


class Assignment(Model):
    """One check-out of an asset, closed by its check-in."""

    id: str
    asset_id: str
    assignee: str
    location: str | None = None
    expected_return: date | None = None
    checked_out_at: datetime
    checked_out_by: str
    note: str | None = None
    returned_at: datetime | None = None
    returned_by: str | None = None
    return_note: str | None = None
    return_condition: Condition | None = None


class AssignmentReturn(Model):
    """The check-in that closes an open assignment."""

    id: str
    asset_id: str
    returned_at: datetime
    returned_by: str
    return_note: str | None = None
    return_condition: Condition | None = None


class MaintenanceCreate(Strict):
    type: MaintenanceType
    title: Text
    description: Note | None = None
    vendor: ShortText | None = None
    cost: Money | None = None
    start_date: Day
    completion_date: Day | None = None
    warranty_covered: bool = False

    @model_validator(mode="after")
    def _dates_in_order(self) -> "MaintenanceCreate":
        if self.completion_date is not None and self.completion_date < self.start_date:
            raise ValueError("completion_date is before start_date")
        return self


class Maintenance(MaintenanceCreate):
    model_config = ConfigDict(extra="forbid")

    id: str
    asset_id: str
    created_at: datetime
    created_by: str


class FieldChange(Model):
    field: str
    old: Any = Field(default=None, alias="from")
    new: Any = Field(default=None, alias="to")

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class Actor(Model):
    user_id: str
    username: str


class HistoryEvent(Model):
    """An immutable record of one change to an asset: the version it produced, who, when, what."""

    asset_id: str
    version: int
    type: Literal[
        "created",
        "updated",
        "transitioned",
        "checked_out",
        "checked_in",
        "maintenance_logged",
        "missing",
        "restored",
    ]
    at: datetime
    actor: Actor
    changes: list[FieldChange] = Field(default_factory=list)
    reason: str | None = None
    ref: str | None = Field(default=None, description="Id of the related assignment or maintenance record.")
    released: Holdings | None = Field(
        default=None, description="A move out of service: the seats and installations it ended"
    )


class AssetFilter(Model):
    """List filters; each is an exact match. `tag` is given as "key:value"."""

    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    kind: Kind | None = None
    status: Status | None = None
    category: str | None = None
    location: str | None = None
    assigned_to: str | None = None
    tag: tuple[str, str] | None = None
    connector_id: str | None = None
    discovery_state: DiscoveryState | None = None

    @field_validator("tag", mode="before")
    @classmethod
    def _split_tag(cls, value: Any) -> Any:
        return tuple(value.split(":", 1)) if isinstance(value, str) else value

    def matches(self, asset: Asset) -> bool:
        """Whether `asset` passes every filter (as the listing's key conditions and filter expressions
        would decide it): for assets found by key rather than by listing."""
        for name in ("kind", "status", "category", "location", "assigned_to"):
            wanted = getattr(self, name)
            if wanted is not None and getattr(asset, name) != wanted:
                return False
        if self.tag is not None and asset.tags.get(self.tag[0]) != self.tag[1]:
            return False
        found = asset.discovery
        if self.connector_id is not None and (found is None or found.connector_id != self.connector_id):
            return False
        return self.discovery_state is None or (found is not None and found.state == self.discovery_state)


class AssetPage(Model):
    items: list[Asset]
    next_cursor: str | None = None


class HistoryPage(Model):
    items: list[HistoryEvent]
    next_cursor: str | None = None


class MaintenancePage(Model):
    items: list[Maintenance]
    next_cursor: str | None = None


class AssignmentPage(Model):
    items: list[Assignment]
    next_cursor: str | None = None
