"""The caller, from the claims the API Gateway JWT authorizer verified (never from the request itself)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from itam.errors import Forbidden, Unauthenticated
from itam.tenancy import TENANT_ID_PATTERN, Role, TenantContext

TENANT_CLAIM = "custom:tenant_id"
GROUPS_CLAIM = "cognito:groups"


def tenant_context(claims: Mapping[str, Any] | None) -> TenantContext:
    """Build the TenantContext from verified JWT claims; 401 without claims, 403 without a valid tenant."""
    if not claims or not claims.get("sub"):
        raise Unauthenticated("the request carries no verified identity")
    if claims.get("token_use") != "id":
        raise Unauthenticated("this API takes Cognito ID tokens")
    tenant_id = str(claims.get(TENANT_CLAIM) or "")
    if not TENANT_ID_PATTERN.fullmatch(tenant_id):
        raise Forbidden(f"the token has no valid {TENANT_CLAIM} claim")
    roles = frozenset(
        Role(g) for g in parse_list_claim(claims.get(GROUPS_CLAIM)) if g in Role.__members__.values()
    )
    username = str(claims.get("email") or claims.get("cognito:username") or claims["sub"])
    return TenantContext(tenant_id=tenant_id, user_id=str(claims["sub"]), username=username, roles=roles)


def parse_list_claim(value: Any) -> list[str]:
    """A list claim as API Gateway passes it: a JSON list, "[a b]" (HTTP API), "a,b" or a single value."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            return [str(v) for v in parsed]
        text = text[1:-1]
    return [part for part in text.replace(",", " ").split() if part]
