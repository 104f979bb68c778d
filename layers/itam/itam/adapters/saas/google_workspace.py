"""Google Workspace licenses through the Enterprise License Manager API.

Collected, for each configured product (by default Google Workspace as a whole, product id
`Google-Apps`, which covers every edition SKU):
- `GET /apps/licensing/v1/product/{productId}/sku/{skuId}/users` (listForProductAndSku) for a
  product configured with a SKU, or `GET /apps/licensing/v1/product/{productId}/users`
  (listForProduct) for a whole product, grouped by `skuId`; `customerId` and `maxResults=1000`,
  paged by `pageToken` / `nextPageToken`.
One product per SKU: assigned = the users holding it, the product named by the SKU's `skuName`.
The License Manager reports neither purchased seats nor activity (those are in the Reports API,
which is not collected): purchased = assigned, and activity is unknown. A configured product or SKU
the account does not have (400/404) is skipped with a warning.

Access: a service account with domain-wide delegation for the OAuth scope
`https://www.googleapis.com/auth/apps.licensing`, acting as an administrator with the License
Management privilege (`admin_email`). The connector signs a JWT (RS256; iss = the service account,
sub = the administrator, aud = https://oauth2.googleapis.com/token) with the key's private key and
exchanges it there (JWT bearer grant). The key's own `token_uri` is ignored.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from typing import Annotated, Any, ClassVar
from urllib.parse import quote

from pydantic import Field

from itam.adapters.saas import SaasConnector
from itam.adapters.saas.http import (
    BearerToken,
    HttpClient,
    PageGuard,
    ProviderSession,
    access_token,
    malformed,
    provider_error,
)
from itam.inventory.errors import ConnectorAuthError
from itam.inventory.saas import (
    DisplayText,
    GoogleProduct,
    GoogleServiceAccountKey,
    GoogleWorkspaceCredentials,
    GoogleWorkspaceSettings,
    Provider,
    ProviderRecord,
    SaasProduct,
    SeatTally,
    UsageWindow,
    product_or_warning,
    read_records,
)

OAUTH_URL = "https://oauth2.googleapis.com"
# The JWT's audience: always Google's own token URL, whatever a key file says.
GRANT_AUDIENCE = "https://oauth2.googleapis.com/token"
LICENSING_URL = "https://licensing.googleapis.com"
LICENSING_SCOPE = "https://www.googleapis.com/auth/apps.licensing"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_SECONDS = 3600
PAGE_SIZE = 1000
TOKEN_REFUSALS = frozenset({400, 401, 403})
NOT_SUBSCRIBED = frozenset({400, 404})

# SKU id -> name, from the License Manager's "Products and SKUs" list (used when an assignment
# carries no skuName).
SKU_NAMES = {
    "1010020027": "Google Workspace Business Starter",
    "1010020028": "Google Workspace Business Standard",
    "1010020025": "Google Workspace Business Plus",
    "1010060003": "Google Workspace Enterprise Essentials",
    "1010020029": "Google Workspace Enterprise Starter",
    "1010020026": "Google Workspace Enterprise Standard",
    "1010020020": "Google Workspace Enterprise Plus",
    "1010060001": "Google Workspace Essentials",
    "1010060005": "Google Workspace Enterprise Essentials Plus",
    "1010020030": "Google Workspace Frontline Starter",
    "1010020031": "Google Workspace Frontline Standard",
    "1010020034": "Google Workspace Frontline Plus",
    "1010020035": "Google Workspace Business Continuity",
    "1010020036": "Google Workspace Business Continuity Plus",
    "1010680001": "Gemini Enterprise Business Edition",
}

GoogleId = Annotated[str, Field(min_length=1, max_length=128)]


class LicenseAssignment(ProviderRecord):
    """An element of LicenseAssignmentList's items[]."""

    user_id: Annotated[str, Field(alias="userId", min_length=1, max_length=256)]
    product_id: GoogleId | None = Field(default=None, alias="productId")
    sku_id: GoogleId | None = Field(default=None, alias="skuId")
    sku_name: DisplayText | None = Field(default=None, alias="skuName")
    product_name: DisplayText | None = Field(default=None, alias="productName")


# --- transform -----------------------------------------------------------------------------------


@dataclass
class SkuSeats:
    product_id: str
    sku_id: str
    sku_name: str | None
    tally: SeatTally


class ProductSeats:
    """The holders of each SKU of one configured product, as the pages stream in."""

    def __init__(self, selection: GoogleProduct) -> None:
        self.selection = selection
        self.skus: dict[tuple[str, str], SkuSeats] = {}
        if selection.sku_id is not None:  # a configured SKU is reported even with no holder
            self._sku(selection.product_id, selection.sku_id, None)

    def _sku(self, product_id: str, sku_id: str, name: str | None) -> SkuSeats:
        seats = self.skus.get((product_id, sku_id))
        if seats is None:
            seats = self.skus[(product_id, sku_id)] = SkuSeats(product_id, sku_id, name, SeatTally(None))
        elif seats.sku_name is None:
            seats.sku_name = name
        return seats

    def add(self, assignment: LicenseAssignment, warn: Callable[[str], None]) -> None:
        sku_id = self.selection.sku_id or assignment.sku_id
        if sku_id is None:
            warn(f"skipped an assignment of {self.selection.product_id} without skuId")
            return
        self._sku(self.selection.product_id, sku_id, assignment.sku_name).tally.add(assignment.user_id)


