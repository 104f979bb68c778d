"""Make the emulated DynamoDB's writes behave as DynamoDB's do: atomic, and transactions idempotent
by their ClientRequestToken.

The emulator evaluates a write's condition and then applies it without holding a lock, so two
concurrent requests can both pass `assigned < quantity` and both write. DynamoDB serializes writes
to an item and runs a transaction as one isolated step; the product's guarantees (no lost update,
no seat beyond the quantity) rest on that. This module puts one lock around the emulator's write
operations, for the local stack and for the tests that run the emulator in-process.

The emulator also ignores TransactWriteItems' ClientRequestToken, on which the product relies to
make a retried transaction (its first attempt committed, its answer lost) a success instead of a
failed condition. DynamoDB remembers a token for 10 minutes after the transaction completed: the
same token with the same parameters is answered as a success without writing again, with other
parameters refused with IdempotentParameterMismatchException; a token is 1 to 36 characters.
`TransactionTokens` does the same, per emulated account and region, under the same lock.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionResult
from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException, MockValidationException
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.responses import DynamoHandler

from infra.local.table_cost import make_dynamodb_calls_cheap

WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")
TRANSACT = "transact_write_items"
_LOCK = threading.RLock()

TOKEN_WINDOW_S = 600.0  # DynamoDB: "valid for 10 minutes after the first request that uses it is completed"
TOKEN_MAX_LENGTH = 36


class IdempotentParameterMismatch(DynamodbException):
    """A ClientRequestToken sent again, within its window, with other parameters."""

    error_type = ERROR_TYPE_PREFIX + "IdempotentParameterMismatchException"

    def __init__(self) -> None:
        super().__init__(
            self.error_type,
            message="DynamoDB rejected the request because you retried a request with a different "
            "payload but with an idempotent token that was already used.",
        )


class TransactionTokens:
    """The ClientRequestTokens of the transactions one backend committed within the last 10 minutes,
    each with the fingerprint of its request's parameters."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, window_s: float = TOKEN_WINDOW_S) -> None:
        self._clock = clock
        self._window_s = window_s
        self._committed: dict[str, tuple[str, float]] = {}

    def replayed(self, token: str, fingerprint: str) -> bool:
        """Whether a transaction with this token committed within the window (answer it as a success
        and write nothing); IdempotentParameterMismatch if it had other parameters."""
        now = self._clock()
        for old in [t for t, (_, at) in self._committed.items() if now - at >= self._window_s]:
            del self._committed[old]
        seen = self._committed.get(token)
        if seen is None:
            return False
        if seen[0] != fingerprint:
            raise IdempotentParameterMismatch()
        return True

    def committed(self, token: str, fingerprint: str) -> None:
        """Remember a committed transaction's token; its window starts now."""
        self._committed[token] = (fingerprint, self._clock())


_tokens: weakref.WeakKeyDictionary[DynamoDBBackend, TransactionTokens] = weakref.WeakKeyDictionary()


def tokens_of(backend: DynamoDBBackend) -> TransactionTokens:
    """The tokens of one emulated account and region (a reset backend starts with none)."""
    with _LOCK:
        return _tokens.setdefault(backend, TransactionTokens())


def fingerprint(body: dict[str, Any]) -> str:
    """A digest of a TransactWriteItems request's parameters, its token left out."""
    parameters = {name: value for name, value in body.items() if name != "ClientRequestToken"}
    return hashlib.sha256(json.dumps(parameters, sort_keys=True).encode()).hexdigest()


def _serialized(write: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(write)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return write(*args, **kwargs)

    locked.__itam_atomic__ = True  # type: ignore[attr-defined]
    return locked


Handler = Callable[[DynamoHandler], ActionResult]


def _honouring_tokens(handle: Handler) -> Handler:
    """The emulator's TransactWriteItems handler, with DynamoDB's ClientRequestToken semantics (the
    token is on the request, which the backend's method never sees)."""

    @functools.wraps(handle)
    def transact_write_items(self: DynamoHandler) -> ActionResult:
        token = self.body.get("ClientRequestToken")
        if token is None:
            return handle(self)
        if not isinstance(token, str) or not 1 <= len(token) <= TOKEN_MAX_LENGTH:
            raise MockValidationException(
                "1 validation error detected: Value at 'clientRequestToken' failed to satisfy "
                f"constraint: Member must have length between 1 and {TOKEN_MAX_LENGTH}"
            )
        tokens, digest = tokens_of(self.dynamodb_backend), fingerprint(self.body)
        with _LOCK:
            if tokens.replayed(token, digest):
                return ActionResult({"ConsumedCapacity": [], "ItemCollectionMetrics": {}})
            answer = handle(self)  # a cancelled transaction raises: its token is not remembered
            tokens.committed(token, digest)
            return answer

    transact_write_items.__itam_atomic__ = True  # type: ignore[attr-defined]
    return transact_write_items


def make_dynamodb_writes_atomic() -> None:
    """Serialize the emulator's DynamoDB writes and honour transactions' ClientRequestTokens
    (idempotent); their cost is that of the items they touch (table_cost)."""
    make_dynamodb_calls_cheap()
    for name in WRITES:
        write = getattr(DynamoDBBackend, name)
        if not getattr(write, "__itam_atomic__", False):
            setattr(DynamoDBBackend, name, _serialized(write))
    handle: Handler = getattr(DynamoHandler, TRANSACT)
    if not getattr(handle, "__itam_atomic__", False):
        setattr(DynamoHandler, TRANSACT, _honouring_tokens(handle))
