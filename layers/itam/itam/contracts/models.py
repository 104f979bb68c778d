"""Contracts and their history (pydantic v2).

Annotations are evaluated as each class is made (no `from __future__ import annotations`): pydantic
would otherwise compile every field's annotation from a string, a sixth of the models' share of a cold start.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StrictBool, StrictInt, model_validator

from itam.assets.models import (
    KEYED,
    Actor,
    Day,
    FieldChange,
    Model,
    Money,
    Note,
    ShortText,
    Strict,
    TagKey,
    TagValue,
    Text,
)
from itam.etags import etag_of

# How many assets and licenses one contract may cover: each is a key written in the contract's own
# transaction (DynamoDB takes 100 items in one), so that coverage and contract never disagree.
MAX_COVERED = 80
ObjectId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
Hours = Annotated[Decimal, Field(gt=0, le=100_000, max_digits=10, decimal_places=2)]
Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=7, decimal_places=4)]


class ContractType(StrEnum):
    SUPPORT = "support"
    MAINTENANCE = "maintenance"
    LEASE = "lease"
    WARRANTY = "warranty"
    SLA = "sla"
    SERVICE = "service"
    SUBSCRIPTION = "subscription"


class CostPeriod(StrEnum):
    ONE_TIME = "one_time"
    MONTH = "month"
    YEAR = "year"


class ContractCost(Money):
    """What the contract costs: once, or per month or year of its term."""

    period: CostPeriod = CostPeriod.ONE_TIME


class SlaTerms(Strict):
    response_hours: Hours | None = None
    resolution_hours: Hours | None = None
    availability_percent: Percent | None = None


class LeaseTerms(Strict):
    return_by: Day | None = Field(
        default=None, description="When the leased assets go back (default: the end date)"
    )
    buyout_price: Money | None = None


class ContractFields(Strict):
    """Fields a client writes (on create, and on PATCH)."""

    type: ContractType
    vendor: ShortText
    name: Text | None = None
    reference: ShortText | None = Field(default=None, description="The vendor's contract or agreement number")
    start_date: Day
    end_date: Day | None = Field(default=None, description="None: open-ended")
    notice_period_days: Annotated[StrictInt, Field(ge=0, le=3650)] = 0
    auto_renew: StrictBool = False
    cost: ContractCost | None = None
    asset_ids: Annotated[list[ObjectId], Field(max_length=MAX_COVERED)] = Field(
        default_factory=list, description="The assets it covers (of this tenant)"
    )
    license_ids: Annotated[list[ObjectId], Field(max_length=MAX_COVERED)] = Field(
        default_factory=list, description="The licenses it covers (of this tenant)"
    )
    sla: SlaTerms | None = None
    lease: LeaseTerms | None = Field(default=None, description="lease contracts only")
    tags: Annotated[dict[TagKey, TagValue], KEYED] = Field(default_factory=dict)
    notes: Note | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "ContractFields":
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        if self.lease is not None and self.type is not ContractType.LEASE:
            raise ValueError("lease terms belong to lease contracts")
        if len(set(self.asset_ids)) != len(self.asset_ids) or len(set(self.license_ids)) != len(
            self.license_ids
        ):
            raise ValueError("an asset or license is listed twice")
        if len(self.asset_ids) + len(self.license_ids) > MAX_COVERED:
            raise ValueError(f"a contract covers at most {MAX_COVERED} assets and licenses together")
        return self


class ContractCreate(ContractFields):
    """Body of POST /v1/contracts."""


class ContractPatch(Strict):
    """Body of PATCH /v1/contracts/{id}: a merge patch (`null` clears; lists are replaced whole)."""

    type: ContractType | None = None
    vendor: ShortText | None = None
    name: Text | None = None
    reference: ShortText | None = None
    start_date: Day | None = None
    end_date: Day | None = None
    notice_period_days: Annotated[StrictInt, Field(ge=0, le=3650)] | None = None
    auto_renew: StrictBool | None = None
    cost: ContractCost | None = None
    asset_ids: Annotated[list[ObjectId], Field(max_length=MAX_COVERED)] | None = None
    license_ids: Annotated[list[ObjectId], Field(max_length=MAX_COVERED)] | None = None
    sla: SlaTerms | None = None
    lease: LeaseTerms | None = None
    tags: Annotated[dict[TagKey, TagValue | None], KEYED] | None = None
    notes: Note | None = None


class Contract(ContractFields):
    """A contract as stored and returned."""

    model_config = ConfigDict(extra="forbid")

    id: str
    version: int
    created_at: datetime
    updated_at: datetime
    created_by: str
    updated_by: str
    notice_by: date | None = Field(
        default=None, description="end_date - notice_period_days: the last day to give notice (server-set)"
    )

    @model_validator(mode="after")
    def _notice_by(self) -> "Contract":
        self.notice_by = (
            None if self.end_date is None else self.end_date - timedelta(days=self.notice_period_days)
        )
        return self

    @property
    def etag(self) -> str:
        return etag_of(self.version)


class ContractFilter(Model):
    model_config = ConfigDict(frozen=True)

    type: ContractType | None = None
    vendor: str | None = None
    ending_after: date | None = None
    ending_before: date | None = None


class ContractHistoryEvent(Model):
    """An immutable change to a contract: who, when, what changed."""

    contract_id: str
    version: int
    type: Literal["created", "updated"]
    at: datetime
    actor: Actor
    changes: list[FieldChange]
    reason: str | None = None


class ContractPage(Model):
    items: list[Contract]
    next_cursor: str | None = None


class ContractHistoryPage(Model):
    items: list[ContractHistoryEvent]
    next_cursor: str | None = None
