"""Forging and reading tokens of the emulated user pool, for tests of token checks."""

from __future__ import annotations

import base64
import gzip
import importlib.resources
import json
from functools import cache
from typing import Any

import jwt
from jwt.algorithms import RSAAlgorithm


@cache
def moto_private_key() -> Any:
    """The signing key every emulated user pool shares, to forge tokens with a valid signature."""
    resource = importlib.resources.files("moto.cognitoidp") / "resources" / "jwks-private.json.gz"
    return RSAAlgorithm.from_jwk(json.loads(gzip.decompress(resource.read_bytes())))


def sign(claims: dict[str, Any], *, kid: str = "dummy") -> str:
    """A token with these claims and a valid signature of the emulated pools."""
    return jwt.encode(claims, moto_private_key(), algorithm="RS256", headers={"kid": kid})


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unverified_claims(token: str) -> dict[str, Any]:
    """The claims of a token, without checking it."""
    return jwt.decode(token, options={"verify_signature": False})
