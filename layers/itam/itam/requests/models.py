"""Requests, approval policies and their history (pydantic v2).

Annotations are evaluated as each class is made (no `from __future__ import annotations`): pydantic
would otherwise compile every field's annotation from a string, a sixth of the models' share of a cold start.
"""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StrictInt, model_validator

from itam.assets.models import Actor, Model, Money, Note, ShortText, Strict, Text
from itam.etags import etag_of
from itam.tenancy import Role

RequestId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
MAX_QUANTITY = 100
MAX_STEPS = 10


class RequestKind(StrEnum):
    HARDWARE = "hardware"
    LICENSE = "license"


class RequestStatus(StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    AWAITING_PROCUREMENT = "awaiting_procurement"
    FULFILLED = "fulfilled"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class RequestCreate(Strict):
    """Body of POST /v1/requests. Hardware names a category and/or a model; a license request names
    one license (`license_id`) or a product, and is for one seat of the person it is for."""

    kind: RequestKind
    category: ShortText | None = Field(default=None, description="hardware: as recorded on assets")
    model: ShortText | None = Field(default=None, description="hardware: compared case-insensitively")
    license_id: RequestId | None = Field(default=None, description="license: the entitlement to take from")
    product: Text | None = Field(default=None, description="license: any entitlement of this product")
    quantity: Annotated[StrictInt, Field(ge=1, le=MAX_QUANTITY)] = 1
    justification: Note
    requested_for: ShortText | None = Field(
        default=None,
        description="Who receives it: a user of the tenant (e-mail address or user name, any case), who "
        "then sees the request and may not decide it, or anyone else by name (an assignee as the register "
        "names people), who gets nothing in the API; default: the caller",
    )
    estimated_cost: Money | None = Field(
        default=None, description="Estimated total cost; the approval policy's thresholds compare against it"
    )

    @model_validator(mode="after")
    def _consistent(self) -> "RequestCreate":
        if self.kind is RequestKind.HARDWARE:
            if self.category is None and self.model is None:
                raise ValueError("a hardware request names a category, a model or both")
            if self.license_id is not None or self.product is not None:
                raise ValueError("license_id and product belong to license requests")
        else:
            if (self.license_id is None) == (self.product is None):
                raise ValueError("a license request names exactly one of license_id and product")
            if self.category is not None or self.model is not None:
                raise ValueError("category and model belong to hardware requests")
            if self.quantity != 1:
                raise ValueError(
                    "a license request is for one seat of the person it is for: quantity must be 1"
                )
        return self


class StepUpdate(Strict):
    """One step of an approval chain as an admin writes it: anyone holding `role`, or the one `user`."""

    role: Role | None = None
    user: ShortText | None = Field(
        default=None,
        description="A user of the tenant, by e-mail address or user name (any case); resolved to the "
        "user's id when the policy is saved",
    )
    min_cost: Money | None = Field(
        default=None,
        description="The step applies only to requests whose estimated cost, in this currency, is at least "
        "this; requests without an estimate or with another currency go through it",
    )

    @model_validator(mode="after")
    def _one_approver(self) -> "StepUpdate":
        if (self.role is None) == (self.user is None):
            raise ValueError("a step names exactly one of role and user")
        return self


class ApprovalStep(StepUpdate):
    """One step of an approval chain as stored: a step naming a user holds that user's id, which is
    what the step matches; `user` is the name it was given, for display."""

    user_id: str | None = Field(
        default=None,
        description="The id (sub) of the user the step names, found when the policy was saved; a step "
        "naming a user without one (saved before ids were kept) waits for nobody",
    )


class PolicyUpdate(Strict):
    """Body of PUT /v1/approval-policy: the ordered approval steps."""

    steps: Annotated[list[StepUpdate], Field(min_length=1, max_length=MAX_STEPS)]


class ApprovalPolicy(Model):
    """The tenant's approval policy; version 0 is the default (one step: an admin)."""

    steps: list[ApprovalStep]
    version: int
    updated_at: datetime | None = None
    updated_by: str | None = None

    @property
    def etag(self) -> str:
        return etag_of(self.version)


class PolicyEvent(Model):
    """One change of the approval policy."""

    version: int
    at: datetime
    actor: Actor
    steps: list[ApprovalStep]


class Decision(Model):
    step: int = Field(description="Index of the step in `approval.steps`")
    decision: Literal["approved", "rejected"]
    by: Actor
    at: datetime
    comment: str | None = None


class Approval(Model):
    """The chain a request goes through: the policy's steps that applied when it was submitted."""

    policy_version: int
    steps: list[ApprovalStep]
    current_step: int | None = Field(description="Index of the step waiting for a decision; null when none")
    decisions: list[Decision] = Field(default_factory=list)


class SeatRef(Model):
    license_id: str
    seat_id: str | None = Field(description="null: the person held a seat of this license already")


class Request(Model):
    """A request as stored and returned."""

    model_config = ConfigDict(extra="forbid")

    id: str
    kind: RequestKind
    category: str | None = None
    model: str | None = None
    license_id: str | None = None
    product: str | None = None
    quantity: int
    justification: str
    requested_by: str = Field(description="The id (sub) of the user who made it")
    requested_by_name: str
    requested_for: str = Field(description="Who receives it, as the requester named them")
    requested_for_id: str | None = Field(
        default=None,
        description="The id (sub) of the user who receives it, when `requested_for` names a user of the "
        "tenant; null for anyone else (and for requests made before ids were kept)",
    )
    estimated_cost: Money | None = None
    status: RequestStatus
    version: int
    created_at: datetime
    updated_at: datetime
    updated_by: str
    approval: Approval
    assets: list[str] = Field(default_factory=list, description="Assets checked out to fulfil it")
    seats: list[SeatRef] = Field(default_factory=list, description="License seats assigned to fulfil it")
    remaining: int = Field(description="Units still to be assigned")
    comment: str | None = Field(default=None, description="The last decision's or the cancellation's comment")

    @property
    def etag(self) -> str:
        return etag_of(self.version)


EventType = Literal[
    "submitted",
    "step_approved",
    "approved",
    "rejected",
    "cancelled",
    "assigned",
    "awaiting_procurement",
    "fulfilled",
]


class RequestEvent(Model):
    """An immutable record of one change to a request: the version it produced, who, when, what."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    request_id: str
    version: int
    type: EventType
    at: datetime
    actor: Actor
    old_status: RequestStatus | None = Field(default=None, alias="from")
    new_status: RequestStatus = Field(alias="to")
    comment: str | None = None
    step: int | None = Field(default=None, description="The approval step decided")
    refs: list[str] = Field(default_factory=list, description="Assets or seats assigned by this change")


class DecisionBody(Strict):
    """Body of POST /v1/requests/{id}/approve and /cancel."""

    comment: Note | None = None


class RejectionBody(Strict):
    """Body of POST /v1/requests/{id}/reject: the reason is required."""

    comment: Note


class RequestFilter(Model):
    """List filters; each an exact match (people compared case-insensitively)."""

    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    status: RequestStatus | None = None
    requested_by: str | None = None
    requested_for: str | None = None


class RequestPage(Model):
    items: list[Request]
    next_cursor: str | None = None


class RequestHistoryPage(Model):
    items: list[RequestEvent]
    next_cursor: str | None = None


class PolicyHistoryPage(Model):
    items: list[PolicyEvent]
    next_cursor: str | None = None
