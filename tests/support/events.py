"""Build Lambda events from the canonical samples in events/ (copy, then tweak)."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

EVENTS = Path(__file__).resolve().parents[2] / "events"


@cache
def _sample(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def load_event(name: str) -> dict[str, Any]:
    """A fresh copy of events/<name>."""
    return copy.deepcopy(_sample(name))


def http_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    raw_body: str | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    claims: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An HTTP API v2 event for `method path`, based on events/http/create_asset.json."""
    event = load_event("http/create_asset.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["rawQueryString"] = urlencode(query or {})
    event["queryStringParameters"] = dict(query) if query else None
    if raw_body is not None:
        event["body"] = raw_body
    elif body is not None:
        event["body"] = json.dumps(body)
    else:
        event["body"] = None
        event["headers"].pop("content-type", None)
    event["headers"].update({k.lower(): v for k, v in (headers or {}).items()})
    if claims is None:
        event["requestContext"].pop("authorizer", None)
    else:
        event["requestContext"]["authorizer"]["jwt"]["claims"] = claims
    return event


def claims_for(tenant: str, role: str, user: str = "u-1") -> dict[str, str]:
    """Verified-token claims as the HTTP API JWT authorizer passes them (strings, lists as "[a b]")."""
    claims = dict(_sample("http/create_asset.json")["requestContext"]["authorizer"]["jwt"]["claims"])
    claims.update(
        {
            "custom:tenant_id": tenant,
            "cognito:groups": f"[{role}]",
            "sub": f"{tenant}-{user}",
            "cognito:username": f"{tenant}-{user}",
            "email": f"{user}@{tenant}.example.com",
        }
    )
    return claims
