"""An asset's total cost of ownership over HTTP, on the in-memory fakes: every kind of cost, the window,
the currencies kept apart, and what cannot be priced."""

from __future__ import annotations

from typing import Any

from tests.unit.routes.conftest import Api, assert_problem


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


def estate(api: Api) -> tuple[str, dict[str, Any]]:
    """A server bought on 1 January 2026 for 5,000 EUR, with everything that costs around it."""
    server = api.post(
        "/v1/assets",
        {"name": "Server", "kind": "hardware", "cost": eur("5000.00"), "purchase_date": "2026-01-01"},
    ).body["id"]
    other = api.post("/v1/assets", {"name": "Switch", "kind": "hardware"}).body["id"]
    path = f"/v1/assets/{server}"
    for title, cost, day in (
        ("fan replaced", eur("120.00"), "2026-03-10"),
        ("disk replaced", {"amount": "80.00", "currency": "USD"}, "2026-05-01"),
        ("inspection", None, "2026-06-01"),
        ("old repair", eur("999.00"), "2025-06-01"),
    ):
        body: dict[str, Any] = {"type": "repair", "title": title, "start_date": day}
        if cost is not None:
            body["cost"] = cost
        assert api.post(f"{path}/maintenance", body).status == 201
    contract = {
        "type": "support",
        "vendor": "Dell",
        "start_date": "2026-01-01",
        "end_date": "2026-12-31",
        "cost": {"amount": "100.00", "currency": "EUR", "period": "month"},
        "asset_ids": [server, other],
    }
    assert api.post("/v1/contracts", contract).status == 201
    once = {
        "type": "warranty",
        "vendor": "Dell",
        "start_date": "2026-02-01",
        "cost": eur("300.00"),
        "asset_ids": [server],
    }
    assert api.post("/v1/contracts", once).status == 201
    os = api.post(
        "/v1/licenses",
        {"product": "Windows Server", "metric": "per_device", "quantity": 5, "unit_cost": eur("700.00")},
    ).body
    assert api.post(f"/v1/licenses/{os['id']}/assignments", {"asset_id": server}).status == 201
    api.post(
        "/v1/licenses",
        {"product": "SQL Server", "metric": "per_device", "quantity": 2, "unit_cost": eur("2000.00")},
    )
    for product in ("SQL Server", "Windows Server", "Unknown Tool"):
        assert api.post(f"{path}/software", {"product": product, "install_date": "2026-04-01"}).status == 201
    return server, os


def test_every_cost_of_an_asset_over_its_life_so_far(api: Api) -> None:
    server, os = estate(api)
    reply = api.get(f"/v1/assets/{server}/tco", query={"to": "2026-12-31"})
    assert reply.status == 200, reply.body
    body = reply.body
    assert (body["start"], body["end"]) == ("2026-01-01", "2026-12-31")  # from the purchase by default

    [eur_total, usd_total] = body["totals"]
    assert eur_total == {
        "currency": "EUR",
        "acquisition": "5000.00",
        "maintenance": "120.00",
        # 100 a month for 365 days, shared by the two assets it covers, and the one-time 300.
        "contracts": "900.00",
        # The seat of Windows Server (the installation of a product it holds a seat of is not priced
        # again) and the installation of SQL Server at its license's unit cost.
        "licenses": "2700.00",
        "total": "8720.00",
    }
    assert usd_total == {
        "currency": "USD",
        "acquisition": "0.00",
        "maintenance": "80.00",
        "contracts": "0.00",
        "licenses": "0.00",
        "total": "80.00",
    }
    shared = [i for i in body["items"] if i["category"] == "contracts" and i["until"] is not None]
    assert shared[0]["description"] == "support contract with Dell (1/2)"
    assert (shared[0]["on"], shared[0]["until"], shared[0]["amount"]) == (
        "2026-01-01",
        "2026-12-31",
        eur("600.00"),
    )
    seat = next(i for i in body["items"] if i["description"] == "seat of Windows Server")
    assert seat["amount"] == eur("700.00") and seat["on"] == "2026-11-27"
    assert body["unpriced"] == [next(f for f in body["unpriced"] if "Unknown Tool" in f)]
    assert os["id"] != seat["ref"]  # the seat, not the license


def test_the_window_keeps_what_falls_inside_it(api: Api) -> None:
    server, _ = estate(api)
    body = api.get(f"/v1/assets/{server}/tco", query={"from": "2026-03-01", "to": "2026-03-31"}).body
    [total] = body["totals"]
    # No purchase, the March repair, 31 days of the shared monthly contract, no seat (assigned in November).
    assert total["acquisition"] == "0.00" and total["maintenance"] == "120.00"
    assert total["contracts"] == "50.96"  # 1,200 a year x 31 / 365 / 2
    assert total["licenses"] == "0.00"
    assert body["unpriced"] == []


def test_tco_is_the_tenants_and_checked(api: Api) -> None:
    server, _ = estate(api)
    assert_problem(api.as_("globex").get(f"/v1/assets/{server}/tco"), 404, "not-found")
    assert api.as_(role="viewer").get(f"/v1/assets/{server}/tco").status == 200
    assert_problem(api.get(f"/v1/assets/{server}/tco", query={"from": "2026-12-01", "to": "2026-01-01"}), 422)
    for odd in ("soon", "0", "20260101", "2026-1-1"):  # digits alone would read as seconds since 1970
        assert_problem(api.get(f"/v1/assets/{server}/tco", query={"from": odd}), 422)


def test_an_asset_with_no_costs_has_an_empty_tco(api: Api) -> None:
    bare = api.post("/v1/assets", {"name": "Cable", "kind": "hardware"}).body["id"]
    body = api.get(f"/v1/assets/{bare}/tco").body
    assert body["totals"] == [] and body["items"] == []
