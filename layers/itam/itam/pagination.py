"""Pages, and their cursors: sealed, so that a client sees nothing of the table's keys or the tenant,
and accepted only for the tenant and the query (listing and filters) that issued them.

A cursor is the DynamoDB position it continues from, encrypted and authenticated with AES-256-GCM
under a key derived from the API's cursor secret; the query's scope (tenant, listing, filters) is the
associated data, so a cursor of another tenant or query, or one changed by a single bit, does not
open (docs/adr/0013-sealed-cursors.md)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from itam.errors import InvalidCursor

T = TypeVar("T")

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None = None


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int = DEFAULT_PAGE_SIZE
    cursor: str | None = None


_FORMAT = b"\x01"  # the cursor format: a later one can be told apart (and refused) by its first byte
_NONCE_BYTES = 12


def encode_cursor(key: Mapping[str, str], scope: str, secret: bytes) -> str:
    """Seal a DynamoDB position (attribute -> string value) for the query `scope` describes."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # only where cursors are made

    nonce = os.urandom(_NONCE_BYTES)
    plain = json.dumps(dict(key), separators=(",", ":"), sort_keys=True).encode()
    sealed = AESGCM(_cipher_key(secret)).encrypt(nonce, plain, _FORMAT + scope.encode())
    return base64.urlsafe_b64encode(_FORMAT + nonce + sealed).decode().rstrip("=")


def decode_cursor(cursor: str, scope: str, secret: bytes) -> dict[str, str]:
    """The position sealed in `cursor`; InvalidCursor if it is malformed, altered, sealed under another
    key or for another query (another tenant, listing or filters)."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor() from exc
    if len(raw) <= 1 + _NONCE_BYTES or raw[:1] != _FORMAT:
        raise InvalidCursor()
    nonce, sealed = raw[1 : 1 + _NONCE_BYTES], raw[1 + _NONCE_BYTES :]
    try:
        plain = AESGCM(_cipher_key(secret)).decrypt(nonce, sealed, _FORMAT + scope.encode())
        key = json.loads(plain)
    except (InvalidTag, ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor() from exc
    if not isinstance(key, dict) or not key or len(key) > 4:
        raise InvalidCursor()
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in key.items()):
        raise InvalidCursor()
    return key


def _cipher_key(secret: bytes) -> bytes:
    """The AES-256 key of cursors, derived from the cursor secret (which may serve other uses later)."""
    return hmac.new(secret, b"itam/cursors/v1", hashlib.sha256).digest()
