"""Requests and approvals through the real handler on moto: submission, the approval chain, fulfilment
from stock and seats, procurement, the last-item race, tenant isolation and the role matrix."""

from __future__ import annotations

import os
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import jsonschema
import pytest
from botocore.exceptions import ClientError

from itam.adapters import cursors
from itam.bootstrap import request_service
from itam.requests.models import RequestFilter
from itam.tenancy import Role, TenantContext
from tests.integration.conftest import Api, Jobs
from tests.support.lambda_api import Reply

INTRUDERS = ("globex", "acme2", "acm")
LAPTOP = {"kind": "hardware", "category": "laptop", "model": "X1 Carbon", "justification": "new hire"}
PROCUREMENT = TenantContext("acme", "procurement-worker", "procurement", frozenset({Role.EDITOR}))


def alice(api: Api) -> Api:
    return api.as_("acme", "viewer", "alice")


def stock(api: Api, count: int = 1, **fields: Any) -> list[dict[str, Any]]:
    """`count` in-stock laptops."""
    made = []
    for _ in range(count):
        body = {"name": "Laptop", "kind": "hardware", "category": "laptop", "model": "X1 Carbon"}
        reply = api.post("/v1/assets", {**body, "status": "in_stock", **fields})
        assert reply.status == 201, reply.body
        made.append(reply.body)
    return made


def submit(caller: Api, **fields: Any) -> dict[str, Any]:
    reply = caller.post("/v1/requests", {**LAPTOP, **fields})
    assert reply.status == 201, reply.body
    return reply.body


def act(
    caller: Api, request: dict[str, Any], action: str, body: Any = None, etag: str | None = None
) -> Reply:
    """POST /v1/requests/{id}/<action> with If-Match of the version given (or `etag`)."""
    headers = {"if-match": etag if etag is not None else f'"{request["version"]}"'}
    return caller.post(f"/v1/requests/{request['id']}/{action}", body, headers=headers)


def events(jobs: Jobs) -> list[tuple[str, str, str]]:
    """(detail-type, request id, status) of every request event published since the last call."""
    found = [
        (e["detail-type"], e["detail"]["request"]["id"], e["detail"]["request"]["status"])
        for e in jobs.events()
        if e["detail-type"].startswith("request.")
    ]
    return sorted(found)


def history_types(api: Api, request_id: str) -> list[str]:
    reply = api.get(f"/v1/requests/{request_id}/history")
    assert reply.status == 200, reply.body
    return [event["type"] for event in reply.body["items"]]


def put_policy(api: Api, steps: list[dict[str, Any]], etag: str = '"0"') -> Reply:
    return api.call("PUT", "/v1/approval-policy", body={"steps": steps}, headers={"if-match": etag})


# ---------------------------------------------------------------------- submission
def test_any_employee_submits_a_request_with_location_etag_history_and_event(api: Api, jobs: Jobs) -> None:
    reply = alice(api).post("/v1/requests", {**LAPTOP, "quantity": 2})

    assert reply.status == 201, reply.body
    body = reply.body
    assert reply.headers["Location"] == f"/v1/requests/{body['id']}"
    assert reply.etag == '"1"'
    assert (body["status"], body["quantity"], body["remaining"]) == ("submitted", 2, 2)
    assert (body["requested_by"], body["requested_for"], body["requested_for_id"]) == ("acme-alice",) * 3
    assert body["approval"] == {
        "policy_version": 0,
        "steps": [{"role": "admin", "user": None, "user_id": None, "min_cost": None}],
        "current_step": 0,
        "decisions": [],
    }
    assert alice(api).get(f"/v1/requests/{body['id']}").body == body
    [event] = alice(api).get(f"/v1/requests/{body['id']}/history").body["items"]
    assert (event["type"], event["from"], event["to"], event["actor"]["user_id"]) == (
        "submitted",
        None,
        "submitted",
        "acme-alice",
    )
    assert events(jobs) == [("request.submitted", body["id"], "submitted")]


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "hardware", "justification": "x"},  # neither category nor model
        {**LAPTOP, "quantity": 0},
        {**LAPTOP, "quantity": 101},
        {**LAPTOP, "product": "Visio"},
        {"kind": "license", "justification": "x"},
        {"kind": "license", "product": "Visio", "license_id": "0" * 32, "justification": "x"},
        {"kind": "license", "product": "Visio", "quantity": 2, "justification": "x"},
        {"kind": "license", "product": "Visio", "category": "laptop", "justification": "x"},
        {**LAPTOP, "justification": ""},
        {**LAPTOP, "status": "approved"},
        {**LAPTOP, "estimated_cost": {"amount": "-1", "currency": "EUR"}},
        {"kind": "license", "license_id": "0123456789abcdef0123456789abcdef", "justification": "x"},
    ],
)
def test_invalid_requests_are_422_and_store_nothing(api: Api, body: dict[str, Any]) -> None:
    reply = alice(api).post("/v1/requests", body)
    assert reply.status == 422, reply.body
    assert reply.body["type"] == "/problems/validation-error"
    assert api.get("/v1/requests").body["items"] == []


def test_a_request_on_behalf_of_someone(api: Api) -> None:
    bob = Api.member("acme", "viewer", "bob")
    made = submit(alice(api), requested_for="Bob@ACME.example.com")
    assert (made["requested_by"], made["requested_for"]) == ("acme-alice", "Bob@ACME.example.com")
    assert made["requested_for_id"] == bob.sub  # the user the name names, found in the pool
    assert bob.get(f"/v1/requests/{made['id']}").status == 200  # the person it is for sees it
    for name in ("BOB@acme.example.com", bob.sub):
        listed = bob.get("/v1/requests", query={"requested_for": name}).body["items"]
        assert [r["id"] for r in listed] == [made["id"]]
        assert [r["id"] for r in api.get("/v1/requests", query={"requested_for": name}).body["items"]] == [
            made["id"]
        ]


