"""Procurement intake: webhook endpoints, deliveries, the purchasing event schema and the PO state."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictInt, model_validator

from itam.assets.models import Day, Model, Money, Note, ShortText, Stamp, Strict, Text


class Provider(StrEnum):
    GENERIC = "generic"  # deliveries carry the purchasing events themselves
    PRECORO = "precoro"  # thin notifications; the purchase order is fetched from Precoro's API


class EndpointCreate(Strict):
    """Body of POST /v1/webhook-endpoints."""

    name: ShortText
    provider: Provider = Provider.GENERIC
    description: Note | None = None
    api_token: Annotated[str, Field(min_length=8, max_length=512)] | None = Field(
        default=None, description="precoro: the X-AUTH-TOKEN to fetch purchase orders (write-only)"
    )
    api_email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=254)] | None = Field(
        default=None, description="precoro: the email the token belongs to"
    )

    @model_validator(mode="after")
    def _credentials(self) -> EndpointCreate:
        needed = self.provider is Provider.PRECORO
        if needed and (self.api_token is None or self.api_email is None):
            raise ValueError("a precoro endpoint needs api_token and api_email")
        if not needed and (self.api_token is not None or self.api_email is not None):
            raise ValueError("api_token and api_email are for precoro endpoints")
        return self


class EndpointPatch(Strict):
    """Body of PATCH /v1/webhook-endpoints/{id}."""

    name: ShortText | None = None
    description: Note | None = None
    enabled: StrictBool | None = None


class RotateRequest(Strict):
    overlap_hours: Annotated[StrictInt, Field(ge=0, le=168)] = Field(
        default=24, description="How long the previous secret keeps verifying"
    )


class WebhookEndpoint(Model):
    id: str
    name: str
    provider: Provider
    description: str | None = None
    enabled: bool = True
    url_path: str
    version: int
    previous_secret_expires_at: datetime | None = None
    created_at: datetime
    created_by: str
    updated_at: datetime


class EndpointWithSecret(WebhookEndpoint):
    """The answer of a create or a rotation: the only time the secret is shown."""

    secret: str = Field(description="whsec_... : keep it in the sending system; it is not shown again")


class EndpointPage(Model):
    items: list[WebhookEndpoint]
    next_cursor: str | None = None


class DeliveryStatus(StrEnum):
    RECEIVED = "received"
    QUEUED = "queued"
    PROCESSED = "processed"
    FAILED = "failed"


class Delivery(Model):
    """One accepted webhook delivery (webhook-id unique per endpoint) and what became of it."""

    id: str = Field(description="The sender's webhook-id")
    endpoint_id: str
    received_at: datetime
    event_type: str | None = None
    status: DeliveryStatus
    error: str | None = None
    processed_at: datetime | None = None
    effects: list[str] = Field(default_factory=list, description="What the delivery changed")


class DeliveryPage(Model):
    items: list[Delivery]
    next_cursor: str | None = None


class Accepted(Model):
    delivery_id: str
    status: DeliveryStatus


# ---------------------------------------------------------------------- the purchasing event schema


class Category(StrEnum):
    HARDWARE = "hardware"
    SOFTWARE = "software"
    SAAS = "saas"


class PoLine(Strict):
    line_number: Annotated[StrictInt, Field(ge=1, le=100_000)]
    sku: ShortText | None = Field(default=None, description="Supplier part / SKU")
    manufacturer_part: ShortText | None = None
    manufacturer: ShortText | None = None
    description: Text
    category: Category = Field(description="Hardware lines become assets; software and SaaS lines licenses")
    quantity: Annotated[StrictInt, Field(ge=0, le=10_000)]
    unit_price: Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=4)] | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    service_start: Day | None = None
    service_end: Day | None = None
    request_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")] | None = Field(
        default=None, description="The asset request this line fulfils"
    )

    @model_validator(mode="after")
    def _term(self) -> PoLine:
        if self.service_start and self.service_end and self.service_end < self.service_start:
            raise ValueError("service_end is before service_start")
        return self


class PoHeader(Strict):
    po_number: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")]
    supplier: ShortText | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None


class PoApproved(Strict):
    type: Literal["po.approved", "po.changed"]
    occurred_at: Stamp
    data: PoApprovedData


class PoApprovedData(PoHeader):
    lines: Annotated[list[PoLine], Field(min_length=1, max_length=500)]


class PoCancelled(Strict):
    type: Literal["po.cancelled"]
    occurred_at: Stamp
    data: PoHeader


class Receipt(Strict):
    po_number: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")]
    line_number: Annotated[StrictInt, Field(ge=1, le=100_000)]
    receipt_id: ShortText = Field(description="The receiving document; a receipt counts once")
    quantity: Annotated[StrictInt, Field(ge=1, le=10_000)]
    serial_numbers: Annotated[list[ShortText], Field(max_length=10_000)] = Field(default_factory=list)
    received_on: Day | None = None

    @model_validator(mode="after")
    def _serials(self) -> Receipt:
        if len(self.serial_numbers) > self.quantity:
            raise ValueError("more serial numbers than units received")
        return self


class LineReceived(Strict):
    type: Literal["po.line_received"]
    occurred_at: Stamp
    data: Receipt


class InvoiceLine(Strict):
    line_number: Annotated[StrictInt, Field(ge=1, le=100_000)]
    unit_price: Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=4)]


class InvoiceData(Strict):
    po_number: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")]
    invoice_number: ShortText
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    lines: Annotated[list[InvoiceLine], Field(min_length=1, max_length=500)]


class InvoicePosted(Strict):
    type: Literal["invoice.posted"]
    occurred_at: Stamp
    data: InvoiceData


PurchaseEvent = Annotated[
    PoApproved | PoCancelled | LineReceived | InvoicePosted, Field(discriminator="type")
]


# ---------------------------------------------------------------------- the PO as the deliveries built it


class LineState(Model):
    line: PoLine
    as_of: datetime


class ReceiptState(Model):
    line_number: int
    quantity: int
    serial_numbers: list[str] = Field(default_factory=list)
    received_on: date | None = None


class PurchaseOrder(Model):
    """What the deliveries so far say about one PO, merged so that their order does not matter:
    each line keeps its latest version (by occurred_at), receipts count once each, the latest invoice
    price of a line wins, and a cancellation is final."""

    po_number: str
    supplier: str | None = None
    currency: str | None = None
    approved: bool = False
    cancelled: bool = False
    lines: dict[int, LineState] = Field(default_factory=dict)
    receipts: dict[str, ReceiptState] = Field(default_factory=dict)
    invoiced: dict[int, Money] = Field(default_factory=dict)
    invoiced_as_of: dict[int, datetime] = Field(default_factory=dict)
    deliveries: list[str] = Field(default_factory=list)

    def received(self, line_number: int) -> tuple[int, list[str]]:
        quantity, serials = 0, []
        for receipt in sorted(self.receipts.values(), key=lambda r: r.received_on or date.min):
            if receipt.line_number == line_number:
                quantity += receipt.quantity
                serials += receipt.serial_numbers
        return quantity, serials
