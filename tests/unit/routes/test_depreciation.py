"""Depreciation profiles, an asset's depreciation and book value, and a disposal's gain or loss, on the
in-memory fakes."""

from __future__ import annotations

from typing import Any

from tests.unit.routes.conftest import Api, assert_problem

PROFILES = "/v1/depreciation-profiles"
STRAIGHT = {
    "method": "straight_line",
    "useful_life_months": 60,
    "salvage_value": {"amount": "1000.00", "currency": "EUR"},
}
COST = {"amount": "10000.00", "currency": "EUR"}


def laptop(api: Api, **fields: Any) -> dict[str, Any]:
    body = {"name": "Laptop", "kind": "hardware", "category": "Laptops", "cost": COST, **fields}
    reply = api.post("/v1/assets", body)
    assert reply.status == 201, reply.body
    return reply.body  # type: ignore[no-any-return]


def test_a_profile_is_created_read_replaced_listed_and_removed(api: Api) -> None:
    created = api.put(f"{PROFILES}/Laptops", STRAIGHT)
    assert created.status == 201
    assert created.headers["Location"] == f"{PROFILES}/Laptops"
    assert created.body["category"] == "Laptops" and created.body["version"] == 1
    assert created.body["start"] == "in_service"
    etag = created.headers["ETag"]

    assert api.get(f"{PROFILES}/Laptops").body == created.body
    assert api.get(f"{PROFILES}/laptops").body == created.body  # categories compare case-folded
    same = api.put(f"{PROFILES}/Laptops", STRAIGHT, headers={"if-match": etag})
    assert (same.status, same.body["version"]) == (200, 1)  # nothing changed, nothing written

    changed = {**STRAIGHT, "useful_life_months": 48}
    assert_problem(api.put(f"{PROFILES}/Laptops", changed), 428, "precondition-required")
    assert_problem(api.put(f"{PROFILES}/Laptops", changed, headers={"if-match": '"9"'}), 412)
    replaced = api.put(f"{PROFILES}/Laptops", changed, headers={"if-match": etag})
    assert (replaced.status, replaced.body["version"]) == (200, 2)

    api.put(f"{PROFILES}/Mobile%20phones", {"method": "sum_of_years_digits", "useful_life_months": 24})
    listed = api.get(PROFILES).body["items"]
    assert [p["category"] for p in listed] == ["Laptops", "Mobile phones"]

    assert_problem(api.delete(f"{PROFILES}/Laptops"), 428, "precondition-required")
    assert api.delete(f"{PROFILES}/Laptops", headers={"if-match": replaced.headers["ETag"]}).status == 204
    assert_problem(api.get(f"{PROFILES}/Laptops"), 404, "not-found")


def test_a_profile_for_a_missing_category_with_if_match_is_refused(api: Api) -> None:
    assert_problem(api.put(f"{PROFILES}/Laptops", STRAIGHT, headers={"if-match": '"1"'}), 412)


def test_profiles_are_the_admins_and_everyone_reads_them(api: Api) -> None:
    api.put(f"{PROFILES}/Laptops", STRAIGHT)
    assert_problem(api.as_(role="editor").put(f"{PROFILES}/Servers", STRAIGHT), 403, "forbidden")
    for role in ("viewer", "auditor", "editor"):
        assert api.as_(role=role).get(f"{PROFILES}/Laptops").status == 200


def test_another_tenants_profile_is_not_found(api: Api) -> None:
    api.put(f"{PROFILES}/Laptops", STRAIGHT)
    assert_problem(api.as_("globex").get(f"{PROFILES}/Laptops"), 404, "not-found")
    assert api.as_("globex").get(PROFILES).body["items"] == []
    assert_problem(api.as_("globex").delete(f"{PROFILES}/Laptops", headers={"if-match": '"1"'}), 404)


