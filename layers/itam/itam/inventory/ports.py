"""What the inventory services need from the outside world, as Protocols. Adapters implement them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from itam.assets.models import Asset, HistoryEvent
from itam.idempotency import IdempotencyClaim, IdempotencyRecord
from itam.inventory.models import Connector, ConnectorType, Discovered, RunError, SyncRun
from itam.inventory.reconcile import Link
from itam.pagination import Page, PageRequest
from itam.tenancy import TenantContext


class ConnectorRepository(Protocol):
    def save_connector(
        self,
        ctx: TenantContext,
        connector: Connector,
        expected_version: int | None,
        claim: IdempotencyClaim | None = None,
    ) -> None:
        """Create (expected_version None; binding `claim`'s key to it, KeyAlreadyUsed if the key is
        bound) or replace if the stored version is still the one read; StaleVersion otherwise."""

    def idempotency_record(self, ctx: TenantContext, key_digest: str, now: int) -> IdempotencyRecord | None:
        """What the key is bound to, unless nothing is or the binding expired before `now`."""

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


class CollectorFactory(Protocol):
    def __call__(self, connector: Connector, credentials: Mapping[str, Any] | None) -> Collector:
        """The connector's collector, its settings and credentials validated."""


class ConnectorDirectory(Protocol):
    def __call__(self) -> Iterator[tuple[str, str]]:
        """(tenant id, connector id) of every enabled connector."""


class Collector(Protocol):
    """The get and transform steps of one connector."""

    provider: str

    def collect(self) -> Iterator[Discovered]:
        """Every resource, each once; raises ConnectorError when the run cannot go on."""

    def was_skipped(self, scope: str) -> bool:
        """Whether part of this scope could not be read (its absences prove nothing)."""

    def problems(self) -> list[RunError]:
        """What could not be read, once `collect()` is exhausted."""


class LinkStore(Protocol):
    def links(self, ctx: TenantContext, connector_id: str) -> Iterator[Link]:
        """The connector's links in asset-id order (read consistently, page by page)."""

    def create(
        self, ctx: TenantContext, connector_id: str, created: Sequence[tuple[Asset, HistoryEvent, Link]]
    ) -> None:
        """Write new assets with their first history events, then their links."""

    def save_link(self, ctx: TenantContext, connector_id: str, link: Link) -> None: ...


class SettingsValidator(Protocol):
    def __call__(
        self, type_: ConnectorType, settings: Mapping[str, Any], credentials: Mapping[str, Any] | None
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The settings (and credentials) as the type's model reads them; InvalidInput naming the
        field (`settings.role_arn`, `credentials.token`) otherwise."""
