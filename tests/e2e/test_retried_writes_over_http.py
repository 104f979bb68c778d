"""End to end: a write whose answer comes after the function's DynamoDB read timeout, though it landed,
is sent again by botocore; the client still gets one answer, the right one, and one write is stored.

The local stack answers the writes of tenants named late-answer-* late, once per request (see
infra.local.faults): these tests take a read timeout each (4 s)."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.conftest import LATE_ANSWER_TENANTS, LocalStack
from tests.e2e.http import Client

pytestmark = pytest.mark.e2e


def test_a_create_and_a_patch_answered_too_late_are_one_201_and_one_200(local_stack: LocalStack) -> None:
    tenant = f"{LATE_ANSWER_TENANTS}{uuid.uuid4().hex[:8]}"
    api = Client(local_stack.gateway_url, local_stack.token(tenant, "admin"))

    created = api.post("/v1/assets", {"name": "Dock", "kind": "hardware", "asset_tag": "DK-1"})

    assert created.status == 201, created.body
    assert [a["id"] for a in api.get("/v1/assets").body["items"]] == [created.body["id"]]

    path = f"/v1/assets/{created.body['id']}"
    patched = api.patch(path, {"location": "Lyon"}, etag=created.etag)

    assert patched.status == 200, patched.body
    assert (patched.body["version"], patched.etag) == (2, '"2"')
    assert [e["type"] for e in api.get(f"{path}/history").body["items"]] == ["created", "updated"]
    assert "holding back a DynamoDB answer" in local_stack.output()
