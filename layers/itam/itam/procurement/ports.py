"""What procurement needs from the outside world, as Protocols. Adapters and the request service
implement them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from itam.idempotency import IdempotencyClaim, IdempotencyRecord
from itam.pagination import Page, PageRequest
from itam.procurement.models import Delivery, PurchaseOrder, WebhookEndpoint
from itam.tenancy import TenantContext


class ProcurementRepository(Protocol):
    def save_endpoint(
        self,
        ctx: TenantContext,
        endpoint: WebhookEndpoint,
        expected_version: int | None,
        claim: IdempotencyClaim | None = None,
    ) -> None:
        """Create (expected_version None; binding `claim`'s key to it, KeyAlreadyUsed if the key is
        bound) or replace the endpoint if its version is still the one read."""

    def idempotency_record(self, ctx: TenantContext, key_digest: str, now: int) -> IdempotencyRecord | None:
        """What the key is bound to, unless nothing is or the binding expired before `now`."""

    def get_endpoint(self, ctx: TenantContext, endpoint_id: str) -> WebhookEndpoint | None: ...
    def list_endpoints(self, ctx: TenantContext, page: PageRequest) -> Page[WebhookEndpoint]: ...
    def delete_endpoint(self, ctx: TenantContext, endpoint_id: str) -> None: ...
    def record_delivery(self, ctx: TenantContext, delivery: Delivery, body: str) -> Delivery | None:
        """Store a new delivery; return the stored one instead if its id was recorded before."""

    def delivery(
        self, ctx: TenantContext, endpoint_id: str, delivery_id: str
    ) -> tuple[Delivery, str] | None: ...
    def update_delivery(self, ctx: TenantContext, delivery: Delivery) -> None: ...
    def deliveries(self, ctx: TenantContext, endpoint_id: str, page: PageRequest) -> Page[Delivery]: ...
    def purchase_order(self, ctx: TenantContext, po_number: str) -> tuple[PurchaseOrder | None, int]: ...
    def save_purchase_order(self, ctx: TenantContext, po: PurchaseOrder, expected_version: int) -> None:
        """Store the PO state if its version is still `expected_version` (0: new), else StaleVersion."""


class EndpointDirectory(Protocol):
    """Webhook endpoints found by id without the tenant's scoped credentials: the intake looks one up
    before it knows a delivery is authentic, and assumes the tenant's role only for one that is."""

    def get_endpoint(self, ctx: TenantContext, endpoint_id: str) -> WebhookEndpoint | None: ...


class RequestFulfilment(Protocol):
    """The asset requests a received PO line may fulfil."""

    def on_procurement_received(
        self,
        ctx: TenantContext,
        request_id: str,
        asset_ids: Sequence[str] = (),
        license_id: str | None = None,
    ) -> Any: ...
