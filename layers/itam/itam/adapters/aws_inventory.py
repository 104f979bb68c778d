"""AWS inventory connector (an adapter: it is the code that calls AWS): the get and transform steps.

get: `AwsInventory.collect()` assumes the tenant's role (AssumeRole with the tenant's ExternalId),
optionally walks the Organization's ACTIVE accounts through a member role, lists each account's
enabled regions (or uses a configured list) and yields every EC2 instance, EBS volume, RDS DB
instance, Lambda function and DynamoDB table per account x region, and every S3 bucket once per
account. Every call after the first AssumeRole uses assumed credentials, never the process's own.

transform: pure functions from the documented response shapes to `CloudResource`. Provider data is
untrusted input: missing or mistyped keys never crash (optional ones become None, a record without
its identifier raises `MalformedRecord`), strings and maps are capped.

What could not be collected is recorded in `AwsInventory.warnings` and skipped; `was_skipped()`
tells the reconcile step which scopes it must not mark missing. A role that cannot be assumed ends
the run with `ConnectorAuthError` before anything is yielded.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Protocol

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from itam.adapters import sessions
from itam.clock import SystemClock
from itam.inventory.errors import ConnectorAuthError, ConnectorError, InventoryLimitExceeded
from itam.ports import Clock

SESSION_NAME = "itam-inventory"
# Role chaining (the service's own role -> the tenant's role -> a member role) caps sessions at 1 hour.
SESSION_SECONDS = 3600
RENEW_BEFORE = timedelta(minutes=5)
# Where the global endpoints (STS, Organizations, S3 listing, DescribeRegions) are called.
HOME_REGIONS = {"aws": "us-east-1", "aws-us-gov": "us-gov-west-1", "aws-cn": "cn-north-1"}
CLIENT_CONFIG = Config(
    retries={"mode": "adaptive", "max_attempts": 8},
    connect_timeout=5,
    read_timeout=30,
    max_pool_connections=10,
    # Endpoints come only from an injected client factory, never from the environment or a profile
    # (a botocore option since 1.31 that botocore-stubs does not know yet).
    ignore_configured_endpoint_urls=True,  # type: ignore[call-arg]
    user_agent_extra="itam-inventory",
)

# Caps on untrusted provider data.
MAX_TAGS = 64
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
MAX_NAME = 200
MAX_TEXT = 256
MAX_WARNINGS = 500

ACCOUNT_RE = re.compile(r"^\d{12}$")
REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
# The region-independent check of an ARN: partition, service, region, account, resource.
ARN_RE = re.compile(r"^arn:aws(-[a-z]+)*:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:\S+$")
ROLE_ARN_PATTERN = r"^arn:(aws|aws-us-gov|aws-cn):iam::([0-9]{12}):role/[A-Za-z0-9_+=,.@/-]+$"

# Errors that mean "this region cannot be used by these credentials" (opt-in region not enabled, an
# STS token not valid there): the whole region is skipped with one warning.
REGION_UNAVAILABLE = frozenset(
    {"OptInRequired", "AuthFailure", "InvalidClientTokenId", "UnrecognizedClientException"}
)
# Errors that mean "the caller is not allowed", as opposed to throttling or a provider fault.
THROTTLED_OR_FAULT = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "ServiceUnavailable",
        "InternalFailure",
        "InternalError",
        "RequestTimeout",
    }
)
GONE = frozenset({"ResourceNotFoundException", "NoSuchBucket"})
EC2_LIVE_STATES = ["pending", "running", "shutting-down", "stopping", "stopped"]


# --- model -------------------------------------------------------------------------------------


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


# --- errors ------------------------------------------------------------------------------------


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


# --- transform: small tolerant readers ---------------------------------------------------------


def _text(value: Any, limit: int = MAX_TEXT) -> str | None:
    """A non-empty string, stripped and capped, or None."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    text = str(value).strip()
    return text[:limit] if text else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _datetime(value: Any) -> datetime | None:
    """botocore gives datetimes; recorded JSON gives ISO 8601 strings. Anything else is unknown."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _required(raw: Mapping[str, Any], key: str) -> str:
    if not isinstance(raw, Mapping):
        raise MalformedRecord(f"expected an object, got {type(raw).__name__}")
    value = _text(raw.get(key), 1024)
    if value is None:
        raise MalformedRecord(f"record without {key}")
    return value


def _arn(value: Any, fallback: str) -> str:
    """The ARN the API returned when it is one, else the one built from the documented format."""
    text = _text(value, 2048)
    return text if text is not None and ARN_RE.match(text) else fallback


def _attributes(**values: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, value in values.items():
        if isinstance(value, bool):
            found[key] = "true" if value else "false"
        elif (text := _text(value)) is not None:
            found[key] = text
    return found


def tag_map(raw_tags: Any) -> dict[str, str]:
    """Tags as a dict from either documented shape: a list of {"Key", "Value"} (EC2, RDS, DynamoDB,
    S3) or a map (Lambda). Entries that are not strings or keys over 128 characters are dropped,
    values are capped at 256 characters, at most 64 tags are kept (by key order)."""
    pairs: Iterable[tuple[Any, Any]]
    if isinstance(raw_tags, Mapping):
        pairs = raw_tags.items()
    elif isinstance(raw_tags, list | tuple):
        pairs = ((_map(item).get("Key"), _map(item).get("Value", "")) for item in raw_tags)
    else:
        return {}
    tags: dict[str, str] = {}
    for key, value in pairs:
        if not isinstance(key, str) or not key or len(key) > MAX_TAG_KEY:
            continue
        if value is None:
            value = ""
        if isinstance(value, str):
            tags[key] = value[:MAX_TAG_VALUE]
    return dict(sorted(tags.items())[:MAX_TAGS])


def _name(tags: Mapping[str, str], fallback: str) -> str:
    name = (tags.get("Name") or "").strip()
    return (name or fallback)[:MAX_NAME]


def bucket_region(location_constraint: Any) -> str | None:
    """A bucket's region from GetBucketLocation's LocationConstraint: empty means us-east-1 and the
    legacy "EU" means eu-west-1 (as documented). None when the value is not a region."""
    if location_constraint is None or location_constraint == "":
        return "us-east-1"
    if location_constraint == "EU":
        return "eu-west-1"
    text = _text(location_constraint, 64)
    return text if text is not None and REGION_RE.match(text) else None


def _resource(**fields: Any) -> CloudResource:
    try:
        return CloudResource(**fields)
    except ValidationError as exc:
        errors = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3])
        raise MalformedRecord(errors) from None


# --- transform: one function per resource type --------------------------------------------------


def ec2_instance(
    raw: Mapping[str, Any], account: str, region: str, *, partition: str = "aws"
) -> CloudResource | None:
    """An element of DescribeInstances' Reservations[].Instances[]. None for a terminated instance.
    created_at is the attach time of the root volume (the API has no creation time; LaunchTime
    changes on every start)."""
    instance_id = _required(raw, "InstanceId")
    state = _text(_map(raw.get("State")).get("Name"))
    if state == "terminated":
        return None
    tags = tag_map(raw.get("Tags"))
    root_device = raw.get("RootDeviceName")
    created = None
    for mapping in raw.get("BlockDeviceMappings") or []:
        if isinstance(mapping, Mapping) and root_device and mapping.get("DeviceName") == root_device:
            created = _datetime(_map(mapping.get("Ebs")).get("AttachTime"))
    return _resource(
        external_key=f"arn:{partition}:ec2:{region}:{account}:instance/{instance_id}",
        resource_type=ResourceType.EC2_INSTANCE,
        account_id=account,
        region=region,
        name=_name(tags, instance_id),
        size=_text(raw.get("InstanceType")),
        state=state,
        tags=tags,
        attributes=_attributes(
            availability_zone=_map(raw.get("Placement")).get("AvailabilityZone"),
            platform=raw.get("PlatformDetails"),
            architecture=raw.get("Architecture"),
            vpc_id=raw.get("VpcId"),
            lifecycle=raw.get("InstanceLifecycle"),
        ),
        created_at=created,
    )


def ebs_volume(raw: Mapping[str, Any], account: str, region: str, *, partition: str = "aws") -> CloudResource:
    """An element of DescribeVolumes' Volumes[]."""
    volume_id = _required(raw, "VolumeId")
    tags = tag_map(raw.get("Tags"))
    size = _int(raw.get("Size"))
    attached = sorted(
        text
        for item in (raw.get("Attachments") or [])
        if (text := _text(_map(item).get("InstanceId"))) is not None
    )
    return _resource(
        external_key=f"arn:{partition}:ec2:{region}:{account}:volume/{volume_id}",
        resource_type=ResourceType.EBS_VOLUME,
        account_id=account,
        region=region,
        name=_name(tags, volume_id),
        size=f"{size} GiB" if size is not None else None,
        state=_text(raw.get("State")),
        tags=tags,
        attributes=_attributes(
            volume_type=raw.get("VolumeType"),
            availability_zone=raw.get("AvailabilityZone"),
            encrypted=raw.get("Encrypted") if isinstance(raw.get("Encrypted"), bool) else None,
            attached_to=",".join(attached) if attached else None,
        ),
        created_at=_datetime(raw.get("CreateTime")),
    )


