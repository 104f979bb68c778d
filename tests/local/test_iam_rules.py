"""The emulator refuses what IAM would refuse on the paths the product relies on (infra/local/iam_rules.py):
trust policies (a role that does not exist, a wrong ExternalId, a caller the role does not trust), the
sync worker's `aws:ResourceAccount` condition, and `dynamodb:LeadingKeys` on tenant sessions.

The roles are template.yaml's, created on the emulator as the local stack creates them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.iam.models import iam_backends

from infra.local.iam import enforce_secrets_policies
from infra.local.iam_rules import calling_function, enforce_iam_rules, function_policies
from infra.local.resources import StackResources
from infra.local.template import ACCOUNT_ID, load_template
from tests.local.conftest import REGION

MEMBER = "210987654321"


@pytest.fixture
def rules(itam: StackResources) -> Iterator[StackResources]:
    """The rules switched on, with template.yaml's functions' policies."""
    enforce_secrets_policies()  # records assumed-role sessions
    enforce_iam_rules(function_policies(load_template(), itam.resolver()), ACCOUNT_ID, itam.stack_name)
    try:
        yield itam
    finally:
        enforce_iam_rules({}, ACCOUNT_ID, itam.stack_name, enabled=False)
        enforce_secrets_policies(enabled=False)


def client(moto_url: str, service: str, credentials: dict[str, str] | None = None) -> Any:
    """A client from a fresh session (made after the rules: it marks the running function's calls)."""
    keys = credentials or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    return boto3.Session(region_name=REGION, **keys).client(service, endpoint_url=moto_url)


def assume(moto_url: str, role_arn: str, **extra: Any) -> dict[str, str]:
    found = client(moto_url, "sts").assume_role(RoleArn=role_arn, RoleSessionName="local-test", **extra)[
        "Credentials"
    ]
    return {
        "aws_access_key_id": found["AccessKeyId"],
        "aws_secret_access_key": found["SecretAccessKey"],
        "aws_session_token": found["SessionToken"],
    }


def refused(call: Any, *args: Any, **kwargs: Any) -> bool:
    try:
        call(*args, **kwargs)
    except ClientError as error:
        return error.response["Error"]["Code"] in ("AccessDenied", "AccessDeniedException")
    return False


def tenant_role(stack: StackResources) -> str:
    return stack.attributes["TenantDataRole"]["Arn"]


def inventory_role(account: str, name: str, trust: dict[str, Any]) -> str:
    """A role in an emulated account, made directly in the emulator (as its owner would)."""
    role = iam_backends[account]["global"].create_role(
        role_name=name,
        assume_role_policy_document=json.dumps({"Version": "2012-10-17", "Statement": [trust]}),
        path="/",
        permissions_boundary=None,
        description="",
        tags=[],
        max_session_duration=None,
    )
    return str(role.arn)


def test_only_the_functions_may_assume_the_tenant_role_and_only_with_a_tenant_tag(
    rules: StackResources, moto_url: str
) -> None:
    role, tag = tenant_role(rules), {"Tags": [{"Key": "tenant_id", "Value": "acme"}]}
    # The developer's credentials are not one of the functions' roles the trust policy names.
    assert refused(assume, moto_url, role, **tag)
    with calling_function("AssetsApiFunction"):
        assert refused(assume, moto_url, role)  # no tenant_id session tag
        assert assume(moto_url, role, **tag)
    with calling_function("AuditSchedulerFunction"):  # not trusted, and its policies do not allow it
        assert refused(assume, moto_url, role, **tag)


def test_a_role_that_does_not_exist_cannot_be_assumed(rules: StackResources, moto_url: str) -> None:
    with calling_function("SyncWorkerFunction"):
        assert refused(assume, moto_url, f"arn:aws:iam::{MEMBER}:role/nobody", ExternalId="some-id")
    assert refused(assume, moto_url, f"arn:aws:iam::{ACCOUNT_ID}:role/nobody")


def test_a_tenant_inventory_role_is_assumed_only_with_its_external_id(
    rules: StackResources, moto_url: str
) -> None:
    trust = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": "acme-external-id"}},
    }
    role = inventory_role(MEMBER, "itam-inventory-external-id", trust)
    with calling_function("SyncWorkerFunction"):
        assert assume(moto_url, role, ExternalId="acme-external-id")
        assert refused(assume, moto_url, role, ExternalId="another-tenants-id")
        assert refused(assume, moto_url, role)


def test_the_sync_worker_cannot_assume_a_role_in_the_services_own_account(
    rules: StackResources, moto_url: str
) -> None:
    trust = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
        "Action": "sts:AssumeRole",
    }
    own = inventory_role(ACCOUNT_ID, "itam-inventory-own-account", trust)
    member = inventory_role(MEMBER, "itam-inventory-member-account", trust)
    with calling_function("SyncWorkerFunction"):
        assert refused(assume, moto_url, own)  # aws:ResourceAccount is the service's own
        assert assume(moto_url, member)
    assert assume(moto_url, own)  # the developer's own credentials are not a function's: not evaluated


def item(pk: str) -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": "META"}}


def test_a_tenant_session_reaches_only_its_tenants_items(rules: StackResources, moto_url: str) -> None:
    table = str(rules.table_name)
    with calling_function("AssetsApiFunction"):
        acme = assume(moto_url, tenant_role(rules), Tags=[{"Key": "tenant_id", "Value": "acme"}])
    dynamodb = client(moto_url, "dynamodb", acme)
    client(moto_url, "dynamodb").put_item(TableName=table, Item=item("T#globex#ASSET#1"))

    dynamodb.put_item(TableName=table, Item=item("T#acme#ASSET#1"))
    assert dynamodb.get_item(TableName=table, Key=item("T#acme#ASSET#1"))["Item"]
    assert refused(dynamodb.get_item, TableName=table, Key=item("T#globex#ASSET#1"))
    assert refused(dynamodb.put_item, TableName=table, Item=item("T#globex#ASSET#2"))
    own = {":pk": {"S": "T#acme#ASSET#1"}}
    assert dynamodb.query(TableName=table, KeyConditionExpression="PK = :pk", ExpressionAttributeValues=own)
    other = {":pk": {"S": "T#globex#ASSET#1"}}
    assert refused(
        dynamodb.query, TableName=table, KeyConditionExpression="PK = :pk", ExpressionAttributeValues=other
    )
    assert refused(dynamodb.scan, TableName=table)  # no leading key, and not an action the role has
    mixed = [{"Put": {"TableName": table, "Item": item(pk)}} for pk in ("T#acme#ASSET#3", "T#globex#ASSET#3")]
    assert refused(dynamodb.transact_write_items, TransactItems=mixed)
    assert "Item" not in client(moto_url, "dynamodb").get_item(TableName=table, Key=item("T#acme#ASSET#3"))