def test_a_recipient_who_is_no_user_of_the_tenant_is_only_a_name(api: Api) -> None:
    Api.member("globex", "viewer", "bob", email="bob@globex.example.com")
    for name in ("Bob Smith", "bob@globex.example.com", "nobody@acme.example.com"):
        made = submit(alice(api), requested_for=name)
        assert (made["requested_for"], made["requested_for_id"]) == (name, None)
    listed = api.get("/v1/requests", query={"requested_for": "BOB SMITH"}).body["items"]
    assert [r["requested_for"] for r in listed] == ["Bob Smith"]


# ---------------------------------------------------------------------- approval and fulfilment
def test_approval_fulfils_from_stock_and_checks_the_assets_out(api: Api, jobs: Jobs) -> None:
    laptops = stock(api, 2) + stock(api, 1, model="Other")
    made = submit(alice(api), quantity=2, estimated_cost={"amount": "3000", "currency": "EUR"})
    jobs.events()

    reply = act(api, made, "approve", {"comment": "ok"})

    assert reply.status == 200, reply.body
    done = reply.body
    assert (done["status"], done["remaining"]) == ("fulfilled", 0)
    assert sorted(done["assets"]) == sorted(a["id"] for a in laptops[:2])
    assert reply.etag == f'"{done["version"]}"'
    assert done["approval"]["current_step"] is None
    [decision] = done["approval"]["decisions"]
    assert (decision["decision"], decision["by"]["user_id"], decision["comment"]) == (
        "approved",
        "acme-u-1",
        "ok",
    )
    for asset_id in done["assets"]:
        asset = api.get(f"/v1/assets/{asset_id}").body
        assert (asset["status"], asset["assigned_to"]) == ("deployed", "acme-alice")
        checkout = api.get(f"/v1/assets/{asset_id}/history").body["items"][-1]
        assert (checkout["type"], checkout["reason"]) == ("checked_out", f"request {made['id']}")
    assert api.get(f"/v1/assets/{laptops[2]['id']}").body["status"] == "in_stock"  # another model
    assert history_types(api, made["id"]) == ["submitted", "approved", "assigned", "fulfilled"]
    assert events(jobs) == sorted(
        [("request.approved", made["id"], "approved"), ("request.fulfilled", made["id"], "fulfilled")]
    )


def test_without_enough_stock_the_request_awaits_procurement_then_a_received_line_fulfils_it(
    api: Api, jobs: Jobs
) -> None:
    [first] = stock(api, 1)
    made = submit(alice(api), quantity=3)
    waiting = act(api, made, "approve").body
    assert (waiting["status"], waiting["remaining"], waiting["assets"]) == (
        "awaiting_procurement",
        2,
        [first["id"]],
    )
    assert ("request.awaiting_procurement", made["id"], "awaiting_procurement") in events(jobs)

    received = [a["id"] for a in stock(api, 2)]
    service = request_service()
    done = service.on_procurement_received(PROCUREMENT, made["id"], asset_ids=received)

    assert (done.status, done.remaining, done.assets) == ("fulfilled", 0, [first["id"], *received])
    for asset_id in received:
        assert api.get(f"/v1/assets/{asset_id}").body["assigned_to"] == "acme-alice"
    assert events(jobs) == [("request.fulfilled", made["id"], "fulfilled")]
    versions = len(history_types(api, made["id"]))

    again = service.on_procurement_received(PROCUREMENT, made["id"], asset_ids=received)

    assert again.version == done.version
    assert len(history_types(api, made["id"])) == versions
    assert events(jobs) == []
    for asset_id in received:
        assert len(api.get(f"/v1/assets/{asset_id}/assignments").body["items"]) == 1


def test_a_received_line_for_a_request_that_is_not_waiting_is_refused(api: Api) -> None:
    made = submit(alice(api))
    [unit] = stock(api, 1)
    with pytest.raises(Exception) as refused:
        request_service().on_procurement_received(PROCUREMENT, made["id"], asset_ids=[unit["id"]])
    assert type(refused.value).__name__ == "InvalidState"
    assert api.get(f"/v1/assets/{unit['id']}").body["status"] == "in_stock"


def test_a_license_request_takes_a_free_seat(api: Api, jobs: Jobs) -> None:
    lic = api.post("/v1/licenses", {"product": "Visio", "metric": "per_user", "quantity": 2}).body
    made = submit(alice(api), kind="license", license_id=lic["id"], category=None, model=None)

    done = act(api, made, "approve").body

    assert done["status"] == "fulfilled", done
    [seat] = done["seats"]
    assert seat["license_id"] == lic["id"]
    [held] = api.get(f"/v1/licenses/{lic['id']}/assignments").body["items"]
    assert (held["id"], held["user"]) == (seat["seat_id"], "acme-alice")
    assert api.get(f"/v1/licenses/{lic['id']}").body["assigned"] == 1


def test_a_license_request_by_product_waits_for_a_seat_then_procurement_brings_it(
    api: Api, jobs: Jobs
) -> None:
    full = api.post("/v1/licenses", {"product": "Visio", "metric": "per_user", "quantity": 1}).body
    api.post(f"/v1/licenses/{full['id']}/assignments", {"user": "carol"})
    made = submit(alice(api), kind="license", product="visio", category=None, model=None)

    waiting = act(api, made, "approve").body
    assert (waiting["status"], waiting["seats"]) == ("awaiting_procurement", [])
    assert api.get(f"/v1/licenses/{full['id']}").body["assigned"] == 1  # never beyond the quantity

    bought = api.post("/v1/licenses", {"product": "Visio", "metric": "per_user", "quantity": 1}).body
    service = request_service()
    done = service.on_procurement_received(PROCUREMENT, made["id"], license_id=bought["id"])
    again = service.on_procurement_received(PROCUREMENT, made["id"], license_id=bought["id"])

    assert done.status == "fulfilled"
    assert again.version == done.version
    assert api.get(f"/v1/licenses/{bought['id']}").body["assigned"] == 1


