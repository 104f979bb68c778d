"""Idempotency-Keys: a create sent again with its key has one effect.

A create that comes with a key claims it in the write's own transaction: the adapters put a guard that
names what the create made and a digest of the request, bound for IDEMPOTENCY_TTL. When the guard is
there already (KeyAlreadyUsed), the create wrote nothing, and the answer is the one for what the key's
first request made; the key with another request is IdempotencyKeyReused (422). Keys are per tenant (the
guard's key starts with the tenant's prefix), and a request's digest names its operation, so one key
sent to two routes is two different requests."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from itam.errors import ConcurrentModification, IdempotencyKeyReused, KeyAlreadyUsed, WriteConflict
from itam.retry import back_off
from itam.tenancy import TenantContext

T = TypeVar("T")

# How long an Idempotency-Key stays bound to what it created.
IDEMPOTENCY_TTL = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """What an Idempotency-Key is bound to."""

    resource_id: str
    request_digest: str


@dataclass(frozen=True, slots=True)
class IdempotencyClaim:
    """A client's Idempotency-Key for one create: digests of the key and of the request, and the
    time (epoch seconds) until which the key stays bound to what it created."""

    key_digest: str
    request_digest: str
    expires_at: int

    @classmethod
    def of(cls, key: str, fingerprint: str, now: datetime) -> IdempotencyClaim:
        """The claim of `key` for the request `fingerprint` describes, bound for IDEMPOTENCY_TTL."""
        return cls(_digest(key), _digest(fingerprint), int((now + IDEMPOTENCY_TTL).timestamp()))

    def replayed(self, record: IdempotencyRecord | None) -> str:
        """The id of what the key's first request created, when `record` (what the key is bound to)
        shows this request is that one again; IdempotencyKeyReused when the key is bound to another
        request (or its binding expired just now, which a retry with a new key resolves)."""
        if record is None or record.request_digest != self.request_digest:
            raise IdempotencyKeyReused()
        return record.resource_id


def claim_of(key: str | None, fingerprint: str, now: datetime) -> IdempotencyClaim | None:
    """The claim of an optional key: None when the request came without one."""
    return None if key is None else IdempotencyClaim.of(key, fingerprint, now)


class IdempotencyLedger(Protocol):
    """The repository a create binds its keys in."""

    def idempotency_record(self, ctx: TenantContext, key_digest: str, now: int) -> IdempotencyRecord | None:
        """What the key is bound to, unless nothing is or the binding expired before `now`."""


def create_once(
    ctx: TenantContext,
    ledger: IdempotencyLedger,
    claim: IdempotencyClaim | None,
    now: datetime,
    create: Callable[[], T],
    replay: Callable[[str], T],
    look_first: bool = False,
    attempts: int = 3,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """What `create` answers (it binds `claim` in its own write, or raises KeyAlreadyUsed), or, when
    the key is bound already, what `replay` answers for the id of what the key's first request made.
    A create that met another write in flight (the same key's other request, say) wrote nothing and
    is tried again after a short pause; then the key is found bound, or the create goes through.

    `look_first`: look the key up before creating, for a create with an effect outside the table (a
    secret stored) that a replay must not repeat; a create that wrote nothing (KeyAlreadyUsed,
    WriteConflict) must undo that effect itself before it lets the error through."""
    epoch = int(now.timestamp())
    if claim is not None and look_first:
        record = ledger.idempotency_record(ctx, claim.key_digest, epoch)
        if record is not None:
            return replay(claim.replayed(record))
    for attempt in range(attempts):
        try:
            return create()
        except KeyAlreadyUsed:
            if claim is None:
                raise
            return replay(claim.replayed(ledger.idempotency_record(ctx, claim.key_digest, epoch)))
        except WriteConflict:
            back_off(attempt, sleep)
    raise ConcurrentModification("the create met other writes in flight each time it was tried; retry")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
