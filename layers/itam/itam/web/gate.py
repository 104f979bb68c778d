"""Checks on the raw request that run before routing: size, content type, JSON syntax and depth."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from itam.web.problems import problem

MAX_BODY_BYTES = 1024 * 1024
JSON_TYPES = ("application/json",)
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
MAX_DEPTH = 32


def reject_unacceptable_body(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """A problem document (413, 415, 400, or 422 for a body that is not an object or nests too deep)
    when the body cannot be taken, else None."""
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
    except RecursionError:
        return _invalid_body(path, f"is nested more than {MAX_DEPTH} levels deep")
    except ValueError:
        return problem(400, "malformed-body", "the request body is not valid JSON", path)
    if not isinstance(document, dict):
        # Every body of this API is an object; an array or a scalar is never a valid one.
        return _invalid_body(path, "the body must be a JSON object", "model_type")
    if _deeper_than(document, MAX_DEPTH):
        # No body of this API nests beyond a few levels; a deeper one would only exhaust the stack of
        # a later parse or validation.
        return _invalid_body(path, f"is nested more than {MAX_DEPTH} levels deep")
    return None


def _invalid_body(path: str, message: str, kind: str = "value_error") -> dict[str, Any]:
    error = {"location": "body", "field": "", "message": message, "type": kind}
    return problem(422, "validation-error", f"the request body {message}", path, errors=[error])


def _deeper_than(document: Any, limit: int) -> bool:
    """Whether objects and arrays nest more than `limit` levels (walked without recursion)."""
    pending: list[tuple[Any, int]] = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > limit:
            return True
        children = value.values() if isinstance(value, dict) else value
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


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
