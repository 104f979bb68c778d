"""The AWS connector's get step on moto (in-process): an Organization of two active accounts (and a
closed one), resources of every type in two regions of each, and the process's own account holding
resources that must never show up. Failures are injected with botocore event hooks and Stubber."""

from __future__ import annotations

import io
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws

from itam.adapters.aws.model import AwsConnectorSettings, CloudResource, InventoryLimits, ResourceType
from itam.adapters.aws.session import AwsCredentials, BotocoreClientFactory
from itam.adapters.aws.walk import AwsInventory
from itam.inventory.errors import ConnectorAuthError, ConnectorError, InventoryLimitExceeded

PROCESS = "123456789012"  # moto's account for the process's own (environment) credentials
MGMT = "111111111111"  # the tenant's management account
ROLE_ARN = f"arn:aws:iam::{MGMT}:role/ItamInventory"
MEMBER_ROLE = "OrganizationAccountAccessRole"
EXTERNAL_ID = "itam-acme-5f2b9c"
REGIONS = ("eu-west-1", "us-west-2")
AMI = "ami-12c6146b"  # moto accepts any image id; its default AMIs are not loaded (slow)
LIVE = {"Name": "web", "Owner": "alice@example.com", "CostCenter": "CC-42"}


@dataclass(frozen=True)
class Expected:
    resource_type: ResourceType
    account_id: str
    region: str
    tags: dict[str, str]


@dataclass
class Estate:
    member: str
    closed: str
    expected: dict[str, Expected] = field(default_factory=dict)
    terminated: list[str] = field(default_factory=list)


def _session(credentials: dict[str, Any], region: str = "us-east-1") -> boto3.Session:
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )


def _assume(session: boto3.Session, role_arn: str) -> boto3.Session:
    issued = session.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="setup")
    return _session(issued["Credentials"])


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return 1\n")
    return buffer.getvalue()


def _fill_region(session: boto3.Session, account: str, region: str, estate: Estate) -> None:
    """One running and one terminated instance, a tagged volume, a DB, a function, a table."""
    tags = {**LIVE, "Region": region}
    tag_list: list[Any] = [{"Key": k, "Value": v} for k, v in tags.items()]
    ec2 = session.client("ec2", region_name=region)
    running = ec2.run_instances(
        ImageId=AMI,
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.micro",
        TagSpecifications=[{"ResourceType": "instance", "Tags": tag_list}],
    )["Instances"][0]["InstanceId"]
    gone = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    ec2.terminate_instances(InstanceIds=[gone])
    estate.terminated.append(gone)
    estate.expected[f"arn:aws:ec2:{region}:{account}:instance/{running}"] = Expected(
        ResourceType.EC2_INSTANCE, account, region, tags
    )
    ec2.create_volume(
        AvailabilityZone=f"{region}a",
        Size=100,
        VolumeType="gp3",
        TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": "data"}]}],
    )
    # The tagged volume and the running instance's root volume (the terminated one's is deleted).
    for volume in ec2.describe_volumes()["Volumes"]:
        volume_tags = {t["Key"]: t["Value"] for t in volume.get("Tags", [])}
        estate.expected[f"arn:aws:ec2:{region}:{account}:volume/{volume['VolumeId']}"] = Expected(
            ResourceType.EBS_VOLUME, account, region, volume_tags
        )
    session.client("rds", region_name=region).create_db_instance(
        DBInstanceIdentifier="orders",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="app",
        MasterUserPassword="not-a-secret-1",
        AllocatedStorage=20,
        Tags=tag_list,
    )
    estate.expected[f"arn:aws:rds:{region}:{account}:db:orders"] = Expected(
        ResourceType.RDS_INSTANCE, account, region, tags
    )
    session.client("lambda", region_name=region).create_function(
        FunctionName="resize",
        Runtime="python3.12",
        Role=f"arn:aws:iam::{account}:role/lambda-exec",
        Handler="handler.handler",
        Code={"ZipFile": _zip()},
        MemorySize=512,
        Tags=tags,
    )
    estate.expected[f"arn:aws:lambda:{region}:{account}:function:resize"] = Expected(
        ResourceType.LAMBDA_FUNCTION, account, region, tags
    )
    session.client("dynamodb", region_name=region).create_table(
        TableName="sessions",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=tag_list,
    )
    estate.expected[f"arn:aws:dynamodb:{region}:{account}:table/sessions"] = Expected(
        ResourceType.DYNAMODB_TABLE, account, region, tags
    )


