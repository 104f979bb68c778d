"""The caller, from the claims the API Gateway JWT authorizer verified (never from the request itself)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from itam.errors import Forbidden, Unauthenticated
from itam.tenancy import TENANT_ID_PATTERN, Role, TenantContext

TENANT_CLAIM = "custom:tenant_id"
GROUPS_CLAIM = "cognito:groups"


def tenant_context(claims: Mapping[str, Any] | None) -> TenantContext:
    """Build the TenantContext from verified JWT claims; 401 without claims, 403 without a valid tenant.

    The caller is identified by `sub` alone, which Cognito assigns and nobody can change; the name
    kept beside it is for display only (see `display_name`)."""
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
    user_id = str(claims["sub"])
    return TenantContext(tenant_id=tenant_id, user_id=user_id, username=display_name(claims), roles=roles)


def display_name(claims: Mapping[str, Any]) -> str:
    """How the caller is shown in history and on requests: the e-mail address if the pool verified it,
    else the Cognito user name, else the subject. Never compared with anything."""
    verified = claims.get("email_verified")
    if claims.get("email") and (verified is True or str(verified).lower() == "true"):
        return str(claims["email"])
    return str(claims.get("cognito:username") or claims["sub"])


def parse_list_claim(value: Any) -> list[str]:
    """The names in a list claim, each exactly as issued.

    A JSON array (a decoded token) gives its elements. A string is what the HTTP API JWT authorizer
    makes of an array: its elements joined by single spaces inside brackets, "[a b]"; a string
    without brackets is one name. Nothing else separates names: "x,admin" is one name, and so is a
    JSON text inside a string. Cognito refuses whitespace in group names, so a bracketed string whose
    split leaves an empty or padded element was not made from group names; it yields no names at all,
    so that a group such as "admin " can never be read as "admin".
    """
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    text = str(value)
    if not (text.startswith("[") and text.endswith("]")):
        return [text] if text else []
    inner = text[1:-1]
    if not inner:
        return []
    names = inner.split(" ")
    if any(not name or name != name.strip() for name in names):
        return []
    return names