def test_fulfil_retries_an_awaiting_request_for_editors_and_admins(api: Api) -> None:
    made = submit(alice(api))
    waiting = act(api, made, "approve").body
    assert waiting["status"] == "awaiting_procurement"
    path = f"/v1/requests/{made['id']}/fulfil"
    assert api.post(path).body["status"] == "awaiting_procurement"  # still nothing free
    stock(api, 1)

    assert alice(api).post(path).status == 403
    assert api.as_("acme", "auditor", "aud").post(path).status == 403
    reply = api.as_("acme", "editor", "ed").post(path, headers={"if-match": '"1"'})
    assert (reply.status, reply.body["type"]) == (412, "/problems/precondition-failed")
    reply = api.as_("acme", "editor", "ed").post(path)

    assert (reply.status, reply.body["status"]) == (200, "fulfilled")
    assert api.post(path).body == reply.body  # fulfilled: nothing more to do


def test_a_submitted_request_is_not_fulfilled_before_approval(api: Api) -> None:
    stock(api, 1)
    made = submit(alice(api))
    reply = api.post(f"/v1/requests/{made['id']}/fulfil")
    assert (reply.status, reply.body["type"]) == (409, "/problems/invalid-state")
    assert api.get("/v1/assets", query={"status": "in_stock"}).body["items"] != []


# ---------------------------------------------------------------------- the approval chain
def test_the_requester_and_the_recipient_never_approve_their_own_request(api: Api, jobs: Jobs) -> None:
    own = submit(api)  # an admin's own request; the default policy asks an admin
    reply = act(api, own, "approve")
    assert (reply.status, reply.body["type"]) == (403, "/problems/self-approval")

    boss = Api.member("acme", "admin", "boss")
    for_boss = submit(alice(api), requested_for="boss@acme.example.com")
    reply = act(boss, for_boss, "approve")
    assert (reply.status, reply.body["type"]) == (403, "/problems/self-approval")

    assert api.get(f"/v1/requests/{own['id']}").body == own  # nothing changed
    assert act(boss, own, "approve").status == 200  # another admin may
    assert act(api, for_boss, "approve").status == 200


def test_only_the_current_steps_approver_decides(api: Api) -> None:
    made = submit(alice(api))
    for caller in (api.as_("acme", "editor", "ed"), api.as_("acme", "auditor", "aud")):
        for action, body in (("approve", None), ("reject", {"comment": "no"})):
            reply = act(caller, made, action, body)
            assert (reply.status, reply.body["type"]) == (403, "/problems/not-approver"), reply.body
            assert "admin" in reply.body["detail"]
    # a viewer who is not part of the request does not even see it
    assert act(api.as_("acme", "viewer", "mallory"), made, "approve").status == 404
    assert api.get(f"/v1/requests/{made['id']}").body == made


def test_a_multi_step_chain_with_cost_thresholds(api: Api, jobs: Jobs) -> None:
    controller = Api.member("acme", "viewer", "controller")
    steps = [
        {"role": "editor"},
        {"user": "controller@acme.example.com"},
        {"role": "admin", "min_cost": {"amount": "1000", "currency": "EUR"}},
    ]
    reply = put_policy(api, steps)
    assert (reply.status, reply.etag, reply.body["version"]) == (200, '"1"', 1)
    assert [step["user_id"] for step in reply.body["steps"]] == [None, controller.sub, None]

    def chain(cost: dict[str, str] | None) -> list[dict[str, Any]]:
        made = submit(alice(api), estimated_cost=cost) if cost else submit(alice(api))
        shown = [{k: v for k, v in step.items() if v is not None} for step in made["approval"]["steps"]]
        return [{k: v for k, v in step.items() if k != "user_id"} for step in shown]

    assert chain({"amount": "999.99", "currency": "EUR"}) == steps[:2]
    assert chain({"amount": "1000", "currency": "EUR"}) == steps
    assert chain({"amount": "5", "currency": "USD"}) == steps  # not comparable: the step applies
    assert chain(None) == steps  # no estimate: the step applies

    stock(api, 1)
    made = submit(alice(api), estimated_cost={"amount": "2500", "currency": "EUR"})
    editor = api.as_("acme", "editor", "ed")
    assert act(controller, made, "approve").body["type"] == "/problems/not-approver"  # not yet
    first = act(editor, made, "approve", {"comment": "fine by IT"})
    assert first.status == 200, first.body
    assert (first.body["status"], first.body["approval"]["current_step"]) == ("submitted", 1)
    assert act(editor, made, "approve").status == 412  # the version moved on
    assert act(api, first.body, "approve").body["type"] == "/problems/not-approver"  # the controller's step
    assert controller.get(f"/v1/requests/{made['id']}").status == 200  # an approver sees it
    second = act(controller, first.body, "approve")
    assert (second.body["status"], second.body["approval"]["current_step"]) == ("submitted", 2)
    last = act(api, second.body, "approve")

    assert last.body["status"] == "fulfilled"
    assert [d["by"]["user_id"] for d in last.body["approval"]["decisions"]] == [
        "acme-ed",
        controller.sub,
        "acme-u-1",
    ]
    assert history_types(api, made["id"]) == [
        "submitted",
        "step_approved",
        "step_approved",
        "approved",
        "fulfilled",
    ]
    # approved is published once, for the last step only
    assert [e for e in events(jobs) if e[1] == made["id"] and e[0] == "request.approved"] == [
        ("request.approved", made["id"], "approved")
    ]


