"""The served API description: OpenAPI 3.1 JSON and a Swagger UI page, built once per process."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from itam.web.openapi import finalize

TITLE = "IT asset management API"
VERSION = "1.0.0"
DESCRIPTION = (
    "Multi-tenant IT asset register. Authenticate with a Cognito ID token of your tenant "
    "(`Authorization: Bearer <token>`). Errors are RFC 9457 problem details."
)


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
