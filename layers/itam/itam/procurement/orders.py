"""Purchase orders as deliveries describe them, and what the register should hold for each.

A delivery changes the PO's merged state (`merge`); the register is then brought to what that state
says (`plan`), whatever was applied before. So deliveries may arrive in any order, and a repeated
one changes nothing: a receipt before the approval is kept until the approval creates the units it
puts in stock.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from itam.assets.models import Money
from itam.procurement.models import (
    Category,
    InvoicePosted,
    LineReceived,
    LineState,
    PoApproved,
    PoCancelled,
    PoLine,
    PurchaseOrder,
    ReceiptState,
)

Event = PoApproved | PoCancelled | LineReceived | InvoicePosted


def po_number_of(event: Event) -> str:
    return event.data.po_number


def merge(po: PurchaseOrder | None, event: Event, delivery_id: str) -> PurchaseOrder:
    """The PO state after one more delivery; a delivery already merged changes nothing."""
    current = po or PurchaseOrder(po_number=po_number_of(event))
    if delivery_id in current.deliveries:
        return current
    po = current.model_copy(deep=True)
    po.deliveries.append(delivery_id)
    if isinstance(event, PoApproved):
        po.approved = True
        po.supplier = event.data.supplier or po.supplier
        po.currency = event.data.currency or po.currency
        for line in event.data.lines:
            known = po.lines.get(line.line_number)
            if known is None or known.as_of <= event.occurred_at:
                po.lines[line.line_number] = LineState(line=line, as_of=event.occurred_at)
    elif isinstance(event, PoCancelled):
        po.cancelled = True
    elif isinstance(event, LineReceived):
        receipt = event.data
        po.receipts[f"{receipt.line_number}:{receipt.receipt_id}"] = ReceiptState(
            line_number=receipt.line_number,
            quantity=receipt.quantity,
            serial_numbers=list(receipt.serial_numbers),
            received_on=receipt.received_on,
        )
    else:
        for invoiced in event.data.lines:
            seen = po.invoiced_as_of.get(invoiced.line_number)
            if seen is None or seen <= event.occurred_at:
                price = Money(amount=invoiced.unit_price, currency=event.data.currency)
                po.invoiced[invoiced.line_number] = price
                po.invoiced_as_of[invoiced.line_number] = event.occurred_at
    return po


@dataclass(frozen=True)
class UnitPlan:
    """One hardware unit of a PO line, as the register should hold it."""

    asset_id: str
    line: PoLine
    index: int
    state: str  # ordered, in_stock or cancelled
    serial_number: str | None
    cost: Money | None
    received_on: date | None = None


@dataclass(frozen=True)
class EntitlementPlan:
    """The license entitlement of a software or SaaS line."""

    license_id: str
    line: PoLine
    quantity: int
    unit_cost: Money | None


@dataclass
class Plan:
    units: list[UnitPlan] = field(default_factory=list)
    entitlements: list[EntitlementPlan] = field(default_factory=list)


def unit_id(tenant_id: str, po_number: str, line_number: int, index: int) -> str:
    """The asset id of a PO line's unit: the same on every delivery, so creates cannot repeat."""
    key = f"po-unit|{tenant_id}|{po_number}|{line_number}|{index}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def entitlement_id(tenant_id: str, po_number: str, line_number: int) -> str:
    key = f"po-license|{tenant_id}|{po_number}|{line_number}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def plan(po: PurchaseOrder, tenant_id: str) -> Plan:
    """What the register should hold for this PO. Nothing until the PO is approved; after a
    cancellation, units not received are cancelled and entitlements drop to what was received."""
    result = Plan()
    if not po.approved:
        return result
    for number in sorted(po.lines):
        line = po.lines[number].line
        price = _price(po, line)
        received, serials = po.received(number)
        if line.category is Category.HARDWARE:
            # Units beyond the ordered quantity (a quantity lowered later) are cancelled if not received.
            highest = max(line.quantity, received)
            for index in range(highest):
                if index < received:
                    state = "in_stock"
                elif po.cancelled or index >= line.quantity:
                    state = "cancelled"
                else:
                    state = "ordered"
                result.units.append(
                    UnitPlan(
                        asset_id=unit_id(tenant_id, po.po_number, number, index),
                        line=line,
                        index=index,
                        state=state,
                        serial_number=serials[index] if index < len(serials) else None,
                        cost=price,
                    )
                )
        else:
            quantity = 0 if po.cancelled else line.quantity
            result.entitlements.append(
                EntitlementPlan(
                    license_id=entitlement_id(tenant_id, po.po_number, number),
                    line=line,
                    quantity=quantity,
                    unit_cost=price,
                )
            )
    return result


def _price(po: PurchaseOrder, line: PoLine) -> Money | None:
    invoiced = po.invoiced.get(line.line_number)
    if invoiced is not None:
        return invoiced
    currency = line.currency or po.currency
    if line.unit_price is None or currency is None:
        return None
    return Money(amount=Decimal(line.unit_price), currency=currency)
