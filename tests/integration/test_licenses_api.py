"""Licenses, seats, installations and normalization rules through the real handler on moto."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.integration.conftest import Api, Jobs

OFFICE = {
    "product": "Microsoft 365 Apps",
    "vendor": "Microsoft",
    "edition": "Enterprise",
    "version_range": {"min": "16.0", "max": "16.99"},
    "metric": "per_user",
    "quantity": 3,
    "unit_cost": {"amount": "120.00", "currency": "EUR"},
    "start_date": "2026-01-01",
    "end_date": "2027-12-31",
    "renewal_date": "2027-11-30",
    "auto_renew": False,
    "contract_ref": "EA-4711",
    "po_number": "PO-2026-0100",
    "notes": "Enterprise agreement",
}


def license_(api: Api, **fields: Any) -> dict[str, Any]:
    reply = api.post("/v1/licenses", {**OFFICE, **fields})
    assert reply.status == 201, reply.body
    return reply.body


def asset(api: Api, kind: str = "hardware", **fields: Any) -> dict[str, Any]:
    reply = api.post("/v1/assets", {"name": "Laptop", "kind": kind, **fields})
    assert reply.status == 201, reply.body
    return reply.body


# ---------------------------------------------------------------------- entitlements
def test_create_get_and_list_a_license(api: Api) -> None:
    reply = api.post("/v1/licenses", OFFICE)
    assert reply.status == 201
    body = reply.body
    assert reply.headers["Location"] == f"/v1/licenses/{body['id']}"
    assert reply.etag == '"1"'
    assert {k: body[k] for k in OFFICE} == OFFICE
    assert body["assigned"] == 0
    assert body["allow_overallocation"] is False

    got = api.get(f"/v1/licenses/{body['id']}")
    assert got.status == 200
    assert got.body == body
    assert [item["id"] for item in api.get("/v1/licenses").body["items"]] == [body["id"]]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"quantity": -1}, "quantity"),
        ({"start_date": "2027-01-01", "end_date": "2026-01-01"}, "end_date is before start_date"),
        ({"metric": "per_galaxy"}, "metric"),
        ({"core_factor": "0.5"}, "core_factor applies to per_core"),
        ({"version_range": {"min": "10", "max": "9.2"}}, "version_range.max is below"),
        ({"assigned": 7}, "assigned"),
        ({"unit_cost": {"amount": "-1", "currency": "EUR"}}, "amount"),
    ],
)
def test_bad_licenses_are_422_and_nothing_is_written(api: Api, change: dict[str, Any], field: str) -> None:
    reply = api.post("/v1/licenses", {**OFFICE, **change})
    assert reply.status == 422, reply.body
    assert reply.headers["Content-Type"] == "application/problem+json"
    assert field in str(reply.body)
    assert api.get("/v1/licenses").body["items"] == []


def test_patch_needs_if_match_keeps_history_and_refuses_stale_writes(api: Api) -> None:
    lic = license_(api)
    path = f"/v1/licenses/{lic['id']}"
    assert api.patch(path, {"quantity": 5}).status == 428

    updated = api.patch(path, {"quantity": 5, "notes": None}, etag='"1"')
    assert updated.status == 200, updated.body
    assert updated.etag == '"2"'
    assert updated.body["quantity"] == 5
    assert updated.body["notes"] is None

    stale = api.patch(path, {"quantity": 6}, etag='"1"')
    assert stale.status == 412
    assert api.get(path).body["quantity"] == 5

    history = api.get(f"{path}/history").body["items"]
    assert [(e["type"], e["version"]) for e in history] == [("created", 1), ("updated", 2)]
    assert {c["field"]: (c["from"], c["to"]) for c in history[1]["changes"]} == {
        "quantity": (3, 5),
        "notes": ("Enterprise agreement", None),
    }


def test_patch_is_validated_as_a_whole(api: Api) -> None:
    lic = license_(api)
    path = f"/v1/licenses/{lic['id']}"
    assert api.patch(path, {"end_date": "2025-01-01"}, etag='"1"').status == 422
    assert api.patch(path, {"metric": None}, etag='"1"').status == 422
    assert api.patch(path, {"id": "x"}, etag='"1"').status == 422
    assert api.get(path).body == lic


def test_list_filters(api: Api) -> None:
    office = license_(api)
    adobe = license_(
        api,
        product="Acrobat Pro",
        vendor="Adobe",
        metric="subscription",
        end_date="2027-01-10",
        version_range=None,
    )
    sql = license_(api, product="SQL Server", metric="per_core", core_factor="1", end_date=None)

    def ids(**query: str) -> set[str]:
        reply = api.get("/v1/licenses", query=query)
        assert reply.status == 200, reply.body
        return {item["id"] for item in reply.body["items"]}

    assert ids() == {office["id"], adobe["id"], sql["id"]}
    assert ids(product="acrobat  PRO") == {adobe["id"]}
    assert ids(vendor="microsoft") == {office["id"], sql["id"]}
    assert ids(metric="per_core") == {sql["id"]}
    assert ids(expiring_within_days="60") == {adobe["id"]}
    assert api.get("/v1/licenses", query={"metric": "nope"}).status == 422


def test_list_pages_with_a_cursor(api: Api) -> None:
    made = {license_(api, product=f"Product {n}")["id"] for n in range(5)}
    seen: list[str] = []
    cursor = None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = api.get("/v1/licenses", query=query).body
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(made)
    assert api.get("/v1/licenses", query={"cursor": "garbage"}).status == 400


# ---------------------------------------------------------------------- seats
def test_seats_up_to_the_quantity_then_409(api: Api) -> None:
    lic = license_(api, quantity=2)
    laptop = asset(api)
    path = f"/v1/licenses/{lic['id']}/assignments"
    first = api.post(path, {"user": "alice"})
    assert first.status == 201, first.body
    assert first.headers["Location"] == f"{path}/{first.body['id']}"
    assert api.post(path, {"asset_id": laptop["id"]}).status == 201
    full = api.post(path, {"user": "bob"})
    assert full.status == 409
    assert full.body["type"] == "/problems/no-seat-left"
    assert api.get(f"/v1/licenses/{lic['id']}").body["assigned"] == 2
    assert len(api.get(path).body["items"]) == 2


def test_a_user_holds_one_seat_of_a_license(api: Api) -> None:
    lic = license_(api)
    path = f"/v1/licenses/{lic['id']}/assignments"
    assert api.post(path, {"user": "alice"}).status == 201
    again = api.post(path, {"user": " Alice "})
    assert again.status == 409
    assert again.body["type"] == "/problems/seat-taken"
    assert api.get(f"/v1/licenses/{lic['id']}").body["assigned"] == 1


def test_overallocation_when_allowed(api: Api) -> None:
    lic = license_(api, quantity=1, allow_overallocation=True)
    path = f"/v1/licenses/{lic['id']}/assignments"
    for user in ("alice", "bob", "carol"):
        assert api.post(path, {"user": user}).status == 201
    assert api.get(f"/v1/licenses/{lic['id']}").body["assigned"] == 3
    # And the quantity cannot drop below the seats once over-allocation is switched off
    lowered = api.patch(f"/v1/licenses/{lic['id']}", {"allow_overallocation": False}, etag='"1"')
    assert lowered.status == 409
    assert lowered.body["type"] == "/problems/quantity-below-assigned"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 422),
        ({"user": "alice", "asset_id": "0" * 32}, 422),
        ({"asset_id": "0" * 32}, 422),
        ({"asset_id": "not-an-id"}, 422),
        ({"user": "alice", "seats": 2}, 422),
    ],
)
def test_bad_assignments(api: Api, body: dict[str, Any], status: int) -> None:
    lic = license_(api)
    reply = api.post(f"/v1/licenses/{lic['id']}/assignments", body)
    assert reply.status == status, reply.body
    assert api.get(f"/v1/licenses/{lic['id']}").body["assigned"] == 0


def test_an_ended_license_takes_no_seats(api: Api) -> None:
    lic = license_(api, start_date="2020-01-01", end_date="2021-01-01")
    reply = api.post(f"/v1/licenses/{lic['id']}/assignments", {"user": "alice"})
    assert reply.status == 409
    assert reply.body["type"] == "/problems/invalid-state"


def test_release_frees_the_seat_and_keeps_the_record(api: Api) -> None:
    lic = license_(api, quantity=1)
    path = f"/v1/licenses/{lic['id']}/assignments"
    seat = api.post(path, {"user": "alice", "note": "onboarding"}).body
    released = api.delete(f"{path}/{seat['id']}")
    assert released.status == 200, released.body
    assert released.body["released_by"] == "acme-u-1"
    assert api.delete(f"{path}/{seat['id']}").status == 404
    assert api.get(path).body["items"] == []
    history = api.get(path, query={"released": "true"}).body["items"]
    assert [s["id"] for s in history] == [seat["id"]]
    assert api.post(path, {"user": "alice"}).status == 201  # the seat is free again
    assert api.get(f"/v1/licenses/{lic['id']}").body["assigned"] == 1


def test_twenty_concurrent_assignments_never_overshoot_the_last_seats(api: Api) -> None:
    lic = license_(api, quantity=5)
    path = f"/v1/licenses/{lic['id']}/assignments"
    with ThreadPoolExecutor(max_workers=20) as pool:
        replies = list(pool.map(lambda n: api.post(path, {"user": f"user-{n}"}), range(20)))
    statuses = sorted(r.status for r in replies)
    assert statuses.count(201) == 5, [r.body for r in replies if r.status not in (201, 409)]
    assert statuses.count(409) == 15
    assert api.get(f"/v1/licenses/{lic['id']}").body["assigned"] == 5
    assert len(api.get(path).body["items"]) == 5


def test_concurrent_use_records_its_peak(api: Api) -> None:
    lic = license_(api, metric="concurrent", quantity=10, version_range=None)
    path = f"/v1/licenses/{lic['id']}/assignments"
    seats = [api.post(path, {"user": f"u{n}"}).body for n in range(3)]
    api.delete(f"{path}/{seats[0]['id']}")
    api.post(path, {"user": "u9"})
    body = api.get(f"/v1/licenses/{lic['id']}").body
    assert (body["assigned"], body["peak_assigned"]) == (3, 3)


# ---------------------------------------------------------------------- installations
def test_installations_on_hardware_and_cloud(api: Api) -> None:
    laptop = asset(api)
    vm = asset(api, kind="cloud", name="vm-1")
    path = f"/v1/assets/{laptop['id']}/software"
    found = {"product": "Visio", "vendor": "Microsoft", "version": "16.0.1", "install_date": "2026-03-01"}
    reply = api.post(path, {**found, "user": "alice", "cores": 8, "processors": 1, "source": "intune"})
    assert reply.status == 201, reply.body
    assert reply.headers["Location"] == f"{path}/{reply.body['id']}"
    assert reply.body["canonical_product"] == "Visio"
    assert api.post(f"/v1/assets/{vm['id']}/software", found).status == 201
    assert [i["id"] for i in api.get(path).body["items"]] == [reply.body["id"]]

    assert api.delete(f"{path}/{reply.body['id']}").status == 204
    assert api.delete(f"{path}/{reply.body['id']}").status == 404
    assert api.get(path).body["items"] == []


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"product": ""},
        {"product": "x", "cores": 0},
        {"product": "x", "version": "1 2"},
        {"product": "x", "y": 1},
    ],
)
def test_bad_installations_are_422(api: Api, body: dict[str, Any]) -> None:
    laptop = asset(api)
    assert api.post(f"/v1/assets/{laptop['id']}/software", body).status == 422
    assert api.get(f"/v1/assets/{laptop['id']}/software").body["items"] == []


def test_saas_and_software_assets_take_no_installations(api: Api) -> None:
    for kind in ("saas", "software"):
        target = asset(api, kind=kind)
        reply = api.post(f"/v1/assets/{target['id']}/software", {"product": "Visio"})
        assert reply.status == 409
    missing = api.post(f"/v1/assets/{'0' * 32}/software", {"product": "Visio"})
    assert missing.status == 404


# ---------------------------------------------------------------------- normalization
def test_rules_normalize_new_and_existing_installations(api: Api, jobs: Jobs) -> None:
    from tests.integration.audit_support import run_worker

    laptop = asset(api)
    path = f"/v1/assets/{laptop['id']}/software"
    before = api.post(path, {"product": "MS Office Professional Plus", "version": "16.0"}).body
    assert before["canonical_product"] == "MS Office Professional Plus"

    rule = api.post(
        "/v1/normalization-rules",
        {"match_product": "ms office*", "product": "Microsoft 365 Apps", "vendor": "Microsoft"},
    )
    assert rule.status == 201, rule.body
    assert api.post("/v1/normalization-rules", {"product": "x"}).status == 422
    after = api.post(path, {"product": "MS OFFICE Standard"}).body
    assert after["canonical_product"] == "Microsoft 365 Apps"
    assert api.get("/v1/compliance").body["normalization_pending"] is True

    # When the queued job runs, the installation recorded before the rule is re-normalized
    [job] = jobs.messages()
    assert job == {"job": "normalize", "tenant_id": "acme"}
    run_worker([job])
    items = api.get(path).body["items"]
    assert {i["canonical_product"] for i in items} == {"Microsoft 365 Apps"}
    compliance = api.get("/v1/compliance").body
    assert compliance["normalization_pending"] is False
    assert [(p["product"], p["unlicensed_installs"]) for p in compliance["items"]] == [
        ("Microsoft 365 Apps", 1)
    ]

    assert api.get("/v1/normalization-rules").body["items"][0]["id"] == rule.body["id"]
    assert api.delete(f"/v1/normalization-rules/{rule.body['id']}").status == 204
    assert api.delete(f"/v1/normalization-rules/{rule.body['id']}").status == 404


# ---------------------------------------------------------------------- compliance
def test_compliance_of_one_product_names_its_consumers(api: Api) -> None:
    lic = license_(api, quantity=2)
    laptops = [asset(api, name=f"L{n}") for n in range(3)]
    for n, laptop in enumerate(laptops):
        api.post(f"/v1/assets/{laptop['id']}/software", {"product": "Microsoft 365 Apps", "user": f"user{n}"})
    api.post(f"/v1/licenses/{lic['id']}/assignments", {"user": "user0"})

    reply = api.get("/v1/compliance/microsoft%20365%20apps")
    assert reply.status == 200, reply.body
    [position] = reply.body["positions"]
    assert (position["entitled"], position["consumed"], position["shortfall"]) == (2, 3, 1)
    assert position["exposure"] == {"amount": "120.00", "currency": "EUR"}
    consumers = {c["key"]: c for c in reply.body["consumers"]}
    assert set(consumers) == {"user:user0", "user:user1", "user:user2"}
    assert consumers["user:user0"]["sources"] == ["installation", "assignment"]
    assert api.get("/v1/compliance/nothing-here").status == 404


def test_saas_seat_counts_count_for_subscriptions(api: Api) -> None:
    license_(api, product="Slack", vendor=None, metric="subscription", quantity=10, version_range=None)
    saas = {"product": "Slack", "purchased": 12, "assigned": 11, "active": 7}
    asset(api, kind="saas", name="Slack workspace", saas=saas)
    assert api.post("/v1/assets", {"name": "x", "kind": "hardware", "saas": saas}).status == 422
    [position] = api.get("/v1/compliance").body["items"]
    assert (position["consumed"], position["shortfall"], position["saas_inactive"]) == (11, 1, 4)
