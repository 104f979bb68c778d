"""Procurement intake on moto: endpoints and secrets, signed exactly-once intake, the worker's mapping
of purchasing events to assets and license entitlements (in any order)."""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from standardwebhooks import Webhook

from tests.integration.audit_support import drain, sqs_event
from tests.integration.conftest import Api
from tests.support import metrics
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


def test_deliveries_are_counted_as_metrics_by_outcome_and_status(
    endpoint: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    sender = Sender(endpoint)
    body = json.dumps(approved(LAPTOPS))
    capsys.readouterr()
    assert sender.send(body).status == 202
    assert deliver(endpoint["id"], body, sender.headers("msg_bad", body + " ")).status == 401

    docs = metrics.documents(capsys.readouterr().out, "WebhookDeliveries")
    assert [(d["outcome"], d["status"], d["WebhookDeliveries"]) for d in docs] == [
        ("accepted", "202", [1.0]),
        ("refused", "401", [1.0]),
    ]
    assert {d["endpoint_id"] for d in docs} == {endpoint["id"]}
    assert metrics.definition(docs[0])[:2] == ("ITAM", [["outcome", "status", "service"]])


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


# Signed bodies no worker could read, and the reason each is recorded with.
UNREADABLE = {
    "object nested 1,000 deep": ('{"a":' * 1000 + "1" + "}" * 1000, "more than 32 levels deep"),
    "array nested 100,000 deep": ("[" * 100_000 + "]" * 100_000, "more than 32 levels deep"),
    "object nested 33 deep": ('{"a":' * 33 + "1" + "}" * 33, "more than 32 levels deep"),
    "not JSON": ("not json at all", "not valid JSON"),
    "not an object": ('["po.approved"]', "must be a JSON object"),
    "a name twice": ('{"type": "po.approved", "type": "po.cancelled"}', "appears twice"),
    "a byte order mark": ('\ufeff{"type": "po.approved"}', "byte order mark"),
    "a lone surrogate": ('{"type": "\\ud800"}', "lone surrogate"),
    "a number beyond a double": ('{"type": "po.approved", "n": 1e400}', "beyond the range of a double"),
}


@pytest.mark.parametrize("case", list(UNREADABLE))
def test_a_signed_delivery_no_worker_could_read_is_recorded_failed_with_its_reason(
    api: Api, endpoint: dict[str, Any], case: str
) -> None:
    body, reason = UNREADABLE[case]
    sender = Sender(endpoint)
    headers = sender.headers("msg_unreadable", body)

    # The sender is told at once, and its retry gets the same answer
    for _ in range(2):
        reply = deliver(endpoint["id"], body, headers)
        assert (reply.status, reply.body) == (202, {"delivery_id": "msg_unreadable", "status": "failed"})

    [delivery] = api.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries").body["items"]
    assert (delivery["id"], delivery["status"]) == ("msg_unreadable", "failed")
    assert reason in delivery["error"], delivery["error"]
    # Nothing was queued for the worker, nothing applied
    url = boto3.client("sqs").get_queue_url(QueueName="itam-test-procurement")["QueueUrl"]
    assert drain(url) == []
    assert po_assets(api) == []


@pytest.mark.parametrize("content_type", ["APPLICATION/JSON", "text/plain; charset=utf-16", ""])
def test_the_intake_reads_a_signed_body_whatever_its_declared_content_type(
    endpoint: dict[str, Any], content_type: str
) -> None:
    sender = Sender(endpoint)
    body = json.dumps(approved(LAPTOPS))

    reply = deliver(endpoint["id"], body, {**sender.headers("msg_typed", body), "content-type": content_type})

    assert (reply.status, reply.body) == (202, {"delivery_id": "msg_typed", "status": "queued"})


def test_an_unsigned_unreadable_body_is_refused_and_not_recorded(api: Api, endpoint: dict[str, Any]) -> None:
    body = '{"a":' * 1000 + "1" + "}" * 1000
    headers = Sender(endpoint).headers("msg_forged", body)
    reply = deliver(endpoint["id"], body, {**headers, "webhook-signature": "v1," + "A" * 44})

    assert reply.status == 401
    assert reply.headers["Content-Type"] == "application/problem+json"
    assert api.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries").body["items"] == []


@pytest.mark.parametrize(
    ("event_changes", "status"),
    [
        ({"body": "abc", "isBase64Encoded": True}, 400),  # not base64
        ({"body": base64.b64encode('{"type": "x"}'.encode("utf-16")).decode(), "isBase64Encoded": True}, 400),
        ({"body": base64.b64encode(b'{"type": "\xff"}').decode(), "isBase64Encoded": True}, 400),
        ({"body": '{"type": "\ud800"}'}, 400),  # a surrogate in the text itself: not UTF-8
        ({"body": "x" * (300 * 1024)}, 413),
        ({"headers": {"Content-Type": "APPLICATION/JSON; charset=utf-16"}}, 401),  # unsigned
        ({"pathParameters": {"endpoint_id": "acme." + "0" * 31 + "\u00e9"}}, 404),
        ({"pathParameters": None}, 404),
    ],
)
def test_a_delivery_that_cannot_be_read_gets_a_problem_not_a_server_error(
    endpoint: dict[str, Any], event_changes: dict[str, Any], status: int
) -> None:
    from functions.webhook_intake.handler import lambda_handler

    event = http_event("POST", f"/v1/webhooks/{endpoint['id']}", raw_body='{"type": "po.approved"}')
    event["pathParameters"] = {"endpoint_id": endpoint["id"]}
    event["requestContext"].pop("authorizer", None)
    event.update(event_changes)

    result = lambda_handler(event, LambdaContext())  # type: ignore[arg-type]

    assert (result["statusCode"], result["headers"]["Content-Type"]) == (status, "application/problem+json")


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
    reasons = [e["reason"] for e in api.get(f"/v1/licenses/{lic['id']}/history").body["items"]]
    assert all(PO in r and "line 2" in r for r in reasons) and len(reasons) == 2


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


# ---------------------------------------------------------------------- Precoro (thin notifications)
class FakePrecoro:
    """Precoro's API as far as the intake uses it: GET /purchaseorders/{idn} with X-AUTH-TOKEN."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.orders: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str | None]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.calls.append((self.path, self.headers.get("X-AUTH-TOKEN")))
                idn = self.path.rsplit("/", 1)[-1]
                if (
                    self.headers.get("X-AUTH-TOKEN") != "precoro-token"
                    or self.headers.get("email") != "it@acme.test"
                ):
                    self._send(401, {"message": "Invalid token"})
                elif idn not in fake.orders:
                    self._send(404, {"message": "Not found"})
                else:
                    self._send(200, {"data": fake.orders[idn]})

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def precoro(api: Api, monkeypatch: pytest.MonkeyPatch) -> Any:
    fake = FakePrecoro()
    monkeypatch.setenv("PRECORO_API_URL", fake.url)
    reset_caches()
    yield fake
    fake.server.shutdown()


def test_a_precoro_notification_fetches_the_purchase_order(api: Api, precoro: FakePrecoro) -> None:
    made = api.post(
        "/v1/webhook-endpoints",
        {"name": "Precoro", "provider": "precoro", "api_token": "precoro-token", "api_email": "it@acme.test"},
    )
    assert made.status == 201, made.body
    assert "api_token" not in api.get(f"/v1/webhook-endpoints/{made.body['id']}").body
    assert api.post("/v1/webhook-endpoints", {"name": "x", "provider": "precoro"}).status == 422
    order = {
        "id": 991,
        "idn": 5,
        "status": 2,
        "currency": "EUR",
        "modified": "2026-11-27T10:00:00+00:00",
        "supplier": {"name": "Dell"},
        "items": [
            {
                "id": 1,
                "name": "Latitude 7450",
                "sku": "LAT-7450",
                "quantity": 2,
                "price": 1500,
                "receivedQuantity": 1,
            },
            {
                "id": 2,
                "name": "Adobe Acrobat Pro",
                "quantity": 10,
                "price": 20,
                "customFields": {"category": "saas"},
            },
        ],
    }
    precoro.orders["5"] = order
    sender = Sender(made.body)
    assert sender.send({"id": 991, "type": 2, "action": 0, "idn": 5}, msg_id="p1").status == 202
    assert sender.send({"id": 77, "type": 7, "action": 1}, msg_id="p2").status == 202  # a supplier: ignored
    assert work() == {"batchItemFailures": []}
    assert precoro.calls == [("/purchaseorders/5", "precoro-token")]
    assets = [a for a in api.get("/v1/assets").body["items"] if a.get("po_number") == "5"]
    assert sorted(a["status"] for a in assets) == ["in_stock", "ordered"]
    [lic] = api.get("/v1/licenses", query={"product": "Adobe Acrobat Pro"}).body["items"]
    assert (lic["quantity"], lic["metric"]) == (10, "subscription")

    # Later the second unit is received (Precoro reports the quantity received so far)
    order["items"][0]["receivedQuantity"] = 2
    sender.send({"id": 991, "type": 2, "action": 1, "idn": 5}, msg_id="p3")
    work()
    assets = [a for a in api.get("/v1/assets").body["items"] if a.get("po_number") == "5"]
    assert sorted(a["status"] for a in assets) == ["in_stock", "in_stock"]


def test_a_precoro_outage_is_retried_and_a_missing_order_fails(api: Api, precoro: FakePrecoro) -> None:
    made = api.post(
        "/v1/webhook-endpoints",
        {"name": "Precoro", "provider": "precoro", "api_token": "precoro-token", "api_email": "it@acme.test"},
    ).body
    sender = Sender(made)
    sender.send({"id": 1, "type": 2, "action": 0, "idn": 404}, msg_id="gone")
    result = work()
    assert len(result["batchItemFailures"]) == 1  # Precoro's 404: retried, then the dead-letter queue
    [delivery] = api.get(f"/v1/webhook-endpoints/{made['id']}/deliveries").body["items"]
    assert delivery["status"] == "queued"


def test_a_received_line_that_names_a_request_fulfils_it(api: Api, endpoint: dict[str, Any]) -> None:
    # Given an approved request for a laptop nobody has in stock
    requester = api.as_("acme", "viewer", "alice")
    made = requester.post(
        "/v1/requests", {"kind": "hardware", "category": "laptop", "justification": "new hire"}
    ).body
    waiting = api.post(
        f"/v1/requests/{made['id']}/approve", {"comment": "ok"}, headers={"if-match": f'"{made["version"]}"'}
    )
    assert waiting.body["status"] == "awaiting_procurement", waiting.body
    # When the PO line bought for it is approved and received
    sender = Sender(endpoint)
    line = {**LAPTOPS, "quantity": 1, "request_id": made["id"]}
    sender.send(approved(line))
    sender.send(received(1, "GR-1", ["SN-Z"]))
    assert work() == {"batchItemFailures": []}
    # Then the request is fulfilled with the received unit, checked out to the requester
    done = api.get(f"/v1/requests/{made['id']}").body
    assert done["status"] == "fulfilled"
    [asset_id] = done["assets"]
    asset = api.get(f"/v1/assets/{asset_id}").body
    assert (asset["serial_number"], asset["assigned_to"], asset["status"]) == (
        "SN-Z",
        made["requested_for"],
        "deployed",
    )
