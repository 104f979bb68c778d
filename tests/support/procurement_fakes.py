"""In-memory implementations of the procurement services' ports, for unit tests. Type-checked against
the Protocols below; tests/integration/test_procurement_repository_contract.py holds the repository
to the DynamoDB adapter."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from itam.errors import StaleVersion
from itam.idempotency import IdempotencyClaim
from itam.pagination import Page, PageRequest
from itam.ports import SecretStore
from itam.procurement.models import Delivery, PurchaseOrder, WebhookEndpoint
from itam.procurement.ports import ProcurementRepository
from itam.tenancy import TenantContext
from tests.support.fakes import IdempotencyKeys, save_versioned


class FakeProcurementRepository(IdempotencyKeys):
    """Webhook endpoints, deliveries (with their raw bodies) and purchase orders per tenant, in dicts."""

    def __init__(self) -> None:
        super().__init__()
        self.endpoints: dict[tuple[str, str], WebhookEndpoint] = {}
        self.delivery_items: dict[tuple[str, str, str], tuple[Delivery, str]] = {}
        self.orders: dict[tuple[str, str], tuple[PurchaseOrder, int]] = {}

    def save_endpoint(
        self,
        ctx: TenantContext,
        endpoint: WebhookEndpoint,
        expected_version: int | None,
        claim: IdempotencyClaim | None = None,
    ) -> None:
        if expected_version is None:
            self._check_key(ctx, claim, endpoint.updated_at)
        save_versioned(self.endpoints, (ctx.tenant_id, endpoint.id), endpoint, expected_version)
        if expected_version is None:
            self._keep_key(ctx, claim, endpoint.id)

    def get_endpoint(self, ctx: TenantContext, endpoint_id: str) -> WebhookEndpoint | None:
        return self.endpoints.get((ctx.tenant_id, endpoint_id))

    def list_endpoints(self, ctx: TenantContext, page: PageRequest) -> Page[WebhookEndpoint]:
        found = sorted((e for (t, _), e in self.endpoints.items() if t == ctx.tenant_id), key=lambda e: e.id)
        return Page(items=found[: page.limit])

    def delete_endpoint(self, ctx: TenantContext, endpoint_id: str) -> None:
        self.endpoints.pop((ctx.tenant_id, endpoint_id), None)

    def record_delivery(self, ctx: TenantContext, delivery: Delivery, body: str) -> Delivery | None:
        key = (ctx.tenant_id, delivery.endpoint_id, delivery.id)
        if key in self.delivery_items:
            return self.delivery_items[key][0]
        self.delivery_items[key] = (delivery, body)
        return None

    def delivery(self, ctx: TenantContext, endpoint_id: str, delivery_id: str) -> tuple[Delivery, str] | None:
        return self.delivery_items.get((ctx.tenant_id, endpoint_id, delivery_id))

    def update_delivery(self, ctx: TenantContext, delivery: Delivery) -> None:
        key = (ctx.tenant_id, delivery.endpoint_id, delivery.id)
        self.delivery_items[key] = (delivery, self.delivery_items[key][1])

    def deliveries(self, ctx: TenantContext, endpoint_id: str, page: PageRequest) -> Page[Delivery]:
        found = [
            d for (t, e, _), (d, _) in self.delivery_items.items() if (t, e) == (ctx.tenant_id, endpoint_id)
        ]
        newest_first = sorted(found, key=lambda d: (d.received_at, d.id), reverse=True)
        return Page(items=newest_first[: page.limit])

    def purchase_order(self, ctx: TenantContext, po_number: str) -> tuple[PurchaseOrder | None, int]:
        stored = self.orders.get((ctx.tenant_id, po_number))
        return (None, 0) if stored is None else stored

    def save_purchase_order(self, ctx: TenantContext, po: PurchaseOrder, expected_version: int) -> None:
        key = (ctx.tenant_id, po.po_number)
        if self.orders.get(key, (None, 0))[1] != expected_version:
            raise StaleVersion()
        self.orders[key] = (po, expected_version + 1)


class FakeSecretStore:
    """Named secrets in a dict, each owned by the tenant that created it: another tenant's call is
    refused, as the tenant-data role's tag condition refuses it in Secrets Manager."""

    def __init__(self) -> None:
        self.secrets: dict[str, dict[str, Any]] = {}
        self.owners: dict[str, str] = {}

    def create(self, ctx: TenantContext, name: str, value: Mapping[str, Any]) -> None:
        if name in self.secrets:
            raise ValueError(f"secret {name} exists")
        self.secrets[name] = dict(value)
        self.owners[name] = ctx.tenant_id

    def put(self, ctx: TenantContext, name: str, value: Mapping[str, Any]) -> None:
        self._check(ctx, name)
        self.secrets[name] = dict(value)

    def read(self, ctx: TenantContext, name: str, fresh: bool = False) -> dict[str, Any]:
        self._check(ctx, name)
        return dict(self.secrets[name])

    def delete(self, ctx: TenantContext, name: str) -> None:
        if name in self.secrets:
            self._check(ctx, name)
        self.secrets.pop(name, None)
        self.owners.pop(name, None)

    def _check(self, ctx: TenantContext, name: str) -> None:
        if self.owners.get(name) != ctx.tenant_id:
            raise PermissionError(f"{ctx.tenant_id} may not use secret {name}")


# The fakes must satisfy the ports: mypy checks these assignments.
_repository: ProcurementRepository = FakeProcurementRepository()
_store: SecretStore = FakeSecretStore()
