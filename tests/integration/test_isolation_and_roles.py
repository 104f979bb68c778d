"""Tenant isolation on every route, and the role matrix."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import Api

# Every route that takes an asset id: (method, path suffix, body, If-Match).
ASSET_ROUTES: list[tuple[str, str, dict[str, Any] | None, str | None]] = [
    ("GET", "", None, None),
    ("PATCH", "", {"name": "stolen"}, '"1"'),
    ("POST", "/transitions", {"to": "deployed"}, None),
    ("POST", "/checkout", {"assignee": "mallory"}, None),
    ("POST", "/checkin", {}, None),
    ("GET", "/assignments", None, None),
    ("POST", "/maintenance", {"type": "repair", "title": "x", "start_date": "2026-11-27"}, None),
    ("GET", "/maintenance", None, None),
    ("GET", "/history", None, None),
    ("GET", "/depreciation", None, None),
    ("GET", "/tco", None, None),
]


def _call(api: Api, method: str, path: str, body: dict[str, Any] | None, etag: str | None) -> Any:
    headers = {"if-match": etag} if etag else None
    return api.call(method, path, body=body, headers=headers)


@pytest.fixture
def victim(api: Api) -> dict[str, Any]:
    """An in-stock asset of tenant acme, checked out so that check-in would apply to it."""
    asset = api.post(
        "/v1/assets", {"name": "Victim", "kind": "hardware", "asset_tag": "V-1", "status": "in_stock"}
    )
    assert asset.status == 201
    out = api.post(f"/v1/assets/{asset.body['id']}/checkout", {"assignee": "alice"})
    assert out.status == 200
    return out.body


@pytest.mark.parametrize(("method", "suffix", "body", "etag"), ASSET_ROUTES)
def test_another_tenants_asset_is_404_on_every_route_and_unchanged(
    api: Api, victim: dict[str, Any], method: str, suffix: str, body: dict[str, Any] | None, etag: str | None
) -> None:
    # Given acme's asset, and an admin of globex (acme2 also checks the key delimiter)
    path = f"/v1/assets/{victim['id']}{suffix}"
    for intruder in (api.as_("globex"), api.as_("acme2"), api.as_("acm")):
        # When the intruder uses acme's id
        reply = _call(intruder, method, path, body, etag)
        # Then it is indistinguishable from a missing asset
        assert reply.status == 404, (intruder.claims, reply.body)
        assert reply.body["type"] == "/problems/not-found"

    # And acme's asset, history and records are unchanged
    assert api.get(f"/v1/assets/{victim['id']}").body == victim
    assert len(api.get(f"/v1/assets/{victim['id']}/history").body["items"]) == 2
    assert api.get(f"/v1/assets/{victim['id']}/maintenance").body["items"] == []
    assert len(api.get(f"/v1/assets/{victim['id']}/assignments").body["items"]) == 1


def test_lists_and_filters_show_only_the_callers_tenant(api: Api, victim: dict[str, Any]) -> None:
    globex = api.as_("globex")
    own = globex.post("/v1/assets", {"name": "Mine", "kind": "hardware", "asset_tag": "V-1"})
    assert own.status == 201

    for query in ({}, {"kind": "hardware"}, {"status": "deployed"}, {"assigned_to": "alice"}, {"tag": "a:b"}):
        items = globex.get("/v1/assets", query=query).body["items"]
        assert victim["id"] not in {a["id"] for a in items}
    assert [a["id"] for a in globex.get("/v1/assets").body["items"]] == [own.body["id"]]


def test_create_ignores_nothing_and_cannot_target_another_tenant(api: Api) -> None:
    reply = api.as_("globex").post("/v1/assets", {"name": "x", "kind": "hardware", "tenant_id": "acme"})
    assert reply.status == 422
    assert api.get("/v1/assets").body["items"] == []


ROLE_CASES = [
    # role, may read, may write, may read history
    ("viewer", True, False, False),
    ("editor", True, True, False),
    ("auditor", True, False, True),
    ("admin", True, True, True),
    ("guest", False, False, False),
]


@pytest.mark.parametrize(("role", "reads", "writes", "history"), ROLE_CASES)
def test_role_matrix(api: Api, role: str, reads: bool, writes: bool, history: bool) -> None:
    asset = api.post("/v1/assets", {"name": "x", "kind": "hardware", "status": "in_stock"}).body
    caller = api.as_("acme", role, user="u-9")
    base = f"/v1/assets/{asset['id']}"

    def allowed(reply: Any) -> bool:
        assert reply.status in (200, 201, 403), reply.body
        return bool(reply.status != 403)

    assert allowed(caller.get(base)) is reads
    assert allowed(caller.get("/v1/assets")) is reads
    assert allowed(caller.get(f"{base}/maintenance")) is reads
    assert allowed(caller.get(f"{base}/assignments")) is reads
    assert allowed(caller.get(f"{base}/history")) is history
    assert allowed(caller.post("/v1/assets", {"name": "y", "kind": "saas"})) is writes
    assert allowed(caller.patch(base, {"name": "z"}, etag='"1"')) is writes
    assert allowed(caller.post(f"{base}/checkout", {"assignee": "a"})) is writes
    if not writes:
        assert api.get(base).body == asset
        forbidden = caller.post("/v1/assets", {"name": "y", "kind": "saas"})
        assert forbidden.body["type"] == "/problems/forbidden"


def test_another_tenants_contract_and_profile_are_404_and_unchanged(api: Api) -> None:
    server = api.post("/v1/assets", {"name": "Server", "kind": "hardware"}).body["id"]
    body = {"type": "support", "vendor": "Dell", "start_date": "2026-01-01", "asset_ids": [server]}
    contract = api.post("/v1/contracts", body).body
    terms = {"method": "straight_line", "useful_life_months": 36}
    profile = api.call("PUT", "/v1/depreciation-profiles/Servers", body=terms)
    assert profile.status == 201
    path = f"/v1/contracts/{contract['id']}"
    for intruder in (api.as_("globex"), api.as_("acme2"), api.as_("acm")):
        for method, where, sent, etag in (
            ("GET", path, None, None),
            ("PATCH", path, {"vendor": "Mallory"}, "*"),
            ("GET", f"{path}/history", None, None),
            ("GET", "/v1/depreciation-profiles/Servers", None, None),
            ("DELETE", "/v1/depreciation-profiles/Servers", None, '"1"'),
        ):
            reply = _call(intruder, method, where, sent, etag)
            assert reply.status == 404, (intruder.claims, method, where, reply.body)
        assert intruder.get("/v1/contracts", query={"asset_id": server}).body["items"] == []
        assert intruder.get("/v1/depreciation-profiles").body["items"] == []
        # A profile of the same name in another tenant is that tenant's own.
        assert intruder.call("PUT", "/v1/depreciation-profiles/Servers", body=terms).status == 201
    assert api.get(path).body == contract
    assert api.get("/v1/depreciation-profiles/Servers").body == profile.body
