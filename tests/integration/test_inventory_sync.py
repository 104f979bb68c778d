"""The inventory sync end to end on moto (in-process): the connectors API, the hourly fan-out, the
worker, AWS collection over an Organization of two accounts and two regions, reconciliation into
the register (created, unchanged, updated, missing, retired, restored), faults, leases and isolation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from itam.adapters.aws.session import BotocoreClientFactory
from itam.inventory.models import SyncJob
from itam.tenancy import TenantContext
from tests.integration.audit_support import drain, sqs_event
from tests.integration.conftest import Api, Jobs
from tests.integration.test_inventory_aws import _assume
from tests.support import metrics
from tests.support.lambda_api import LambdaContext

MGMT = "111111111111"
ROLE_ARN = f"arn:aws:iam::{MGMT}:role/ItamInventory"
MEMBER_ROLE = "OrganizationAccountAccessRole"
SETTINGS = {
    "role_arn": ROLE_ARN,
    "member_role_name": MEMBER_ROLE,
    "regions": ["eu-west-1", "us-west-2"],
    "tag_keys": {"owner": "Owner", "cost_center": "CostCenter", "location": "Site"},
}
TAGS = [
    {"Key": "Owner", "Value": "alice"},
    {"Key": "CostCenter", "Value": "CC-7"},
    {"Key": "Site", "Value": "DUB"},
]


class Estate:
    """A tenant's AWS Organization: the management account and one member, resources in two regions."""

    def __init__(self) -> None:
        self.mgmt = _assume(boto3.Session(region_name="us-east-1"), ROLE_ARN)
        orgs = self.mgmt.client("organizations")
        orgs.create_organization(FeatureSet="ALL")
        self.member_id = orgs.create_account(AccountName="prod", Email="prod@example.com")[
            "CreateAccountStatus"
        ]["AccountId"]
        self.member = _assume(self.mgmt, f"arn:aws:iam::{self.member_id}:role/{MEMBER_ROLE}")
        self.instances: dict[str, str] = {}
        for account, session in ((MGMT, self.mgmt), (self.member_id, self.member)):
            ec2 = session.client("ec2", region_name="eu-west-1")
            instance = ec2.run_instances(
                ImageId="ami-12c6146b",
                MinCount=1,
                MaxCount=1,
                InstanceType="t3.micro",
                TagSpecifications=[
                    {"ResourceType": "instance", "Tags": [*TAGS, {"Key": "Name", "Value": "web"}]}
                ],
            )["Instances"][0]["InstanceId"]
            self.instances[account] = instance
            session.client("dynamodb", region_name="us-west-2").create_table(
                TableName="sessions",
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
            session.client("s3").create_bucket(
                Bucket=f"logs-{account}", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
            )

    def arns(self) -> set[str]:
        found = set()
        for account, session in ((MGMT, self.mgmt), (self.member_id, self.member)):
            for volume in session.client("ec2", region_name="eu-west-1").describe_volumes()["Volumes"]:
                found.add(f"arn:aws:ec2:eu-west-1:{account}:volume/{volume['VolumeId']}")
            found |= {
                f"arn:aws:ec2:eu-west-1:{account}:instance/{self.instances[account]}",
                f"arn:aws:dynamodb:us-west-2:{account}:table/sessions",
                f"arn:aws:s3:::logs-{account}",
            }
        return found


@pytest.fixture
def estate(table: str, monkeypatch: pytest.MonkeyPatch) -> Estate:
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    return Estate()


def run_worker(jobs: list[dict[str, Any]], receive_count: int = 1) -> dict[str, Any]:
    from functions.sync_worker.handler import lambda_handler

    result: dict[str, Any] = lambda_handler(sqs_event(jobs, receive_count), LambdaContext())  # type: ignore[arg-type]
    return result


def sync_queue() -> str:
    return str(boto3.client("sqs").get_queue_url(QueueName="itam-test-sync")["QueueUrl"])


def sync_now(api: Api, connector_id: str) -> dict[str, Any]:
    """Trigger a run through the API, deliver its message to the worker, return the finished run."""
    reply = api.post(f"/v1/connectors/{connector_id}/sync")
    assert reply.status == 202, reply.body
    assert reply.headers["Location"] == f"/v1/sync-runs/{reply.body['id']}"
    assert run_worker(drain(sync_queue())) == {"batchItemFailures": []}
    run = api.get(f"/v1/sync-runs/{reply.body['id']}")
    assert run.status == 200
    return dict(run.body)


def cloud_assets(api: Api) -> dict[str, dict[str, Any]]:
    items = api.get("/v1/assets", query={"kind": "cloud", "limit": "100"}).body["items"]
    return {item["discovery"]["external_key"]: item for item in items}


@pytest.fixture
def connector(api: Api, estate: Estate) -> Iterator[dict[str, Any]]:
    reply = api.post("/v1/connectors", {"type": "aws", "name": "Org", "settings": SETTINGS})
    assert reply.status == 201, reply.body
    yield dict(reply.body)


def test_an_aws_connector_shows_the_tenants_external_id_and_no_secret(
    api: Api, connector: dict[str, Any]
) -> None:
    assert connector["external_id"].startswith("itam-acme-")
    assert connector["credentials_set"] is False
    again = api.post("/v1/connectors", {"type": "aws", "name": "Second", "settings": SETTINGS}).body
    assert again["external_id"] == connector["external_id"]  # one per tenant
    other = api.as_("globex").post("/v1/connectors", {"type": "aws", "name": "Theirs", "settings": SETTINGS})
    assert other.body["external_id"] != connector["external_id"]
    listed = api.get("/v1/connectors").body["items"]
    assert {c["id"] for c in listed} == {connector["id"], again["id"]}


def test_a_first_sync_registers_every_resource_and_a_second_writes_nothing(
    api: Api, connector: dict[str, Any], estate: Estate, jobs: Jobs
) -> None:
    first = sync_now(api, connector["id"])

    expected = estate.arns()
    assert first["status"] == "succeeded", first
    assert first["counts"] | {"seen": len(expected)} == first["counts"]
    assert first["counts"]["created"] == len(expected)
    assets = cloud_assets(api)
    assert set(assets) == expected
    instance = assets[f"arn:aws:ec2:eu-west-1:{MGMT}:instance/{estate.instances[MGMT]}"]
    assert instance["name"] == "web"
    assert instance["status"] == "deployed"
    assert instance["category"] == "ec2_instance"
    assert instance["model"] == "t3.micro"
    assert instance["location"] == "DUB"
    assert (
        instance["custom_fields"]
        | {
            "account_id": MGMT,
            "region": "eu-west-1",
            "resource_type": "ec2_instance",
            "size": "t3.micro",
            "owner": "alice",
            "cost_center": "CC-7",
        }
        == instance["custom_fields"]
    )
    assert instance["tags"]["Owner"] == "alice"
    history = api.get(f"/v1/assets/{instance['id']}/history").body["items"]
    assert [event["type"] for event in history] == ["created"]
    assert "run " + first["id"] in history[0]["reason"]
    [event] = [e for e in jobs.events() if e["detail-type"] == "inventory.sync_completed"]
    assert event["detail"]["run_id"] == first["id"]
    assert event["detail"]["counts"] == first["counts"]

    second = sync_now(api, connector["id"])
    assert second["counts"]["unchanged"] == len(expected)
    assert second["counts"]["created"] == second["counts"]["updated"] == 0
    assert {k: a["version"] for k, a in cloud_assets(api).items()} == {
        k: a["version"] for k, a in assets.items()
    }


def test_changes_missing_retired_and_restored_resources_reach_the_register(
    api: Api, connector: dict[str, Any], estate: Estate
) -> None:
    sync_now(api, connector["id"])
    instance_arn = f"arn:aws:ec2:eu-west-1:{MGMT}:instance/{estate.instances[MGMT]}"
    table_arn = f"arn:aws:dynamodb:us-west-2:{estate.member_id}:table/sessions"
    ec2 = estate.mgmt.client("ec2", region_name="eu-west-1")
    ec2.create_tags(Resources=[estate.instances[MGMT]], Tags=[{"Key": "Owner", "Value": "bob"}])
    member_tables = estate.member.client("dynamodb", region_name="us-west-2")
    member_tables.delete_table(TableName="sessions")

    changed = sync_now(api, connector["id"])

    assert (changed["counts"]["updated"], changed["counts"]["missing"]) == (1, 1), changed
    assets = cloud_assets(api)
    assert assets[instance_arn]["custom_fields"]["owner"] == "bob"
    updated = api.get(f"/v1/assets/{assets[instance_arn]['id']}/history").body["items"][-1]
    assert updated["type"] == "updated"
    assert {"field": "custom_fields.owner", "from": "alice", "to": "bob"} in updated["changes"]
    missing = assets[table_arn]
    assert missing["discovery"]["state"] == "missing"
    assert missing["discovery"]["misses"] == 1
    assert missing["discovery"]["last_seen_at"] is not None
    assert missing["status"] == "deployed"
    listed = api.get("/v1/assets", query={"discovery_state": "missing"}).body["items"]
    assert [a["id"] for a in listed] == [missing["id"]]
    kept = api.get("/v1/assets", query={"connector_id": connector["id"], "limit": "100"}).body["items"]
    assert {a["id"] for a in kept} == {a["id"] for a in assets.values()}
    assert api.get("/v1/assets", query={"connector_id": "not-an-id"}).status == 422
    assert api.get("/v1/assets", query={"discovery_state": "gone"}).status == 422

    for expected_state in ("missing", "retired"):
        sync_now(api, connector["id"])
        assert cloud_assets(api)[table_arn]["discovery"]["state"] == expected_state
    retired = api.get(f"/v1/assets/{missing['id']}").body
    assert retired["status"] == "retired"
    last = api.get(f"/v1/assets/{missing['id']}/history").body["items"][-1]
    assert last["type"] == "transitioned"
    assert "not seen by 3 completed runs in a row" in last["reason"]
    quiet = sync_now(api, connector["id"])
    assert quiet["counts"]["missing"] == quiet["counts"]["retired"] == 0  # retired once

    member_tables.create_table(
        TableName="sessions",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    back = sync_now(api, connector["id"])
    assert back["counts"]["restored"] == 1
    restored = api.get(f"/v1/assets/{missing['id']}").body
    assert (restored["status"], restored["discovery"]["state"]) == ("deployed", "present")
    events = api.get(f"/v1/assets/{missing['id']}/history").body["items"]
    assert [e["type"] for e in events] == ["created", "missing", "missing", "transitioned", "restored"]


def test_a_discovered_asset_is_found_by_its_arn_and_by_no_other_tenant(
    api: Api, connector: dict[str, Any], estate: Estate
) -> None:
    # Given: a synced Organization, and a second connector of the tenant that has found nothing yet
    sync_now(api, connector["id"])
    second = api.post("/v1/connectors", {"type": "aws", "name": "Second", "settings": SETTINGS}).body
    arn = f"arn:aws:ec2:eu-west-1:{MGMT}:instance/{estate.instances[MGMT]}"
    kept = cloud_assets(api)[arn]

    def lookup(tenant: Api, **query: str) -> Any:
        return tenant.get("/v1/assets", query={"external_key": arn, **query})

    # Then: the ARN finds its asset through the tenant's connectors, or the one named, in one page
    for query in ({}, {"connector_id": connector["id"]}, {"category": "ec2_instance", "status": "deployed"}):
        found = lookup(api, **query)
        assert found.status == 200, found.body
        assert [a["id"] for a in found.body["items"]] == [kept["id"]]
        assert found.body["items"][0] == api.get(f"/v1/assets/{kept['id']}").body
        assert found.body.get("next_cursor") is None
    # Narrowed away, through another connector, or an unknown key: nothing
    for query in ({"category": "s3_bucket"}, {"connector_id": second["id"]}, {"discovery_state": "missing"}):
        assert lookup(api, **query).body["items"] == []
    assert api.get("/v1/assets", query={"external_key": arn + "0"}).body["items"] == []
    # Another tenant finds nothing, even naming this tenant's connector
    assert lookup(api.as_("globex")).body["items"] == []
    assert lookup(api.as_("globex"), connector_id=connector["id"]).body["items"] == []
    # A lookup takes no cursor; an empty key is no key
    assert lookup(api, cursor="eyJrIjp7fX0").status == 400
    assert api.get("/v1/assets", query={"external_key": ""}).status == 422


def test_a_run_is_counted_as_metrics_by_connector_type_and_status(
    api: Api, connector: dict[str, Any], estate: Estate, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    run = sync_now(api, connector["id"])

    [doc] = metrics.documents(capsys.readouterr().out, "SyncRuns")
    namespace, dimensions, names = metrics.definition(doc)
    assert (namespace, dimensions) == ("ITAM", [["connector_type", "status", "service"]])
    assert names == {"SyncRuns"} | {f"Sync{name.title()}" for name in run["counts"]}
    assert (doc["connector_type"], doc["status"], doc["SyncRuns"]) == ("aws", "succeeded", [1.0])
    assert run["counts"]["created"] > 0 and doc["SyncCreated"] == [float(run["counts"]["created"])]
    # The tenant is metadata, never a dimension (each dimension value is a billed custom metric)
    assert (doc["tenant_id"], doc["run_id"], doc["connector_id"]) == ("acme", run["id"], connector["id"])


def test_a_role_that_cannot_be_assumed_fails_the_run_and_leaves_the_register_as_it_was(
    api: Api, connector: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    sync_now(api, connector["id"])
    before = cloud_assets(api)

    class Refusing(BotocoreClientFactory):
        def __call__(self, service: str, region: str, credentials: Any) -> Any:
            client = super().__call__(service, region, credentials)

            def refuse(**_: Any) -> None:
                message = f"User is not authorized to perform: sts:AssumeRole on resource: {ROLE_ARN}"
                raise ClientError({"Error": {"Code": "AccessDenied", "Message": message}}, "AssumeRole")

            client.meta.events.register("before-call.sts.AssumeRole", refuse)
            return client

    monkeypatch.setattr("itam.adapters.collectors.BotocoreClientFactory", Refusing)
    from tests.support.lambda_api import reset_caches

    reset_caches()
    failed = sync_now(api, connector["id"])

    assert failed["status"] == "failed"
    assert "not authorized to perform: sts:AssumeRole" in failed["failure"]
    assert cloud_assets(api) == before
    assert api.get(f"/v1/connectors/{connector['id']}").body["last_run"]["status"] == "failed"


def test_bad_configuration_is_refused_naming_the_field(api: Api, estate: Estate) -> None:
    cases = [
        (
            {"type": "aws", "name": "x", "settings": {**SETTINGS, "role_arn": "not-an-arn"}},
            "settings.role_arn",
        ),
        ({"type": "aws", "name": "x", "settings": {**SETTINGS, "regions": ["moon-1"]}}, "settings.regions.0"),
        (
            {"type": "aws", "name": "x", "settings": {**SETTINGS, "endpoint": "https://evil"}},
            "settings.endpoint",
        ),
        ({"type": "aws", "name": "x", "settings": SETTINGS, "credentials": {"k": "v"}}, "credentials"),
        ({"type": "github", "name": "x", "settings": {"organization": "acme"}}, "credentials"),
    ]
    for body, field in cases:
        reply = api.post("/v1/connectors", body)
        assert reply.status == 422, (body, reply.body)
        assert field in json.dumps(reply.body), (field, reply.body)
    assert api.post("/v1/connectors", {"type": "ftp", "name": "x"}).status == 422
    assert api.get("/v1/connectors").body["items"] == []


def test_connectors_are_for_admins_and_invisible_to_other_tenants(
    api: Api, connector: dict[str, Any]
) -> None:
    cid = connector["id"]
    for role in ("editor", "viewer", "auditor"):
        assert api.as_("acme", role).post(f"/v1/connectors/{cid}/sync").status == 403
    for role in ("editor", "viewer"):
        assert api.as_("acme", role).get("/v1/connectors").status == 403
    assert api.as_("acme", "auditor").get("/v1/connectors").status == 200  # auditors read, never write
    run = sync_now(api, cid)
    other = api.as_("globex")
    assert other.get(f"/v1/connectors/{cid}").status == 404
    assert other.patch(f"/v1/connectors/{cid}", {"name": "mine"}).status == 404
    assert other.post(f"/v1/connectors/{cid}/sync").status == 404
    assert other.get(f"/v1/connectors/{cid}/runs").status == 404
    assert other.get(f"/v1/sync-runs/{run['id']}").status == 404
    assert other.delete(f"/v1/connectors/{cid}").status == 404
    assert drain(sync_queue()) == []
    mine = api.get(f"/v1/connectors/{cid}").body
    assert mine["name"] == "Org" and mine["version"] == connector["version"] + 3  # queued, running, done
    assert [r["id"] for r in api.get(f"/v1/connectors/{cid}/runs").body["items"]] == [run["id"]]


def test_patch_checks_settings_and_if_match(api: Api, connector: dict[str, Any]) -> None:
    cid = connector["id"]
    stale = api.patch(f"/v1/connectors/{cid}", {"name": "Renamed"}, etag='"99"')
    assert stale.status == 412
    bad = api.patch(
        f"/v1/connectors/{cid}", {"settings": {"role_arn": "x"}}, etag=f'"{connector["version"]}"'
    )
    assert bad.status == 422 and "settings.role_arn" in json.dumps(bad.body)
    ok = api.patch(f"/v1/connectors/{cid}", {"name": "Renamed", "retire_after": 5})
    assert ok.status == 200 and ok.headers["ETag"] == f'"{connector["version"] + 1}"'
    assert (ok.body["name"], ok.body["retire_after"]) == ("Renamed", 5)
    assert api.delete(f"/v1/connectors/{cid}").status == 204
    assert api.get(f"/v1/connectors/{cid}").status == 404


def test_a_second_trigger_while_a_run_is_queued_is_refused(api: Api, connector: dict[str, Any]) -> None:
    first = api.post(f"/v1/connectors/{connector['id']}/sync")
    assert first.status == 202
    second = api.post(f"/v1/connectors/{connector['id']}/sync")
    assert second.status == 409
    assert first.body["id"] in json.dumps(second.body)


def test_runs_of_one_connector_never_overlap(api: Api, connector: dict[str, Any]) -> None:
    from datetime import UTC, datetime, timedelta

    from itam.bootstrap import sync_runner

    runner = sync_runner()
    ctx = TenantContext.system("acme", "inventory", "inventory sync")
    repo = runner._repo_for(ctx)
    now = datetime.now(UTC)
    assert repo.acquire_lease(ctx, connector["id"], "a" * 32, now, now + timedelta(minutes=20)) is None

    job = SyncJob(tenant_id="acme", connector_id=connector["id"], trigger="schedule", scheduled_at=now)
    skipped = runner.execute(job)
    assert skipped is not None and skipped.status == "skipped"
    assert cloud_assets(api) == {}

    repo.acquire_lease(ctx, connector["id"], "a" * 32, now, now - timedelta(seconds=1))  # it expired
    later = SyncJob(tenant_id="acme", connector_id=connector["id"], scheduled_at=now + timedelta(hours=1))
    done = runner.execute(later)
    assert done is not None and done.status == "succeeded"
    assert runner.execute(later) == done  # a redelivered message of a finished run does nothing


def test_a_run_interrupted_midway_is_rerun_safely(
    api: Api, connector: dict[str, Any], estate: Estate, monkeypatch: pytest.MonkeyPatch
) -> None:
    from itam.adapters.inventory_store import DynamoInventoryRepository

    real = DynamoInventoryRepository.create
    calls = {"n": 0}

    def crash_after_assets(self: Any, ctx: Any, connector_id: str, created: Any) -> None:
        calls["n"] += 1
        # The assets are stored, then the worker stops before their history and links.
        with self._m.item.batch_write() as batch:
            from itam.adapters.asset_store import DynamoAssetRepository

            for asset, _, _ in created:
                batch.save(DynamoAssetRepository(self._m).asset_item(ctx, asset))
        raise ConnectionError("worker stopped")

    monkeypatch.setattr(DynamoInventoryRepository, "create", crash_after_assets)
    reply = api.post(f"/v1/connectors/{connector['id']}/sync")
    bodies = drain(sync_queue())
    assert run_worker(bodies)["batchItemFailures"] != []  # the queue delivers it again
    assert api.get(f"/v1/sync-runs/{reply.body['id']}").body["status"] == "queued"

    monkeypatch.setattr(DynamoInventoryRepository, "create", real)
    assert run_worker(bodies, receive_count=2) == {"batchItemFailures": []}
    run = api.get(f"/v1/sync-runs/{reply.body['id']}").body
    assert run["status"] == "succeeded"
    assets = cloud_assets(api)
    assert set(assets) == estate.arns()
    assert all(a["version"] == 1 for a in assets.values())
    assert sync_now(api, connector["id"])["counts"]["unchanged"] == len(assets)


def test_the_hourly_schedule_queues_one_run_per_enabled_connector(
    api: Api, connector: dict[str, Any]
) -> None:
    from functions.sync_scheduler.handler import lambda_handler

    disabled = api.post(
        "/v1/connectors", {"type": "aws", "name": "Off", "enabled": False, "settings": SETTINGS}
    )
    api.as_("globex").post("/v1/connectors", {"type": "aws", "name": "Theirs", "settings": SETTINGS})

    result = lambda_handler({"time": "2026-11-27T10:00:00Z"}, LambdaContext())  # type: ignore[arg-type]

    assert result["queued"] == 2
    bodies = drain(sync_queue())
    assert {(b["tenant_id"], b["trigger"]) for b in bodies} == {("acme", "schedule"), ("globex", "schedule")}
    assert disabled.body["id"] not in {b["connector_id"] for b in bodies}
    outcome = run_worker(bodies)
    assert outcome == {"batchItemFailures": []}  # one tenant's run does not stop the other's
    runs = api.get(f"/v1/connectors/{connector['id']}/runs").body["items"]
    assert [(r["trigger"], r["status"]) for r in runs] == [("schedule", "succeeded")]


def test_a_run_queued_for_a_connector_deleted_meanwhile_is_closed(
    api: Api, connector: dict[str, Any]
) -> None:
    queued = api.post(f"/v1/connectors/{connector['id']}/sync").body
    assert api.delete(f"/v1/connectors/{connector['id']}").status == 204
    assert run_worker(drain(sync_queue())) == {"batchItemFailures": []}
    from itam.bootstrap import sync_runner

    ctx = TenantContext.system("acme", "inventory", "inventory sync")
    run = sync_runner()._repo_for(ctx).get_run(ctx, queued["id"])
    assert run is not None and (run.status, run.failure) == ("skipped", "deleted")
    assert cloud_assets(api) == {}


def test_items_dynamodb_leaves_unprocessed_are_sent_again(
    api: Api, connector: dict[str, Any], estate: Estate, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pynamodb.connection.base import Connection

    from itam.adapters import inventory_store

    real = Connection.batch_write_item
    calls: list[int] = []

    def throttled(self: Any, table_name: str, put_items: Any = None, **kwargs: Any) -> Any:
        items = list(put_items or [])
        calls.append(len(items))
        if len(calls) == 1 and len(items) > 1:  # DynamoDB takes half, leaves the rest
            taken, left = items[: len(items) // 2], items[len(items) // 2 :]
            real(self, table_name, put_items=taken, **kwargs)
            return {"UnprocessedItems": {table_name: [{"PutRequest": {"Item": item}} for item in left]}}
        return real(self, table_name, put_items=items, **kwargs)

    monkeypatch.setattr(Connection, "batch_write_item", throttled)
    monkeypatch.setattr(inventory_store.time, "sleep", lambda _: None)

    run = sync_now(api, connector["id"])

    assert run["status"] == "succeeded", run
    assert set(cloud_assets(api)) == estate.arns()
    assert calls[1] == calls[0] - calls[0] // 2  # the unprocessed half, sent again
