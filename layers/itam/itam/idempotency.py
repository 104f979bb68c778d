"""Idempotency-Keys: a create sent again with its key has one effect.

A create that comes with a key claims it in the write's own transaction: the adapters put a guard that
names what the create made and a digest of the request, bound for IDEMPOTENCY_TTL. When the guard is
there already (KeyAlreadyUsed), the create wrote nothing, and the answer is the one for what the key's
first request made; the key with another request is IdempotencyKeyReused (422). Keys are per tenant (the
guard's key starts with the tenant's prefix), and a request's digest names its operation, so one key
sent to two routes is two different requests."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from itam.errors import IdempotencyKeyReused, KeyAlreadyUsed
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
) -> T:
    """What `create` answers (it binds `claim` in its own write, or raises KeyAlreadyUsed), or, when
    the key is bound already, what `replay` answers for the id of what the key's first request made.

    `look_first`: look the key up before creating, for a create with an effect outside the table (a
    secret stored) that a replay must not repeat; the one that loses a race of two first requests
    must undo that effect itself before it lets KeyAlreadyUsed through."""
    if claim is None:
        return create()
    epoch = int(now.timestamp())
    if look_first:
        record = ledger.idempotency_record(ctx, claim.key_digest, epoch)
        if record is not None:
            return replay(claim.replayed(record))
    try:
        return create()
    except KeyAlreadyUsed:
        return replay(claim.replayed(ledger.idempotency_record(ctx, claim.key_digest, epoch)))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