def sku_products(
    seats: ProductSeats, *, customer: str, observed_at: datetime, warn: Callable[[str], None]
) -> Iterator[SaasProduct]:
    """One product per SKU; purchased = assigned and activity unknown (see the module docstring)."""
    for sku in seats.skus.values():
        assigned = sku.tally.seats
        usage = sku.tally.usage(assigned)
        product = product_or_warning(
            warn,
            provider="google_workspace",
            external_key=f"google_workspace:{customer}:{sku.product_id}:{sku.sku_id}",
            product=sku.sku_name or SKU_NAMES.get(sku.sku_id) or f"{sku.product_id} {sku.sku_id}"[:200],
            vendor="Google",
            sku=sku.sku_id,
            purchased=assigned,
            assigned=assigned,
            active=usage.active,
            activity_known=False,
            reclaimable=usage.reclaimable,
            reclaimable_total=usage.reclaimable_total,
            observed_at=observed_at,
        )
        if product is not None:
            yield product


def transform(
    selection: GoogleProduct,
    item_pages: Iterable[Iterable[Any]],
    *,
    customer: str,
    window: UsageWindow,
    warn: Callable[[str], None],
) -> list[SaasProduct]:
    """Products of one configured product from the `items` arrays of its license assignment pages."""
    seats = ProductSeats(selection)
    for items in item_pages:
        for assignment in read_records(LicenseAssignment, items, warn, "license assignment"):
            seats.add(assignment, warn)
    return list(sku_products(seats, customer=customer, observed_at=window.now, warn=warn))


# --- get -----------------------------------------------------------------------------------------


def signed_assertion(key: GoogleServiceAccountKey, subject: str, issued_at: int) -> str:
    """The JWT bearer grant's assertion, signed RS256 with the service account's private key."""
    import jwt

    claims = {
        "iss": key.client_email,
        "sub": subject,
        "scope": LICENSING_SCOPE,
        "aud": GRANT_AUDIENCE,
        "iat": issued_at,
        "exp": issued_at + ASSERTION_SECONDS,
    }
    headers = {"kid": key.private_key_id} if key.private_key_id else None
    try:
        return jwt.encode(claims, key.private_key.get_secret_value(), algorithm="RS256", headers=headers)
    except Exception:  # whatever the key's flaw, its content must not reach a message
        message = "the service account's private key cannot sign (not an RSA private key)"
        raise ConnectorAuthError(message, code="invalid_private_key", provider_message=message) from None


class GoogleWorkspaceCollector(SaasConnector[GoogleWorkspaceSettings, GoogleWorkspaceCredentials]):
    """Collects the license assignments of the configured Google products."""

    provider: ClassVar[Provider] = "google_workspace"

    @property
    def customer(self) -> str:
        """The account in product keys: the customer id, or the admin's domain for my_customer."""
        customer_id = self.settings.customer_id
        return self.settings.domain if customer_id == "my_customer" else customer_id

    def _hosts(self) -> Mapping[str, str]:
        return {"google_oauth": OAUTH_URL, "google_licensing": LICENSING_URL}

    def _secrets(self) -> Sequence[str]:
        return [self._credentials.service_account.private_key.get_secret_value()]

    def _collect(self, session: ProviderSession, window: UsageWindow) -> Iterator[SaasProduct]:
        token = BearerToken(session, lambda: self._token(session))
        licensing = session.client("google_licensing", auth=token.header)
        for selection in self.settings.products:
            pages = self._assignment_pages(licensing, session, selection)
            first = next(pages, None)
            if first is None:
                continue  # the account does not have this product (a warning says so)
            yield from transform(
                selection, chain([first], pages), customer=self.customer, window=window, warn=session.warn
            )

    def _token(self, session: ProviderSession) -> tuple[str, int]:
        assertion = signed_assertion(
            self._credentials.service_account, self.settings.admin_email, int(time.time())
        )
        session.keep_secret(assertion)
        oauth = session.client("google_oauth")
        response = oauth.post_form(
            oauth.url("/token"),
            {"grant_type": JWT_BEARER, "assertion": assertion},
            auth_statuses=TOKEN_REFUSALS,
        )
        return access_token(response)

    def _assignment_pages(
        self, licensing: HttpClient, session: ProviderSession, selection: GoogleProduct
    ) -> Iterator[list[Any]]:
        """The `items` array of each page of one configured product's license assignments; none at
        all when the account does not have the product."""
        path = f"/apps/licensing/v1/product/{quote(selection.product_id, safe='')}"
        if selection.sku_id is not None:
            path += f"/sku/{quote(selection.sku_id, safe='')}"
        guard = PageGuard(session.provider)
        params: dict[str, str | int] = {"customerId": self.settings.customer_id, "maxResults": PAGE_SIZE}
        allow = NOT_SUBSCRIBED  # on the first page only: later, a refusal ends the run
        while True:
            response = licensing.get(licensing.url(f"{path}/users", params), allow=allow)
            allow = frozenset()
            if response.status in NOT_SUBSCRIBED:
                _, message = provider_error(response.body)
                session.warn(f"{selection.product_id}/{selection.sku_id or '*'} skipped: {message}")
                return
            doc = response.json_object()
            items = doc.get("items", [])
            if not isinstance(items, list):
                raise malformed(session.provider, f"{response.path} answered without an items array")
            session.count(len(items))
            yield items
            page_token = doc.get("nextPageToken")
            if not page_token:
                return
            if not isinstance(page_token, str):
                raise malformed(session.provider, "nextPageToken is not a string")
            guard.check(page_token)
            params["pageToken"] = page_token
