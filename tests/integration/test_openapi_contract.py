"""The served OpenAPI document describes the responses the API really sends, errors included."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import pytest
from openapi_spec_validator import validate

from tests.integration.conftest import Api
from tests.support.lambda_api import Reply


@pytest.fixture
def spec(api: Api) -> dict[str, Any]:
    reply = api.get("/openapi.json")
    assert reply.status == 200
    document: dict[str, Any] = reply.body
    return document


def test_document_is_valid_openapi_3_1_with_every_route(spec: dict[str, Any]) -> None:
    validate(spec)
    assert spec["openapi"] == "3.1.0"
    assert set(spec["paths"]) == {
        "/v1/health",
        "/v1/assets",
        "/v1/assets/{asset_id}",
        "/v1/assets/{asset_id}/transitions",
        "/v1/assets/{asset_id}/checkout",
        "/v1/assets/{asset_id}/checkin",
        "/v1/assets/{asset_id}/assignments",
        "/v1/assets/{asset_id}/maintenance",
        "/v1/assets/{asset_id}/history",
        "/v1/assets/{asset_id}/software",
        "/v1/assets/{asset_id}/software/{installation_id}",
        "/v1/assets/{asset_id}/depreciation",
        "/v1/assets/{asset_id}/tco",
        "/v1/contracts",
        "/v1/contracts/{contract_id}",
        "/v1/contracts/{contract_id}/history",
        "/v1/depreciation-profiles",
        "/v1/depreciation-profiles/{category}",
        "/v1/licenses",
        "/v1/licenses/{license_id}",
        "/v1/licenses/{license_id}/history",
        "/v1/licenses/{license_id}/assignments",
        "/v1/licenses/{license_id}/assignments/{assignment_id}",
        "/v1/normalization-rules",
        "/v1/normalization-rules/{rule_id}",
        "/v1/compliance",
        "/v1/compliance/{product}",
        "/v1/audits",
        "/v1/audits/{audit_id}",
        "/v1/requests",
        "/v1/requests/{request_id}",
        "/v1/requests/{request_id}/history",
        "/v1/requests/{request_id}/approve",
        "/v1/requests/{request_id}/reject",
        "/v1/requests/{request_id}/cancel",
        "/v1/requests/{request_id}/fulfil",
        "/v1/approval-policy",
        "/v1/approval-policy/history",
        "/v1/webhook-endpoints",
        "/v1/webhook-endpoints/{endpoint_id}",
        "/v1/webhook-endpoints/{endpoint_id}/rotate",
        "/v1/webhook-endpoints/{endpoint_id}/deliveries",
        "/v1/connectors",
        "/v1/connectors/{connector_id}",
        "/v1/connectors/{connector_id}/sync",
        "/v1/connectors/{connector_id}/runs",
        "/v1/sync-runs/{run_id}",
    }
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def _operation(spec: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    for template, operations in spec["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in operations:
            operation: dict[str, Any] = operations[method.lower()]
            return operation
    raise AssertionError(f"{method} {path} is not in the document")


def _check(spec: dict[str, Any], method: str, path: str, reply: Reply) -> None:
    """The status is documented for the operation, with its media type, and the body fits its schema."""
    responses = _operation(spec, method, path)["responses"]
    assert str(reply.status) in responses, f"{method} {path}: {reply.status} is not documented"
    content = responses[str(reply.status)].get("content", {})
    media_type = reply.headers["Content-Type"]
    assert media_type in content, (
        f"{method} {path}: {reply.status} documented as {list(content)}, sent {media_type}"
    )
    schema = {**content[media_type]["schema"], "components": spec["components"]}
    jsonschema.validate(reply.body, schema, cls=jsonschema.Draft202012Validator)


def test_success_and_error_replies_match_the_document(api: Api, spec: dict[str, Any]) -> None:
    created = api.post(
        "/v1/assets", {"name": "x", "kind": "hardware", "asset_tag": "A-1", "status": "in_stock"}
    )
    asset_id = created.body["id"]
    base = f"/v1/assets/{asset_id}"
    missing = "/v1/assets/0123456789abcdef0123456789abcdef"
    viewer = api.as_("acme", "viewer")
    cases: list[tuple[str, str, Reply]] = [
        ("POST", "/v1/assets", created),
        ("GET", base, api.get(base)),
        ("GET", "/v1/assets", api.get("/v1/assets")),
        ("PATCH", base, api.patch(base, {"name": "y"}, etag='"1"')),
        ("POST", f"{base}/checkout", api.post(f"{base}/checkout", {"assignee": "a"})),
        ("GET", f"{base}/assignments", api.get(f"{base}/assignments")),
        (
            "POST",
            f"{base}/maintenance",
            api.post(f"{base}/maintenance", {"type": "repair", "title": "t", "start_date": "2026-11-27"}),
        ),
        ("GET", f"{base}/maintenance", api.get(f"{base}/maintenance")),
        ("GET", f"{base}/history", api.get(f"{base}/history")),
        # errors
        ("POST", "/v1/assets", api.post("/v1/assets", {"name": "x", "kind": "hardware", "asset_tag": "a-1"})),
        ("POST", "/v1/assets", api.post("/v1/assets", {"kind": "hardware"})),
        ("POST", "/v1/assets", api.call("POST", "/v1/assets", raw_body="{")),
        (
            "POST",
            "/v1/assets",
            api.call("POST", "/v1/assets", raw_body="a", headers={"content-type": "text/csv"}),
        ),
        ("POST", "/v1/assets", viewer.post("/v1/assets", {"name": "x", "kind": "hardware"})),
        ("GET", missing, api.get(missing)),
        ("GET", "/v1/assets", api.get("/v1/assets", query={"cursor": "bad"})),
        ("GET", "/v1/assets", api.get("/v1/assets", query={"limit": "0"})),
        ("PATCH", base, api.patch(base, {"name": "z"})),
        ("PATCH", base, api.patch(base, {"name": "z"}, etag='"1"')),
        ("POST", f"{base}/transitions", api.post(f"{base}/transitions", {"to": "planned"})),
        ("GET", f"{base}/history", viewer.get(f"{base}/history")),
    ]
    statuses = set()
    for method, path, reply in cases:
        _check(spec, method, path, reply)
        statuses.add(reply.status)
    assert statuses == {200, 201, 400, 403, 404, 409, 412, 415, 422, 428}