def rds_instance(
    raw: Mapping[str, Any], account: str, region: str, *, partition: str = "aws"
) -> CloudResource:
    """An element of DescribeDBInstances' DBInstances[] (tags come inline in TagList)."""
    identifier = _required(raw, "DBInstanceIdentifier")
    tags = tag_map(raw.get("TagList"))
    storage = _int(raw.get("AllocatedStorage"))
    return _resource(
        external_key=_arn(
            raw.get("DBInstanceArn"), f"arn:{partition}:rds:{region}:{account}:db:{identifier}"
        ),
        resource_type=ResourceType.RDS_INSTANCE,
        account_id=account,
        region=region,
        name=_name(tags, identifier),
        size=_text(raw.get("DBInstanceClass")),
        state=_text(raw.get("DBInstanceStatus")),
        tags=tags,
        attributes=_attributes(
            engine=raw.get("Engine"),
            engine_version=raw.get("EngineVersion"),
            availability_zone=raw.get("AvailabilityZone"),
            multi_az=raw.get("MultiAZ") if isinstance(raw.get("MultiAZ"), bool) else None,
            storage_gib=storage,
            cluster=raw.get("DBClusterIdentifier"),
        ),
        created_at=_datetime(raw.get("InstanceCreateTime")),
    )


def lambda_function(
    raw: Mapping[str, Any], account: str, region: str, raw_tags: Any = None, *, partition: str = "aws"
) -> CloudResource:
    """An element of ListFunctions' Functions[], with the `Tags` map of ListTags. ListFunctions
    returns no State (only GetFunction does) and no creation time."""
    function_name = _required(raw, "FunctionName")
    tags = tag_map(raw_tags)
    memory = _int(raw.get("MemorySize"))
    architectures = [a for a in raw.get("Architectures") or [] if isinstance(a, str)]
    return _resource(
        external_key=_arn(
            raw.get("FunctionArn"), f"arn:{partition}:lambda:{region}:{account}:function:{function_name}"
        ),
        resource_type=ResourceType.LAMBDA_FUNCTION,
        account_id=account,
        region=region,
        name=_name(tags, function_name),
        size=f"{memory} MB" if memory is not None else None,
        state=_text(raw.get("State")),
        tags=tags,
        attributes=_attributes(
            runtime=raw.get("Runtime"),
            architecture=",".join(sorted(architectures)) or None,
            package_type=raw.get("PackageType"),
        ),
    )