def _fill_account(session: boto3.Session, account: str, estate: Estate) -> None:
    session.client("iam").create_role(RoleName="lambda-exec", AssumeRolePolicyDocument="{}")
    for region in REGIONS:
        _fill_region(session, account, region, estate)
    s3 = session.client("s3")
    for index, region in enumerate(REGIONS):
        bucket = f"acme-{account}-{region}"
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
        tags = {"Owner": "bob"} if index == 0 else {}  # the second has no tag set at all
        if tags:
            s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "Owner", "Value": "bob"}]})
        estate.expected[f"arn:aws:s3:::{bucket}"] = Expected(ResourceType.S3_BUCKET, account, region, tags)
    legacy = f"acme-{account}-legacy"  # us-east-1: GetBucketLocation says null
    s3.create_bucket(Bucket=legacy)
    estate.expected[f"arn:aws:s3:::{legacy}"] = Expected(ResourceType.S3_BUCKET, account, "us-east-1", {})


def _build_estate() -> Estate:
    process = boto3.Session(region_name="us-east-1")
    # The process's own account has resources too: they must never be collected.
    process.client("s3").create_bucket(Bucket="itam-service-artifacts")
    process.client("dynamodb", region_name="eu-west-1").create_table(
        TableName="itam-service",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    mgmt = _assume(process, ROLE_ARN)
    orgs = mgmt.client("organizations")
    orgs.create_organization(FeatureSet="ALL")
    member = orgs.create_account(AccountName="prod", Email="prod@example.com")["CreateAccountStatus"]
    closed = orgs.create_account(AccountName="old", Email="old@example.com")["CreateAccountStatus"]
    orgs.close_account(AccountId=closed["AccountId"])
    estate = Estate(member=member["AccountId"], closed=closed["AccountId"])
    _fill_account(mgmt, MGMT, estate)
    member_session = _assume(mgmt, f"arn:aws:iam::{estate.member}:role/{MEMBER_ROLE}")
    _fill_account(member_session, estate.member, estate)
    return estate


@pytest.fixture(scope="module")
def estate() -> Iterator[Estate]:
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
            patch.delenv(name, raising=False)
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        patch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        with mock_aws():
            yield _build_estate()


class Recorder:
    """A client factory over the production one that records what it made and lets a test hook
    botocore events on the clients (to observe parameters or inject provider errors)."""

    def __init__(self, hooks: dict[str, Callable[..., Any]] | None = None) -> None:
        self.inner = BotocoreClientFactory()
        self.hooks = hooks or {}
        self.made: list[tuple[str, str, AwsCredentials | None]] = []
        self.assumed: list[dict[str, Any]] = []

    def __call__(self, service: str, region: str, credentials: AwsCredentials | None) -> Any:
        self.made.append((service, region, credentials))
        client = self.inner(service, region, credentials)
        client.meta.events.register("provide-client-params.sts.AssumeRole", self._record)
        for event, hook in self.hooks.items():
            client.meta.events.register(event, hook)
        return client

    def _record(self, params: dict[str, Any], **_: Any) -> None:
        self.assumed.append(dict(params))


def _settings(**overrides: Any) -> AwsConnectorSettings:
    values: dict[str, Any] = {
        "role_arn": ROLE_ARN,
        "external_id": EXTERNAL_ID,
        "member_role_name": MEMBER_ROLE,
        "regions": list(REGIONS),
    }
    return AwsConnectorSettings(**{**values, **overrides})


def _provider_error(code: str, message: str, operation: str) -> Callable[..., Any]:
    def hook(**_: Any) -> None:
        raise ClientError({"Error": {"Code": code, "Message": message}}, operation)

    return hook


def _by_key(resources: list[CloudResource]) -> dict[str, CloudResource]:
    counts = Counter(r.external_key for r in resources)
    assert [key for key, n in counts.items() if n > 1] == []
    return {r.external_key: r for r in resources}


def test_every_resource_of_every_account_and_region_comes_back_once(estate: Estate) -> None:
    factory = Recorder()
    inventory = AwsInventory(_settings(), client_factory=factory)

    found = _by_key(list(inventory.collect()))

    assert inventory.warnings == []
    assert inventory.accounts == [MGMT, estate.member]  # the closed account is not visited
    assert set(found) == set(estate.expected)
    for key, want in estate.expected.items():
        got = found[key]
        assert (got.resource_type, got.account_id, got.region, got.tags) == (
            want.resource_type,
            want.account_id,
            want.region,
            want.tags,
        ), key
        assert got.observed_at is not None
    counts = Counter((r.account_id, r.resource_type) for r in found.values())
    for account in (MGMT, estate.member):
        assert counts[account, ResourceType.S3_BUCKET] == 3  # listed once per account, not per region
        assert counts[account, ResourceType.EC2_INSTANCE] == 2
        assert counts[account, ResourceType.RDS_INSTANCE] == 2
        assert counts[account, ResourceType.LAMBDA_FUNCTION] == 2
        assert counts[account, ResourceType.DYNAMODB_TABLE] == 2
    assert not any(t in key for t in estate.terminated for key in found)
    assert PROCESS not in {r.account_id for r in found.values()}


def test_transformed_fields_on_moto(estate: Estate) -> None:
    found = _by_key(list(AwsInventory(_settings(), client_factory=Recorder()).collect()))
    by_type = {(r.resource_type, r.account_id, r.region): r for r in found.values() if r.name != r.region}
    instance = by_type[ResourceType.EC2_INSTANCE, estate.member, "eu-west-1"]
    assert (instance.name, instance.size, instance.state) == ("web", "t3.micro", "running")
    assert instance.created_at is not None  # the root volume's attach time
    assert instance.attributes["availability_zone"].startswith("eu-west-1")
    db = by_type[ResourceType.RDS_INSTANCE, MGMT, "us-west-2"]
    assert (db.name, db.size, db.attributes["engine"]) == ("web", "db.t3.micro", "postgres")
    assert db.created_at is not None
    function = by_type[ResourceType.LAMBDA_FUNCTION, MGMT, "eu-west-1"]
    assert (function.size, function.attributes["runtime"]) == ("512 MB", "python3.12")
    table = by_type[ResourceType.DYNAMODB_TABLE, MGMT, "eu-west-1"]
    assert (table.size, table.state) == ("on-demand", "ACTIVE")
    volume = next(
        r for r in found.values() if r.resource_type is ResourceType.EBS_VOLUME and r.name == "data"
    )
    assert volume.size == "100 GiB"
    bucket = found[f"arn:aws:s3:::acme-{MGMT}-eu-west-1"]
    assert (bucket.name, bucket.region, bucket.size) == (f"acme-{MGMT}-eu-west-1", "eu-west-1", None)


def test_only_assumed_credentials_are_used_and_every_assume_carries_the_external_id(estate: Estate) -> None:
    factory = Recorder()
    list(AwsInventory(_settings(), client_factory=factory).collect())

    own = [(service, region) for service, region, credentials in factory.made if credentials is None]
    assert own == [("sts", "us-east-1")]  # the first AssumeRole, and nothing else
    assert factory.assumed == [
        {
            "RoleArn": ROLE_ARN,
            "RoleSessionName": "itam-inventory",
            "ExternalId": EXTERNAL_ID,
            "DurationSeconds": 3600,
        },
        {
            "RoleArn": f"arn:aws:iam::{estate.member}:role/{MEMBER_ROLE}",
            "RoleSessionName": "itam-inventory",
            "ExternalId": EXTERNAL_ID,
            "DurationSeconds": 3600,
        },
    ]


def test_a_failing_region_is_a_warning_and_the_rest_is_collected(estate: Estate) -> None:
    message = "You are not subscribed to this service. Please go to http://aws.amazon.com to subscribe."
    factory = Recorder({"before-call.ec2.DescribeInstances": _fail_in("us-west-2", message)})
    inventory = AwsInventory(_settings(), client_factory=factory)

    found = _by_key(list(inventory.collect()))

    assert [(w.code, w.account_id, w.region, w.resource_type) for w in inventory.warnings] == [
        ("OptInRequired", MGMT, "us-west-2", None),
        ("OptInRequired", estate.member, "us-west-2", None),
    ]
    assert message in inventory.warnings[0].message
    regional = {k for k, v in estate.expected.items() if v.resource_type is not ResourceType.S3_BUCKET}
    want = {k for k in estate.expected if k not in regional or estate.expected[k].region != "us-west-2"}
    assert set(found) == want  # S3 buckets located in us-west-2 still come from the global listing
    # The region's other services were not even tried (S3 clients there read the buckets' tags).
    assert {service for service, region, _ in factory.made if region == "us-west-2"} == {"ec2", "s3"}
    for account in (MGMT, estate.member):
        assert inventory.was_skipped(account, "us-west-2", ResourceType.RDS_INSTANCE)
        assert not inventory.was_skipped(account, "eu-west-1", ResourceType.RDS_INSTANCE)


def _fail_in(region: str, message: str) -> Callable[..., Any]:
    def hook(model: Any, context: dict[str, Any], **_: Any) -> None:
        if context["client_region"] == region:
            raise ClientError({"Error": {"Code": "OptInRequired", "Message": message}}, model.name)

    return hook


def test_a_service_failing_in_one_region_skips_only_that_service(estate: Estate) -> None:
    denied = "User is not authorized to perform: lambda:ListFunctions"
    factory = Recorder(
        {
            "before-call.lambda.ListFunctions": _provider_error(
                "AccessDeniedException", denied, "ListFunctions"
            )
        }
    )
    inventory = AwsInventory(_settings(member_role_name=None), client_factory=factory)

    found = _by_key(list(inventory.collect()))

    assert {(w.code, w.region, w.resource_type) for w in inventory.warnings} == {
        ("AccessDeniedException", region, ResourceType.LAMBDA_FUNCTION) for region in REGIONS
    }
    types = Counter(r.resource_type for r in found.values())
    assert types[ResourceType.LAMBDA_FUNCTION] == 0
    assert types[ResourceType.DYNAMODB_TABLE] == 2  # the services after it in the region still ran
    assert inventory.was_skipped(MGMT, "eu-west-1", ResourceType.LAMBDA_FUNCTION)
    assert not inventory.was_skipped(MGMT, "eu-west-1", ResourceType.DYNAMODB_TABLE)


def test_a_member_role_that_cannot_be_assumed_skips_that_account(estate: Estate) -> None:
    denied = f"User: arn:aws:sts::{MGMT}:assumed-role/ItamInventory/itam-inventory is not authorized"

    def deny_member(params: dict[str, Any], **_: Any) -> None:
        if estate.member in params["RoleArn"]:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": denied}}, "AssumeRole")

    inventory = AwsInventory(
        _settings(), client_factory=Recorder({"provide-client-params.sts.AssumeRole": deny_member})
    )
    found = list(inventory.collect())

    assert {r.account_id for r in found} == {MGMT}
    assert [(w.code, w.account_id, w.region, w.resource_type) for w in inventory.warnings] == [
        ("AccessDenied", estate.member, None, None)
    ]
    assert denied in inventory.warnings[0].message
    assert inventory.was_skipped(estate.member, "eu-west-1", ResourceType.EC2_INSTANCE)
    assert not inventory.was_skipped(MGMT, "eu-west-1", ResourceType.EC2_INSTANCE)


def test_the_organization_is_listed_across_pages(estate: Estate) -> None:
    def one_per_page(params: dict[str, Any], **_: Any) -> None:
        params["MaxResults"] = 1

    factory = Recorder({"provide-client-params.organizations.ListAccounts": one_per_page})
    inventory = AwsInventory(_settings(regions=["eu-west-1"]), client_factory=factory)
    found = list(inventory.collect())

    assert inventory.accounts == [MGMT, estate.member]
    assert {r.account_id for r in found} == {MGMT, estate.member}


def test_organization_access_denied_is_an_auth_error(estate: Estate) -> None:
    message = "You don't have permissions to access this resource."
    factory = Recorder(
        {
            "before-call.organizations.ListAccounts": _provider_error(
                "AccessDeniedException", message, "ListAccounts"
            )
        }
    )
    inventory = AwsInventory(_settings(), client_factory=factory)

    with pytest.raises(ConnectorAuthError) as raised:
        next(inventory.collect())
    assert raised.value.code == "AccessDeniedException"
    assert raised.value.provider_message == message


def test_without_a_member_role_only_the_tenants_account_is_collected(estate: Estate) -> None:
    inventory = AwsInventory(_settings(member_role_name=None), client_factory=Recorder())
    found = list(inventory.collect())
    assert inventory.accounts == [MGMT]
    assert {r.account_id for r in found} == {MGMT}
    assert len(found) == sum(1 for e in estate.expected.values() if e.account_id == MGMT)


def test_enabled_regions_are_discovered_and_opt_in_regions_left_out(estate: Estate) -> None:
    factory = Recorder()
    inventory = AwsInventory(_settings(member_role_name=None, regions=None), client_factory=factory)

    found = _by_key(list(inventory.collect()))

    assert inventory.warnings == []
    listed = boto3.client("ec2").describe_regions(AllRegions=False)["Regions"]
    enabled = {r["RegionName"] for r in listed if r["OptInStatus"] != "not-opted-in"}
    assert len(enabled) < len(listed)  # moto lists opt-in regions too; they must be left out
    visited = {region for service, region, _ in factory.made if service == "rds"}
    assert visited == enabled
    assert set(found) == {k for k, v in estate.expected.items() if v.account_id == MGMT}


def test_an_account_outside_any_organization_is_collected_alone_with_a_warning(estate: Estate) -> None:
    # moto answers ListAccounts outside an Organization with an empty list; AWS with this error.
    message = "Your account is not a member of an organization."
    factory = Recorder(
        {
            "before-call.organizations.ListAccounts": _provider_error(
                "AWSOrganizationsNotInUseException", message, "ListAccounts"
            )
        }
    )
    inventory = AwsInventory(_settings(), client_factory=factory)

    found = list(inventory.collect())

    assert inventory.accounts == [MGMT]
    assert {r.account_id for r in found} == {MGMT}
    assert [(w.code, w.account_id, w.skipped) for w in inventory.warnings] == [
        ("AWSOrganizationsNotInUseException", MGMT, False)
    ]
    assert message in inventory.warnings[0].message
    assert not inventory.was_skipped(MGMT, "eu-west-1", ResourceType.EC2_INSTANCE)  # a notice only


# --- the error path of the tenant's role (moto checks neither ExternalId nor the trust policy) ---


class StubStsFactory:
    """STS answers with the given error; any other client is a test failure."""

    def __init__(self, code: str, message: str, status: int = 403) -> None:
        self.code, self.message, self.status = code, message, status
        self.made: list[str] = []

    def __call__(self, service: str, region: str, credentials: AwsCredentials | None) -> Any:
        self.made.append(service)
        client = BotocoreClientFactory()(service, region, None)
        stubber = Stubber(client)
        stubber.add_client_error(
            "assume_role",
            service_error_code=self.code,
            service_message=self.message,
            http_status_code=self.status,
        )
        stubber.activate()
        return client


def test_a_role_that_cannot_be_assumed_raises_a_typed_error_with_the_providers_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    message = (
        f"User: arn:aws:sts::{PROCESS}:assumed-role/itam-sync/worker is not authorized to perform: "
        f"sts:AssumeRole on resource: {ROLE_ARN}"
    )
    factory = StubStsFactory("AccessDenied", message)
    inventory = AwsInventory(_settings(external_id="wrong-external-id"), client_factory=factory)

    with pytest.raises(ConnectorAuthError) as raised:
        next(inventory.collect())

    assert raised.value.code == "AccessDenied"
    assert raised.value.provider_message == message
    assert message in raised.value.detail
    assert "wrong-external-id" not in raised.value.detail
    assert factory.made == ["sts"]


def test_throttled_assume_role_is_retryable_not_an_auth_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    factory = StubStsFactory("Throttling", "Rate exceeded", status=400)

    with pytest.raises(ConnectorError) as raised:
        next(AwsInventory(_settings(), client_factory=factory).collect())

    assert not isinstance(raised.value, ConnectorAuthError)
    assert raised.value.retryable


# --- untrusted responses: fake clients that answer with malformed and oversized data -------------

FAKE_CREDENTIALS = {"AccessKeyId": "ASIAFAKE", "SecretAccessKey": "secret", "SessionToken": "token"}


class FakeClient:
    """A client whose operations and paginators answer from a dict: a value is returned (or, for a
    paginator, its pages are yielded); an exception is raised."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers

    def _answer(self, operation: str) -> Any:
        answer = self.answers[operation]
        if isinstance(answer, Exception):
            raise answer
        return answer(operation) if callable(answer) else answer

    def get_paginator(self, operation: str) -> Any:
        client = self

        class Paginator:
            def paginate(self, **_: Any) -> Iterator[Any]:
                yield from client._answer(operation)

        return Paginator()

    def __getattr__(self, operation: str) -> Callable[..., Any]:
        return lambda **_: self._answer(operation)


def _gone(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "gone"}}, operation)


def _fake_factory(answers: dict[str, dict[str, Any]]) -> Callable[..., Any]:
    def factory(service: str, region: str, credentials: AwsCredentials | None) -> Any:
        return FakeClient(answers[service])

    return factory


def _malformed_estate(**overrides: dict[str, Any]) -> dict[str, dict[str, Any]]:
    good = {"InstanceId": "i-0good", "State": {"Name": "running"}, "InstanceType": "t3.nano"}
    answers: dict[str, dict[str, Any]] = {
        "sts": {"assume_role": {"Credentials": FAKE_CREDENTIALS}},
        "ec2": {
            "describe_instances": [
                {"Reservations": [{"Instances": [good, {"NoId": 1}, "junk"]}, "junk"]},
                "not a page",
                {"Reservations": None},
            ],
            "describe_volumes": [{"Volumes": "oops"}],
        },
        "rds": {"describe_db_instances": [{}]},
        "lambda": {
            "list_functions": [{"Functions": [{"FunctionName": "f", "MemorySize": 128}]}],
            "list_tags": _gone("ListTags"),  # deleted between the listing and the tags: not a warning
        },
        "dynamodb": {"list_tables": [{"TableNames": ["t1", 5]}], "describe_table": _gone("DescribeTable")},
        "s3": {
            "list_buckets": [{"Buckets": [{"Name": "b-1"}, {"Name": "b-2"}]}],
            "get_bucket_location": {"LocationConstraint": "EU"},
            "get_bucket_tagging": {"TagSet": [{"Key": "Owner", "Value": "x" * 10_000}]},
        },
    }
    for service, changes in overrides.items():
        answers[service] = {**answers[service], **changes}
    return answers


def test_malformed_records_are_warnings_and_never_a_crash() -> None:
    inventory = AwsInventory(
        _settings(member_role_name=None, regions=["eu-west-1"]),
        client_factory=_fake_factory(_malformed_estate()),
    )

    found = _by_key(list(inventory.collect()))

    assert sorted(found) == [
        "arn:aws:ec2:eu-west-1:111111111111:instance/i-0good",
        "arn:aws:s3:::b-1",
        "arn:aws:s3:::b-2",
    ]
    assert found["arn:aws:s3:::b-1"].region == "eu-west-1"
    assert found["arn:aws:s3:::b-1"].tags == {"Owner": "x" * 256}
    assert [(w.code, w.resource_type) for w in inventory.warnings] == [
        ("MalformedRecord", ResourceType.EC2_INSTANCE),
        ("MalformedRecord", ResourceType.EC2_INSTANCE),
        ("MalformedRecord", ResourceType.DYNAMODB_TABLE),
    ]
    assert inventory.was_skipped(MGMT, "eu-west-1", ResourceType.EC2_INSTANCE)
    assert not inventory.was_skipped(MGMT, "eu-west-1", ResourceType.LAMBDA_FUNCTION)


def test_a_bucket_whose_tags_cannot_be_read_is_left_out_not_emptied() -> None:
    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "GetBucketTagging")
    answers = _malformed_estate(s3={"get_bucket_tagging": denied})
    inventory = AwsInventory(
        _settings(member_role_name=None, regions=["eu-west-1"]), client_factory=_fake_factory(answers)
    )

    found = list(inventory.collect())

    assert not [r for r in found if r.resource_type is ResourceType.S3_BUCKET]
    assert ("AccessDenied", None, ResourceType.S3_BUCKET) in {
        (w.code, w.region, w.resource_type) for w in inventory.warnings
    }
    assert inventory.was_skipped(MGMT, "eu-west-1", ResourceType.S3_BUCKET)


@pytest.mark.parametrize("answer", [{"Credentials": {"AccessKeyId": "A"}}, {"Credentials": None}, "garbage"])
def test_assume_role_without_usable_credentials_fails_the_run(answer: Any) -> None:
    answers = _malformed_estate(sts={"assume_role": answer})
    inventory = AwsInventory(_settings(), client_factory=_fake_factory(answers))
    with pytest.raises(ConnectorError, match="no usable credentials"):
        next(inventory.collect())


def test_more_resources_than_the_limit_fail_the_run() -> None:
    inventory = AwsInventory(
        _settings(member_role_name=None, regions=["eu-west-1"]),
        client_factory=_fake_factory(_malformed_estate()),
        limits=InventoryLimits(max_resources=2),
    )
    with pytest.raises(InventoryLimitExceeded):
        list(inventory.collect())


def test_a_throttled_organization_listing_is_retryable_not_an_auth_error() -> None:
    throttled = ClientError(
        {"Error": {"Code": "TooManyRequestsException", "Message": "slow down"}}, "ListAccounts"
    )
    answers = {**_malformed_estate(), "organizations": {"list_accounts": throttled}}
    with pytest.raises(ConnectorError) as raised:
        next(AwsInventory(_settings(), client_factory=_fake_factory(answers)).collect())
    assert not isinstance(raised.value, ConnectorAuthError)
    assert raised.value.retryable
