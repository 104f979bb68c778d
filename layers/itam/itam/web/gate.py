"""Checks on the raw request that run before routing: size, media type, encoding, JSON syntax and shape."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from itam.errors import DomainError, MalformedInput
from itam.json_text import read_object
from itam.web.problems import from_domain_error, problem

MAX_BODY_BYTES = 1024 * 1024
JSON_TYPE = "application/json"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# RFC 8259 defines no charset parameter for application/json (it is always UTF-8); one that says UTF-8
# is harmless, any other names an encoding the API does not read.
_UTF8 = frozenset({"utf-8", "utf8"})


def reject_unacceptable_body(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """A problem document (413; 415 for another media type or charset; 400 for a body that is not UTF-8
    JSON; 422 for one that is not an object or nests too deep) when the body cannot be taken, else None."""
    http = event.get("requestContext", {}).get("http", {})
    method = str(http.get("method", "")).upper()
    path = str(event.get("rawPath") or http.get("path") or "")
    if method not in _BODY_METHODS or event.get("body") in (None, ""):
        return None
    try:
        raw = raw_body(event)
        if len(raw) > MAX_BODY_BYTES:
            return problem(413, "payload-too-large", f"the body is over {MAX_BODY_BYTES} bytes", path)
        media, charset = media_type(event)
        if media != JSON_TYPE:
            shown = media or "none"
            return problem(415, "unsupported-media-type", f"send the body as {JSON_TYPE} (got {shown})", path)
        if charset is not None and charset not in _UTF8:
            return problem(
                415,
                "unsupported-media-type",
                f"send the body as UTF-8 {JSON_TYPE} (charset={charset} is not supported)",
                path,
            )
        read_object(raw)
    except DomainError as error:
        return from_domain_error(error, path)
    return None


def raw_body(event: Mapping[str, Any]) -> bytes:
    """The body's bytes, decoded from base64 when the gateway encoded them (MalformedInput if they are not
    base64)."""
    body = event.get("body")
    if body in (None, ""):
        return b""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(str(body), validate=True)
        except binascii.Error:
            raise MalformedInput("the body is marked base64-encoded but is not base64") from None
    # A text body cannot hold a surrogate once it came over the wire as UTF-8; one that does is kept as
    # bytes, to be refused as not UTF-8 rather than fail here.
    return str(body).encode("utf-8", "surrogatepass")


def media_type(event: Mapping[str, Any]) -> tuple[str, str | None]:
    """The content type's media type and charset parameter, lower-cased (they are case-insensitive)."""
    value = next(
        (str(v) for k, v in (event.get("headers") or {}).items() if str(k).lower() == "content-type"), ""
    )
    media, *parameters = value.split(";")
    charset = None
    for parameter in parameters:
        name, _, given = parameter.partition("=")
        if name.strip().lower() == "charset":
            charset = given.strip().strip('"').lower()
    return media.strip().lower(), charset


def routed_event(event: dict[str, Any]) -> dict[str, Any]:
    """The event as the resolver is given it once the gate let it through. A body it checked comes as
    its UTF-8 text (not base64) under `content-type: application/json`, spelled so: the resolver
    compares media types case-sensitively and decodes base64 as UTF-8 unchecked. A request without a
    body has no content type: the resolver would otherwise parse an empty body as a form or as
    multipart, or refuse a media type that describes nothing."""
    method = str(event.get("requestContext", {}).get("http", {}).get("method", "")).upper()
    has_body = event.get("body") not in (None, "")
    if has_body and method not in _BODY_METHODS:
        return event  # not checked, and no route of such a method reads a body
    headers = {k: v for k, v in (event.get("headers") or {}).items() if str(k).lower() != "content-type"}
    routed = {**event, "headers": headers}
    if has_body:
        headers["content-type"] = JSON_TYPE
        routed["body"], routed["isBase64Encoded"] = raw_body(event).decode("utf-8"), False
    return routed


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
