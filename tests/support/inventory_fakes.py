"""In-memory implementations of the connector service's ports, for unit tests. Type-checked against the
Protocols below; tests/integration/test_inventory_repository_contract.py holds the repository to the
DynamoDB adapter."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from itam.idempotency import IdempotencyClaim
from itam.inventory.models import Connector, ConnectorType, SyncRun
from itam.inventory.ports import ConnectorRepository, SettingsValidator
from itam.pagination import Page, PageRequest
from itam.tenancy import TenantContext
from tests.support.fakes import IdempotencyKeys, save_versioned


class FakeInventoryRepository(IdempotencyKeys):
    """Connectors, their runs and leases and each tenant's AWS ExternalId, in dicts."""

    def __init__(self) -> None:
        super().__init__()
        self.connectors: dict[tuple[str, str], Connector] = {}
        self.runs: dict[tuple[str, str], SyncRun] = {}
        self.external_ids: dict[str, str] = {}
        self.leases: dict[tuple[str, str], tuple[str, datetime]] = {}

    def save_connector(
        self,
        ctx: TenantContext,
        connector: Connector,
        expected_version: int | None,
        claim: IdempotencyClaim | None = None,
    ) -> None:
        if expected_version is None:
            self._check_key(ctx, claim, connector.updated_at)
        save_versioned(self.connectors, (ctx.tenant_id, connector.id), connector, expected_version)
        if expected_version is None:
            self._keep_key(ctx, claim, connector.id)

    def get_connector(self, ctx: TenantContext, connector_id: str) -> Connector | None:
        return self.connectors.get((ctx.tenant_id, connector_id))

    def list_connectors(self, ctx: TenantContext, page: PageRequest) -> Page[Connector]:
        return Page(
            items=[self.connectors[(ctx.tenant_id, i)] for i in self.connector_ids(ctx)][: page.limit]
        )

    def connector_ids(self, ctx: TenantContext) -> Iterator[str]:
        return iter(sorted(i for (t, i) in self.connectors if t == ctx.tenant_id))

    def delete_connector(self, ctx: TenantContext, connector_id: str) -> None:
        self.connectors.pop((ctx.tenant_id, connector_id), None)

    def external_id(self, ctx: TenantContext, proposed: str) -> str:
        return self.external_ids.setdefault(ctx.tenant_id, proposed)

    def save_run(self, ctx: TenantContext, run: SyncRun, create: bool = False) -> None:
        key = (ctx.tenant_id, run.id)
        if create and key in self.runs:
            return
        self.runs[key] = run

    def get_run(self, ctx: TenantContext, run_id: str) -> SyncRun | None:
        return self.runs.get((ctx.tenant_id, run_id))

    def list_runs(self, ctx: TenantContext, connector_id: str, page: PageRequest) -> Page[SyncRun]:
        found = [
            r for (t, _), r in self.runs.items() if t == ctx.tenant_id and r.connector_id == connector_id
        ]
        return Page(items=sorted(found, key=lambda r: (r.queued_at, r.id), reverse=True)[: page.limit])

    def acquire_lease(
        self, ctx: TenantContext, connector_id: str, run_id: str, now: datetime, until: datetime
    ) -> str | None:
        key = (ctx.tenant_id, connector_id)
        held = self.leases.get(key)
        if held is not None and held[0] != run_id and int(held[1].timestamp()) >= int(now.timestamp()):
            return held[0]
        self.leases[key] = (run_id, until)
        return None

    def release_lease(self, ctx: TenantContext, connector_id: str, run_id: str) -> None:
        key = (ctx.tenant_id, connector_id)
        if key in self.leases and self.leases[key][0] == run_id:
            del self.leases[key]


def accept_settings(
    type_: ConnectorType, settings: Mapping[str, Any], credentials: Mapping[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A settings validator that takes what it is given."""
    return dict(settings), dict(credentials) if credentials is not None else None


# The fakes must satisfy the ports: mypy checks these assignments.
_repository: ConnectorRepository = FakeInventoryRepository()
_validate: SettingsValidator = accept_settings