def test_an_approver_lists_what_awaits_their_decision(api: Api) -> None:
    # Given: a chain of an editor, then the controller (a viewer the policy names), and four requests
    controller = Api.member("acme", "viewer", "controller")
    assert put_policy(api, [{"role": "editor"}, {"user": "controller@acme.example.com"}]).status == 200
    editor = api.as_("acme", "editor", "ed")
    first, second = submit(alice(api)), submit(alice(api))
    act(editor, submit(alice(api)), "reject", {"comment": "no budget"})
    own = submit(editor)  # nobody decides their own request

    def inbox(caller: Api, **query: str) -> list[str]:
        ids: list[str] = []
        cursor = None
        while True:  # every page: a page may hold fewer than `limit`
            page = {"awaiting_me": "true", **query, **({"cursor": cursor} if cursor else {})}
            reply = caller.get("/v1/requests", query=page)
            assert reply.status == 200, reply.body
            ids += [r["id"] for r in reply.body["items"]]
            if (cursor := reply.body.get("next_cursor")) is None:
                return ids

    # Then: each sees exactly the submitted requests whose current step they may decide now
    assert inbox(editor) == [second["id"], first["id"]]
    assert inbox(editor, limit="1") == [second["id"], first["id"]]
    assert inbox(api.as_("acme", "editor", "eve")) == [own["id"], second["id"], first["id"]]
    assert inbox(controller) == inbox(alice(api)) == inbox(api) == []
    # When: the editor approves one, it moves on to the controller's inbox
    assert act(editor, first, "approve").status == 200
    assert inbox(editor) == [second["id"]]
    assert inbox(controller) == [first["id"]]
    assert inbox(api.as_("acme", "editor", "eve")) == [own["id"], second["id"]]
    # Filters narrow it; a status other than submitted cannot be waiting; other tenants see none of it
    assert inbox(editor, requested_for="acme-alice", status="submitted") == [second["id"]]
    reply = editor.get("/v1/requests", query={"awaiting_me": "true", "status": "approved"})
    assert (reply.status, reply.body["type"]) == (422, "/problems/validation-error")
    assert inbox(api.as_("globex", "editor", "ed")) == []
    # Pages are full, and a cursor names only a request the page returned: never one the caller
    # may not see (a viewer filtering by someone else is refused, as in any listing)
    page = api.as_("acme", "editor", "eve").get("/v1/requests", query={"awaiting_me": "true", "limit": "1"})
    assert [r["id"] for r in page.body["items"]] == [own["id"]]
    raw = page.body["next_cursor"]
    position = cursors.unseal(raw, f"acme|requests|{RequestFilter(status='submitted').model_dump_json()}")
    assert position["PK"].endswith(own["id"])
    mallory = api.as_("acme", "viewer", "mallory")
    assert inbox(mallory, limit="1") == []
    for person in ("requested_by", "requested_for"):
        refused = mallory.get("/v1/requests", query={"awaiting_me": "true", person: "acme-alice"})
        assert (refused.status, refused.body["type"]) == (403, "/problems/forbidden")


def test_a_policy_change_leaves_submitted_requests_on_their_chain(api: Api) -> None:
    before = submit(alice(api))
    assert put_policy(api, [{"role": "editor"}]).status == 200
    after = submit(alice(api))
    assert api.get(f"/v1/requests/{before['id']}").body["approval"]["steps"][0]["role"] == "admin"
    assert after["approval"]["steps"][0]["role"] == "editor"
    assert after["approval"]["policy_version"] == 1


def test_a_request_below_every_threshold_is_approved_by_the_policy(api: Api, jobs: Jobs) -> None:
    put_policy(api, [{"role": "admin", "min_cost": {"amount": "500", "currency": "EUR"}}])
    stock(api, 1)
    made = alice(api).post("/v1/requests", {**LAPTOP, "estimated_cost": {"amount": "20", "currency": "EUR"}})

    assert made.status == 201
    assert made.body["status"] == "fulfilled"
    approved = alice(api).get(f"/v1/requests/{made.body['id']}/history").body["items"][1]
    assert (approved["type"], approved["actor"]["user_id"]) == ("approved", "system")
    assert [e[0] for e in events(jobs)] == ["request.approved", "request.fulfilled", "request.submitted"]


def test_a_license_price_raises_a_low_estimate(api: Api) -> None:
    put_policy(api, [{"role": "editor"}, {"role": "admin", "min_cost": {"amount": "500", "currency": "EUR"}}])
    lic = api.post(
        "/v1/licenses",
        {
            "product": "CAD",
            "metric": "per_user",
            "quantity": 1,
            "unit_cost": {"amount": "900", "currency": "EUR"},
        },
    ).body
    made = submit(
        alice(api),
        kind="license",
        license_id=lic["id"],
        category=None,
        model=None,
        estimated_cost={"amount": "1", "currency": "EUR"},
    )
    assert made["estimated_cost"] == {"amount": "900", "currency": "EUR"}
    assert len(made["approval"]["steps"]) == 2


def test_rejection_needs_a_reason_and_ends_the_request(api: Api, jobs: Jobs) -> None:
    made = submit(alice(api))
    assert act(api, made, "reject", {}).status == 422

    reply = act(api, made, "reject", {"comment": "use the pool laptop"})

    assert reply.status == 200
    assert (reply.body["status"], reply.body["comment"]) == ("rejected", "use the pool laptop")
    assert act(api, reply.body, "approve").status == 409
    assert act(alice(api), reply.body, "cancel").status == 409
    [_, rejected] = alice(api).get(f"/v1/requests/{made['id']}/history").body["items"]
    assert (rejected["type"], rejected["from"], rejected["to"], rejected["comment"]) == (
        "rejected",
        "submitted",
        "rejected",
        "use the pool laptop",
    )
    assert ("request.rejected", made["id"], "rejected") in events(jobs)


