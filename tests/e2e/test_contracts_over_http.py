"""End to end: contracts over real HTTP on the local stack, through the function template.yaml routes
them to, on credentials scoped to the caller's tenant."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.conftest import LocalStack
from tests.e2e.http import Client

pytestmark = pytest.mark.e2e


def client(stack: LocalStack, tenant_id: str, role: str = "admin") -> Client:
    return Client(stack.gateway_url, stack.token(tenant_id, role))


def test_a_contract_covers_an_asset_and_changes_under_if_match(local_stack: LocalStack) -> None:
    tenant = f"t-{uuid.uuid4().hex[:10]}"
    api = client(local_stack, tenant)
    server = api.post("/v1/assets", {"name": "Server", "kind": "hardware"}).body["id"]
    body = {
        "type": "maintenance",
        "vendor": "Dell",
        "start_date": "2026-01-01",
        "end_date": "2026-12-31",
        "notice_period_days": 60,
        "cost": {"amount": "100.00", "currency": "EUR", "period": "month"},
        "asset_ids": [server],
    }
    created = api.post("/v1/contracts", body, headers={"Idempotency-Key": "c-1"})
    assert created.status == 201, created.body
    assert created.body["notice_by"] == "2026-11-01"
    again = api.post("/v1/contracts", body, headers={"Idempotency-Key": "c-1"})
    assert (again.status, again.body["id"]) == (201, created.body["id"])

    covering = api.get("/v1/contracts", params={"asset_id": server}).body["items"]
    assert [c["id"] for c in covering] == [created.body["id"]]

    path = f"/v1/contracts/{created.body['id']}"
    changed = api.patch(path, {"asset_ids": [], "auto_renew": True}, created.etag)
    assert changed.status == 200, changed.body
    assert api.get("/v1/contracts", params={"asset_id": server}).body["items"] == []
    assert [e["type"] for e in api.get(f"{path}/history").body["items"]] == ["created", "updated"]

    other = client(local_stack, f"t-{uuid.uuid4().hex[:10]}")
    assert other.get(path).status == 404
    assert other.post("/v1/contracts", {**body, "asset_ids": [server]}).status == 422
    assert client(local_stack, tenant, "viewer").post("/v1/contracts", body).status == 403


def test_an_assets_total_cost_of_ownership_over_http(local_stack: LocalStack) -> None:
    api = client(local_stack, f"t-{uuid.uuid4().hex[:10]}")
    eur = {"currency": "EUR"}
    server = api.post(
        "/v1/assets",
        {
            "name": "Server",
            "kind": "hardware",
            "cost": {**eur, "amount": "5000"},
            "purchase_date": "2026-01-01",
        },
    ).body["id"]
    repair = {"type": "repair", "title": "fan", "start_date": "2026-02-01", "cost": {**eur, "amount": "120"}}
    assert api.post(f"/v1/assets/{server}/maintenance", repair).status == 201
    yearly = {
        "type": "support",
        "vendor": "Dell",
        "start_date": "2026-01-01",
        "end_date": "2026-12-31",
        "cost": {**eur, "amount": "730", "period": "year"},
        "asset_ids": [server],
    }
    assert api.post("/v1/contracts", yearly).status == 201
    lic = {
        "product": "Windows Server",
        "metric": "per_device",
        "quantity": 2,
        "unit_cost": {**eur, "amount": "700"},
    }
    license_id = api.post("/v1/licenses", lic).body["id"]
    assert api.post(f"/v1/licenses/{license_id}/assignments", {"asset_id": server}).status == 201

    reply = api.get(f"/v1/assets/{server}/tco", params={"from": "2026-01-01", "to": "2026-06-30"})
    assert reply.status == 200, reply.body
    [total] = reply.body["totals"]
    # 181 days of a 730-a-year contract; the seat is assigned today, inside the window only if today is.
    assert (total["acquisition"], total["maintenance"], total["contracts"]) == ("5000.00", "120.00", "362.00")
    everything = api.get(f"/v1/assets/{server}/tco", params={"to": "2099-12-31"}).body["totals"][0]
    assert everything["licenses"] == "700.00" and everything["contracts"] == "730.00"
    assert client(local_stack, f"t-{uuid.uuid4().hex[:10]}").get(f"/v1/assets/{server}/tco").status == 404