def test_profiles_are_checked(api: Api) -> None:
    for body in (
        {"method": "declining_balance", "useful_life_months": 60},  # no rate
        {**STRAIGHT, "rate": "0.3"},  # a rate is for declining_balance only
        {**STRAIGHT, "useful_life_months": 0},
        {"method": "declining_balance", "useful_life_months": 60, "rate": "1.5"},
        {**STRAIGHT, "method": "sideways"},
        {**STRAIGHT, "start": "tomorrow"},
        {**STRAIGHT, "salvage_value": {"amount": "-1", "currency": "EUR"}},
    ):
        assert_problem(api.put(f"{PROFILES}/Laptops", body), 422, "validation-error")
    assert_problem(api.put(f"{PROFILES}/%ff", STRAIGHT), 422)
    assert_problem(api.put(f"{PROFILES}/{'x' * 129}", STRAIGHT), 422)
    assert api.get(PROFILES).body["items"] == []  # nothing written


def test_an_assets_schedule_follows_its_categorys_profile(api: Api) -> None:
    api.put(f"{PROFILES}/laptops", STRAIGHT)
    asset = laptop(api, status="deployed")
    assert asset["in_service_date"] == "2026-11-27"  # its first deployment

    reply = api.get(f"/v1/assets/{asset['id']}/depreciation", query={"as_of": "2027-11-26"})
    assert reply.status == 200, reply.body
    body = reply.body
    assert (body["source"], body["start_date"], body["end_date"]) == ("category", "2026-11-27", "2031-11-26")
    assert [p["depreciation"]["amount"] for p in body["periods"]] == ["1800.00"] * 5
    assert [p["book_value"]["amount"] for p in body["periods"]] == [
        "8200.00",
        "6400.00",
        "4600.00",
        "2800.00",
        "1000.00",
    ]
    assert body["book_value"] == {"amount": "8200.00", "currency": "EUR"}
    assert body["accumulated"] == {"amount": "1800.00", "currency": "EUR"}

    monthly = api.get(
        f"/v1/assets/{asset['id']}/depreciation", query={"period": "month", "as_of": "2027-01-10"}
    )
    assert len(monthly.body["periods"]) == 60
    assert monthly.body["periods"][0]["depreciation"]["amount"] == "150.00"
    assert monthly.body["book_value"]["amount"] == "9850.00"  # one month (to 26 December) ended


def test_an_assets_own_terms_win_and_may_start_at_purchase(api: Api) -> None:
    api.put(f"{PROFILES}/Laptops", STRAIGHT)
    own = {**STRAIGHT, "method": "double_declining_balance", "start": "purchase"}
    asset = laptop(api, status="in_stock", purchase_date="2024-01-01", depreciation=own)

    body = api.get(f"/v1/assets/{asset['id']}/depreciation", query={"as_of": "2026-01-01"}).body
    assert body["source"] == "asset" and body["start_date"] == "2024-01-01"
    assert [p["depreciation"]["amount"] for p in body["periods"]] == [
        "4000.00",
        "2400.00",
        "1440.00",
        "864.00",
        "296.00",
    ]
    assert body["book_value"]["amount"] == "3600.00"


def test_what_the_register_does_not_know_is_said(api: Api) -> None:
    api.put(f"{PROFILES}/Laptops", STRAIGHT)
    cases = {
        "cost": laptop(api, status="deployed", cost=None),
        "no depreciation profile": laptop(api, status="deployed", category="Servers"),
        "in_service_date": laptop(api, status="in_stock"),
        "does not convert": laptop(api, status="deployed", cost={"amount": "900", "currency": "USD"}),
    }
    for words, asset in cases.items():
        reply = api.get(f"/v1/assets/{asset['id']}/depreciation")
        assert_problem(reply, 409, "depreciation-unavailable")
        assert words in reply.body["detail"]


