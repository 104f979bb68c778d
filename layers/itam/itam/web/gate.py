"""Checks on the raw request that run before routing: size, content type and JSON syntax."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from itam.web.problems import problem

MAX_BODY_BYTES = 1024 * 1024
JSON_TYPES = ("application/json",)
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def reject_unacceptable_body(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """A problem document (413, 415 or 400) when the body cannot be taken, else None."""
    http = event.get("requestContext", {}).get("http", {})
    method = str(http.get("method", "")).upper()
    path = str(event.get("rawPath") or http.get("path") or "")
    body = event.get("body")
    if method not in _BODY_METHODS or body in (None, ""):
        return None
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else str(body).encode()
    if len(raw) > MAX_BODY_BYTES:
        return problem(413, "payload-too-large", f"the body is over {MAX_BODY_BYTES} bytes", path)
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    media_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in JSON_TYPES:
        shown = media_type or "none"
        return problem(
            415, "unsupported-media-type", f"send the body as application/json (got {shown})", path
        )
    try:
        document = json.loads(raw, parse_constant=_reject_constant)
    except ValueError:
        return problem(400, "malformed-body", "the request body is not valid JSON", path)
    if not isinstance(document, dict):
        # Every body of this API is an object; an array or a scalar is never a valid one.
        error = {
            "location": "body",
            "field": "",
            "message": "the body must be a JSON object",
            "type": "model_type",
        }
        return problem(
            422, "validation-error", "the request body must be a JSON object", path, errors=[error]
        )
    return None


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are accepted by Python's parser but are not JSON (RFC 8259).
    raise ValueError(f"{name} is not a JSON value")


def access_fields(event: Mapping[str, Any], result: Mapping[str, Any]) -> dict[str, Any]:
    """What one log line says about a request: route, status and tenant (never a token or a body)."""
    context = event.get("requestContext", {})
    claims = (context.get("authorizer") or {}).get("jwt", {}).get("claims") or {}
    return {
        "method": context.get("http", {}).get("method"),
        "path": event.get("rawPath"),
        "route": event.get("routeKey"),
        "status": result.get("statusCode"),
        "tenant_id": claims.get("custom:tenant_id"),
        "user_id": claims.get("sub"),
    }
