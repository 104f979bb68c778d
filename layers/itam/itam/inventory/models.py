"""Inventory connectors, their sync runs, the job a run is queued as, and what a connector reports.

Annotations are evaluated as each class is made (no `from __future__ import annotations`): pydantic
would otherwise compile every field's annotation from a string, a sixth of the models' share of a cold start.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field, StrictBool, StrictInt, field_validator
from pydantic.json_schema import SkipJsonSchema

from itam.assets.models import AssetCreate, Model, ShortText, Strict
from itam.etags import etag_of
from itam.inventory.reconcile import DEFAULT_RETIRE_AFTER, RunCounts


class ConnectorType(StrEnum):
    AWS = "aws"
    MICROSOFT365 = "microsoft365"
    GOOGLE_WORKSPACE = "google_workspace"
    OKTA = "okta"
    GITHUB = "github"
    SLACK = "slack"


RetireAfter = Annotated[StrictInt, Field(ge=1, le=30)]
ReclaimAfterDays = Annotated[StrictInt, Field(ge=1, le=365)]
Settings = Annotated[dict[str, Any], Field(max_length=32)]
Credentials = Annotated[dict[str, Any], Field(max_length=16)]


class ConnectorCreate(Strict):
    """Body of POST /v1/connectors. `settings` and `credentials` are checked against the type."""

    type: ConnectorType
    name: ShortText
    enabled: StrictBool = True
    settings: Settings = Field(default_factory=dict, description="What to collect (see the README)")
    credentials: Credentials | None = Field(
        default=None, description="SaaS types: the provider's secret (write-only, never returned)"
    )
    retire_after: RetireAfter = Field(
        default=DEFAULT_RETIRE_AFTER, description="Retire an asset after this many runs in a row miss it"
    )
    reclaim_after_days: ReclaimAfterDays = Field(
        default=30, description="A SaaS seat unused this many days is reported as reclaimable"
    )


class ConnectorPatch(Strict):
    """Body of PATCH /v1/connectors/{id}: given fields replace the stored ones, except `type`."""

    # Not a field of the patch: declared only so that sending it is refused with a reason.
    type: SkipJsonSchema[Any] = None
    name: ShortText | None = None
    enabled: StrictBool | None = None
    settings: Settings | None = None
    credentials: Credentials | None = Field(default=None, description="Replaces the stored secret")
    retire_after: RetireAfter | None = None
    reclaim_after_days: ReclaimAfterDays | None = None

    @field_validator("type", mode="before")
    @classmethod
    def _type_is_fixed(cls, value: Any) -> None:
        raise ValueError(
            "a connector's type cannot be changed: create a connector of the new type and delete this one"
        )


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"  # completed, but some scopes could not be read (see errors)
    FAILED = "failed"
    SKIPPED = "skipped"  # another run of the connector held the lease


FINISHED = frozenset({RunStatus.SUCCEEDED, RunStatus.PARTIAL, RunStatus.FAILED, RunStatus.SKIPPED})


class RunSummary(Model):
    id: str
    status: RunStatus
    finished_at: datetime | None = None


class Connector(Model):
    """A connector as stored and returned: its credentials are never part of it."""

    id: str
    type: ConnectorType
    name: str
    enabled: bool
    settings: dict[str, Any]
    credentials_set: bool = Field(description="Whether a secret is stored (it is never returned)")
    external_id: str | None = Field(
        default=None, description="aws: the ExternalId to require in the role's trust policy"
    )
    retire_after: int
    reclaim_after_days: int
    version: int
    created_at: datetime
    created_by: str
    updated_at: datetime
    last_run: RunSummary | None = None
    last_completed_at: datetime | None = Field(
        default=None, description="When the last run that saw everything started"
    )

    @property
    def etag(self) -> str:
        return etag_of(self.version)


class ConnectorPage(Model):
    items: list[Connector]
    next_cursor: str | None = None


class RunError(Model):
    """Something a run could not do: a scope it could not read, a record it could not write."""

    code: str
    message: str
    scope: str | None = None


MAX_RUN_ERRORS = 100


class SyncRun(Model):
    id: str
    connector_id: str
    connector_type: ConnectorType
    trigger: Literal["manual", "schedule"]
    status: RunStatus
    queued_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    counts: dict[str, int] = Field(default_factory=lambda: RunCounts().as_dict())
    errors: list[RunError] = Field(default_factory=list, description=f"At most {MAX_RUN_ERRORS}")
    errors_total: int = 0
    failure: str | None = Field(default=None, description="Why a failed run stopped (the provider's reason)")
    requested_by: str | None = None


class SyncRunPage(Model):
    items: list[SyncRun]
    next_cursor: str | None = None


class SyncJob(Model):
    """The message a run is queued as (one per connector)."""

    tenant_id: str
    connector_id: str
    trigger: Literal["manual", "schedule"] = "schedule"
    run_id: str | None = None
    scheduled_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Discovered:
    """One resource as a connector reports it, already in the register's terms."""

    external_key: str
    content_hash: str
    scope: str  # where it lives, for `Collector.was_skipped`
    fields: AssetCreate
    owned_custom_fields: frozenset[str] = frozenset()  # custom fields the connector keeps
