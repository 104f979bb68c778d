"""End to end: a procurement system's signed deliveries over real HTTP, applied by the worker the
stack's runner feeds from the queue."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from standardwebhooks import Webhook

from tests.e2e.conftest import LocalStack
from tests.e2e.http import Client

pytestmark = pytest.mark.e2e


def wait_for(condition: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def signed(secret: str, msg_id: str, body: str) -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, now, body),
        "content-type": "application/json",
    }


def test_a_signed_purchase_order_becomes_assets_once(local_stack: LocalStack) -> None:
    tenant = f"t-{uuid.uuid4().hex[:10]}"
    admin = Client(local_stack.gateway_url, local_stack.token(tenant, "admin"))
    endpoint = admin.post("/v1/webhook-endpoints", {"name": "Coupa"})
    assert endpoint.status == 201, endpoint.body
    secret, path = endpoint.body["secret"], endpoint.body["url_path"]
    sender = Client(local_stack.gateway_url, None)  # no token: the signature authenticates
    body = json.dumps(
        {
            "type": "po.approved",
            "occurred_at": "2026-11-27T09:00:00Z",
            "data": {
                "po_number": "PO-77",
                "supplier": "Gravis",
                "currency": "EUR",
                "lines": [
                    {
                        "line_number": 1,
                        "description": "ThinkPad T14",
                        "category": "hardware",
                        "quantity": 2,
                        "unit_price": "1400",
                    }
                ],
            },
        }
    )
    headers = signed(secret, "msg_1", body)
    for _ in range(3):
        reply = sender.call("POST", path, data=body, headers=headers)
        assert reply.status == 202, reply.body

    def ordered() -> list[dict[str, Any]]:
        items = admin.get("/v1/assets").body["items"]
        return [a for a in items if a.get("po_number") == "PO-77"]

    assert len(wait_for(lambda: len(ordered()) == 2 and ordered())) == 2
    delivery = wait_for(
        lambda: [
            d
            for d in admin.get(
                f"{endpoint.body['url_path'].replace('/v1/webhooks/', '/v1/webhook-endpoints/')}/deliveries"
            ).body["items"]
            if d["status"] == "processed"
        ]
    )
    assert [d["id"] for d in delivery] == ["msg_1"]

    tampered = sender.call(
        "POST", path, data=body.replace('"quantity": 2', '"quantity": 20'), headers=headers
    )
    assert tampered.status == 401
    assert tampered.headers["content-type"].startswith("application/problem+json")
    time.sleep(1)
    assert len(ordered()) == 2


def test_a_signed_delivery_nested_too_deep_is_recorded_failed(local_stack: LocalStack) -> None:
    tenant = f"t-{uuid.uuid4().hex[:10]}"
    admin = Client(local_stack.gateway_url, local_stack.token(tenant, "admin"))
    endpoint = admin.post("/v1/webhook-endpoints", {"name": "Coupa"}).body
    sender = Client(local_stack.gateway_url, None)
    body = '{"a":' * 1000 + "1" + "}" * 1000

    # A forged copy is refused and not recorded; the signed one is acknowledged as failed
    forged = {**signed(endpoint["secret"], "msg_deep", body), "webhook-signature": "v1,AAAA"}
    assert sender.call("POST", endpoint["url_path"], data=body, headers=forged).status == 401
    reply = sender.call(
        "POST", endpoint["url_path"], data=body, headers=signed(endpoint["secret"], "msg_deep", body)
    )

    assert reply.status == 202, reply.body
    assert reply.body == {"delivery_id": "msg_deep", "status": "failed"}
    [delivery] = admin.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries").body["items"]
    assert (delivery["id"], delivery["status"]) == ("msg_deep", "failed")
    assert "more than 32 levels deep" in delivery["error"]
