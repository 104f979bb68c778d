"""End to end: an AWS connector over real HTTP, its run executed by the worker the stack's runner
feeds from the sync queue, against resources in the emulated AWS account of a tenant."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest

from tests.e2e.conftest import LocalStack
from tests.e2e.http import Client
from tests.e2e.test_procurement_over_http import wait_for

pytestmark = pytest.mark.e2e


def tenant_account(moto_url: str, account: str) -> boto3.Session:
    """A session in `account` of the emulator (reached by assuming a role there, as a tenant's own)."""
    sts = boto3.client(
        "sts",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    issued = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/ItamInventory", RoleSessionName="setup")
    credentials = issued["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name="eu-west-1",
    )


def test_an_aws_connector_syncs_the_tenants_resources_into_the_register(local_stack: LocalStack) -> None:
    tenant = f"t-{uuid.uuid4().hex[:10]}"
    account = f"{uuid.uuid4().int % 10**12:012d}"
    session = tenant_account(local_stack.moto_url, account)
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
    started = admin.post(f"/v1/connectors/{created.body['id']}/sync")
    assert started.status == 202, started.body

    def finished() -> dict[str, Any] | None:
        run = admin.get(f"/v1/sync-runs/{started.body['id']}").body
        return run if run["status"] not in ("queued", "running") else None

    run = wait_for(finished, timeout=60)
    assert run["status"] == "succeeded", run
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
    assert other.get(f"/v1/sync-runs/{started.body['id']}").status == 404
    assert other.get("/v1/assets", params={"kind": "cloud"}).body["items"] == []
    assert other.get("/v1/assets", params=lookup).body["items"] == []
