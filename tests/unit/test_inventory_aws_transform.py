"""The AWS connector's transform step on recorded response shapes that follow the AWS API reference
(DescribeInstances, DescribeVolumes, DescribeDBInstances, ListFunctions + ListTags, DescribeTable +
ListTagsOfResource, ListBuckets + GetBucketLocation + GetBucketTagging): pure functions, no network."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from itam.adapters.aws.common import mapped_fields, tag_map
from itam.adapters.aws.dynamodb_tables import DescribedTable, transform_dynamodb_table
from itam.adapters.aws.ebs_volumes import transform_ebs_volume
from itam.adapters.aws.ec2_instances import transform_ec2_instance
from itam.adapters.aws.lambda_functions import ListedFunction, transform_lambda_function
from itam.adapters.aws.model import AwsConnectorSettings, CloudResource, MalformedRecord, ResourceType, Scope
from itam.adapters.aws.rds_instances import transform_rds_instance
from itam.adapters.aws.resources import RESOURCES
from itam.adapters.aws.s3_buckets import LocatedBucket, bucket_region, transform_s3_bucket

ACCOUNT = "123456789012"
REGION = "eu-west-1"
AT = Scope(ACCOUNT, REGION)
TAG_KEYS = {"owner": "Owner", "cost_center": "CostCenter", "location": "Site"}


# --- recorded shapes ----------------------------------------------------------------------------


def instance(**overrides: Any) -> dict[str, Any]:
    """Reservations[].Instances[] of DescribeInstances."""
    raw: dict[str, Any] = {
        "AmiLaunchIndex": 0,
        "ImageId": "ami-0abcdef1234567890",
        "InstanceId": "i-1234567890abcdef0",
        "InstanceType": "t3.large",
        "LaunchTime": "2024-05-02T08:00:00.000Z",
        "Placement": {"AvailabilityZone": "eu-west-1b", "GroupName": "", "Tenancy": "default"},
        "PrivateIpAddress": "10.0.1.12",
        "State": {"Code": 16, "Name": "running"},
        "SubnetId": "subnet-04a636d18e83cfacb",
        "VpcId": "vpc-1a2b3c4d",
        "Architecture": "x86_64",
        "BlockDeviceMappings": [
            {
                "DeviceName": "/dev/xvdb",
                "Ebs": {"AttachTime": "2024-03-01T10:00:00.000Z", "VolumeId": "vol-0aaa"},
            },
            {
                "DeviceName": "/dev/xvda",
                "Ebs": {
                    "AttachTime": "2023-11-20T09:30:00.000Z",
                    "DeleteOnTermination": True,
                    "Status": "attached",
                    "VolumeId": "vol-0bbb",
                },
            },
        ],
        "RootDeviceName": "/dev/xvda",
        "RootDeviceType": "ebs",
        "PlatformDetails": "Linux/UNIX",
        "Tags": [
            {"Key": "Name", "Value": "build-agent-1"},
            {"Key": "Owner", "Value": "alice@example.com"},
            {"Key": "CostCenter", "Value": "CC-4711"},
        ],
    }
    raw.update(overrides)
    return raw


def volume(**overrides: Any) -> dict[str, Any]:
    """Volumes[] of DescribeVolumes."""
    raw: dict[str, Any] = {
        "Attachments": [
            {
                "AttachTime": "2023-11-20T09:30:00.000Z",
                "Device": "/dev/xvda",
                "InstanceId": "i-1234567890abcdef0",
                "State": "attached",
                "VolumeId": "vol-049df61146c4d7901",
                "DeleteOnTermination": True,
            }
        ],
        "AvailabilityZone": "eu-west-1b",
        "CreateTime": "2023-11-20T09:29:58.000Z",
        "Encrypted": True,
        "Size": 100,
        "SnapshotId": "snap-1234567890abcdef0",
        "State": "in-use",
        "VolumeId": "vol-049df61146c4d7901",
        "Iops": 3000,
        "VolumeType": "gp3",
    }
    raw.update(overrides)
    return raw


def db_instance(**overrides: Any) -> dict[str, Any]:
    """DBInstances[] of DescribeDBInstances."""
    raw: dict[str, Any] = {
        "DBInstanceIdentifier": "orders-db",
        "DBInstanceClass": "db.r6g.large",
        "Engine": "postgres",
        "EngineVersion": "16.3",
        "DBInstanceStatus": "available",
        "AllocatedStorage": 200,
        "InstanceCreateTime": "2022-07-14T12:01:02.345Z",
        "AvailabilityZone": "eu-west-1a",
        "MultiAZ": True,
        "DBInstanceArn": f"arn:aws:rds:{REGION}:{ACCOUNT}:db:orders-db",
        "TagList": [{"Key": "Owner", "Value": "data-team"}, {"Key": "Site", "Value": "DUB"}],
    }
    raw.update(overrides)
    return raw


def function(**overrides: Any) -> dict[str, Any]:
    """Functions[] of ListFunctions (no State, no tags: those need GetFunction / ListTags)."""
    raw: dict[str, Any] = {
        "FunctionName": "thumbnailer",
        "FunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:thumbnailer",
        "Runtime": "python3.12",
        "Role": f"arn:aws:iam::{ACCOUNT}:role/lambda-exec",
        "Handler": "app.handler",
        "CodeSize": 3150,
        "Timeout": 30,
        "MemorySize": 1024,
        "LastModified": "2024-06-01T10:00:00.000+0000",
        "Version": "$LATEST",
        "PackageType": "Zip",
        "Architectures": ["arm64"],
    }
    raw.update(overrides)
    return raw


def table(**overrides: Any) -> dict[str, Any]:
    """`Table` of DescribeTable."""
    raw: dict[str, Any] = {
        "TableName": "Sessions",
        "TableStatus": "ACTIVE",
        "CreationDateTime": "2021-01-05T16:00:00.000Z",
        "ProvisionedThroughput": {
            "NumberOfDecreasesToday": 0,
            "ReadCapacityUnits": 0,
            "WriteCapacityUnits": 0,
        },
        "TableSizeBytes": 123456,
        "ItemCount": 42,
        "TableArn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/Sessions",
        "TableId": "a8c4ffb4-0f4c-4c0e-8a3a-3f0e9f5d1c11",
        "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
        "TableClassSummary": {"TableClass": "STANDARD"},
    }
    raw.update(overrides)
    return raw


# --- tags ---------------------------------------------------------------------------------------


def test_tag_map_reads_both_documented_shapes() -> None:
    assert tag_map([{"Key": "Owner", "Value": "alice"}, {"Key": "Env", "Value": ""}]) == {
        "Env": "",
        "Owner": "alice",
    }
    assert tag_map({"Owner": "alice"}) == {"Owner": "alice"}  # Lambda's ListTags


@pytest.mark.parametrize("raw", [None, "Owner=alice", 7, [None, "x", 3], [{"Value": "no key"}]])
def test_tag_map_never_fails_on_shapes_it_does_not_know(raw: Any) -> None:
    assert tag_map(raw) == {}


def test_tag_map_drops_bad_entries_and_caps_sizes() -> None:
    raw = [
        {"Key": "Owner"},  # Value is optional in the API: an empty value
        {"Key": "Count", "Value": 3},
        {"Key": "k" * 129, "Value": "too long a key"},
        {"Key": "Note", "Value": "v" * 300},
        {"Key": 5, "Value": "x"},
    ]
    assert tag_map(raw) == {"Owner": "", "Note": "v" * 256}
    many = tag_map([{"Key": f"k{i:03}", "Value": "v"} for i in range(100)])
    assert len(many) == 64
    assert min(many) == "k000"


# --- EC2 and EBS --------------------------------------------------------------------------------


def test_ec2_instance() -> None:
    resource = transform_ec2_instance(instance(), AT)

    assert resource is not None
    assert resource.external_key == f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-1234567890abcdef0"
    assert resource.resource_type is ResourceType.EC2_INSTANCE
    assert (resource.account_id, resource.region) == (ACCOUNT, REGION)
    assert (resource.name, resource.size, resource.state) == ("build-agent-1", "t3.large", "running")
    assert resource.tags == {"Name": "build-agent-1", "Owner": "alice@example.com", "CostCenter": "CC-4711"}
    # Not LaunchTime (it moves on every start): the root volume's attach time.
    assert resource.created_at == datetime(2023, 11, 20, 9, 30, tzinfo=UTC)
    assert resource.attributes == {
        "availability_zone": "eu-west-1b",
        "platform": "Linux/UNIX",
        "architecture": "x86_64",
        "vpc_id": "vpc-1a2b3c4d",
    }


@pytest.mark.parametrize("state", ["terminated"])
def test_a_terminated_instance_is_not_a_resource(state: str) -> None:
    assert transform_ec2_instance(instance(State={"Code": 48, "Name": state}), AT) is None


@pytest.mark.parametrize("state", ["pending", "stopped", "shutting-down"])
def test_instances_in_other_states_are_resources(state: str) -> None:
    resource = transform_ec2_instance(instance(State={"Name": state}), AT)
    assert resource is not None and resource.state == state


def test_an_instance_with_only_its_id() -> None:
    resource = transform_ec2_instance({"InstanceId": "i-0abc"}, AT)
    assert resource is not None
    assert (resource.name, resource.size, resource.state, resource.created_at) == ("i-0abc", None, None, None)
    assert (resource.tags, resource.attributes) == ({}, {})


def test_mistyped_values_become_unknown_not_a_crash() -> None:
    raw = instance(
        State="running", Tags="Name=x", InstanceType=["t3"], Placement=None, BlockDeviceMappings={"a": 1}
    )
    resource = transform_ec2_instance(raw, AT)
    assert resource is not None
    assert (resource.name, resource.size, resource.state) == ("i-1234567890abcdef0", None, None)


@pytest.mark.parametrize("raw", [{}, {"InstanceId": ""}, {"InstanceId": None}, {"InstanceId": {}}, [], "i-1"])
def test_a_record_without_its_identifier_is_malformed(raw: Any) -> None:
    with pytest.raises(MalformedRecord):
        transform_ec2_instance(raw, AT)


def test_arns_carry_the_partition() -> None:
    resource = transform_ec2_instance(instance(), Scope(ACCOUNT, "cn-north-1", "aws-cn"))
    assert resource is not None
    assert resource.external_key == f"arn:aws-cn:ec2:cn-north-1:{ACCOUNT}:instance/i-1234567890abcdef0"


def test_a_long_name_tag_is_capped_and_a_blank_one_ignored() -> None:
    long = transform_ec2_instance(instance(Tags=[{"Key": "Name", "Value": "n" * 250}]), AT)
    blank = transform_ec2_instance(instance(Tags=[{"Key": "Name", "Value": "  "}]), AT)
    assert long is not None and long.name == "n" * 200
    assert blank is not None and blank.name == "i-1234567890abcdef0"


def test_ebs_volume() -> None:
    resource = transform_ebs_volume(volume(Tags=[{"Key": "Name", "Value": "root"}]), AT)

    assert resource.external_key == f"arn:aws:ec2:{REGION}:{ACCOUNT}:volume/vol-049df61146c4d7901"
    assert (resource.resource_type, resource.name, resource.size, resource.state) == (
        ResourceType.EBS_VOLUME,
        "root",
        "100 GiB",
        "in-use",
    )
    assert resource.created_at == datetime(2023, 11, 20, 9, 29, 58, tzinfo=UTC)
    assert resource.attributes == {
        "volume_type": "gp3",
        "availability_zone": "eu-west-1b",
        "encrypted": "true",
        "attached_to": "i-1234567890abcdef0",
    }


def test_an_unattached_volume_without_size() -> None:
    resource = transform_ebs_volume(volume(Attachments=[], Size=None, State="available"), AT)
    assert (resource.name, resource.size, resource.state) == ("vol-049df61146c4d7901", None, "available")
    assert "attached_to" not in resource.attributes


# --- RDS, Lambda, DynamoDB, S3 ------------------------------------------------------------------


def test_rds_instance() -> None:
    resource = transform_rds_instance(db_instance(), AT)

    assert resource.external_key == f"arn:aws:rds:{REGION}:{ACCOUNT}:db:orders-db"
    assert (resource.name, resource.size, resource.state) == ("orders-db", "db.r6g.large", "available")
    assert resource.tags == {"Owner": "data-team", "Site": "DUB"}
    assert resource.created_at == datetime(2022, 7, 14, 12, 1, 2, 345000, tzinfo=UTC)
    assert resource.attributes == {
        "engine": "postgres",
        "engine_version": "16.3",
        "availability_zone": "eu-west-1a",
        "multi_az": "true",
        "storage_gib": "200",
    }


def test_an_rds_instance_being_created_has_no_creation_time_and_a_built_arn() -> None:
    raw = db_instance(DBInstanceStatus="creating", DBInstanceArn="not an arn", TagList=None)
    del raw["InstanceCreateTime"]
    resource = transform_rds_instance(raw, AT)
    assert resource.external_key == f"arn:aws:rds:{REGION}:{ACCOUNT}:db:orders-db"
    assert (resource.state, resource.created_at, resource.tags) == ("creating", None, {})


def test_lambda_function_with_its_list_tags_map() -> None:
    resource = transform_lambda_function(
        ListedFunction(function(), {"Owner": "media", "CostCenter": "CC-1"}), AT
    )

    assert resource.external_key == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:thumbnailer"
    assert (resource.name, resource.size, resource.state) == ("thumbnailer", "1024 MB", None)
    assert resource.tags == {"Owner": "media", "CostCenter": "CC-1"}
    assert resource.created_at is None  # the API reports no creation time
    assert resource.attributes == {"runtime": "python3.12", "architecture": "arm64", "package_type": "Zip"}


def test_a_container_image_function_without_arn_or_tags() -> None:
    raw = function(PackageType="Image", Runtime=None, MemorySize="lots")
    del raw["FunctionArn"]
    resource = transform_lambda_function(ListedFunction(raw), AT)
    assert resource.external_key == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:thumbnailer"
    assert (resource.size, resource.tags, resource.attributes) == (
        None,
        {},
        {"architecture": "arm64", "package_type": "Image"},
    )


def test_dynamodb_on_demand_table() -> None:
    resource = transform_dynamodb_table(DescribedTable(table(), [{"Key": "Owner", "Value": "web"}]), AT)

    assert resource.external_key == f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/Sessions"
    assert (resource.name, resource.size, resource.state) == ("Sessions", "on-demand", "ACTIVE")
    assert resource.tags == {"Owner": "web"}
    assert resource.created_at == datetime(2021, 1, 5, 16, tzinfo=UTC)
    assert resource.attributes == {"billing_mode": "PAY_PER_REQUEST", "table_class": "STANDARD"}
    # Item count and size move all the time: they are not part of the resource.
    assert "42" not in resource.model_dump_json()


def test_dynamodb_provisioned_table_without_billing_mode_summary() -> None:
    raw = table(ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 10})
    del raw["BillingModeSummary"]
    resource = transform_dynamodb_table(DescribedTable(raw), AT)
    assert (resource.size, resource.attributes["billing_mode"]) == ("5 RCU / 10 WCU", "PROVISIONED")


def test_s3_bucket() -> None:
    raw = {"Name": "acme-invoices", "CreationDate": "2019-02-01T00:00:00.000Z"}
    resource = transform_s3_bucket(
        LocatedBucket(raw, "eu-central-1", [{"Key": "Owner", "Value": "finance"}]), AT
    )

    assert resource.external_key == "arn:aws:s3:::acme-invoices"
    assert (resource.resource_type, resource.account_id, resource.region) == (
        ResourceType.S3_BUCKET,
        ACCOUNT,
        "eu-central-1",
    )
    assert (resource.name, resource.size, resource.state) == ("acme-invoices", None, None)
    assert resource.tags == {"Owner": "finance"}
    assert resource.created_at == datetime(2019, 2, 1, tzinfo=UTC)


def test_a_bucket_whose_location_could_not_be_read() -> None:
    assert transform_s3_bucket(LocatedBucket({"Name": "b-1"}, None), AT).region is None


@pytest.mark.parametrize(
    ("constraint", "region"),
    [
        (None, "us-east-1"),
        ("", "us-east-1"),
        ("EU", "eu-west-1"),
        ("ap-south-2", "ap-south-2"),
        ("x y", None),
    ],
)
def test_bucket_region_follows_get_bucket_location(constraint: Any, region: str | None) -> None:
    assert bucket_region(constraint) == region


# --- content hash -------------------------------------------------------------------------------


def _resource(**overrides: Any) -> CloudResource:
    raw = instance(**overrides)
    resource = transform_ec2_instance(raw, AT)
    assert resource is not None
    return resource


def test_content_hash_is_stable_and_ignores_tag_order_and_observation_time() -> None:
    one = _resource()
    reordered = _resource(Tags=list(reversed(instance()["Tags"])))
    seen_later = one.model_copy(update={"observed_at": datetime(2030, 1, 1, tzinfo=UTC)})

    assert len(one.content_hash()) == 64
    assert one.content_hash() == reordered.content_hash() == seen_later.content_hash()


@pytest.mark.parametrize(
    "change",
    [
        {"State": {"Name": "stopped"}},
        {"InstanceType": "t3.xlarge"},
        {"Tags": [{"Key": "Owner", "Value": "bob@example.com"}]},
        {"Placement": {"AvailabilityZone": "eu-west-1c"}},
    ],
)
def test_content_hash_changes_with_what_matters(change: dict[str, Any]) -> None:
    assert _resource().content_hash() != _resource(**change).content_hash()


def test_a_resource_is_frozen_and_closed() -> None:
    resource = _resource()
    with pytest.raises(ValidationError):
        resource.state = "stopped"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        CloudResource(**{**resource.model_dump(), "endpoint": "x"})


# --- tag keys to register fields ----------------------------------------------------------------


def test_mapped_fields_fill_owner_location_and_custom_fields() -> None:
    resource = transform_rds_instance(
        db_instance(TagList=[*db_instance()["TagList"], {"Key": "CostCenter", "Value": "42"}]), AT
    )

    assert mapped_fields(resource, TAG_KEYS) == {
        "location": "DUB",
        "custom_fields": {"cost_center": "42", "owner": "data-team"},
    }


def test_mapped_fields_match_tag_keys_case_insensitively_when_not_exact() -> None:
    resource = transform_s3_bucket(
        LocatedBucket({"Name": "b-1"}, REGION, {"owner": "ops", "costcenter": "CC-9"}), AT
    )
    assert mapped_fields(resource, TAG_KEYS) == {"custom_fields": {"cost_center": "CC-9", "owner": "ops"}}


def test_absent_or_blank_tags_map_to_nothing() -> None:
    resource = transform_s3_bucket(LocatedBucket({"Name": "b-1"}, REGION, {"Owner": "   ", "Other": "x"}), AT)
    assert mapped_fields(resource, TAG_KEYS) == {}
    assert mapped_fields(resource, {}) == {}


def test_mapped_values_fit_the_register() -> None:
    resource = transform_s3_bucket(
        LocatedBucket({"Name": "b-1"}, REGION, {"Owner": "o" * 256, "Site": "  Dublin 2  "}), AT
    )
    fields = mapped_fields(resource, TAG_KEYS)
    assert fields == {"location": "Dublin 2", "custom_fields": {"owner": "o" * 256}}


# --- settings -----------------------------------------------------------------------------------

GOOD = {"role_arn": f"arn:aws:iam::{ACCOUNT}:role/itam/ItamInventory", "external_id": "itam-acme-5f2b9c"}


def test_settings_and_what_they_imply() -> None:
    settings = AwsConnectorSettings(
        **GOOD, regions=["eu-west-1", "us-east-1", "eu-west-1"], tag_keys=TAG_KEYS
    )
    assert (settings.account_id, settings.partition, settings.home_region) == (ACCOUNT, "aws", "us-east-1")
    assert settings.regions == ["eu-west-1", "us-east-1"]
    gov = AwsConnectorSettings(**{**GOOD, "role_arn": f"arn:aws-us-gov:iam::{ACCOUNT}:role/R"})
    assert (gov.partition, gov.home_region) == ("aws-us-gov", "us-gov-west-1")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("role_arn", f"arn:aws:iam::{ACCOUNT}:user/alice"),
        ("role_arn", f"arn:aws:iam::{ACCOUNT[:-1]}:role/R"),
        ("role_arn", "arn:evil:iam::123456789012:role/R"),
        ("external_id", "x"),
        ("external_id", "has spaces in it"),
        ("member_role_name", "bad role!"),
        ("regions", ["eu-west-1", "https://169.254.169.254"]),
        ("regions", []),
        ("tag_keys", {"cost center": "CostCenter"}),
        ("endpoint_url", "http://127.0.0.1:5000"),
    ],
)
def test_invalid_settings_name_the_field(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as raised:
        AwsConnectorSettings(**{**GOOD, field: value})
    assert {str(error["loc"][0]) for error in raised.value.errors()} == {field}


# --- the registry -------------------------------------------------------------------------------


class RecordedClient:
    """A botocore client that answers each operation (or paginator) with its recorded response."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def get_paginator(self, operation: str) -> Any:
        client = self

        class Paginator:
            def paginate(self, **params: Any) -> Any:
                client.calls.append((operation, params))
                return iter(client.answers[operation])

        return Paginator()

    def __getattr__(self, operation: str) -> Any:
        def call(**params: Any) -> Any:
            self.calls.append((operation, params))
            return self.answers[operation]

        return call


