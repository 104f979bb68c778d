"""What the inventory services need from the outside world."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from itam.inventory.models import Connector, SyncRun
from itam.inventory.sync import Collector
from itam.pagination import Page, PageRequest
from itam.tenancy import TenantContext


class ConnectorRepository(Protocol):
    def save_connector(self, ctx: TenantContext, connector: Connector, expected_version: int | None) -> None:
        """Create (expected_version None) or replace if the stored version is still the one read;
        StaleVersion otherwise."""

    def get_connector(self, ctx: TenantContext, connector_id: str) -> Connector | None: ...
    def list_connectors(self, ctx: TenantContext, page: PageRequest) -> Page[Connector]: ...
    def delete_connector(self, ctx: TenantContext, connector_id: str) -> None: ...

    def external_id(self, ctx: TenantContext, proposed: str) -> str:
        """The tenant's AWS ExternalId: `proposed` if the tenant had none yet (kept from then on)."""

    def save_run(self, ctx: TenantContext, run: SyncRun, create: bool = False) -> None:
        """Create the run (create=True: once; a second create is a no-op) or replace it."""

    def get_run(self, ctx: TenantContext, run_id: str) -> SyncRun | None: ...
    def list_runs(self, ctx: TenantContext, connector_id: str, page: PageRequest) -> Page[SyncRun]: ...

    def acquire_lease(
        self, ctx: TenantContext, connector_id: str, run_id: str, now: datetime, until: datetime
    ) -> str | None:
        """Take the connector's lease for `run_id` until `until`: None when taken (also when
        `run_id` held it, or the holder's lease had expired), else the id of the live holder."""

    def release_lease(self, ctx: TenantContext, connector_id: str, run_id: str) -> None: ...


class Queue(Protocol):
    def send(self, message: Mapping[str, Any]) -> None: ...
    def send_batch(self, messages: Sequence[Mapping[str, Any]]) -> list[str]: ...


class EventPublisher(Protocol):
    def publish(self, detail_type: str, details: Sequence[Mapping[str, Any]]) -> None: ...


class CollectorFactory(Protocol):
    def __call__(self, connector: Connector, credentials: Mapping[str, Any] | None) -> Collector:
        """The connector's collector, its settings and credentials validated."""


class ConnectorDirectory(Protocol):
    def __call__(self) -> Iterator[tuple[str, str]]:
        """(tenant id, connector id) of every enabled connector."""