def _capacity(raw: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(billing mode, size) of a table: on-demand, or its provisioned read/write capacity."""
    mode = _text(_map(raw.get("BillingModeSummary")).get("BillingMode"))
    throughput = _map(raw.get("ProvisionedThroughput"))
    reads, writes = _int(throughput.get("ReadCapacityUnits")), _int(throughput.get("WriteCapacityUnits"))
    if mode is None and (reads or writes):
        mode = "PROVISIONED"  # tables created provisioned may have no BillingModeSummary
    if mode == "PAY_PER_REQUEST":
        return mode, "on-demand"
    if mode == "PROVISIONED" and reads is not None and writes is not None:
        return mode, f"{reads} RCU / {writes} WCU"
    return mode, None


def dynamodb_table(
    raw: Mapping[str, Any], account: str, region: str, raw_tags: Any = None, *, partition: str = "aws"
) -> CloudResource:
    """DescribeTable's `Table`, with the Tags list of ListTagsOfResource."""
    table_name = _required(raw, "TableName")
    tags = tag_map(raw_tags)
    mode, size = _capacity(raw)
    return _resource(
        external_key=_arn(
            raw.get("TableArn"), f"arn:{partition}:dynamodb:{region}:{account}:table/{table_name}"
        ),
        resource_type=ResourceType.DYNAMODB_TABLE,
        account_id=account,
        region=region,
        name=_name(tags, table_name),
        size=size,
        state=_text(raw.get("TableStatus")),
        tags=tags,
        attributes=_attributes(
            billing_mode=mode, table_class=_map(raw.get("TableClassSummary")).get("TableClass")
        ),
        created_at=_datetime(raw.get("CreationDateTime")),
    )


def s3_bucket(
    raw: Mapping[str, Any], account: str, region: str | None, raw_tags: Any = None, *, partition: str = "aws"
) -> CloudResource:
    """An element of ListBuckets' Buckets[], in the region GetBucketLocation named, with the TagSet
    of GetBucketTagging."""
    bucket = _required(raw, "Name")
    tags = tag_map(raw_tags)
    return _resource(
        external_key=f"arn:{partition}:s3:::{bucket}",
        resource_type=ResourceType.S3_BUCKET,
        account_id=account,
        region=region,
        name=_name(tags, bucket),
        tags=tags,
        created_at=_datetime(raw.get("CreationDate")),
    )


# Register fields that configured tag keys fill; any other target becomes a custom field.
FIELD_TARGETS = {"location": "location"}
REGISTER_TEXT_LIMIT = 128
CUSTOM_VALUE_LIMIT = 1024


def _tag_value(tags: Mapping[str, str], key: str) -> str | None:
    """The tag's value by exact key, else by a case-insensitive match (Owner/owner/OWNER)."""
    value = tags.get(key)
    if value is None:
        folded = key.casefold()
        value = next((v for k, v in sorted(tags.items()) if k.casefold() == folded), None)
    value = (value or "").strip()
    return value or None


def mapped_fields(resource: CloudResource, tag_keys: Mapping[str, str]) -> dict[str, Any]:
    """The register fields that configured tag keys give this resource: "location" -> location,
    any other target ("owner", "cost_center", ...) -> custom_fields[target]. An owner is not an
    assignee: a cloud resource is in no one's custody, so it is not checked out. Tags that are absent or
    blank give nothing (so the register keeps what it has)."""
    fields: dict[str, Any] = {}
    custom: dict[str, str] = {}
    for target, tag_key in sorted(tag_keys.items()):
        value = _tag_value(resource.tags, tag_key)
        if value is None:
            continue
        if target in FIELD_TARGETS:
            fields[FIELD_TARGETS[target]] = value[:REGISTER_TEXT_LIMIT]
        else:
            custom[target] = value[:CUSTOM_VALUE_LIMIT]
    if custom:
        fields["custom_fields"] = custom
    return fields


# --- get: clients ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AwsCredentials:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: datetime | None = None


class ClientFactory(Protocol):
    """Makes a botocore client for `service` in `region`: with `credentials`, or (only for the
    first AssumeRole) with the process's own when `credentials` is None."""

    def __call__(self, service: str, region: str, credentials: AwsCredentials | None) -> Any: ...


class BotocoreClientFactory:
    """The production factory: AWS's own endpoints, adaptive retries, timeouts. `endpoint_url` is
    for the local stack and tests only (wired in code, never from a tenant's configuration)."""

    def __init__(self, *, endpoint_url: str | None = None, config: Config = CLIENT_CONFIG) -> None:
        self._endpoint_url = endpoint_url
        self._config = config

    def __call__(self, service: str, region: str, credentials: AwsCredentials | None) -> Any:
        return sessions.client(
            service,
            region,
            self._endpoint_url,
            self._config,
            aws_access_key_id=credentials.access_key_id if credentials else None,
            aws_secret_access_key=credentials.secret_access_key if credentials else None,
            aws_session_token=credentials.session_token if credentials else None,
        )


def _error(exc: ClientError) -> tuple[str, str]:
    error = _map(exc.response.get("Error"))
    return str(error.get("Code") or "Unknown"), str(error.get("Message") or exc)[:1000]


class _Skip(Exception):
    """A scope that could not be collected, already recorded as a warning."""


class _AccountSession:
    """Credentials for one account, assumed again shortly before they expire."""

    def __init__(self, assume: Callable[[], AwsCredentials], clock: Clock) -> None:
        self._assume = assume
        self._clock = clock
        self._credentials: AwsCredentials | None = None

    def credentials(self) -> AwsCredentials:
        current = self._credentials
        if current is None or (
            current.expiration is not None and current.expiration - RENEW_BEFORE <= self._clock.now()
        ):
            current = self._credentials = self._assume()
        return current


# --- get: the collector ------------------------------------------------------------------------


class AwsInventory:
    """Collects a tenant's AWS resources. Iterate `collect()` to the end, then read `warnings`."""

    def __init__(
        self,
        settings: AwsConnectorSettings,
        *,
        client_factory: ClientFactory | None = None,
        clock: Clock | None = None,
        limits: InventoryLimits | None = None,
    ) -> None:
        self.settings = settings
        self.warnings: list[InventoryWarning] = []
        self.accounts: list[str] = []
        self._factory: ClientFactory = client_factory or BotocoreClientFactory()
        self._clock: Clock = clock or SystemClock()
        self._limits = limits or InventoryLimits()
        self._skipped: set[tuple[str | None, str | None, ResourceType | None]] = set()
        # Clients of the region being collected (EC2 serves two resource types).
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._yielded = 0

    # -- public ---------------------------------------------------------------------------------

    def collect(self) -> Iterator[CloudResource]:
        """Every resource of every covered account and region, each once. Raises ConnectorAuthError
        (before yielding anything) when the tenant's role cannot be assumed or the Organization
        cannot be listed, InventoryLimitExceeded past the limits."""
        self.warnings.clear()
        self.accounts.clear()
        self._skipped.clear()
        self._yielded = 0
        root = _AccountSession(self._assume_root, self._clock)
        root.credentials()
        for account_id in self._accounts(root):
            session = root if account_id == self.settings.account_id else self._member(root, account_id)
            self.accounts.append(account_id)
            yield from self._account(account_id, session)

    def was_skipped(self, account_id: str, region: str | None, resource_type: ResourceType) -> bool:
        """Whether a warning covers this scope: reconcile must not mark its resources missing."""
        return any(
            (account_id if a else None, region if r else None, resource_type if t else None) in self._skipped
            for a in (True, False)
            for r in (True, False)
            for t in (True, False)
        )

    # -- accounts -------------------------------------------------------------------------------

    def _assume(self, role_arn: str, credentials: AwsCredentials | None) -> AwsCredentials:
        sts = self._factory("sts", self.settings.home_region, credentials)
        response = sts.assume_role(
            RoleArn=role_arn,
            RoleSessionName=SESSION_NAME,
            ExternalId=self.settings.external_id,
            DurationSeconds=SESSION_SECONDS,
        )
        issued = _map(_map(response).get("Credentials"))
        keys = [_text(issued.get(k), 4096) for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")]
        if any(k is None for k in keys):
            raise ConnectorError(f"AssumeRole for {role_arn} returned no usable credentials")
        access, secret, token = (str(k) for k in keys)
        return AwsCredentials(access, secret, token, _datetime(issued.get("Expiration")))

    def _assume_root(self) -> AwsCredentials:
        arn = self.settings.role_arn
        try:
            return self._assume(arn, None)
        except ClientError as exc:
            code, message = _error(exc)
            if code in THROTTLED_OR_FAULT:
                raise ConnectorError(
                    f"AssumeRole {arn}: {code}: {message}", code=code, retryable=True
                ) from None
            raise ConnectorAuthError(
                f"cannot assume {arn}: {code}: {message}", code=code, provider_message=message
            ) from None
        except BotoCoreError as exc:
            raise ConnectorError(f"AssumeRole {arn}: {exc}", retryable=True) from None

    def _member(self, root: _AccountSession, account_id: str) -> _AccountSession:
        arn = f"arn:{self.settings.partition}:iam::{account_id}:role/{self.settings.member_role_name}"
        return _AccountSession(lambda: self._assume(arn, root.credentials()), self._clock)

    def _accounts(self, root: _AccountSession) -> list[str]:
        own = self.settings.account_id
        if not self.settings.member_role_name:
            return [own]
        found: dict[str, None] = {own: None}
        orgs = self._factory("organizations", self.settings.home_region, root.credentials())
        try:
            for page in orgs.get_paginator("list_accounts").paginate():
                for account in _map(page).get("Accounts") or []:
                    account = _map(account)
                    account_id = _text(account.get("Id"), 12)
                    state = account.get("State") or account.get("Status")
                    if account_id and ACCOUNT_RE.match(account_id) and state == "ACTIVE":
                        found[account_id] = None
                if len(found) > self._limits.max_accounts:
                    raise InventoryLimitExceeded(f"more than {self._limits.max_accounts} accounts")
        except ClientError as exc:
            code, message = _error(exc)
            if code == "AWSOrganizationsNotInUseException":
                notice = f"not in an Organization; collecting account {own} only: {message}"
                self._warn(code, notice, own, skipped=False)
                return [own]
            detail = f"cannot list the Organization's accounts: {code}: {message}"
            if code in THROTTLED_OR_FAULT:
                raise ConnectorError(detail, code=code, retryable=True) from None
            raise ConnectorAuthError(detail, code=code, provider_message=message) from None
        except BotoCoreError as exc:
            raise ConnectorError(f"cannot list the Organization's accounts: {exc}", retryable=True) from None
        return [own, *sorted(a for a in found if a != own)]

    # -- one account ----------------------------------------------------------------------------

    def _account(self, account_id: str, session: _AccountSession) -> Iterator[CloudResource]:
        try:
            session.credentials()
        except (ClientError, BotoCoreError, ConnectorError) as exc:
            self._warn_exc(exc, f"cannot assume the member role in {account_id}", account_id)
            return
        for region in self._regions(account_id, session):
            yield from self._region(account_id, region, session)
        yield from self._scope(account_id, None, ResourceType.S3_BUCKET, self._s3_buckets, session)

    def _regions(self, account_id: str, session: _AccountSession) -> list[str]:
        if self.settings.regions is not None:
            return list(self.settings.regions)
        try:
            ec2 = self._factory("ec2", self.settings.home_region, session.credentials())
            listed = _map(ec2.describe_regions(AllRegions=False)).get("Regions") or []
        except (ClientError, BotoCoreError) as exc:
            self._warn_exc(exc, f"cannot list the regions of {account_id}", account_id)
            return []
        regions = sorted(
            {
                name
                for region in listed
                if (name := _text(_map(region).get("RegionName"), 64))
                and REGION_RE.match(name)
                and _map(region).get("OptInStatus", "opted-in") != "not-opted-in"
            }
        )
        if len(regions) > self._limits.max_regions:
            raise InventoryLimitExceeded(f"more than {self._limits.max_regions} regions in {account_id}")
        return regions

    def _region(self, account_id: str, region: str, session: _AccountSession) -> Iterator[CloudResource]:
        collectors: Sequence[tuple[ResourceType, _Collector]] = (
            (ResourceType.EC2_INSTANCE, self._ec2_instances),
            (ResourceType.EBS_VOLUME, self._ebs_volumes),
            (ResourceType.RDS_INSTANCE, self._rds_instances),
            (ResourceType.LAMBDA_FUNCTION, self._lambda_functions),
            (ResourceType.DYNAMODB_TABLE, self._dynamodb_tables),
        )
        self._clients.clear()
        try:
            for resource_type, collector in collectors:
                yield from self._scope(account_id, region, resource_type, collector, session)
        except _Skip:
            return
        finally:
            self._clients.clear()

    def _client(self, service: str, region: str, credentials: AwsCredentials) -> Any:
        key = (service, region, credentials.access_key_id)
        if key not in self._clients:
            self._clients[key] = self._factory(service, region, credentials)
        return self._clients[key]

    def _scope(
        self,
        account_id: str,
        region: str | None,
        resource_type: ResourceType,
        collector: _Collector,
        session: _AccountSession,
    ) -> Iterator[CloudResource]:
        """One resource type in one account and region; a failure becomes a warning. A region the
        credentials cannot use raises _Skip so the region's other types are not tried."""
        scope = _Scope(account_id, region or self.settings.home_region, resource_type, self._clock.now())
        try:
            for resource in collector(scope, session.credentials()):
                self._yielded += 1
                if self._yielded > self._limits.max_resources:
                    raise InventoryLimitExceeded(f"more than {self._limits.max_resources} resources")
                yield resource
        except ClientError as exc:
            code, _ = _error(exc)
            if region is not None and code in REGION_UNAVAILABLE:
                self._warn_exc(exc, f"region {region} skipped", account_id, region)
                raise _Skip from None
            self._warn_exc(exc, f"{resource_type} skipped", account_id, region, resource_type)
        except BotoCoreError as exc:
            self._warn_exc(exc, f"{resource_type} skipped", account_id, region, resource_type)
        except ConnectorError as exc:
            if isinstance(exc, InventoryLimitExceeded):
                raise
            self._warn_exc(exc, f"{resource_type} skipped", account_id, region, resource_type)

    # -- per resource type ----------------------------------------------------------------------

    def _records(
        self, scope: _Scope, items: Any, transform: Callable[[Any], CloudResource | None]
    ) -> Iterator[CloudResource]:
        """Transform each record; a malformed one is recorded (its scope then counts as skipped)."""
        for raw in items if isinstance(items, list) else []:
            try:
                resource = transform(raw)
            except MalformedRecord as exc:
                self._warn("MalformedRecord", str(exc), scope.account, scope.region_or_none, scope.type)
                continue
            if resource is not None:
                yield resource.model_copy(update={"observed_at": scope.observed_at})

    def _ec2_instances(self, scope: _Scope, credentials: AwsCredentials) -> Iterator[CloudResource]:
        ec2 = self._client("ec2", scope.region, credentials)
        pages = ec2.get_paginator("describe_instances").paginate(
            Filters=[{"Name": "instance-state-name", "Values": EC2_LIVE_STATES}],
            PaginationConfig={"PageSize": 1000},
        )
        partition = self.settings.partition
        for page in pages:
            for reservation in _map(page).get("Reservations") or []:
                yield from self._records(
                    scope,
                    _map(reservation).get("Instances"),
                    lambda raw: ec2_instance(raw, scope.account, scope.region, partition=partition),
                )

    def _ebs_volumes(self, scope: _Scope, credentials: AwsCredentials) -> Iterator[CloudResource]:
        yield from self._listed(scope, credentials, ("ec2", "describe_volumes", "Volumes", 500), ebs_volume)

    def _rds_instances(self, scope: _Scope, credentials: AwsCredentials) -> Iterator[CloudResource]:
        listing = ("rds", "describe_db_instances", "DBInstances", 100)
        yield from self._listed(scope, credentials, listing, rds_instance)

    def _listed(
        self,
        scope: _Scope,
        credentials: AwsCredentials,
        listing: tuple[str, str, str, int],
        transform: Callable[..., CloudResource],
    ) -> Iterator[CloudResource]:
        """Every record of a paginated listing (service, operation, result key, page size), each
        through `transform(raw, account, region, partition=...)`."""
        service, operation, key, page_size = listing
        client = self._client(service, scope.region, credentials)
        partition = self.settings.partition
        for page in client.get_paginator(operation).paginate(PaginationConfig={"PageSize": page_size}):
            yield from self._records(
                scope,
                _map(page).get(key),
                lambda raw: transform(raw, scope.account, scope.region, partition=partition),
            )

    def _lambda_functions(self, scope: _Scope, credentials: AwsCredentials) -> Iterator[CloudResource]:
        client = self._client("lambda", scope.region, credentials)
        partition = self.settings.partition

        def transform(raw: Any) -> CloudResource | None:
            name = _required(raw, "FunctionName")
            built = f"arn:{partition}:lambda:{scope.region}:{scope.account}:function:{name}"
            arn = _arn(raw.get("FunctionArn"), built)
            try:
                tags = _map(client.list_tags(Resource=arn)).get("Tags")
            except ClientError as exc:
                if _error(exc)[0] in GONE:
                    return None
                raise
            return lambda_function(raw, scope.account, scope.region, tags, partition=partition)

        for page in client.get_paginator("list_functions").paginate():
            yield from self._records(scope, _map(page).get("Functions"), transform)

    def _dynamodb_tables(self, scope: _Scope, credentials: AwsCredentials) -> Iterator[CloudResource]:
        client = self._client("dynamodb", scope.region, credentials)
        partition = self.settings.partition

        def transform(table_name: Any) -> CloudResource | None:
            if not isinstance(table_name, str) or not table_name:
                raise MalformedRecord("ListTables returned a table name that is not a string")
            try:
                table = _map(_map(client.describe_table(TableName=table_name)).get("Table"))
                built = f"arn:{partition}:dynamodb:{scope.region}:{scope.account}:table/{table_name}"
                arn = _arn(table.get("TableArn"), built)
                tags: list[Any] = []
                for page in client.get_paginator("list_tags_of_resource").paginate(ResourceArn=arn):
                    tags.extend(_map(page).get("Tags") or [])
            except ClientError as exc:
                if _error(exc)[0] in GONE:
                    return None
                raise
            return dynamodb_table(table, scope.account, scope.region, tags, partition=partition)

        for page in client.get_paginator("list_tables").paginate():
            yield from self._records(scope, _map(page).get("TableNames"), transform)

    def _s3_buckets(self, scope: _Scope, credentials: AwsCredentials) -> Iterator[CloudResource]:
        home = self._factory("s3", scope.region, credentials)
        regional: dict[str, Any] = {scope.region: home}
        partition = self.settings.partition

        def client_for(region: str | None) -> Any:
            if region is None:
                return home
            if region not in regional:
                regional[region] = self._factory("s3", region, credentials)
            return regional[region]

        def transform(raw: Any) -> CloudResource | None:
            bucket = _required(raw, "Name")
            try:
                region = self._bucket_region(home, raw, bucket)
                tags = self._bucket_tags(client_for(region), bucket)
            except ClientError as exc:
                if _error(exc)[0] in GONE:
                    return None
                raise
            return s3_bucket(raw, scope.account, region, tags, partition=partition)

        for page in home.get_paginator("list_buckets").paginate():
            yield from self._records(scope, _map(page).get("Buckets"), transform)

    @staticmethod
    def _bucket_region(client: Any, raw: Mapping[str, Any], bucket: str) -> str | None:
        """BucketRegion when ListBuckets gave it, else GetBucketLocation."""
        listed = _text(raw.get("BucketRegion"), 64)
        if listed is not None and REGION_RE.match(listed):
            return listed
        return bucket_region(_map(client.get_bucket_location(Bucket=bucket)).get("LocationConstraint"))

    @staticmethod
    def _bucket_tags(client: Any, bucket: str) -> Any:
        try:
            return _map(client.get_bucket_tagging(Bucket=bucket)).get("TagSet")
        except ClientError as exc:
            if _error(exc)[0] == "NoSuchTagSet":
                return []
            raise

    # -- warnings -------------------------------------------------------------------------------

    def _warn(
        self,
        code: str,
        message: str,
        account_id: str | None = None,
        region: str | None = None,
        resource_type: ResourceType | None = None,
        *,
        skipped: bool = True,
    ) -> None:
        if skipped:
            self._skipped.add((account_id, region, resource_type))
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(
                InventoryWarning(code, message[:1000], account_id, region, resource_type, skipped)
            )

    def _warn_exc(
        self,
        exc: Exception,
        context: str,
        account_id: str | None = None,
        region: str | None = None,
        resource_type: ResourceType | None = None,
    ) -> None:
        if isinstance(exc, ClientError):
            code, message = _error(exc)
        elif isinstance(exc, ConnectorError):
            code, message = exc.code or type(exc).__name__, exc.detail
        else:
            code, message = type(exc).__name__, str(exc)
        self._warn(code, f"{context}: {message}", account_id, region, resource_type)


@dataclass(frozen=True, slots=True)
class _Scope:
    account: str
    region: str
    type: ResourceType
    observed_at: datetime

    @property
    def region_or_none(self) -> str | None:
        """None for the global S3 listing (its warnings cover every region)."""
        return None if self.type is ResourceType.S3_BUCKET else self.region


_Collector = Callable[[_Scope, AwsCredentials], Iterator[CloudResource]]
