"""The compliance routes: the license position per product, on the in-memory fakes."""

from __future__ import annotations

from tests.unit.routes.conftest import Api, assert_problem


def test_the_position_counts_entitlements_against_installations(api: Api) -> None:
    api.post("/v1/licenses", {"product": "Visio Pro", "metric": "per_device", "quantity": 1})
    for name in ("a", "b"):
        asset = api.post("/v1/assets", {"name": name, "kind": "hardware"}).body
        api.post(f"/v1/assets/{asset['id']}/software", {"product": "Visio Pro"})

    overview = api.get("/v1/compliance")
    product = api.get("/v1/compliance/Visio%20Pro")

    assert overview.status == 200
    assert [p["product"] for p in overview.body["items"]] == ["Visio Pro"]
    assert product.status == 200
    [position] = product.body["positions"]
    assert (position["entitled"], position["consumed"], position["shortfall"]) == (1, 2, 1)


def test_an_auditor_reads_the_position_but_a_caller_without_a_role_may_not(api: Api) -> None:
    assert api.as_(role="auditor").get("/v1/compliance").status == 200
    assert_problem(api.as_(role="nobody").get("/v1/compliance"), 403, "forbidden")


def test_a_product_only_another_tenant_has_is_not_found(api: Api) -> None:
    api.post("/v1/licenses", {"product": "Visio", "metric": "per_device", "quantity": 1})

    assert api.get("/v1/compliance/Visio").status == 200
    assert_problem(api.as_("globex").get("/v1/compliance/Visio"), 404, "not-found")


def test_compliance_takes_no_body_fields_or_unknown_methods(api: Api) -> None:
    assert_problem(api.post("/v1/compliance", {"product": "x"}), 405, "method-not-allowed")
