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