def test_decisions_need_if_match_and_a_stale_one_is_412(api: Api) -> None:
    made = submit(alice(api))
    path = f"/v1/requests/{made['id']}"
    for action in ("approve", "reject", "cancel"):
        reply = api.post(f"{path}/{action}", {"comment": "x"})
        assert (reply.status, reply.body["type"]) == (428, "/problems/precondition-required"), action
    for action in ("approve", "reject", "cancel"):
        reply = act(api, made, action, {"comment": "x"}, etag='"7"')
        assert (reply.status, reply.body["type"]) == (412, "/problems/precondition-failed"), action
    assert api.get(path).body == made


# ---------------------------------------------------------------------- people are their sub
def set_email(member: Api, address: str) -> None:
    """An admin changes the user's address in the pool; the user's next token carries it, verified."""
    cognito = boto3.client("cognito-idp")
    attributes = [{"Name": "email", "Value": address}, {"Name": "email_verified", "Value": "true"}]
    cognito.admin_update_user_attributes(
        UserPoolId=os.environ["USER_POOL_ID"], Username=member.sub, UserAttributes=attributes
    )
    assert member.claims is not None
    member.claims["email"] = address


def test_a_recipient_with_a_new_e_mail_address_still_cannot_approve(api: Api) -> None:
    # Given: a request for an editor who holds the approving role
    assert put_policy(api, [{"role": "editor"}]).status == 200
    erin = Api.member("acme", "editor", "erin")
    made = submit(alice(api), requested_for="erin@acme.example.com")
    assert (act(erin, made, "approve").status, made["requested_for_id"]) == (403, erin.sub)
    # When: her address changes and she signs in again
    set_email(erin, "erin.new@acme.example.com")
    # Then: she is still the person the request is for
    reply = act(erin, made, "approve")
    assert (reply.status, reply.body["type"]) == (403, "/problems/self-approval")
    reply = act(erin, made, "reject", {"comment": "not needed"})
    assert (reply.status, reply.body["type"]) == (403, "/problems/self-rejection")
    assert erin.get(f"/v1/requests/{made['id']}").body["status"] == "submitted"
    assert act(api.as_("acme", "editor", "ed"), made, "approve").status == 200


def test_a_viewer_with_the_step_s_address_neither_sees_nor_approves(api: Api) -> None:
    # Given: a policy naming the controller, saved while she had the address, and a request for it
    controller = Api.member("acme", "viewer", "controller")
    vera = Api.member("acme", "viewer", "vera")
    assert put_policy(api, [{"user": "controller@acme.example.com"}]).status == 200
    stock(api, 1)
    made = submit(alice(api))
    # When: vera tries to take the address in another case, the pool refuses (one user per address)
    with pytest.raises(ClientError, match="AliasExistsException"):
        set_email(vera, "Controller@acme.example.com")
    # ... and when the controller's address changes and vera is given the old one, verified
    set_email(controller, "controller.old@acme.example.com")
    set_email(vera, "controller@acme.example.com")
    for address in ("controller@acme.example.com", "Controller@ACME.example.com"):
        assert vera.claims is not None
        vera.claims["email"] = address
        # Then: to vera the request does not exist; it waits for the controller, by id
        assert vera.get(f"/v1/requests/{made['id']}").status == 404
        assert act(vera, made, "approve").status == 404
        assert vera.get("/v1/requests", query={"awaiting_me": "true"}).body["items"] == []
    reply = act(controller, made, "approve")
    assert (reply.status, reply.body["status"]) == (200, "fulfilled")
    decision = reply.body["approval"]["decisions"][0]["by"]
    assert decision == {"user_id": controller.sub, "username": "controller.old@acme.example.com"}


def test_a_policy_step_naming_a_user_of_another_tenant_or_nobody_is_refused(api: Api) -> None:
    Api.member("globex", "admin", "controller")
    for name in ("controller@globex.example.com", "nobody@acme.example.com"):
        reply = put_policy(api, [{"role": "editor"}, {"user": name}])
        assert (reply.status, reply.body["type"]) == (422, "/problems/unknown-user")
        assert reply.body["errors"][0]["field"] == "steps.1.user"
    assert api.get("/v1/approval-policy").etag == '"0"'


# ---------------------------------------------------------------------- cancellation
def test_the_requester_or_an_admin_cancels_before_fulfilment(api: Api, jobs: Jobs) -> None:
    mine = submit(alice(api))
    editor = api.as_("acme", "editor", "ed")
    assert act(editor, mine, "cancel").body["type"] == "/problems/forbidden"
    assert act(api.as_("acme", "viewer", "mallory"), mine, "cancel").status == 404

    reply = act(alice(api), mine, "cancel", {"comment": "not needed after all"})

    assert (reply.status, reply.body["status"]) == (200, "cancelled")
    assert reply.body["approval"]["current_step"] is None
    assert act(api, reply.body, "approve").status == 409
    assert ("request.cancelled", mine["id"], "cancelled") in events(jobs)

    waiting = act(api, submit(alice(api)), "approve").body
    assert waiting["status"] == "awaiting_procurement"
    assert act(api, waiting, "cancel").body["status"] == "cancelled"  # an admin, while awaiting

    stock(api, 1)
    done = act(api, submit(alice(api)), "approve").body
    reply = act(alice(api), done, "cancel")
    assert (reply.status, reply.body["type"]) == (409, "/problems/illegal-transition")


# ---------------------------------------------------------------------- races
def test_ten_concurrent_approvals_compete_for_the_last_three_laptops(api: Api) -> None:
    laptops = {a["id"] for a in stock(api, 3)}
    requests = [submit(api.as_("acme", "viewer", f"emp-{n}")) for n in range(10)]

    with ThreadPoolExecutor(max_workers=10) as pool:
        replies = list(pool.map(lambda r: act(api, r, "approve"), requests))

    assert [r.status for r in replies] == [200] * 10, [r.body for r in replies if r.status != 200]
    statuses = Counter(r.body["status"] for r in replies)
    assert statuses == {"fulfilled": 3, "awaiting_procurement": 7}
    assigned = [asset_id for r in replies for asset_id in r.body["assets"]]
    assert sorted(assigned) == sorted(laptops)  # each laptop once, no laptop twice
    for asset_id in laptops:
        [assignment] = api.get(f"/v1/assets/{asset_id}/assignments").body["items"]
        owner = next(r.body for r in replies if asset_id in r.body["assets"])
        assert assignment["assignee"] == owner["requested_for"]


