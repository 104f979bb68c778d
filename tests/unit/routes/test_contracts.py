"""The contract routes, on the in-memory fakes."""

from __future__ import annotations

from typing import Any

from tests.unit.routes.conftest import Api, assert_problem

SUPPORT = {
    "type": "support",
    "vendor": "Dell",
    "reference": "DS-2026-114",
    "start_date": "2026-01-01",
    "end_date": "2026-12-31",
    "notice_period_days": 30,
    "cost": {"amount": "1200.00", "currency": "EUR", "period": "year"},
    "sla": {"response_hours": 4, "resolution_hours": "24", "availability_percent": "99.9"},
}


def asset(api: Api) -> str:
    return str(api.post("/v1/assets", {"name": "Server", "kind": "hardware"}).body["id"])


def contract(api: Api, **fields: Any) -> dict[str, Any]:
    reply = api.post("/v1/contracts", {**SUPPORT, **fields})
    assert reply.status == 201, reply.body
    return reply.body  # type: ignore[no-any-return]


def test_a_contract_is_recorded_read_changed_and_its_history_kept(api: Api) -> None:
    server = asset(api)
    created = api.post("/v1/contracts", {**SUPPORT, "asset_ids": [server]})
    assert created.status == 201
    body = created.body
    assert created.headers["Location"] == f"/v1/contracts/{body['id']}"
    assert body["notice_by"] == "2026-12-01"  # the end date less the notice period
    assert body["cost"] == {"amount": "1200.00", "currency": "EUR", "period": "year"}
    assert body["sla"]["availability_percent"] == "99.9"

    path = f"/v1/contracts/{body['id']}"
    assert api.get(path).body == body
    assert_problem(api.patch(path, {"end_date": "2027-12-31"}), 428, "precondition-required")
    changed = api.patch(
        path, {"end_date": "2027-12-31", "auto_renew": True}, headers={"if-match": created.headers["ETag"]}
    )
    assert changed.status == 200, changed.body
    assert (changed.body["version"], changed.body["notice_by"]) == (2, "2027-12-01")
    assert_problem(api.patch(path, {"vendor": "HP"}, headers={"if-match": created.headers["ETag"]}), 412)

    history = api.get(f"{path}/history").body["items"]
    assert [e["type"] for e in history] == ["created", "updated"]
    assert {c["field"] for c in history[1]["changes"]} == {"end_date", "auto_renew", "notice_by"}


def test_contracts_are_listed_and_filtered(api: Api) -> None:
    server = asset(api)
    support = contract(api, asset_ids=[server])
    lease = contract(
        api,
        type="lease",
        vendor="Leasy",
        end_date="2027-06-30",
        lease={"buyout_price": {"amount": "99", "currency": "EUR"}},
    )
    everything = [c["id"] for c in api.get("/v1/contracts").body["items"]]
    assert everything == [lease["id"], support["id"]]  # newest first
    assert [c["id"] for c in api.get("/v1/contracts", query={"type": "lease"}).body["items"]] == [lease["id"]]
    assert [c["id"] for c in api.get("/v1/contracts", query={"vendor": "dell"}).body["items"]] == [
        support["id"]
    ]
    covering = api.get("/v1/contracts", query={"asset_id": server}).body["items"]
    assert [c["id"] for c in covering] == [support["id"]]


def test_a_contract_covers_only_the_tenants_own_assets_and_licenses(api: Api) -> None:
    theirs = asset(api.as_("globex"))
    reply = api.post("/v1/contracts", {**SUPPORT, "asset_ids": [theirs]})
    assert_problem(reply, 422)
    assert theirs in reply.body["detail"]
    missing = "f" * 32
    assert_problem(api.post("/v1/contracts", {**SUPPORT, "license_ids": [missing]}), 422)
    lic = api.post("/v1/licenses", {"product": "Visio", "metric": "per_user", "quantity": 5}).body
    assert contract(api, license_ids=[lic["id"]])["license_ids"] == [lic["id"]]


def test_another_tenants_contract_is_not_found(api: Api) -> None:
    mine = contract(api)
    other = api.as_("globex")
    assert_problem(other.get(f"/v1/contracts/{mine['id']}"), 404, "not-found")
    assert_problem(other.get(f"/v1/contracts/{mine['id']}/history"), 404, "not-found")
    assert_problem(
        other.patch(f"/v1/contracts/{mine['id']}", {"vendor": "x"}, headers={"if-match": "*"}), 404
    )
    assert other.get("/v1/contracts").body["items"] == []


def test_roles(api: Api) -> None:
    mine = contract(api)
    viewer = api.as_(role="viewer")
    assert viewer.get(f"/v1/contracts/{mine['id']}").status == 200
    assert_problem(viewer.post("/v1/contracts", SUPPORT), 403, "forbidden")
    assert_problem(viewer.get(f"/v1/contracts/{mine['id']}/history"), 403, "forbidden")
    assert api.as_(role="auditor").get(f"/v1/contracts/{mine['id']}/history").status == 200
    assert api.as_(role="editor").post("/v1/contracts", SUPPORT).status == 201


def test_contracts_are_checked(api: Api) -> None:
    server = asset(api)
    for body in (
        {**SUPPORT, "end_date": "2025-01-01"},  # before the start
        {**SUPPORT, "type": "insurance"},
        {**SUPPORT, "lease": {"return_by": "2027-01-01"}},  # lease terms on a support contract
        {**SUPPORT, "asset_ids": [server, server]},
        {**SUPPORT, "notice_period_days": -1},
        {**SUPPORT, "sla": {"availability_percent": "100.1"}},
        {**SUPPORT, "cost": {"amount": "1", "currency": "EUR", "period": "week"}},
        {**SUPPORT, "notice_by": "2026-01-01"},  # the server's
        {key: value for key, value in SUPPORT.items() if key != "vendor"},
    ):
        assert_problem(api.post("/v1/contracts", body), 422, "validation-error")
    assert api.get("/v1/contracts").body["items"] == []  # nothing written
    mine = contract(api)
    reply = api.patch(f"/v1/contracts/{mine['id']}", {"end_date": "2020-01-01"}, headers={"if-match": "*"})
    assert_problem(reply, 422)
    assert api.get(f"/v1/contracts/{mine['id']}").body == mine


def test_a_contract_created_again_with_its_key_is_created_once(api: Api) -> None:
    key = {"idempotency-key": "contract-1"}
    first = api.post("/v1/contracts", SUPPORT, headers=key)
    again = api.post("/v1/contracts", SUPPORT, headers=key)
    assert (first.status, again.status) == (201, 201)
    assert again.body == first.body
    assert len(api.get("/v1/contracts").body["items"]) == 1
    assert_problem(
        api.post("/v1/contracts", {**SUPPORT, "vendor": "HP"}, headers=key), 422, "idempotency-key-reused"
    )


def test_a_patch_that_changes_nothing_writes_nothing(api: Api) -> None:
    mine = contract(api)
    same = api.patch(f"/v1/contracts/{mine['id']}", {"vendor": "Dell"}, headers={"if-match": '"1"'})
    assert (same.status, same.body["version"]) == (200, 1)
    tags = api.patch(
        f"/v1/contracts/{mine['id']}", {"tags": {"cost_center": "it"}}, headers={"if-match": '"1"'}
    )
    assert tags.body["tags"] == {"cost_center": "it"}
    cleared = api.patch(
        f"/v1/contracts/{mine['id']}", {"tags": {"cost_center": None}}, headers={"if-match": '"2"'}
    )
    assert cleared.body["tags"] == {}
