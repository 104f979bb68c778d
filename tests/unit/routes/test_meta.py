"""The meta routes and what every route shares: the caller as a dependency (401/403 as problem
documents), the OpenAPI document that does not show the dependencies, the 404/405 for other paths."""

from __future__ import annotations

from typing import Any

import pytest

from functions.api.handler import app
from itam.tenancy import Role, TenantContext
from routes.common import current_caller
from tests.support.events import claims_for, http_event
from tests.support.lambda_api import invoke
from tests.unit.routes.conftest import Api, Services, assert_problem


def test_health_answers_ok(api: Api) -> None:
    assert api.get("/v1/health").body == {"status": "ok"}


def test_no_verified_identity_is_401_with_the_bearer_challenge(services: Services) -> None:
    reply = invoke(http_event("GET", "/v1/assets", claims=None))

    assert_problem(reply, 401, "unauthorized")
    assert reply.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert services.asset_repo.assets == {}


def test_a_token_without_a_valid_tenant_is_403(services: Services) -> None:
    claims = claims_for("acme", "admin")
    claims["custom:tenant_id"] = "Not A Tenant"

    assert_problem(invoke(http_event("GET", "/v1/licenses", claims=claims)), 403, "forbidden")


def test_the_caller_can_be_replaced_like_any_dependency(services: Services) -> None:
    auditor = TenantContext("acme", "robot", "robot@acme", frozenset({Role.AUDITOR}))
    app.dependency_overrides[current_caller] = lambda: auditor

    reply = invoke(http_event("POST", "/v1/assets", body={"name": "x", "kind": "hardware"}, claims=None))

    assert_problem(reply, 403, "forbidden")


def test_the_caller_is_resolved_per_request(api: Api, services: Services) -> None:
    created = api.post("/v1/assets", {"name": "x", "kind": "hardware"}).body

    assert api.as_("globex").get(f"/v1/assets/{created['id']}").status == 404
    assert api.get(f"/v1/assets/{created['id']}").status == 200


@pytest.fixture
def document(api: Api) -> dict[str, Any]:
    reply = api.get("/openapi.json")
    assert reply.status == 200
    body: dict[str, Any] = reply.body
    return body


def test_the_document_does_not_show_the_dependencies(document: dict[str, Any]) -> None:
    injected = {"ctx", "request", "assets", "licenses", "endpoints", "connectors", "requests"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            names = {p["name"] for p in operation.get("parameters", [])}
            assert not names & injected, f"{method} {path}"
    assert not [name for name in document["components"]["schemas"] if "TenantContext" in name]


def test_the_document_keeps_the_query_header_and_path_parameters(document: dict[str, Any]) -> None:
    listing = document["paths"]["/v1/assets"]["get"]["parameters"]
    assert [p["name"] for p in listing][:2] == ["kind", "status"]
    update = document["paths"]["/v1/assets/{asset_id}"]["patch"]["parameters"]
    assert {(p["name"], p["in"]) for p in update} == {("asset_id", "path"), ("if-match", "header")}


def test_the_document_says_what_a_transition_released(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    answer = document["paths"]["/v1/assets/{asset_id}/transitions"]["post"]["responses"]["200"]
    ref = answer["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    released = schemas[ref]["properties"]["released"]
    assert "out of service" in released["description"]
    assert {"reason", "seats", "installations", "complete"} <= set(schemas["Released"]["properties"])
    assert set(schemas["EndReason"]["enum"]) == {"asset_retired", "asset_disposed", "asset_cancelled"}
    installation = schemas["Installation"]["properties"]
    assert {"counted", "ended_at", "end_reason"} <= set(installation)
    assert "release_reason" in schemas["Seat"]["properties"]


def test_the_swagger_page_is_served(api: Api) -> None:
    reply = api.get("/docs")

    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/html"


def test_unknown_paths_are_404_and_known_paths_with_other_methods_405(api: Api) -> None:
    assert_problem(api.get("/v1/gadgets"), 404, "not-found")
    wrong = api.delete("/v1/assets")
    assert_problem(wrong, 405, "method-not-allowed")
    assert wrong.headers["Allow"] == "GET, POST"