def test_concurrent_fulfilments_of_one_request_never_overshoot_its_quantity(api: Api) -> None:
    made = submit(alice(api), quantity=2)
    assert act(api, made, "approve").body["status"] == "awaiting_procurement"
    stock(api, 4)
    editor = api.as_("acme", "editor", "ed")
    path = f"/v1/requests/{made['id']}/fulfil"

    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(lambda _: editor.post(path), range(8)))

    assert {r.status for r in replies} <= {200, 409}, [r.body for r in replies]
    assert all(r.body["type"] == "/problems/fulfilment-in-progress" for r in replies if r.status == 409)
    final = api.get(f"/v1/requests/{made['id']}").body
    assert (final["status"], len(final["assets"])) == ("fulfilled", 2)
    deployed = api.get("/v1/assets", query={"status": "deployed"}).body["items"]
    assert sorted(a["id"] for a in deployed) == sorted(final["assets"])
    assert len(api.get("/v1/assets", query={"status": "in_stock"}).body["items"]) == 2


def test_two_approvers_of_one_step_at_once_decide_once(api: Api) -> None:
    made = submit(alice(api))
    admins = [api.as_("acme", "admin", f"a{n}") for n in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        replies = list(pool.map(lambda caller: act(caller, made, "approve"), admins))
    assert sorted(r.status for r in replies) == [200, 412, 412, 412]
    assert len(api.get(f"/v1/requests/{made['id']}").body["approval"]["decisions"]) == 1


# ---------------------------------------------------------------------- lists and visibility
def test_lists_filter_and_viewers_see_only_their_own(api: Api) -> None:
    a1 = submit(alice(api))
    bob = Api.member("acme", "viewer", "bob")
    b1 = submit(bob)
    for_bob = submit(alice(api), requested_for="bob@acme.example.com")
    rejected = act(api, a1, "reject", {"comment": "no"}).body

    ids = lambda reply: [r["id"] for r in reply.body["items"]]  # noqa: E731
    assert ids(api.get("/v1/requests")) == [for_bob["id"], b1["id"], a1["id"]]  # newest first
    assert ids(api.get("/v1/requests", query={"status": "rejected"})) == [rejected["id"]]
    assert ids(api.get("/v1/requests", query={"requested_by": "acme-alice"})) == [for_bob["id"], a1["id"]]
    assert ids(api.get("/v1/requests", query={"requested_by": "acme-alice", "status": "submitted"})) == [
        for_bob["id"]
    ]
    assert ids(api.get("/v1/requests", query={"requested_for": bob.sub})) == [for_bob["id"], b1["id"]]

    assert ids(alice(api).get("/v1/requests")) == [for_bob["id"], a1["id"]]  # her own, by default
    assert ids(bob.get("/v1/requests", query={"requested_for": bob.sub})) == [for_bob["id"], b1["id"]]
    reply = bob.get("/v1/requests", query={"requested_by": "acme-alice"})
    assert (reply.status, reply.body["type"]) == (403, "/problems/forbidden")
    assert bob.get(f"/v1/requests/{a1['id']}").status == 404
    assert bob.get(f"/v1/requests/{a1['id']}/history").status == 404
    assert bob.get(f"/v1/requests/{for_bob['id']}").status == 200

    page = api.get("/v1/requests", query={"limit": "2"}).body
    assert len(page["items"]) == 2
    rest = api.get("/v1/requests", query={"limit": "2", "cursor": page["next_cursor"]}).body
    assert [r["id"] for r in rest["items"]] == [a1["id"]]


def test_unknown_or_malformed_ids_are_404(api: Api) -> None:
    for path in ("/v1/requests/nope", "/v1/requests/" + "0" * 32, "/v1/requests/" + "0" * 32 + "/history"):
        reply = api.get(path)
        assert (reply.status, reply.body["type"]) == (404, "/problems/not-found"), path
    missing = {"id": "0" * 32, "version": 1}
    for action in ("approve", "cancel", "fulfil"):
        assert act(api, missing, action).status == 404


# ---------------------------------------------------------------------- the policy
def test_policy_default_put_if_match_history_and_roles(api: Api) -> None:
    got = api.get("/v1/approval-policy")
    assert (got.status, got.etag, got.body["steps"]) == (
        200,
        '"0"',
        [{"role": "admin", "user": None, "user_id": None, "min_cost": None}],
    )
    assert alice(api).get("/v1/approval-policy").status == 200  # everyone may see who approves

    steps = [{"role": "editor"}]
    no_match = api.call("PUT", "/v1/approval-policy", body={"steps": steps})
    assert (no_match.status, no_match.body["type"]) == (428, "/problems/precondition-required")
    for role in ("editor", "viewer", "auditor"):
        assert put_policy(api.as_("acme", role, "x"), steps).status == 403
    assert put_policy(api, []).status == 422
    assert put_policy(api, [{"role": "admin", "user": "x"}]).status == 422
    assert put_policy(api, [{"role": "owner"}]).status == 422

    first = put_policy(api, steps)
    assert (first.status, first.etag, first.body["updated_by"]) == (200, '"1"', "acme-u-1")
    assert put_policy(api, [{"role": "admin"}]).status == 412  # still "0"
    assert put_policy(api, [{"role": "admin"}], etag='"1"').etag == '"2"'
    assert put_policy(api, [{"role": "admin"}], etag='"2"').etag == '"2"'  # no change, no new version

    history = api.get("/v1/approval-policy/history")
    assert [(e["version"], e["steps"][0]["role"]) for e in history.body["items"]] == [
        (1, "editor"),
        (2, "admin"),
    ]
    assert api.as_("acme", "auditor", "aud").get("/v1/approval-policy/history").status == 200
    assert api.as_("acme", "editor", "ed").get("/v1/approval-policy/history").status == 403


# ---------------------------------------------------------------------- isolation and roles
@pytest.fixture
def acme(api: Api, jobs: Jobs) -> dict[str, Any]:
    """acme's policy, a submitted request, one awaiting procurement, one fulfilled, and a laptop."""
    put_policy(api, [{"role": "admin"}])
    [laptop] = stock(api, 1)
    done = act(api, submit(alice(api)), "approve").body
    waiting = act(api, submit(alice(api)), "approve").body
    submitted = submit(alice(api))
    spare = stock(api, 1)[0]
    jobs.events()
    return {"submitted": submitted, "waiting": waiting, "done": done, "laptop": laptop, "spare": spare}


def snapshot(api: Api, acme: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {
        "list": api.get("/v1/requests").body,
        "policy": api.get("/v1/approval-policy").body,
        "policy_history": api.get("/v1/approval-policy/history").body,
        "stock": api.get("/v1/assets").body,
    }
    for name in ("submitted", "waiting", "done"):
        request_id = acme[name]["id"]
        found[name] = api.get(f"/v1/requests/{request_id}").body
        found[f"{name}_history"] = api.get(f"/v1/requests/{request_id}/history").body
    return found


def id_routes(acme: dict[str, Any]) -> list[tuple[str, str, dict[str, Any] | None, str | None]]:
    submitted, waiting = acme["submitted"], acme["waiting"]
    base = "/v1/requests/"
    return [
        ("GET", base + submitted["id"], None, None),
        ("GET", base + submitted["id"] + "/history", None, None),
        ("POST", base + submitted["id"] + "/approve", {"comment": "x"}, '"1"'),
        ("POST", base + submitted["id"] + "/approve", None, "*"),
        ("POST", base + submitted["id"] + "/reject", {"comment": "x"}, '"1"'),
        ("POST", base + submitted["id"] + "/cancel", None, '"1"'),
        ("POST", base + waiting["id"] + "/cancel", None, "*"),
        ("POST", base + waiting["id"] + "/fulfil", None, None),
        ("POST", base + acme["done"]["id"] + "/fulfil", None, None),
    ]


def test_another_tenants_ids_are_404_on_every_route_and_nothing_changes(
    api: Api, acme: dict[str, Any], jobs: Jobs
) -> None:
    before = snapshot(api, acme)
    for method, path, body, etag in id_routes(acme):
        for intruder in INTRUDERS:
            headers = {"if-match": etag} if etag else None
            reply = api.as_(intruder).call(method, path, body=body, headers=headers)
            assert reply.status == 404, (intruder, method, path, reply.body)
            assert reply.body["type"] == "/problems/not-found"
    assert snapshot(api, acme) == before
    assert events(jobs) == []
    # the procurement path is scoped by the caller's tenant too
    intruder = TenantContext("globex", "procurement-worker", "procurement", frozenset({Role.EDITOR}))
    with pytest.raises(Exception) as refused:
        request_service().on_procurement_received(
            intruder, acme["waiting"]["id"], asset_ids=[acme["spare"]["id"]]
        )
    assert type(refused.value).__name__ == "RequestNotFound"
    assert snapshot(api, acme) == before


def test_lists_and_the_policy_show_only_the_callers_tenant(api: Api, acme: dict[str, Any]) -> None:
    for intruder in INTRUDERS:
        other = api.as_(intruder)
        assert other.get("/v1/requests").body["items"] == []
        for query in (
            {"status": "submitted"},
            {"requested_by": "acme-alice"},
            {"requested_for": "acme-alice"},
        ):
            assert other.get("/v1/requests", query=query).body["items"] == []
        assert other.get("/v1/approval-policy").etag == '"0"'
        assert other.get("/v1/approval-policy/history").body["items"] == []

    # globex's own request is fulfilled from globex's stock only, and never from acme's
    globex = api.as_("globex")
    made = submit(globex.as_("globex", "viewer", "gus"))
    assert act(globex, made, "approve").body["status"] == "awaiting_procurement"
    assert api.get(f"/v1/assets/{acme['spare']['id']}").body["status"] == "in_stock"
    assert [r["id"] for r in globex.get("/v1/requests").body["items"]] == [made["id"]]


def test_a_cursor_of_one_tenant_is_refused_for_another(api: Api, acme: dict[str, Any]) -> None:
    cursor = api.get("/v1/requests", query={"limit": "1"}).body["next_cursor"]
    assert cursor
    assert api.as_("globex").get("/v1/requests", query={"cursor": cursor}).status == 400


ROLE_CASES = [
    # role, sees everyone's requests, may fulfil, may set the policy, may read its history
    ("viewer", False, False, False, False),
    ("editor", True, True, False, False),
    ("auditor", True, False, False, True),
    ("admin", True, True, True, True),
]


@pytest.mark.parametrize(("role", "sees_all", "fulfils", "sets_policy", "policy_history"), ROLE_CASES)
def test_role_matrix(
    api: Api,
    acme: dict[str, Any],
    role: str,
    sees_all: bool,
    fulfils: bool,
    sets_policy: bool,
    policy_history: bool,
) -> None:
    caller = api.as_("acme", role, "u-9")
    others = acme["submitted"]["id"]

    def allowed(reply: Reply) -> bool:
        assert reply.status in (200, 201, 403, 404), reply.body
        return reply.status in (200, 201)

    own = caller.post("/v1/requests", LAPTOP)  # every employee may ask
    assert own.status == 201
    assert allowed(caller.get(f"/v1/requests/{own.body['id']}"))
    assert allowed(caller.get(f"/v1/requests/{own.body['id']}/history"))
    assert allowed(caller.get("/v1/requests"))
    assert allowed(caller.get("/v1/approval-policy"))
    assert allowed(caller.get(f"/v1/requests/{others}")) is sees_all
    assert allowed(caller.get(f"/v1/requests/{others}/history")) is sees_all
    assert (
        acme["submitted"]["id"] in [r["id"] for r in caller.get("/v1/requests").body["items"]]
    ) is sees_all
    assert allowed(caller.post(f"/v1/requests/{acme['waiting']['id']}/fulfil")) is fulfils
    assert allowed(put_policy(caller, [{"role": "admin"}], etag='"1"')) is sets_policy
    assert allowed(caller.get("/v1/approval-policy/history")) is policy_history
    assert allowed(act(caller, own.body, "cancel"))  # the requester cancels their own
    assert allowed(act(caller, acme["submitted"], "approve")) is (role == "admin")


# ---------------------------------------------------------------------- the document
def test_request_replies_match_the_openapi_document(api: Api, acme: dict[str, Any]) -> None:
    spec = api.get("/openapi.json").body
    made = submit(alice(api))
    path = f"/v1/requests/{made['id']}"
    cases = [
        ("POST", "/v1/requests", alice(api).post("/v1/requests", LAPTOP)),
        ("POST", "/v1/requests", alice(api).post("/v1/requests", {"kind": "hardware"})),
        ("GET", "/v1/requests", api.get("/v1/requests")),
        ("GET", "/v1/requests", api.get("/v1/requests", query={"cursor": "bad"})),
        ("GET", path, api.get(path)),
        ("GET", f"{path}/history", api.get(f"{path}/history")),
        ("POST", f"{path}/approve", act(api, made, "approve", etag='"9"')),
        ("POST", f"{path}/approve", api.post(f"{path}/approve")),
        ("POST", f"{path}/approve", act(api.as_("acme", "editor", "e"), made, "approve")),
        ("POST", f"{path}/approve", act(api, made, "approve")),
        ("POST", f"{path}/reject", act(api, made, "reject", {"comment": "x"}, etag="*")),
        ("POST", f"{path}/cancel", act(alice(api), made, "cancel", etag="*")),
        ("POST", f"{path}/fulfil", api.post(f"{path}/fulfil")),
        ("GET", "/v1/approval-policy", api.get("/v1/approval-policy")),
        ("PUT", "/v1/approval-policy", put_policy(api, [{"role": "editor"}], etag='"1"')),
        ("PUT", "/v1/approval-policy", put_policy(api, [{"role": "editor"}], etag='"1"')),
        ("GET", "/v1/approval-policy/history", api.get("/v1/approval-policy/history")),
    ]
    statuses = set()
    for method, route, reply in cases:
        operation = next(
            ops[method.lower()]
            for template, ops in spec["paths"].items()
            if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), route) and method.lower() in ops
        )
        documented = operation["responses"]
        assert str(reply.status) in documented, (method, route, reply.status)
        content = documented[str(reply.status)]["content"]
        media_type = reply.headers["Content-Type"]
        assert media_type in content, (method, route, reply.status, media_type)
        schema = {**content[media_type]["schema"], "components": spec["components"]}
        jsonschema.validate(reply.body, schema, cls=jsonschema.Draft202012Validator)
        statuses.add(reply.status)
    assert statuses == {200, 201, 400, 403, 409, 412, 422, 428}


