"""Procurement intake on moto: endpoints and secrets, signed exactly-once intake, the worker's mapping
of purchasing events to assets and license entitlements (in any order)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from standardwebhooks import Webhook

from tests.integration.audit_support import drain, sqs_event
from tests.integration.conftest import Api
from tests.support.events import http_event
from tests.support.lambda_api import LambdaContext, Reply, reset_caches

PO = "PO-2026-0042"


def approved(
    *lines: dict[str, Any], kind: str = "po.approved", at: str = "2026-11-27T09:00:00Z"
) -> dict[str, Any]:
    return {
        "type": kind,
        "occurred_at": at,
        "data": {"po_number": PO, "supplier": "Gravis", "currency": "EUR", "lines": list(lines)},
    }


LAPTOPS = {
    "line_number": 1,
    "sku": "MBP14-M4",
    "manufacturer": "Apple",
    "manufacturer_part": "A2442",
    "description": "MacBook Pro 14",
    "category": "hardware",
    "quantity": 3,
    "unit_price": "2399.00",
}
OFFICE = {
    "line_number": 2,
    "description": "Microsoft 365 E3",
    "manufacturer": "Microsoft",
    "category": "saas",
    "quantity": 50,
    "unit_price": "33.00",
    "service_start": "2026-12-01",
    "service_end": "2027-11-30",
}


def received(line: int, receipt: str, serials: list[str], at: str = "2026-11-28T09:00:00Z") -> dict[str, Any]:
    return {
        "type": "po.line_received",
        "occurred_at": at,
        "data": {
            "po_number": PO,
            "line_number": line,
            "receipt_id": receipt,
            "quantity": len(serials),
            "serial_numbers": serials,
        },
    }


class Sender:
    """A procurement system: signs deliveries with the endpoint's secret, as the library does."""

    def __init__(self, endpoint: dict[str, Any], secret: str | None = None) -> None:
        self.endpoint = endpoint
        self.webhook = Webhook(secret or endpoint["secret"])
        self.count = 0

    def headers(self, msg_id: str, body: str, at: datetime | None = None) -> dict[str, str]:
        at = at or datetime.now(UTC)
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": self.webhook.sign(msg_id, at, body),
        }

    def send(self, payload: Any, msg_id: str | None = None, **kwargs: Any) -> Reply:
        self.count += 1
        body = payload if isinstance(payload, str) else json.dumps(payload)
        msg_id = msg_id or f"msg_{self.count}"
        return deliver(self.endpoint["id"], body, self.headers(msg_id, body, **kwargs))


def deliver(endpoint_id: str, body: str, headers: dict[str, str]) -> Reply:
    from functions.webhook_intake.handler import lambda_handler

    event = http_event("POST", f"/v1/webhooks/{endpoint_id}", raw_body=body, headers=headers)
    event["pathParameters"] = {"endpoint_id": endpoint_id}
    event["routeKey"] = "POST /v1/webhooks/{endpoint_id}"
    event["requestContext"].pop("authorizer", None)
    result = lambda_handler(event, LambdaContext())  # type: ignore[arg-type]
    text = result.get("body") or ""
    return Reply(
        int(result["statusCode"]), dict(result.get("headers") or {}), json.loads(text) if text else None
    )


def work() -> dict[str, Any]:
    """Deliver every queued procurement message to the worker, as its SQS event source would."""
    from functions.procurement_worker.handler import lambda_handler

    url = boto3.client("sqs").get_queue_url(QueueName="itam-test-procurement")["QueueUrl"]
    messages = drain(url)
    if not messages:
        return {"batchItemFailures": []}
    result: dict[str, Any] = lambda_handler(sqs_event(messages), LambdaContext())  # type: ignore[arg-type]
    return result


@pytest.fixture
def endpoint(api: Api) -> dict[str, Any]:
    reply = api.post("/v1/webhook-endpoints", {"name": "Coupa", "description": "purchasing"})
    assert reply.status == 201, reply.body
    return reply.body


def po_assets(api: Api) -> list[dict[str, Any]]:
    return [
        a for a in api.get("/v1/assets", query={"limit": "100"}).body["items"] if a.get("po_number") == PO
    ]


# ---------------------------------------------------------------------- endpoints
def test_an_endpoint_shows_its_secret_once(api: Api, endpoint: dict[str, Any]) -> None:
    assert endpoint["secret"].startswith("whsec_")
    assert endpoint["url_path"] == f"/v1/webhooks/{endpoint['id']}"
    got = api.get(f"/v1/webhook-endpoints/{endpoint['id']}").body
    assert "secret" not in got
    assert [e["id"] for e in api.get("/v1/webhook-endpoints").body["items"]] == [endpoint["id"]]
    assert api.as_("acme", "editor").post("/v1/webhook-endpoints", {"name": "x"}).status == 403
    assert api.as_("acme", "editor").get("/v1/webhook-endpoints").status == 403
    assert api.post("/v1/webhook-endpoints", {"name": "x", "secret": "mine"}).status == 422