def test_another_tenants_asset_has_no_depreciation_and_the_query_is_checked(api: Api) -> None:
    api.put(f"{PROFILES}/Laptops", STRAIGHT)
    asset = laptop(api, status="deployed")
    assert_problem(api.as_("globex").get(f"/v1/assets/{asset['id']}/depreciation"), 404, "not-found")
    assert api.as_(role="viewer").get(f"/v1/assets/{asset['id']}/depreciation").status == 200
    for query in ({"as_of": "yesterday"}, {"period": "week"}, {"as_of": "2027-02-30"}, {"as_of": "0"}):
        assert_problem(api.get(f"/v1/assets/{asset['id']}/depreciation", query=query), 422)


def test_the_in_service_date_is_set_by_the_first_deployment_only(api: Api) -> None:
    asset = laptop(api, status="in_stock")
    assert asset["in_service_date"] is None
    path = f"/v1/assets/{asset['id']}"
    deployed = api.post(f"{path}/transitions", {"to": "deployed"}).body
    assert deployed["in_service_date"] == "2026-11-27"
    etag = api.get(path).headers["ETag"]
    moved = api.patch(path, {"in_service_date": "2026-10-01"}, headers={"if-match": etag}).body
    assert moved["in_service_date"] == "2026-10-01"
    api.post(f"{path}/transitions", {"to": "in_maintenance"})
    again = api.post(f"{path}/transitions", {"to": "deployed"}).body
    assert again["in_service_date"] == "2026-10-01"
    given = laptop(api, status="deployed", in_service_date="2025-05-05")
    assert given["in_service_date"] == "2025-05-05"


def dispose(api: Api, asset_id: str, disposal: dict[str, Any]) -> dict[str, Any]:
    path = f"/v1/assets/{asset_id}/transitions"
    assert api.post(path, {"to": "retired"}).status == 200
    reply = api.post(path, {"to": "disposed", "disposal": disposal})
    assert reply.status == 200, reply.body
    return reply.body["disposal"]  # type: ignore[no-any-return]


def test_a_disposal_records_its_gain_or_loss_against_the_book_value(api: Api) -> None:
    api.put(f"{PROFILES}/Laptops", STRAIGHT)
    sold = laptop(api, status="deployed", in_service_date="2024-01-01")
    disposal = dispose(
        api,
        sold["id"],
        {"method": "sold", "date": "2026-01-01", "proceeds": {"amount": "7000", "currency": "EUR"}},
    )
    assert disposal["book_value"] == {"amount": "6400.00", "currency": "EUR"}
    assert disposal["gain_or_loss"] == {"amount": "600.00", "currency": "EUR"}
    assert disposal["unvalued_reason"] is None
    assert api.get(f"/v1/assets/{sold['id']}").body["disposal"] == disposal

    scrapped = laptop(api, status="deployed", in_service_date="2024-01-01")
    lost = dispose(api, scrapped["id"], {"method": "recycled", "date": "2025-01-01"})
    assert lost["gain_or_loss"] == {"amount": "-8200.00", "currency": "EUR"}


def test_a_disposal_that_cannot_be_valued_says_why(api: Api) -> None:
    unknown = laptop(api, status="deployed", category="Servers")
    disposal = dispose(api, unknown["id"], {"method": "sold", "date": "2026-01-01"})
    assert disposal["book_value"] is None and disposal["gain_or_loss"] is None
    assert "no depreciation profile" in disposal["unvalued_reason"]

    api.put(f"{PROFILES}/Laptops", STRAIGHT)
    abroad = laptop(api, status="deployed")
    proceeds = {"amount": "10", "currency": "USD"}
    disposal = dispose(api, abroad["id"], {"method": "sold", "date": "2026-01-01", "proceeds": proceeds})
    assert "does not convert currencies" in disposal["unvalued_reason"]
    assert disposal["proceeds"] == proceeds


def test_the_server_sets_a_disposals_values(api: Api) -> None:
    asset = laptop(api, status="deployed")
    path = f"/v1/assets/{asset['id']}/transitions"
    api.post(path, {"to": "retired"})
    forged = {"method": "sold", "date": "2026-01-01", "book_value": {"amount": "1", "currency": "EUR"}}
    assert_problem(api.post(path, {"to": "disposed", "disposal": forged}), 422, "validation-error")