# Each type's recorded pages (and per-record answers), by service and operation.
RECORDED: dict[ResourceType, dict[str, dict[str, Any]]] = {
    ResourceType.EC2_INSTANCE: {
        "ec2": {"describe_instances": [{"Reservations": [{"Instances": [instance()]}]}]}
    },
    ResourceType.EBS_VOLUME: {"ec2": {"describe_volumes": [{"Volumes": [volume()]}]}},
    ResourceType.RDS_INSTANCE: {"rds": {"describe_db_instances": [{"DBInstances": [db_instance()]}]}},
    ResourceType.LAMBDA_FUNCTION: {
        "lambda": {"list_functions": [{"Functions": [function()]}], "list_tags": {"Tags": {"Owner": "media"}}}
    },
    ResourceType.DYNAMODB_TABLE: {
        "dynamodb": {
            "list_tables": [{"TableNames": ["Sessions"]}],
            "describe_table": {"Table": table()},
            "list_tags_of_resource": [{"Tags": [{"Key": "Owner", "Value": "web"}]}],
        }
    },
    ResourceType.S3_BUCKET: {
        "s3": {
            "list_buckets": [{"Buckets": [{"Name": "acme-invoices"}]}],
            "get_bucket_location": {"LocationConstraint": "EU"},
            "get_bucket_tagging": {"TagSet": [{"Key": "Owner", "Value": "finance"}]},
        }
    },
}


def test_every_resource_type_is_registered_with_its_get_and_transform() -> None:
    assert list(RESOURCES) == list(ResourceType)
    assert [t for t, r in RESOURCES.items() if r.is_global] == [ResourceType.S3_BUCKET]
    for resource_type, resource in RESOURCES.items():
        assert resource.get.__name__.startswith("get_"), resource_type
        assert resource.transform.__name__ == f"transform_{resource_type.value}"


@pytest.mark.parametrize("resource_type", list(ResourceType))
def test_each_registered_get_feeds_its_transform(resource_type: ResourceType) -> None:
    # Given the type's recorded responses
    resource = RESOURCES[resource_type]
    clients: dict[tuple[str, str], RecordedClient] = {}

    def client(service: str, region: str) -> RecordedClient:
        assert service == resource.service
        return clients.setdefault((service, region), RecordedClient(RECORDED[resource_type][service]))

    # When the registry entry's get and transform run on them
    found = [resource.transform(record, AT) for record in resource.get(client, AT)]

    # Then the one recorded resource comes out (the bucket in the region its location names)
    [one] = found
    assert one is not None
    assert (one.resource_type, one.account_id, one.region) == (resource_type, ACCOUNT, REGION)
