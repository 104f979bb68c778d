"""The request routes: asset requests, the decisions on them and the approval policy, on the fakes
(fulfilment draws on the in-memory asset register)."""

from __future__ import annotations

from typing import Any

from tests.unit.routes.conftest import Api, Services, assert_problem

LAPTOP = {"kind": "hardware", "category": "laptop", "justification": "new hire"}
FIRST = {"if-match": '"1"'}  # a decision names the version it decides on


def alice(api: Api) -> Api:
    return api.as_(role="viewer", user="alice")


def submit(api: Api) -> dict[str, Any]:
    reply = alice(api).post("/v1/requests", LAPTOP)
    assert reply.status == 201, reply.body
    body: dict[str, Any] = reply.body
    return body


def test_submit_read_list_and_history(api: Api, services: Services) -> None:
    reply = alice(api).post("/v1/requests", LAPTOP, headers={"idempotency-key": "k-1"})
    path = reply.headers["Location"]

    assert (reply.status, reply.etag, path) == (201, '"1"', f"/v1/requests/{reply.body['id']}")
    assert alice(api).post("/v1/requests", LAPTOP, headers={"idempotency-key": "k-1"}).body == reply.body
    assert api.get(path).body == reply.body
    assert [r["id"] for r in api.get("/v1/requests", query={"status": "submitted"}).body["items"]] == [
        reply.body["id"]
    ]
    assert [r["id"] for r in api.get("/v1/requests", query={"awaiting_me": "true"}).body["items"]] == [
        reply.body["id"]
    ]
    assert [e["type"] for e in api.get(f"{path}/history").body["items"]] == ["submitted"]
    assert set(services.publisher.types) == {"request.submitted"}


def test_an_approval_fulfils_from_stock(api: Api) -> None:
    laptop = api.post(
        "/v1/assets", {"name": "L", "kind": "hardware", "category": "laptop", "status": "in_stock"}
    )
    request = submit(api)

    approved = api.post(f"/v1/requests/{request['id']}/approve", headers=FIRST)

    assert approved.status == 200
    assert approved.body["status"] == "fulfilled"
    assert api.get(f"/v1/assets/{laptop.body['id']}").body["assigned_to"] == "acme-alice"


def test_reject_cancel_and_fulfil(api: Api) -> None:
    rejected = api.post(f"/v1/requests/{submit(api)['id']}/reject", {"comment": "no budget"}, headers=FIRST)
    assert (rejected.status, rejected.body["status"]) == (200, "rejected")

    cancelled = alice(api).post(
        f"/v1/requests/{submit(api)['id']}/cancel", {"comment": "not needed"}, headers=FIRST
    )
    assert (cancelled.status, cancelled.body["status"]) == (200, "cancelled")

    request = submit(api)
    approved = api.post(f"/v1/requests/{request['id']}/approve", headers=FIRST)  # none in stock: waits
    assert approved.body["status"] == "awaiting_procurement"
    api.post("/v1/assets", {"name": "L", "kind": "hardware", "category": "laptop", "status": "in_stock"})
    fulfilled = api.post(f"/v1/requests/{request['id']}/fulfil", headers={"if-match": approved.etag})
    assert (fulfilled.status, fulfilled.body["status"]) == (200, "fulfilled")


def test_the_approval_policy_is_read_replaced_and_its_history_kept(api: Api) -> None:
    policy = api.get("/v1/approval-policy")
    assert (policy.status, policy.etag) == (200, '"0"')

    steps = [{"role": "admin"}, {"role": "editor"}]
    assert_problem(api.put("/v1/approval-policy", {"steps": steps}), 428, "precondition-required")
    stored = api.put("/v1/approval-policy", {"steps": steps}, headers={"if-match": policy.etag})
    assert (stored.status, stored.etag, len(stored.body["steps"])) == (200, '"1"', 2)
    assert [v["version"] for v in api.get("/v1/approval-policy/history").body["items"]] == [1]


def test_only_approvers_decide_and_only_admins_set_the_policy(api: Api) -> None:
    request = submit(api)

    assert_problem(alice(api).post(f"/v1/requests/{request['id']}/approve", headers=FIRST), 403)
    assert_problem(api.as_(role="editor").put("/v1/approval-policy", {"steps": [{"role": "editor"}]}), 403)
    assert alice(api).get("/v1/approval-policy").status == 200


def test_another_tenants_request_is_not_found(api: Api) -> None:
    request = submit(api)
    globex = api.as_("globex")

    assert_problem(globex.get(f"/v1/requests/{request['id']}"), 404, "not-found")
    assert_problem(globex.post(f"/v1/requests/{request['id']}/approve", headers=FIRST), 404, "not-found")


def test_invalid_bodies_answer_422(api: Api) -> None:
    assert_problem(alice(api).post("/v1/requests", {**LAPTOP, "kind": "spaceship"}), 422, "validation-error")
    request = submit(api)
    assert_problem(
        api.post(f"/v1/requests/{request['id']}/reject", {}, headers=FIRST), 422, "validation-error"
    )
    assert_problem(api.put("/v1/approval-policy", {"steps": []}), 422, "validation-error")


def test_a_step_naming_a_user_is_stored_with_the_user_s_id(api: Api) -> None:
    steps = [{"user": "CONTROLLER@acme.example.com"}]
    stored = api.put("/v1/approval-policy", {"steps": steps}, headers={"if-match": '"0"'})
    assert stored.status == 200, stored.body
    assert stored.body["steps"] == [
        {"role": None, "user": "CONTROLLER@acme.example.com", "user_id": "acme-controller", "min_cost": None}
    ]


def test_a_step_naming_nobody_of_the_tenant_is_a_422_naming_the_field(api: Api) -> None:
    for name in ("nobody@acme.example.com", "controller@globex.example.com"):
        steps = [{"role": "admin"}, {"user": name}]
        refused = api.put("/v1/approval-policy", {"steps": steps}, headers={"if-match": '"0"'})
        assert_problem(refused, 422, "unknown-user")
        assert [e["field"] for e in refused.body["errors"]] == ["steps.1.user"]
    assert_problem(
        api.put("/v1/approval-policy", {"steps": [{"user_id": "acme-alice"}]}, headers={"if-match": '"0"'}),
        422,
        "validation-error",
    )  # the id is found, never given


def test_the_requester_holding_the_step_s_role_cannot_reject_their_own_request(api: Api) -> None:
    made = api.post("/v1/requests", LAPTOP).body
    refused = api.post(f"/v1/requests/{made['id']}/reject", {"comment": "never mind"}, headers=FIRST)
    assert_problem(refused, 403, "self-rejection")
    assert api.get(f"/v1/requests/{made['id']}").body["status"] == "submitted"
