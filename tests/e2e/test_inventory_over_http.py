"""End to end: an AWS connector over real HTTP, its run executed by the worker the stack's runner
feeds from the sync queue, against resources in the emulated AWS account of a tenant."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import pytest

from tests.e2e.conftest import LocalStack
from tests.e2e.http import Client
from tests.e2e.test_procurement_over_http import wait_for

pytestmark = pytest.mark.e2e
SERVICE_ACCOUNT = "123456789012"  # the emulator's default account, where the stack runs


def tenant_account(account: str) -> boto3.Session:
    """A session acting as the owner of `account` in the emulator (moto's x-moto-account-id header)."""
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-west-1"
    )

    def in_account(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account

    session.events.register("before-send", in_account)
    return session


# What the connector reads (the local stack evaluates an assumed role's inline policies).
READ_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["dynamodb:Describe*", "dynamodb:List*", "s3:Get*", "s3:List*", "ec2:Describe*"],
            "Resource": "*",
        }
    ],
}


def inventory_role(session: boto3.Session, moto_url: str, external_id: str) -> str:
    """The role a tenant creates for the connector: it trusts the service's account with the
    connector's ExternalId only."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{SERVICE_ACCOUNT}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
            }
        ],
    }
    iam = session.client("iam", endpoint_url=moto_url)
    role = iam.create_role(RoleName="ItamInventory", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    iam.put_role_policy(
        RoleName="ItamInventory", PolicyName="read-only", PolicyDocument=json.dumps(READ_ONLY)
    )
    return str(role["Arn"])


def sync(admin: Client, connector_id: str) -> dict[str, Any]:
    started = admin.post(f"/v1/connectors/{connector_id}/sync")
    assert started.status == 202, started.body

    def finished() -> dict[str, Any] | None:
        run = admin.get(f"/v1/sync-runs/{started.body['id']}").body
        return run if run["status"] not in ("queued", "running") else None

    run: dict[str, Any] = wait_for(finished, timeout=60)
    return run


def test_an_aws_connector_syncs_the_tenants_resources_into_the_register(local_stack: LocalStack) -> None:
    tenant = f"t-{uuid.uuid4().hex[:10]}"
    account = f"{uuid.uuid4().int % 10**12:012d}"
    session = tenant_account(account)
    session.client("s3", endpoint_url=local_stack.moto_url).create_bucket(
        Bucket=f"ledger-{tenant}", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    session.client("dynamodb", endpoint_url=local_stack.moto_url).create_table(
        TableName=f"orders-{tenant}",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": "Owner", "Value": "payments"}],
    )
    admin = Client(local_stack.gateway_url, local_stack.token(tenant, "admin"))
    settings = {
        "role_arn": f"arn:aws:iam::{account}:role/ItamInventory",
        "regions": ["eu-west-1"],
        "tag_keys": {"owner": "Owner"},
    }

    created = admin.post("/v1/connectors", {"type": "aws", "name": "Prod", "settings": settings})
    assert created.status == 201, created.body
    assert created.body["external_id"].startswith(f"itam-{tenant}-")
    inventory_role(session, local_stack.moto_url, created.body["external_id"])
    run = sync(admin, created.body["id"])
    assert run["status"] == "succeeded", json.dumps(run)
    assert run["counts"]["created"] == run["counts"]["seen"] == 2
    assets = admin.get("/v1/assets", params={"kind": "cloud"}).body["items"]
    by_key = {a["discovery"]["external_key"]: a for a in assets}
    table = by_key[f"arn:aws:dynamodb:eu-west-1:{account}:table/orders-{tenant}"]
    assert table["custom_fields"]["owner"] == "payments"
    assert f"arn:aws:s3:::ledger-{tenant}" in by_key
    # The ARN finds its asset (an ARN's ":" and "/" travel in the query string)
    lookup = {"external_key": f"arn:aws:dynamodb:eu-west-1:{account}:table/orders-{tenant}"}
    assert [a["id"] for a in admin.get("/v1/assets", params=lookup).body["items"]] == [table["id"]]

    other = Client(local_stack.gateway_url, local_stack.token(f"{tenant}-x", "admin"))
    assert other.get(f"/v1/sync-runs/{run['id']}").status == 404
    assert other.get("/v1/assets", params={"kind": "cloud"}).body["items"] == []
    assert other.get("/v1/assets", params=lookup).body["items"] == []


def test_a_role_that_trusts_another_external_id_fails_the_run_and_writes_nothing(
    local_stack: LocalStack,
) -> None:
    tenant = f"t-{uuid.uuid4().hex[:10]}"
    account = f"{uuid.uuid4().int % 10**12:012d}"
    session = tenant_account(account)
    session.client("s3", endpoint_url=local_stack.moto_url).create_bucket(
        Bucket=f"secret-{tenant}", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    inventory_role(session, local_stack.moto_url, "another-tenants-external-id")
    admin = Client(local_stack.gateway_url, local_stack.token(tenant, "admin"))
    settings = {"role_arn": f"arn:aws:iam::{account}:role/ItamInventory", "regions": ["eu-west-1"]}
    created = admin.post("/v1/connectors", {"type": "aws", "name": "Borrowed", "settings": settings})
    assert created.status == 201, created.body

    run = sync(admin, created.body["id"])
    assert run["status"] == "failed", run
    assert "AccessDenied" in json.dumps(run) or "not authorized" in json.dumps(run), run
    assert admin.get("/v1/assets", params={"kind": "cloud"}).body["items"] == []


def test_a_role_that_does_not_exist_in_the_services_own_account_fails_the_run(
    local_stack: LocalStack,
) -> None:
    tenant = f"t-{uuid.uuid4().hex[:10]}"
    admin = Client(local_stack.gateway_url, local_stack.token(tenant, "admin"))
    settings = {"role_arn": f"arn:aws:iam::{SERVICE_ACCOUNT}:role/DoesNotExist", "regions": ["us-east-1"]}
    created = admin.post("/v1/connectors", {"type": "aws", "name": "Own account", "settings": settings})
    assert created.status == 201, created.body

    run = sync(admin, created.body["id"])
    assert run["status"] == "failed", run
    # Not the service's own table, nor anything else of the service's account, as a tenant's asset.
    assert admin.get("/v1/assets", params={"kind": "cloud"}).body["items"] == []
