"""The normalization rule routes, on the in-memory fakes."""

from __future__ import annotations

from itam.tenancy import Role, TenantContext
from tests.unit.routes.conftest import Api, Services, assert_problem

ACME = TenantContext("acme", "u-1", "u-1@acme.example.com", frozenset({Role.ADMIN}))
RULE = {"match_product": "visio*", "product": "Visio"}


def test_rules_are_created_listed_and_deleted(api: Api, services: Services) -> None:
    created = api.post("/v1/normalization-rules", RULE)
    assert created.status == 201
    assert created.headers["Location"] == f"/v1/normalization-rules/{created.body['id']}"
    assert [r["id"] for r in api.get("/v1/normalization-rules").body["items"]] == [created.body["id"]]

    assert api.delete(f"/v1/normalization-rules/{created.body['id']}").status == 204
    assert api.get("/v1/normalization-rules").body["items"] == []
    # Each change bumps the rules version, so the installations are normalized again.
    assert services.license_repo.rule_versions(ACME) == (2, 0)


def test_a_viewer_may_not_change_rules(api: Api) -> None:
    assert api.as_(role="viewer").get("/v1/normalization-rules").status == 200
    assert_problem(api.as_(role="viewer").post("/v1/normalization-rules", RULE), 403, "forbidden")


def test_another_tenants_rule_is_not_found(api: Api) -> None:
    rule = api.post("/v1/normalization-rules", RULE).body

    assert_problem(api.as_("globex").delete(f"/v1/normalization-rules/{rule['id']}"), 404, "not-found")
    assert api.as_("globex").get("/v1/normalization-rules").body["items"] == []


def test_a_rule_needs_a_pattern(api: Api) -> None:
    assert_problem(api.post("/v1/normalization-rules", {"product": "Visio"}), 422, "validation-error")


def test_a_rule_created_again_with_its_key_is_created_once(api: Api, services: Services) -> None:
    key = {"idempotency-key": "rule-1"}

    first = api.post("/v1/normalization-rules", RULE, headers=key)
    again = api.post("/v1/normalization-rules", RULE, headers=key)

    assert (first.status, again.status) == (201, 201)
    assert (again.body, again.headers["Location"]) == (first.body, first.headers["Location"])
    assert [r["id"] for r in api.get("/v1/normalization-rules").body["items"]] == [first.body["id"]]
    assert services.license_repo.rule_versions(ACME) == (1, 0)
    other = {**RULE, "product": "Microsoft Visio"}
    assert_problem(api.post("/v1/normalization-rules", other, headers=key), 422, "idempotency-key-reused")
    assert api.as_("globex").post("/v1/normalization-rules", RULE, headers=key).status == 201
