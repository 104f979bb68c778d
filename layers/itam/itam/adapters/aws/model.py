"""What the AWS connector produces and is configured with: resources, warnings, settings, limits."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Where the global endpoints (STS, Organizations, S3 listing, DescribeRegions) are called.
HOME_REGIONS = {"aws": "us-east-1", "aws-us-gov": "us-gov-west-1", "aws-cn": "cn-north-1"}

# Caps on untrusted provider data.
MAX_TAGS = 64
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
MAX_NAME = 200
MAX_TEXT = 256

ACCOUNT_RE = re.compile(r"^\d{12}$")
REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
# The region-independent check of an ARN: partition, service, region, account, resource.
ARN_RE = re.compile(r"^arn:aws(-[a-z]+)*:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:\S+$")
ROLE_ARN_PATTERN = r"^arn:(aws|aws-us-gov|aws-cn):iam::([0-9]{12}):role/[A-Za-z0-9_+=,.@/-]+$"


class ResourceType(StrEnum):
    EC2_INSTANCE = "ec2_instance"
    EBS_VOLUME = "ebs_volume"
    RDS_INSTANCE = "rds_instance"
    LAMBDA_FUNCTION = "lambda_function"
    DYNAMODB_TABLE = "dynamodb_table"
    S3_BUCKET = "s3_bucket"


# Fields that change without the resource changing: left out of content_hash().
VOLATILE_FIELDS = frozenset({"observed_at"})

Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]


class CloudResource(BaseModel):
    """One cloud resource as the inventory saw it, keyed by its ARN."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    external_key: Annotated[str, Field(min_length=1, max_length=2048, pattern=ARN_RE.pattern)]
    resource_type: ResourceType
    account_id: Annotated[str, Field(pattern=ACCOUNT_RE.pattern)]
    region: Annotated[str, Field(pattern=REGION_RE.pattern)] | None = Field(
        default=None, description="None only for an S3 bucket whose location could not be read"
    )
    name: Annotated[str, Field(min_length=1, max_length=MAX_NAME)]
    size: Text | None = Field(
        default=None, description="instance type, volume GiB, DB class, memory MB, capacity mode"
    )
    state: Text | None = None
    tags: Annotated[dict[str, str], Field(max_length=MAX_TAGS)] = Field(default_factory=dict)
    attributes: Annotated[dict[str, str], Field(max_length=32)] = Field(
        default_factory=dict, description="further descriptive facts (engine, runtime, zone, ...)"
    )
    created_at: datetime | None = None
    observed_at: datetime | None = None

    @field_validator("created_at", "observed_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def content_hash(self) -> str:
        """sha256 of a canonical JSON of every field except the volatile ones: equal hashes mean
        nothing worth recording changed."""
        body = self.model_dump(mode="json", exclude=set(VOLATILE_FIELDS))
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


class MalformedRecord(ValueError):
    """A provider record without its identifier, or with values no resource can carry."""


@dataclass(frozen=True, slots=True)
class InventoryWarning:
    """Something that could not be collected (`skipped`: its scope was not fully seen, so reconcile
    must not take absence there for deletion), or a notice. None in a scope field means "all"."""

    code: str
    message: str
    account_id: str | None = None
    region: str | None = None
    resource_type: ResourceType | None = None
    skipped: bool = True


# --- configuration -----------------------------------------------------------------------------

RegionName = Annotated[str, Field(pattern=REGION_RE.pattern)]
TagTarget = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_]*$")]
AwsTagKey = Annotated[str, Field(min_length=1, max_length=MAX_TAG_KEY)]


class AwsConnectorConfig(BaseModel):
    """What a tenant configures for the AWS connector (validated; an error names the field). There
    is deliberately no endpoint here: the connector only ever talks to AWS's own endpoints."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True, defer_build=True)

    role_arn: Annotated[str, Field(pattern=ROLE_ARN_PATTERN, max_length=2048)]
    member_role_name: (
        Annotated[str, Field(pattern=r"^[A-Za-z0-9_+=,.@-]+(/[A-Za-z0-9_+=,.@-]+)*$", max_length=512)] | None
    ) = Field(default=None, description="set to walk the Organization's accounts through this role")
    regions: Annotated[list[RegionName], Field(min_length=1, max_length=64)] | None = Field(
        default=None, description="regions to cover; default: every region enabled in each account"
    )
    tag_keys: Annotated[dict[TagTarget, AwsTagKey], Field(max_length=20)] = Field(
        default_factory=dict,
        description='register field -> AWS tag key, e.g. {"owner": "Owner", "cost_center": "CostCenter"}',
    )

    @field_validator("regions")
    @classmethod
    def _unique(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else list(dict.fromkeys(value))


class AwsConnectorSettings(AwsConnectorConfig):
    """The configuration with the ExternalId the service generated for the tenant."""

    external_id: Annotated[str, Field(min_length=2, max_length=1224, pattern=r"^[A-Za-z0-9_+=,.@:/-]+$")]

    @property
    def partition(self) -> str:
        return self.role_arn.split(":", 2)[1]

    @property
    def account_id(self) -> str:
        return self.role_arn.split(":")[4]

    @property
    def home_region(self) -> str:
        return HOME_REGIONS[self.partition]


@dataclass(frozen=True, slots=True)
class InventoryLimits:
    max_accounts: int = 1_000
    max_regions: int = 64
    max_resources: int = 250_000


# --- what a resource type module declares ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scope:
    """Where records are collected: an account and a region (the home region for a global type)."""

    account: str
    region: str
    partition: str = "aws"


class Clients(Protocol):
    """The botocore client of `service` in `region`, signed with the scope's assumed credentials."""

    def __call__(self, service: str, region: str) -> Any: ...


RecordT = TypeVar("RecordT")


@dataclass(frozen=True, slots=True)
class AwsResource(Generic[RecordT]):
    """One resource type: the AWS service it reads, whether it is listed once per account (global,
    like S3) or once per region, and its two steps. `get` yields the provider's records (a record
    it cannot read is yielded as a MalformedRecord, so the walk records it and goes on);
    `transform` turns one record into a resource, or None for one that is not (any longer) a
    resource."""

    service: str
    is_global: bool
    get: Callable[[Clients, Scope], Iterable[RecordT | MalformedRecord]]
    transform: Callable[[RecordT, Scope], CloudResource | None]
