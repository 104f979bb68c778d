"""Make the emulated DynamoDB's conditional writes atomic, as DynamoDB's are.

The emulator evaluates a write's condition and then applies it without holding a lock, so two
concurrent requests can both pass `assigned < quantity` and both write. DynamoDB serializes writes
to an item and runs a transaction as one isolated step; the product's guarantees (no lost update,
no seat beyond the quantity) rest on that. This module puts one lock around the emulator's write
operations, for the local stack and for the tests that run the emulator in-process.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb.models import DynamoDBBackend

WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")
_LOCK = threading.RLock()


def _serialized(write: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(write)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return write(*args, **kwargs)

    locked.__itam_atomic__ = True  # type: ignore[attr-defined]
    return locked


def make_dynamodb_writes_atomic() -> None:
    """Serialize the emulator's DynamoDB writes (idempotent)."""
    for name in WRITES:
        write = getattr(DynamoDBBackend, name)
        if not getattr(write, "__itam_atomic__", False):
            setattr(DynamoDBBackend, name, _serialized(write))
