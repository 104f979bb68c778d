"""End to end: licensing and the audit over real HTTP; the stack's runner delivers the queue and schedule."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
import requests

from tests.e2e.conftest import LocalStack
from tests.e2e.http import Client

pytestmark = pytest.mark.e2e


def tenant() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


def client(stack: LocalStack, tenant_id: str, role: str = "admin") -> Client:
    return Client(stack.gateway_url, stack.token(tenant_id, role))


def wait_for(condition: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def tap_events(stack: LocalStack) -> list[dict[str, Any]]:
    """Everything published on the product's bus since the last call (the stack's event tap)."""
    sqs = boto3.client(
        "sqs",
        endpoint_url=stack.moto_url,
        region_name=stack.state["region"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    [url] = stack.state["event_taps"].values()
    events: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            events.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return events


def estate(api: Client) -> dict[str, Any]:
    lic = api.post(
        "/v1/licenses",
        {
            "product": "Visio",
            "metric": "per_device",
            "quantity": 1,
            "unit_cost": {"amount": "250", "currency": "EUR"},
        },
    )
    assert lic.status == 201, lic.body
    laptops = []
    for n in range(2):
        laptop = api.post("/v1/assets", {"name": f"L{n}", "kind": "hardware"}).body
        assert api.post(f"/v1/assets/{laptop['id']}/software", {"product": "Microsoft Visio"}).status == 201
        laptops.append(laptop)
    rule = api.post("/v1/normalization-rules", {"match_product": "microsoft visio*", "product": "Visio"})
    assert rule.status == 201
    return {"license": lic.body, "laptops": laptops}


def test_an_on_demand_audit_completes_through_the_queue(local_stack: LocalStack) -> None:
    api = client(local_stack, tenant())
    estate(api)
    # The rule's re-normalization runs through the queue too
    wait_for(lambda: api.get("/v1/compliance").body["normalization_pending"] is False)
    [position] = api.get("/v1/compliance").body["items"]
    assert (position["product"], position["consumed"], position["shortfall"]) == ("Visio", 2, 1)

    accepted = api.post("/v1/audits")
    assert accepted.status == 202
    path = accepted.headers["Location"]
    report = wait_for(lambda: (r := api.get(path).body)["status"] == "complete" and r)
    assert [(f["type"], f["product"], f["shortfall"]) for f in report["findings"]] == [
        ("under_licensed", "Visio", 1)
    ]
    events = wait_for(
        lambda: [e for e in tap_events(local_stack) if e["detail"].get("audit_id") == report["id"]]
    )
    assert [e["detail-type"] for e in events] == ["license.under_licensed"]


def test_the_daily_schedule_audits_every_tenant(local_stack: LocalStack) -> None:
    tenants = [tenant(), tenant()]
    for t in tenants:
        estate(client(local_stack, t))
    runner = local_stack.state["runner_url"]
    fired = requests.post(f"{runner}/schedules/AuditSchedulerFunction/Daily", timeout=60)
    assert fired.status_code == 200, fired.text
    assert fired.json()["result"]["queued"] >= 2
    for t in tenants:
        api = client(local_stack, t)
        [report] = wait_for(
            lambda api=api: [r for r in api.get("/v1/audits").body["items"] if r["status"] == "complete"]
        )
        assert (report["trigger"], report["findings_total"]) == ("schedule", 1)


def test_twenty_concurrent_assignments_over_http_take_exactly_the_free_seats(local_stack: LocalStack) -> None:
    api = client(local_stack, tenant())
    lic = api.post("/v1/licenses", {"product": "Figma", "metric": "per_user", "quantity": 5}).body
    path = f"/v1/licenses/{lic['id']}/assignments"
    with ThreadPoolExecutor(max_workers=20) as pool:
        replies = list(pool.map(lambda n: api.post(path, {"user": f"user-{n}"}), range(20)))
    statuses = sorted(r.status for r in replies)
    assert (statuses.count(201), statuses.count(409)) == (5, 15), statuses
    assert api.get(f"/v1/licenses/{lic['id']}").body["assigned"] == 5


def test_a_license_posted_twice_with_one_key_is_one_license(local_stack: LocalStack) -> None:
    api = client(local_stack, tenant())
    body = {"product": "Figma", "metric": "per_user", "quantity": 5}
    key = {"Idempotency-Key": f"po-{uuid.uuid4().hex}"}

    with ThreadPoolExecutor(max_workers=2) as pool:  # sent at once, as a client's timeout retry can be
        replies = list(pool.map(lambda _: api.post("/v1/licenses", body, headers=key), range(2)))
    later = api.post("/v1/licenses", body, headers=key)

    assert [r.status for r in (*replies, later)] == [201, 201, 201], [r.body for r in replies]
    assert {r.headers["Location"] for r in (*replies, later)} == {f"/v1/licenses/{later.body['id']}"}
    assert [lic["id"] for lic in api.get("/v1/licenses").body["items"]] == [later.body["id"]]
    other = api.post("/v1/licenses", {**body, "quantity": 6}, headers=key)
    assert (other.status, other.body["type"]) == (422, "/problems/idempotency-key-reused")


def test_another_tenant_cannot_reach_licenses_or_audits(local_stack: LocalStack) -> None:
    api = client(local_stack, tenant())
    made = estate(api)
    audit = api.post("/v1/audits").body
    intruder = client(local_stack, tenant())
    lic = made["license"]["id"]
    for method, path in [
        ("GET", f"/v1/licenses/{lic}"),
        ("GET", f"/v1/licenses/{lic}/assignments"),
        ("GET", f"/v1/assets/{made['laptops'][0]['id']}/software"),
        ("GET", f"/v1/audits/{audit['id']}"),
        ("GET", "/v1/compliance/visio"),
    ]:
        assert intruder.call(method, path).status == 404, path
    assert intruder.post(f"/v1/licenses/{lic}/assignments", {"user": "mallory"}).status == 404
    assert intruder.get("/v1/licenses").body["items"] == []
    assert api.get(f"/v1/licenses/{lic}").body["assigned"] == 0


def test_bad_license_input_is_a_problem(local_stack: LocalStack) -> None:
    api = client(local_stack, tenant())
    for body in (
        {"product": "x", "metric": "per_user", "quantity": -1},
        {
            "product": "x",
            "metric": "per_user",
            "quantity": 1,
            "start_date": "2027-01-01",
            "end_date": "2026-01-01",
        },
        {"product": "x", "metric": "per_planet", "quantity": 1},
    ):
        reply = api.post("/v1/licenses", body)
        assert reply.status == 422
        assert reply.headers["content-type"].startswith("application/problem+json")
    assert api.get("/v1/licenses").body["items"] == []