# ---------------------------------------------------------------------- intake
def test_a_signed_delivery_is_acknowledged_queued_and_applied(api: Api, endpoint: dict[str, Any]) -> None:
    reply = Sender(endpoint).send(approved(LAPTOPS, OFFICE), msg_id="msg_approved")
    assert reply.status == 202, reply.body
    assert reply.body == {"delivery_id": "msg_approved", "status": "queued"}
    assert po_assets(api) == []  # the work happens behind the queue
    assert work() == {"batchItemFailures": []}

    laptops = po_assets(api)
    assert len(laptops) == 3
    assert {(a["status"], a["vendor"], a["cost"]["amount"]) for a in laptops} == {
        ("ordered", "Gravis", "2399.00")
    }
    [lic] = api.get("/v1/licenses", query={"product": "Microsoft 365 E3"}).body["items"]
    assert (lic["metric"], lic["quantity"], lic["end_date"], lic["po_number"]) == (
        "subscription",
        50,
        "2027-11-30",
        PO,
    )
    history = api.get(f"/v1/assets/{laptops[0]['id']}/history").body["items"]
    assert "msg_approved" in history[0]["reason"] and "line 1" in history[0]["reason"]
    [delivery] = api.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries").body["items"]
    assert (delivery["id"], delivery["status"], delivery["event_type"]) == (
        "msg_approved",
        "processed",
        "po.approved",
    )
    assert len(delivery["effects"]) == 4


