"""Precoro: thin webhook notifications (`{id, type, action, idn}`) naming a purchase order, which is
then fetched from Precoro's API and turned into the generic purchasing event.

The fields read from a purchase order (`GET /purchaseorders/{idn}`, headers `X-AUTH-TOKEN` and
`email`): `idn`, `status` (2 approved, 3 canceled; others are not acted on), `supplier.name`,
`currency` (ISO code), `modified` or `approvalDate`, and `items[]` with `id`, `name`, `sku`,
`quantity`, `price`, `receivedQuantity` and `customFields.category` (hardware, software or saas;
hardware when absent).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from itam.procurement.errors import ProviderError
from itam.procurement.models import LineReceived, PoApproved, PoCancelled

API_URL = "https://api.precoro.com"
PURCHASE_ORDER = 2
APPROVED, CANCELED = 2, 3
MAX_RESPONSE_BYTES = 2 * 1024 * 1024
TIMEOUT_SECONDS = 10


class Notification(BaseModel):
    """A Precoro webhook message."""

    model_config = ConfigDict(extra="ignore")

    id: int
    type: int
    action: int = Field(description="0 created, 1 updated")
    idn: int | str | None = None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # never follow a redirect away from the provider's own host


class PrecoroClient:
    def __init__(self, token: str, email: str, base_url: str = API_URL) -> None:
        self._token, self._email = token, email
        self._base = base_url.rstrip("/")
        self._opener = urllib.request.build_opener(_NoRedirect())

    def purchase_order(self, idn: int | str) -> dict[str, Any]:
        url = f"{self._base}/purchaseorders/{urllib.parse.quote(str(idn), safe='')}"
        request = urllib.request.Request(  # noqa: S310 - the URL is the provider's fixed base
            url, headers={"X-AUTH-TOKEN": self._token, "email": self._email, "Accept": "application/json"}
        )
        try:
            with self._opener.open(request, timeout=TIMEOUT_SECONDS) as response:
                data = response.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as error:
            raise ProviderError(f"Precoro answered {error.code} for purchase order {idn}") from error
        except (urllib.error.URLError, TimeoutError) as error:
            raise ProviderError(f"Precoro could not be reached: {error}") from error
        if len(data) > MAX_RESPONSE_BYTES:
            raise ProviderError("Precoro's answer is larger than 2 MB")
        try:
            parsed = json.loads(data)
        except ValueError as error:
            raise ProviderError("Precoro's answer is not JSON") from error
        if not isinstance(parsed, dict):
            raise ProviderError("Precoro's answer is not a purchase order")
        return parsed.get("data", parsed) if isinstance(parsed.get("data"), dict) else parsed


def events_for(po: dict[str, Any]) -> list[PoApproved | PoCancelled | LineReceived]:
    """The generic purchasing events a fetched purchase order amounts to (validated as any delivery)."""
    number = str(po.get("idn") or po.get("id") or "")
    at = po.get("modified") or po.get("approvalDate") or datetime.now(UTC).isoformat()
    status = po.get("status")
    supplier = (po.get("supplier") or {}).get("name") if isinstance(po.get("supplier"), dict) else None
    currency = po.get("currency") if isinstance(po.get("currency"), str) else None
    if status == CANCELED:
        return [
            PoCancelled.model_validate(
                {"type": "po.cancelled", "occurred_at": at, "data": {"po_number": number}}
            )
        ]
    if status != APPROVED:
        return []
    lines, receipts = [], []
    for n, item in enumerate(po.get("items") or [], start=1):
        category = ((item.get("customFields") or {}).get("category") or "hardware").lower()
        lines.append(
            {
                "line_number": n,
                "sku": item.get("sku"),
                "description": item.get("name") or f"item {n}",
                "category": category,
                "quantity": int(item.get("quantity") or 0),
                "unit_price": str(Decimal(str(item.get("price")))) if item.get("price") is not None else None,
                "currency": currency,
            }
        )
        got = int(item.get("receivedQuantity") or 0)
        if got:
            # Precoro gives the quantity received so far: one receipt per item, replaced each time.
            receipts.append(
                {
                    "type": "po.line_received",
                    "occurred_at": at,
                    "data": {
                        "po_number": number,
                        "line_number": n,
                        "receipt_id": f"precoro-{item.get('id')}",
                        "quantity": got,
                    },
                }
            )
    approved = {
        "type": "po.approved",
        "occurred_at": at,
        "data": {"po_number": number, "supplier": supplier, "currency": currency, "lines": lines},
    }
    try:
        return [PoApproved.model_validate(approved), *(LineReceived.model_validate(r) for r in receipts)]
    except ValidationError as error:
        raise ValueError(
            f"Precoro purchase order {number} cannot be used: {error.errors()[0]['msg']}"
        ) from error
