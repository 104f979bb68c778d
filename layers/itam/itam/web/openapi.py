"""OpenAPI declarations for the routes: success bodies and the error statuses each route can send."""

from __future__ import annotations

from http import HTTPStatus

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel, ConfigDict

DESCRIPTIONS = {
    400: "Malformed body or invalid cursor",
    401: "Missing, expired or invalid token",
    403: "The caller's role does not allow this",
    404: "No such object for this tenant",
    409: "Conflicts with the object's state (duplicate value, illegal transition, concurrent write)",
    412: "If-Match does not name the current version",
    413: "Body over 1 MB",
    415: "Body is not application/json, or its charset is not UTF-8",
    422: "Invalid, unknown or read-only fields",
    428: "If-Match is required",
}


class Health(BaseModel):
    model_config = ConfigDict(defer_build=True)

    status: str


def responses(model: type[BaseModel], *errors: int, status: int = 200) -> dict[int, OpenAPIResponse]:
    """OpenAPI `responses` of a route: its success body and the error statuses it can send."""
    declared: dict[int, OpenAPIResponse] = {
        status: {"description": HTTPStatus(status).phrase, "content": {"application/json": {"model": model}}}
    }
    declared.update({code: {"description": DESCRIPTIONS[code]} for code in errors})
    return declared
