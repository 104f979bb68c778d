"""Idempotency-Key on every create, on moto: a retried create has one effect."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from tests.integration.conftest import Api, Jobs

BODY = {"name": "Dock", "kind": "hardware", "asset_tag": "DK-1"}


def post(api: Api, body: dict[str, object], key: str) -> tuple[int, dict[str, object]]:
    reply = api.call("POST", "/v1/assets", body=body, headers={"idempotency-key": key})
    return reply.status, reply.body


def test_the_same_request_with_the_same_key_creates_one_asset(api: Api) -> None:
    first_status, first = post(api, BODY, "order-4711-line-1")
    again_status, again = post(api, BODY, "order-4711-line-1")

    assert (first_status, again_status) == (201, 201)
    assert again["id"] == first["id"]
    assert [a["id"] for a in api.get("/v1/assets").body["items"]] == [first["id"]]
    assert len(api.get(f"/v1/assets/{first['id']}/history").body["items"]) == 1


def test_the_same_key_with_another_request_is_422_and_writes_nothing(api: Api) -> None:
    post(api, BODY, "k-1")
    status, body = post(api, {**BODY, "name": "Another dock", "asset_tag": "DK-2"}, "k-1")

    assert status == 422
    assert body["type"] == "/problems/idempotency-key-reused"
    assert len(api.get("/v1/assets").body["items"]) == 1


def test_keys_are_scoped_per_tenant(api: Api) -> None:
    _, mine = post(api, BODY, "shared-key")
    status, theirs = post(api.as_("globex"), BODY, "shared-key")
    assert status == 201
    assert theirs["id"] != mine["id"]


def test_a_replay_returns_the_asset_as_it_is_now(api: Api) -> None:
    _, first = post(api, BODY, "k-2")
    api.patch(f"/v1/assets/{first['id']}", {"location": "Lyon"}, etag='"1"')
    status, again = post(api, BODY, "k-2")
    assert (status, again["id"], again["location"], again["version"]) == (201, first["id"], "Lyon", 2)


def test_without_a_key_a_second_post_is_a_second_asset(api: Api) -> None:
    body = {"name": "Cable", "kind": "hardware"}
    assert api.post("/v1/assets", body).body["id"] != api.post("/v1/assets", body).body["id"]


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "with space"])
def test_malformed_keys_are_422(api: Api, key: str) -> None:
    status, body = post(api, BODY, key)
    assert status == 422
    assert body["errors"][0]["field"] == "idempotency-key"
    assert api.get("/v1/assets").body["items"] == []


def test_a_maintenance_record_logged_again_with_its_key_is_logged_once(api: Api) -> None:
    asset = api.post("/v1/assets", {"name": "Printer", "kind": "hardware", "status": "in_stock"}).body
    path = f"/v1/assets/{asset['id']}/maintenance"
    record = {"type": "repair", "title": "Fuser", "start_date": "2026-11-27"}

    first = api.call("POST", path, body=record, headers={"idempotency-key": "ticket-981"})
    again = api.call("POST", path, body=record, headers={"idempotency-key": "ticket-981"})
    other = api.call(
        "POST", path, body={**record, "title": "Drum"}, headers={"idempotency-key": "ticket-981"}
    )

    assert (first.status, again.status, other.status) == (201, 201, 422)
    assert again.body == first.body
    assert [m["title"] for m in api.get(path).body["items"]] == ["Fuser"]
    assert api.get(f"/v1/assets/{asset['id']}").etag == '"2"'


def test_a_maintenance_key_reused_on_another_asset_is_422(api: Api) -> None:
    one = api.post("/v1/assets", {"name": "A", "kind": "hardware"}).body
    two = api.post("/v1/assets", {"name": "B", "kind": "hardware"}).body
    record = {"type": "inspection", "title": "Yearly", "start_date": "2026-11-27"}
    headers = {"idempotency-key": "k-77"}

    assert api.call("POST", f"/v1/assets/{one['id']}/maintenance", body=record, headers=headers).status == 201
    assert api.call("POST", f"/v1/assets/{two['id']}/maintenance", body=record, headers=headers).status == 422
    assert api.get(f"/v1/assets/{two['id']}/maintenance").body["items"] == []


def test_a_keyed_retry_with_the_if_match_of_before_gets_the_record_not_412(api: Api) -> None:
    asset = api.post("/v1/assets", {"name": "Scanner", "kind": "hardware"}).body
    path = f"/v1/assets/{asset['id']}/maintenance"
    record = {"type": "inspection", "title": "Calibration", "start_date": "2026-11-27"}
    headers = {"idempotency-key": "cal-1", "if-match": '"1"'}

    first = api.call("POST", path, body=record, headers=headers)
    again = api.call("POST", path, body=record, headers=headers)
    unkeyed = api.call("POST", path, body=record, headers={"if-match": '"1"'})

    assert (first.status, again.status, unkeyed.status) == (201, 201, 412)
    assert again.body == first.body


# ---------------------------------------------------------------------- POST /v1/requests
REQUEST = {"kind": "hardware", "category": "laptop", "model": "X1", "justification": "new hire"}


def submit(api: Api, body: dict[str, object], key: str) -> tuple[int, dict[str, object]]:
    reply = api.call("POST", "/v1/requests", body=body, headers={"idempotency-key": key})
    return reply.status, reply.body


def test_a_request_submitted_again_with_its_key_is_submitted_once(api: Api) -> None:
    alice = api.as_("acme", "viewer", "alice")
    first_status, first = submit(alice, REQUEST, "req-1")
    again_status, again = submit(alice, REQUEST, "req-1")

    assert (first_status, again_status) == (201, 201)
    assert again == first
    assert [r["id"] for r in api.get("/v1/requests").body["items"]] == [first["id"]]
    assert [e["type"] for e in api.get(f"/v1/requests/{first['id']}/history").body["items"]] == ["submitted"]


def test_a_request_key_with_another_body_or_from_someone_else_is_422_and_submits_nothing(api: Api) -> None:
    alice, bob = api.as_("acme", "viewer", "alice"), api.as_("acme", "viewer", "bob")
    _, first = submit(alice, REQUEST, "req-2")

    for caller, body in ((alice, {**REQUEST, "model": "T14"}), (bob, REQUEST)):
        status, refused = submit(caller, body, "req-2")
        assert (status, refused["type"]) == (422, "/problems/idempotency-key-reused")
    # Bob learns nothing of Alice's request, and there is still one
    assert "justification" not in str(refused)
    assert [r["id"] for r in api.get("/v1/requests").body["items"]] == [first["id"]]
    # Another tenant's same key is its own
    status, theirs = submit(api.as_("globex", "viewer", "alice"), REQUEST, "req-2")
    assert status == 201 and theirs["id"] != first["id"]


def test_a_replayed_request_comes_back_as_it_is_now(api: Api) -> None:
    alice = api.as_("acme", "viewer", "alice")
    _, first = submit(alice, REQUEST, "req-3")
    rejected = api.call(
        "POST", f"/v1/requests/{first['id']}/reject", body={"comment": "no"}, headers={"if-match": '"1"'}
    )
    assert rejected.status == 200, rejected.body
    status, again = submit(alice, REQUEST, "req-3")
    assert (status, again["id"], again["status"], again["version"]) == (201, first["id"], "rejected", 2)


# ---------------------------------------------------------------------- the licensing context
def twice(api: Api, path: str, body: Any, key: str) -> tuple[Any, Any]:
    """The same POST sent twice with one key: both replies."""
    headers = {"idempotency-key": key}
    return api.call("POST", path, body=body, headers=headers), api.call(
        "POST", path, body=body, headers=headers
    )


def assert_same_answer(first: Any, again: Any, status: int = 201) -> None:
    assert (first.status, again.status) == (status, status), (first.body, again.body)
    assert again.body == first.body
    assert again.headers["Location"] == first.headers["Location"]


def test_licensing_creates_sent_twice_with_their_keys_have_one_effect(api: Api, jobs: Jobs) -> None:
    office = {"product": "Office", "metric": "per_user", "quantity": 5}
    first, again = twice(api, "/v1/licenses", office, "po-1-line-1")
    assert_same_answer(first, again)
    assert again.etag == first.etag
    lic = first.body
    assert [item["id"] for item in api.get("/v1/licenses").body["items"]] == [lic["id"]]
    assert len(api.get(f"/v1/licenses/{lic['id']}/history").body["items"]) == 1

    seat, seat_again = twice(api, f"/v1/licenses/{lic['id']}/assignments", {"user": "alice"}, "seat-1")
    assert_same_answer(seat, seat_again)
    assert api.get(seat.headers["Location"]).body == seat.body
    assert api.get(f"/v1/licenses/{lic['id']}").body["assigned"] == 1

    laptop = api.post("/v1/assets", {"name": "Laptop", "kind": "hardware"}).body
    software = f"/v1/assets/{laptop['id']}/software"
    inst, inst_again = twice(api, software, {"product": "Office"}, "scan-1")
    assert_same_answer(inst, inst_again)
    assert len(api.get(software).body["items"]) == 1

    rule, rule_again = twice(
        api, "/v1/normalization-rules", {"match_product": "office*", "product": "Office"}, "r-1"
    )
    assert_same_answer(rule, rule_again)
    assert len(api.get("/v1/normalization-rules").body["items"]) == 1

    jobs.messages()  # the rule's re-normalization
    audit, audit_again = twice(api, "/v1/audits", None, "audit-1")
    assert_same_answer(audit, audit_again, 202)
    assert len(api.get("/v1/audits").body["items"]) == 1
    assert [m["job"] for m in jobs.messages()] == ["audit"]


def test_a_licensing_key_with_another_body_is_422_and_another_tenants_is_its_own(api: Api) -> None:
    office = {"product": "Office", "metric": "per_user", "quantity": 5}
    first = api.call("POST", "/v1/licenses", body=office, headers={"idempotency-key": "k"})

    changed = api.call(
        "POST", "/v1/licenses", body={**office, "quantity": 6}, headers={"idempotency-key": "k"}
    )
    rule = api.call(
        "POST",
        "/v1/normalization-rules",
        body={"match_product": "x", "product": "X"},
        headers={"idempotency-key": "k"},
    )
    theirs = api.as_("globex").call("POST", "/v1/licenses", body=office, headers={"idempotency-key": "k"})

    assert (changed.status, changed.body["type"]) == (422, "/problems/idempotency-key-reused")
    assert (rule.status, rule.body["type"]) == (422, "/problems/idempotency-key-reused")
    assert theirs.status == 201 and theirs.body["id"] != first.body["id"]
    assert [item["id"] for item in api.get("/v1/licenses").body["items"]] == [first.body["id"]]
    assert api.get("/v1/normalization-rules").body["items"] == []


# ---------------------------------------------------------------------- the inventory context
def stored_secrets(prefix: str) -> list[str]:
    """The names of the secrets in Secrets Manager under `prefix`."""
    listed = boto3.client("secretsmanager").list_secrets()["SecretList"]
    return [s["Name"] for s in listed if s["Name"].startswith(prefix)]


def test_a_connector_created_twice_with_its_key_is_one_connector_and_one_secret(api: Api) -> None:
    okta = {
        "type": "okta",
        "name": "Okta",
        "settings": {"org_domain": "acme.okta.com"},
        "credentials": {"api_token": "00abcdefghijklmnopqrstuvwxyz"},
    }

    first, again = twice(api, "/v1/connectors", okta, "okta-setup")

    assert_same_answer(first, again)
    assert again.etag == first.etag
    assert [c["id"] for c in api.get("/v1/connectors").body["items"]] == [first.body["id"]]
    assert stored_secrets("itam-test/connectors/") == [f"itam-test/connectors/acme/{first.body['id']}"]


# ---------------------------------------------------------------------- the procurement context
def test_a_webhook_endpoint_created_twice_with_its_key_answers_the_same_secret(api: Api) -> None:
    first, again = twice(api, "/v1/webhook-endpoints", {"name": "Coupa"}, "coupa-1")

    assert_same_answer(first, again)
    assert again.body["secret"] == first.body["secret"]
    assert [e["id"] for e in api.get("/v1/webhook-endpoints").body["items"]] == [first.body["id"]]
    assert stored_secrets("itam-test/webhooks/") == [f"itam-test/webhooks/acme/{first.body['id']}"]

    api.post(f"/v1/webhook-endpoints/{first.body['id']}/rotate", {"overlap_hours": 0})
    rotated = api.call(
        "POST", "/v1/webhook-endpoints", body={"name": "Coupa"}, headers={"idempotency-key": "coupa-1"}
    )
    assert (rotated.status, rotated.body["type"]) == (409, "/problems/secret-rotated")
