"""Tenant isolation on every licensing route, and the role matrix for them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.audit_support import drain, run_worker
from tests.integration.conftest import Api, Jobs

INTRUDERS = ("globex", "acme2", "acm")


@pytest.fixture
def acme(api: Api, jobs: Jobs) -> dict[str, Any]:
    """acme's license with a seat, an asset with an installation, a rule and a finished audit."""
    lic = api.post("/v1/licenses", {"product": "Visio", "metric": "per_device", "quantity": 2}).body
    laptop = api.post("/v1/assets", {"name": "L", "kind": "hardware"}).body
    seat = api.post(f"/v1/licenses/{lic['id']}/assignments", {"asset_id": laptop["id"]}).body
    inst = api.post(f"/v1/assets/{laptop['id']}/software", {"product": "Visio", "user": "alice"}).body
    rule = api.post("/v1/normalization-rules", {"match_product": "visio*", "product": "Visio"}).body
    audit = api.post("/v1/audits").body
    run_worker(drain(jobs.queue_url))
    jobs.events()
    return {"license": lic, "asset": laptop, "seat": seat, "install": inst, "rule": rule, "audit": audit}


def snapshot(api: Api, acme: dict[str, Any]) -> dict[str, Any]:
    lic, asset_id = acme["license"]["id"], acme["asset"]["id"]
    return {
        "license": api.get(f"/v1/licenses/{lic}").body,
        "history": api.get(f"/v1/licenses/{lic}/history").body,
        "seats": api.get(f"/v1/licenses/{lic}/assignments").body,
        "software": api.get(f"/v1/assets/{asset_id}/software").body,
        "rules": api.get("/v1/normalization-rules").body,
        "compliance": api.get("/v1/compliance").body,
        "audit": api.get(f"/v1/audits/{acme['audit']['id']}").body,
    }


# Every licensing route that names an object of the tenant: (method, path, body, If-Match).
def id_routes(acme: dict[str, Any]) -> list[tuple[str, str, dict[str, Any] | None, str | None]]:
    lic, seat = acme["license"]["id"], acme["seat"]["id"]
    asset_id, inst = acme["asset"]["id"], acme["install"]["id"]
    return [
        ("GET", f"/v1/licenses/{lic}", None, None),
        ("PATCH", f"/v1/licenses/{lic}", {"quantity": 0}, '"1"'),
        ("GET", f"/v1/licenses/{lic}/history", None, None),
        ("POST", f"/v1/licenses/{lic}/assignments", {"user": "mallory"}, None),
        ("GET", f"/v1/licenses/{lic}/assignments", None, None),
        ("DELETE", f"/v1/licenses/{lic}/assignments/{seat}", None, None),
        ("POST", f"/v1/assets/{asset_id}/software", {"product": "Visio"}, None),
        ("GET", f"/v1/assets/{asset_id}/software", None, None),
        ("DELETE", f"/v1/assets/{asset_id}/software/{inst}", None, None),
        ("DELETE", f"/v1/normalization-rules/{acme['rule']['id']}", None, None),
        ("GET", "/v1/compliance/visio", None, None),
        ("GET", f"/v1/audits/{acme['audit']['id']}", None, None),
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
    assert jobs.events() == []


def test_lists_compliance_and_audits_show_only_the_callers_tenant(
    api: Api, acme: dict[str, Any], jobs: Jobs
) -> None:
    globex = api.as_("globex")
    assert globex.get("/v1/licenses").body["items"] == []
    assert globex.get("/v1/licenses", query={"product": "Visio"}).body["items"] == []
    assert globex.get("/v1/normalization-rules").body["items"] == []
    assert globex.get("/v1/compliance").body["items"] == []
    assert globex.get("/v1/audits").body["items"] == []

    # globex's own audit reads only globex's data and is queued for globex
    own = globex.post("/v1/audits")
    assert own.status == 202
    [message] = drain(jobs.queue_url)
    assert message["tenant_id"] == "globex"
    run_worker([message])
    report = globex.get(f"/v1/audits/{own.body['id']}").body
    assert (report["status"], report["findings"]) == ("complete", [])
    assert [a["id"] for a in api.get("/v1/audits").body["items"]] == [acme["audit"]["id"]]


def test_a_cursor_of_one_tenant_is_refused_for_another(api: Api, acme: dict[str, Any]) -> None:
    for n in range(3):
        api.post("/v1/licenses", {"product": f"P{n}", "metric": "site", "quantity": 1})
    cursor = api.get("/v1/licenses", query={"limit": "1"}).body["next_cursor"]
    assert cursor
    assert api.as_("globex").get("/v1/licenses", query={"cursor": cursor}).status == 400


ROLE_CASES = [
    # role, may read, may write, may read history
    ("viewer", True, False, False),
    ("editor", True, True, False),
    ("auditor", True, False, True),
    ("admin", True, True, True),
]


@pytest.mark.parametrize(("role", "reads", "writes", "history"), ROLE_CASES)
def test_role_matrix(
    api: Api, acme: dict[str, Any], role: str, reads: bool, writes: bool, history: bool
) -> None:
    caller = api.as_("acme", role, user="u-9")
    lic, asset_id = acme["license"]["id"], acme["asset"]["id"]

    def allowed(reply: Any) -> bool:
        assert reply.status in (200, 201, 202, 204, 403), reply.body
        return bool(reply.status != 403)

    for path in (
        "/v1/licenses",
        f"/v1/licenses/{lic}",
        f"/v1/licenses/{lic}/assignments",
        f"/v1/assets/{asset_id}/software",
        "/v1/normalization-rules",
        "/v1/compliance",
        "/v1/compliance/visio",
        "/v1/audits",
        f"/v1/audits/{acme['audit']['id']}",
    ):
        assert allowed(caller.get(path)) is reads, path
    assert allowed(caller.get(f"/v1/licenses/{lic}/history")) is history
    assert allowed(caller.post("/v1/licenses", {"product": "x", "metric": "site", "quantity": 1})) is writes
    assert allowed(caller.patch(f"/v1/licenses/{lic}", {"notes": role}, etag='"1"')) is writes
    assert allowed(caller.post(f"/v1/licenses/{lic}/assignments", {"user": role})) is writes
    assert allowed(caller.post(f"/v1/assets/{asset_id}/software", {"product": "x"})) is writes
    assert allowed(caller.post("/v1/normalization-rules", {"match_product": "y", "product": "y"})) is writes
    assert allowed(caller.post("/v1/audits")) is (writes or role == "auditor")
