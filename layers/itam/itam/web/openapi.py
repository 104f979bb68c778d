"""The OpenAPI document as served: error responses are problem+json, as the API really sends them."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel

from itam.web.problems import PROBLEM_CONTENT_TYPE, FieldError, Problem

_DESCRIPTIONS = {
    400: "Malformed body or invalid cursor",
    401: "Missing, expired or invalid token",
    403: "The caller's role does not allow this",
    404: "No such object for this tenant",
    409: "Conflicts with the object's state (duplicate value, illegal transition, concurrent write)",
    412: "If-Match does not name the current version",
    413: "Body over 1 MB",
    415: "Body is not application/json",
    422: "Invalid, unknown or read-only fields",
    428: "If-Match is required",
}
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


class Health(BaseModel):
    status: str


def responses(model: type[BaseModel], *errors: int, status: int = 200) -> dict[int, dict[str, Any]]:
    """OpenAPI `responses` of a route: its success body and the error statuses it can send."""
    success = {"description": HTTPStatus(status).phrase, "content": {"application/json": {"model": model}}}
    return {status: success, **{code: {"description": _DESCRIPTIONS[code]} for code in errors}}


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
                responses.setdefault("401", {"description": _DESCRIPTIONS[401]})
                responses.setdefault("403", {"description": _DESCRIPTIONS[403]})
            if "requestBody" in operation:
                # Every body is checked before routing: size, media type, JSON syntax.
                for code in (400, 413, 415):
                    responses.setdefault(str(code), {"description": _DESCRIPTIONS[code]})
            for status, response in responses.items():
                if str(status)[0] in "45":
                    response["content"] = {PROBLEM_CONTENT_TYPE: {"schema": _PROBLEM_REF}}
    return schema


def finalize_json(schema_json: str) -> dict[str, Any]:
    result: dict[str, Any] = finalize(json.loads(schema_json))
    return result