# ---------------------------------------------------------------------- the repository's conditions
def test_the_table_refuses_a_leased_requests_writes_to_anyone_but_the_lease_holder(api: Api) -> None:
    from itam.adapters import models_for_tenant
    from itam.adapters.request_store import DynamoRequestRepository
    from itam.errors import StaleVersion
    from itam.requests.models import RequestEvent
    from itam.requests.ports import Lease
    from itam.settings import load_settings

    repo = DynamoRequestRepository(models_for_tenant(load_settings()))
    acme = TenantContext("acme", "u", "u", frozenset({Role.ADMIN}))
    made = repo.get(acme, submit(alice(api))["id"])
    assert made is not None
    request = made.request
    changed = request.model_copy(update={"version": 2, "comment": "x"})
    event = RequestEvent(
        request_id=request.id,
        version=2,
        type="cancelled",
        at=request.created_at,
        actor={"user_id": "u", "username": "u"},
        new_status="cancelled",
    )
    now = 1_000_000
    lease = Lease("holder", now + 60)

    assert repo.take_lease(acme, request, lease, now)
    assert not repo.take_lease(acme, request, Lease("second", now + 60), now)  # held
    assert not repo.take_lease(acme, changed, Lease("second", now + 60), now + 61)  # not that version
    with pytest.raises(StaleVersion):
        repo.update(acme, request, changed, event, now)  # anyone else, while the lease lasts
    with pytest.raises(StaleVersion):
        repo.update(acme, request, changed, event, now, Lease("forged", now + 60))
    stored = repo.get(acme, request.id)
    assert stored is not None and (stored.request, stored.lease_until) == (request, now + 60)

    repo.update(acme, request, changed, event, now, lease, keep_lease=True)  # the holder
    stored = repo.get(acme, request.id)
    assert stored is not None and (stored.request.version, stored.lease_until) == (2, now + 60)
    repo.release_lease(acme, request.id, Lease("forged", now + 60))
    assert repo.get(acme, request.id).lease_until == now + 60  # type: ignore[union-attr]
    repo.release_lease(acme, request.id, lease)
    assert repo.get(acme, request.id).lease_until is None  # type: ignore[union-attr]

    # an expired lease is no lease
    assert repo.take_lease(acme, changed, Lease("late", now), now)
    third = changed.model_copy(update={"version": 3})
    repo.update(acme, changed, third, event.model_copy(update={"version": 3}), now + 1)
    assert repo.get(acme, request.id).lease_until is None  # type: ignore[union-attr]
