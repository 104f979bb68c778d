"""Ports several bounded contexts share, as Protocols (adapters implement them), and the
Idempotency-Key records they exchange. A context's own ports live in its `ports` module."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from itam.errors import IdempotencyKeyReused
from itam.tenancy import TenantContext

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


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""


class IdGenerator(Protocol):
    def new_id(self) -> str:
        """A new unique, opaque id."""


class SecretStore(Protocol):
    """Named secrets (JSON objects) of the caller's tenant: webhook signing secrets, connector
    credentials. Each call acts as `ctx`'s tenant, which may reach its own secrets only."""

    def create(self, ctx: TenantContext, name: str, value: Mapping[str, Any]) -> None: ...
    def put(self, ctx: TenantContext, name: str, value: Mapping[str, Any]) -> None: ...
    def read(self, ctx: TenantContext, name: str, fresh: bool = False) -> dict[str, Any]: ...
    def delete(self, ctx: TenantContext, name: str) -> None: ...


class EventPublisher(Protocol):
    def publish(self, detail_type: str, details: Sequence[Mapping[str, Any]]) -> None:
        """Publish domain events of one type to the event bus."""


class JobQueue(Protocol):
    """A queue of job messages: audits and re-normalizations, sync runs, webhook deliveries."""

    def send(self, message: Mapping[str, Any]) -> None:
        """Queue one job message."""

    def send_batch(self, messages: Sequence[Mapping[str, Any]]) -> list[str]:
        """Queue up to 10 messages in one call; return the bodies the queue did not take."""
