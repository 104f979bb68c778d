"""The served API description: OpenAPI 3.1 JSON and a Swagger UI page, built once per process."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from pydantic import BaseModel, Field

from itam.web.openapi import DESCRIPTIONS
from itam.web.problems import PROBLEM_CONTENT_TYPE, problem

TITLE = "IT asset management API"
VERSION = "1.0.0"
DESCRIPTION = (
    "Multi-tenant IT asset register. Authenticate with a Cognito ID token of your tenant "
    "(`Authorization: Bearer <token>`). Errors are RFC 9457 problem details."
)


class FieldError(BaseModel):
    location: str = Field(description="body, query, path or header")
    field: str = Field(description="Dotted path of the offending field, empty for the whole body")
    message: str
    type: str


class Problem(BaseModel):
    """An RFC 9457 problem details object."""

    type: str = Field(description="A URI reference naming the kind of problem, e.g. /problems/not-found")
    title: str
    status: int
    detail: str
    instance: str | None = Field(default=None, description="The request path")
    errors: list[FieldError] | None = Field(
        default=None, description="Per-field errors (validation problems)"
    )
    allowed: list[str] | None = Field(default=None, description="Allowed next states (illegal-transition)")
    field: str | None = Field(default=None, description="The field whose value is taken (duplicate-value)")


_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def finalize(schema: dict[str, Any], authorized_paths_prefix: str = "/v1/") -> dict[str, Any]:
    """Make every 4xx/5xx response problem+json, drop the framework's unused error schemas, add auth."""
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(unused, None)
    schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas["Problem"].pop("$defs", None)
    schemas["FieldError"] = FieldError.model_json_schema()
    components["securitySchemes"] = {
        "cognitoIdToken": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A Cognito ID token of the tenant's user pool (custom:tenant_id, cognito:groups).",
        }
    }
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if path.startswith(authorized_paths_prefix) and path != "/v1/health":
                operation["security"] = [{"cognitoIdToken": []}]
                responses.setdefault("401", {"description": DESCRIPTIONS[401]})
                responses.setdefault("403", {"description": DESCRIPTIONS[403]})
            if "requestBody" in operation:
                # Every body is checked before routing: size, media type, JSON syntax.
                for code in (400, 413, 415):
                    responses.setdefault(str(code), {"description": DESCRIPTIONS[code]})
            for status, response in responses.items():
                if str(status)[0] in "45":
                    response["content"] = {PROBLEM_CONTENT_TYPE: {"schema": _PROBLEM_REF}}
                elif str(status) == "204":
                    response.pop("content", None)  # No Content: no body, no media type
    return schema


@cache
def _document_json(app: APIGatewayHttpResolver) -> str:
    raw = app.get_openapi_json_schema(title=TITLE, version=VERSION, description=DESCRIPTION)
    return json.dumps(finalize(json.loads(raw)))


def openapi_document(app: APIGatewayHttpResolver) -> dict[str, Any]:
    """The OpenAPI document with the error responses the API really sends."""
    document: dict[str, Any] = json.loads(_document_json(app))
    return document


def swagger_page(app: APIGatewayHttpResolver) -> str:
    """A Swagger UI page with the document and the UI's assets inlined (no CDN needed)."""
    from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html

    assets = Path(generate_swagger_html.__code__.co_filename).parent
    js = (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8")
    css = (assets / "swagger-ui.min.css").read_text(encoding="utf-8")
    spec = _document_json(app).replace("</", "<\\/")
    return generate_swagger_html(spec, js, css, "", None, False)


def unmatched_request(app: APIGatewayHttpResolver) -> tuple[dict[str, Any], dict[str, str]]:
    """The problem for a request no route takes: 405 with Allow when the path exists, else 404."""
    event = app.current_event
    allowed = allowed_methods(app, event.path)
    if not allowed:
        return problem(404, "not-found", "no such route", event.path), {}
    detail = f"{event.http_method} is not served here; use {', '.join(allowed)}"
    return problem(405, "method-not-allowed", detail, event.path), {"Allow": ", ".join(allowed)}


def allowed_methods(app: APIGatewayHttpResolver, path: str) -> list[str]:
    """The methods the API serves on `path` (for a 405's Allow header); empty when no route matches."""
    methods: set[str] = set()
    for template, operations in openapi_document(app).get("paths", {}).items():
        if _matches(template, path):
            methods.update(method.upper() for method in operations)
    return sorted(methods)


def _matches(template: str, path: str) -> bool:
    expected, actual = template.strip("/").split("/"), path.strip("/").split("/")
    return len(expected) == len(actual) and all(
        e == a or (e.startswith("{") and bool(a)) for e, a in zip(expected, actual, strict=True)
    )
