"""Ports several bounded contexts share, as Protocols (adapters implement them). A context's own ports
live in its `ports` module; Idempotency-Keys have theirs in itam.idempotency."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from itam.tenancy import TenantContext


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
