"""Webhook endpoints, deliveries and purchase-order state on the single table.

Key layout (every key starts with the tenant prefix `T#<tenant>#`):

    endpoint      PK T#<t>#WEBHOOK#<endpoint id>   SK META        GSI1 T#<t>#WEBHOOKS / <endpoint id>
    delivery      PK T#<t>#WEBHOOK#<endpoint id>   SK DELIVERY#<sha-256 of webhook-id>
                  GSI1 T#<t>#WEBHOOK#<endpoint id>#DELIVERIES / <received>#<hash>
    purchase order PK T#<t>#PO#<po number>         SK META
"""

from __future__ import annotations

from itam.adapters.schema import (
    TableModels,
    delivery_listing_pk,
    delivery_sk,
    endpoint_listing_pk,
    endpoint_pk,
    purchase_order_pk,
)
from itam.adapters.table import (
    conditional_check_failed,
    document,
    idempotency_record,
    listing_page,
    query_page,
    save_versioned,
)
from itam.errors import StaleVersion
from itam.idempotency import IdempotencyClaim, IdempotencyRecord
from itam.pagination import Page, PageRequest
from itam.procurement.models import Delivery, PurchaseOrder, WebhookEndpoint
from itam.tenancy import TenantContext


class DynamoProcurementRepository:
    """ProcurementRepository on one DynamoDB table."""

    def __init__(self, models: TableModels) -> None:
        self._m = models

    # ------------------------------------------------------------------ endpoints
    def save_endpoint(
        self,
        ctx: TenantContext,
        endpoint: WebhookEndpoint,
        expected_version: int | None,
        claim: IdempotencyClaim | None = None,
    ) -> None:
        m = self._m
        item = m.versioned(
            PK=endpoint_pk(ctx, endpoint.id),
            SK="META",
            doc=endpoint.model_dump_json(),
            version=endpoint.version,
            GSI1PK=endpoint_listing_pk(ctx),
            GSI1SK=endpoint.id,
        )
        now = int(endpoint.updated_at.timestamp())
        save_versioned(m, ctx, item, expected_version, claim, endpoint.id, now)

    def idempotency_record(self, ctx: TenantContext, key_digest: str, now: int) -> IdempotencyRecord | None:
        return idempotency_record(self._m, ctx, key_digest, now)

    def get_endpoint(self, ctx: TenantContext, endpoint_id: str) -> WebhookEndpoint | None:
        return document(self._m.item, endpoint_pk(ctx, endpoint_id), WebhookEndpoint.model_validate_json)

    def list_endpoints(self, ctx: TenantContext, page: PageRequest) -> Page[WebhookEndpoint]:
        partition, scope = endpoint_listing_pk(ctx), f"{ctx.tenant_id}|webhooks"
        return listing_page(
            self._m, partition, scope, page, WebhookEndpoint.model_validate_json, endpoint_pk(ctx, "")
        )

    def delete_endpoint(self, ctx: TenantContext, endpoint_id: str) -> None:
        """Delete the endpoint (its deliveries stay, as a record of what was received)."""
        self._m.item(PK=endpoint_pk(ctx, endpoint_id), SK="META").delete()

    # ------------------------------------------------------------------ deliveries
    def record_delivery(self, ctx: TenantContext, delivery: Delivery, body: str) -> Delivery | None:
        m = self._m
        pk = endpoint_pk(ctx, delivery.endpoint_id)
        sk = delivery_sk(delivery.id)
        item = m.record(
            PK=pk,
            SK=sk,
            doc=delivery.model_dump_json(),
            returned=body,  # the raw body, as signed
            GSI1PK=delivery_listing_pk(ctx, delivery.endpoint_id),
            GSI1SK=f"{delivery.received_at.isoformat()}#{sk}",
        )
        try:
            item.save(condition=m.item.PK.does_not_exist())
        except Exception as error:
            if not conditional_check_failed(error):
                raise
            stored = self.delivery(ctx, delivery.endpoint_id, delivery.id)
            return stored[0] if stored else None
        return None

    def delivery(self, ctx: TenantContext, endpoint_id: str, delivery_id: str) -> tuple[Delivery, str] | None:
        try:
            item = self._m.record.get(
                endpoint_pk(ctx, endpoint_id), delivery_sk(delivery_id), consistent_read=True
            )
        except self._m.record.DoesNotExist:
            return None
        return Delivery.model_validate_json(item.doc), item.returned or ""

    def update_delivery(self, ctx: TenantContext, delivery: Delivery) -> None:
        m = self._m
        # Through the table connection, so that the stored body is not sent back (ReturnValues NONE).
        m.record._get_connection().update_item(
            endpoint_pk(ctx, delivery.endpoint_id),
            delivery_sk(delivery.id),
            actions=[m.record.doc.set(delivery.model_dump_json())],
            condition=m.item.PK.exists(),
            return_values="NONE",
        )

    def deliveries(self, ctx: TenantContext, endpoint_id: str, page: PageRequest) -> Page[Delivery]:
        m = self._m
        pk = endpoint_pk(ctx, endpoint_id)
        return query_page(
            m,
            m.indexes["GSI1"].query,
            delivery_listing_pk(ctx, endpoint_id),
            "GSI1",
            f"{ctx.tenant_id}|{endpoint_id}|deliveries",
            page,
            lambda item: Delivery.model_validate_json(item.doc),
            pk_prefix=pk,
            scan_index_forward=False,
        )

    # ------------------------------------------------------------------ purchase orders
    def purchase_order(self, ctx: TenantContext, po_number: str) -> tuple[PurchaseOrder | None, int]:
        try:
            item = self._m.versioned.get(purchase_order_pk(ctx, po_number), "META", consistent_read=True)
        except self._m.versioned.DoesNotExist:
            return None, 0
        return PurchaseOrder.model_validate_json(item.doc), int(item.version)

    def save_purchase_order(self, ctx: TenantContext, po: PurchaseOrder, expected_version: int) -> None:
        m = self._m
        item = m.versioned(
            PK=purchase_order_pk(ctx, po.po_number),
            SK="META",
            doc=po.model_dump_json(),
            version=expected_version + 1,
        )
        condition = (
            m.item.PK.does_not_exist() if expected_version == 0 else m.versioned.version == expected_version
        )
        try:
            item.save(condition=condition)
        except Exception as error:
            if conditional_check_failed(error):
                raise StaleVersion() from error
            raise
