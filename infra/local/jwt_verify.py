"""Verify bearer tokens the way the API Gateway HTTP API JWT authorizer does, against the emulated pool.

The API accepts Cognito ID tokens only (token_use "id"): without a Pre Token Generation trigger only
ID tokens carry the custom:tenant_id claim the API scopes every request by, and the HTTP API JWT
authorizer checks their `aud` against the app client. Access tokens are therefore rejected.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from jwt.algorithms import RSAAlgorithm

ALGORITHM = "RS256"
LEEWAY_S = 5
JWKS_REFETCH_INTERVAL_S = 5.0


class TokenError(Exception):
    """A token the authorizer rejects; str(error) is the reason, safe to show (never the token)."""


@dataclass(frozen=True)
class VerifiedToken:
    """Claims and scopes as the HTTP API puts them in requestContext.authorizer.jwt."""

    claims: dict[str, str]
    scopes: list[str] | None


def claim_string(value: Any) -> str:
    """A claim value rendered the way the HTTP API renders it: strings, with arrays as "[a b]"."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, list):
        return "[" + " ".join(claim_string(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{claim_string(v)}" for k, v in sorted(value.items())) + "]"
    if value is None:
        return ""
    return str(value)


def format_claims(claims: Mapping[str, Any]) -> VerifiedToken:
    """Decoded claims shaped as requestContext.authorizer.jwt: every value a string, plus scopes."""
    scope = claims.get("scope")
    scopes = str(scope).split() if scope else None
    return VerifiedToken({name: claim_string(value) for name, value in claims.items()}, scopes)


class Jwks:
    """The JSON Web Key Set of a user pool, fetched over HTTP, cached, refetched for an unknown kid."""

    def __init__(self, url: str, timeout_s: float = 5.0) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self._keys: dict[str, Any] = {}
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    def _fetch(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise TokenError("JWKS URL must be http(s)")
        with urllib.request.urlopen(self.url, timeout=self.timeout_s) as response:  # noqa: S310 - scheme checked
            document = json.load(response)
        self._keys = {
            k["kid"]: RSAAlgorithm.from_jwk(k)
            for k in document.get("keys", [])
            if k.get("kty") == "RSA" and "kid" in k
        }
        self._fetched_at = time.monotonic()

    def key(self, kid: str) -> Any:
        """The public key for kid, refetching the set at most once per interval."""
        with self._lock:
            if kid not in self._keys and time.monotonic() - self._fetched_at >= JWKS_REFETCH_INTERVAL_S:
                try:
                    self._fetch()
                except (OSError, ValueError) as error:
                    raise TokenError(f"cannot fetch the signing keys: {type(error).__name__}") from None
            if kid not in self._keys:
                raise TokenError("unknown signing key (kid)")
            return self._keys[kid]


_DECODE_ERRORS: tuple[tuple[type[Exception], str], ...] = (
    (jwt.ExpiredSignatureError, "token expired"),
    (jwt.ImmatureSignatureError, "token not yet valid"),
    (jwt.InvalidSignatureError, "invalid signature"),
    (jwt.InvalidIssuedAtError, "invalid iat claim"),
    (jwt.DecodeError, "malformed token"),
)


class JwtVerifier:
    """The checks of an HTTP API JWT authorizer: RS256 signature, iss, aud/client_id, exp, nbf, iat."""

    def __init__(
        self, *, jwks_url: str, issuer: str, audience: Iterable[str], leeway_s: int = LEEWAY_S
    ) -> None:
        self.jwks = Jwks(jwks_url)
        self.issuer = issuer
        self.audience = frozenset(audience)
        self.leeway_s = leeway_s

    def _header(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise TokenError("malformed token") from None
        if header.get("alg") != ALGORITHM:
            raise TokenError(f"unsupported algorithm {str(header.get('alg'))[:16]!r}, only RS256 is accepted")
        if not header.get("kid"):
            raise TokenError("no kid in the token header")
        return header

    def _decode(self, token: str, key: Any) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                leeway=self.leeway_s,
                options={"require": ["exp", "iat", "iss"], "verify_aud": False, "verify_iss": False},
            )
        except jwt.MissingRequiredClaimError as error:
            raise TokenError(f"missing {error.claim} claim") from None
        except jwt.PyJWTError as error:
            for kind, reason in _DECODE_ERRORS:
                if isinstance(error, kind):
                    raise TokenError(reason) from None
            raise TokenError("invalid token") from None

    def _check_claims(self, claims: Mapping[str, Any]) -> None:
        if claims.get("iss") != self.issuer:
            raise TokenError("wrong issuer")
        audience = claims.get("aud", claims.get("client_id"))
        audiences = audience if isinstance(audience, list) else [audience]
        if not self.audience.intersection(str(a) for a in audiences if a is not None):
            raise TokenError("wrong audience")
        if claims.get("token_use") != "id":
            raise TokenError("not an ID token (token_use must be 'id')")

    def verify(self, token: str) -> VerifiedToken:
        """Verify a compact JWS and return its claims shaped as the HTTP API passes them on."""
        header = self._header(token)
        claims = self._decode(token, self.jwks.key(str(header["kid"])))
        self._check_claims(claims)
        return format_claims(claims)


def bearer_token(authorization: str | None) -> str:
    """The token of an Authorization header ("Bearer <token>"; a bare token is accepted as AWS does)."""
    if not authorization or not authorization.strip():
        raise TokenError("missing bearer token")
    parts = authorization.strip().split()
    if len(parts) == 2 and parts[0].lower() == "bearer":
        return parts[1]
    if len(parts) == 1:
        return parts[0]
    raise TokenError("malformed Authorization header")