def test_the_same_delivery_three_times_and_concurrently_has_one_effect(
    api: Api, endpoint: dict[str, Any]
) -> None:
    sender = Sender(endpoint)
    body = json.dumps(approved(LAPTOPS))
    headers = sender.headers("msg_1", body)
    with ThreadPoolExecutor(max_workers=3) as pool:
        replies = list(pool.map(lambda _: deliver(endpoint["id"], body, headers), range(3)))
    assert [r.status for r in replies] == [202, 202, 202]
    assert deliver(endpoint["id"], body, headers).status == 202
    work()
    work()
    assert len(po_assets(api)) == 3
    assert len(api.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries").body["items"]) == 1


@pytest.mark.parametrize("fault", ["tampered", "stale", "future", "replayed", "missing", "other secret"])
def test_bad_signatures_are_401_and_nothing_is_stored(api: Api, endpoint: dict[str, Any], fault: str) -> None:
    sender = Sender(endpoint)
    body = json.dumps(approved(LAPTOPS))
    headers = sender.headers("msg_x", body)
    if fault == "tampered":
        body = body.replace('"quantity": 3', '"quantity": 300')
    elif fault == "stale":
        headers = sender.headers("msg_x", body, at=datetime.now(UTC) - timedelta(minutes=6))
    elif fault == "future":
        headers = sender.headers("msg_x", body, at=datetime.now(UTC) + timedelta(minutes=6))
    elif fault == "replayed":  # an old delivery's signature with a fresh timestamp
        old = sender.headers("msg_x", body, at=datetime.now(UTC) - timedelta(minutes=10))
        headers = {**old, "webhook-timestamp": str(int(datetime.now(UTC).timestamp()))}
    elif fault == "missing":
        headers = {"webhook-id": "msg_x"}
    else:
        headers = Sender(endpoint, secret="whsec_" + "A" * 43 + "=").headers("msg_x", body)
    reply = deliver(endpoint["id"], body, headers)
    assert reply.status == 401, reply.body
    assert reply.headers["Content-Type"] == "application/problem+json"
    assert api.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries").body["items"] == []
    assert work() == {"batchItemFailures": []}
    assert po_assets(api) == []


def test_unknown_or_disabled_endpoints_are_404(api: Api, endpoint: dict[str, Any]) -> None:
    sender = Sender(endpoint)
    body = json.dumps(approved(LAPTOPS))
    for endpoint_id in ("acme." + "0" * 32, "globex." + endpoint["id"].split(".")[1], "nonsense"):
        assert deliver(endpoint_id, body, sender.headers("m", body)).status == 404
    disabled = api.patch(f"/v1/webhook-endpoints/{endpoint['id']}", {"enabled": False})
    assert disabled.status == 200, disabled.body
    assert sender.send(approved(LAPTOPS)).status == 404


def test_a_signed_but_invalid_payload_is_recorded_as_failed(api: Api, endpoint: dict[str, Any]) -> None:
    sender = Sender(endpoint)
    assert sender.send({"type": "po.approved", "data": {"po_number": PO}}, msg_id="bad_1").status == 202
    assert sender.send("not json at all", msg_id="bad_2").status == 202
    assert work() == {"batchItemFailures": []}
    deliveries = {
        d["id"]: d for d in api.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries").body["items"]
    }
    assert deliveries["bad_1"]["status"] == "failed"
    assert "occurred_at" in deliveries["bad_1"]["error"]
    assert deliveries["bad_2"]["status"] == "failed"
    assert po_assets(api) == []


def test_rotation_keeps_the_previous_secret_for_the_overlap(api: Api, endpoint: dict[str, Any]) -> None:
    old = Sender(endpoint)
    rotated = api.post(f"/v1/webhook-endpoints/{endpoint['id']}/rotate", {"overlap_hours": 1})
    assert rotated.status == 200, rotated.body
    new = Sender(endpoint, secret=rotated.body["secret"])
    assert rotated.body["secret"] != endpoint["secret"]
    assert new.send(approved(LAPTOPS), msg_id="m1").status == 202
    assert old.send(approved(LAPTOPS), msg_id="m2").status == 202
    api.post(f"/v1/webhook-endpoints/{endpoint['id']}/rotate", {"overlap_hours": 0})
    reset_caches()  # a new intake instance (a warm one keeps a secret up to a minute)
    assert new.send(approved(LAPTOPS), msg_id="m3").status == 401  # no overlap: it stops at once
    assert old.send(approved(LAPTOPS), msg_id="m4").status == 401


# ---------------------------------------------------------------------- mapping
def test_receipts_before_the_approval_are_applied_when_it_comes(api: Api, endpoint: dict[str, Any]) -> None:
    sender = Sender(endpoint)
    sender.send(received(1, "GR-1", ["SN-A", "SN-B"]))
    work()
    assert po_assets(api) == []  # nothing to put in stock yet
    sender.send(approved(LAPTOPS))
    work()
    laptops = sorted(
        po_assets(api), key=lambda a: a["custom_fields"].get("po_line", 0) and (a["serial_number"] or "~")
    )
    assert sorted((a["status"], a["serial_number"]) for a in laptops) == [
        ("in_stock", "SN-A"),
        ("in_stock", "SN-B"),
        ("ordered", None),
    ]
    # A repeated receipt (same receiving document) counts once; the third unit arrives later
    sender.send(received(1, "GR-1", ["SN-A", "SN-B"]))
    sender.send(received(1, "GR-2", ["SN-C"]))
    work()
    assert sorted((a["status"], a["serial_number"]) for a in po_assets(api)) == [
        ("in_stock", "SN-A"),
        ("in_stock", "SN-B"),
        ("in_stock", "SN-C"),
    ]


def test_a_cancellation_cancels_what_was_not_received_and_invoices_set_the_cost(
    api: Api, endpoint: dict[str, Any]
) -> None:
    sender = Sender(endpoint)
    sender.send(approved(LAPTOPS, OFFICE))
    sender.send(received(1, "GR-1", ["SN-A"]))
    sender.send(
        {
            "type": "invoice.posted",
            "occurred_at": "2026-11-29T09:00:00Z",
            "data": {
                "po_number": PO,
                "invoice_number": "INV-9",
                "currency": "EUR",
                "lines": [{"line_number": 1, "unit_price": "2299.00"}],
            },
        }
    )
    work()
    sender.send({"type": "po.cancelled", "occurred_at": "2026-11-30T09:00:00Z", "data": {"po_number": PO}})
    work()
    laptops = po_assets(api)
    assert sorted(a["status"] for a in laptops) == ["cancelled", "cancelled", "in_stock"]
    assert {a["cost"]["amount"] for a in laptops} == {"2299.00"}
    [lic] = api.get("/v1/licenses", query={"product": "Microsoft 365 E3"}).body["items"]
    assert lic["quantity"] == 0


def test_a_changed_po_applies_the_latest_version_of_a_line(api: Api, endpoint: dict[str, Any]) -> None:
    sender = Sender(endpoint)
    newer = {**LAPTOPS, "quantity": 2}
    sender.send(approved(newer, kind="po.changed", at="2026-11-27T10:00:00Z"))
    sender.send(approved(LAPTOPS, at="2026-11-27T09:00:00Z"))  # older, arriving later
    work()
    assert len(po_assets(api)) == 2


# ---------------------------------------------------------------------- isolation
def test_another_tenant_cannot_reach_an_endpoint(api: Api, endpoint: dict[str, Any]) -> None:
    base = f"/v1/webhook-endpoints/{endpoint['id']}"
    for intruder in (api.as_("globex"), api.as_("acme2")):
        assert intruder.get(base).status == 404
        assert intruder.patch(base, {"enabled": False}).status == 404
        assert intruder.post(f"{base}/rotate", {}).status == 404
        assert intruder.get(f"{base}/deliveries").status == 404
        assert intruder.call("DELETE", base).status == 404
        assert intruder.get("/v1/webhook-endpoints").body["items"] == []
    assert api.get(base).body["enabled"] is True
    # globex's own secret cannot sign for acme's endpoint
    theirs = api.as_("globex").post("/v1/webhook-endpoints", {"name": "theirs"}).body
    body = json.dumps(approved(LAPTOPS))
    assert deliver(endpoint["id"], body, Sender(theirs).headers("m", body)).status == 401
    assert api.call("DELETE", base).status == 204
    assert api.get(base).status == 404
