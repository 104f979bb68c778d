"""Opaque cursors and pages: a cursor is only accepted for the query that issued it."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
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


def encode_cursor(key: Mapping[str, str], scope: str) -> str:
    """Wrap a DynamoDB position (attribute -> string value) with a fingerprint of the query it belongs to."""
    payload = {"k": dict(key), "s": _fingerprint(scope)}
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, scope: str) -> dict[str, str]:
    """Return the position in `cursor`, or raise InvalidCursor if it is malformed or from another query."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor() from exc
    if not isinstance(payload, dict) or payload.get("s") != _fingerprint(scope):
        raise InvalidCursor()
    key = payload.get("k")
    if not isinstance(key, dict) or not key or len(key) > 4:
        raise InvalidCursor()
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in key.items()):
        raise InvalidCursor()
    return key


def _fingerprint(scope: str) -> str:
    return hashlib.sha256(scope.encode()).hexdigest()[:16]
