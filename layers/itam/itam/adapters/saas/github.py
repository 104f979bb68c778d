"""GitHub Copilot seats of an organization, through the GitHub REST API (version 2022-11-28).

Collected, one product ("GitHub Copilot Business" or "GitHub Copilot Enterprise" by the plan):
- `GET /orgs/{org}/copilot/billing`: purchased = `seat_breakdown.total` (the seats billed this
  cycle), and `plan_type`;
- `GET /orgs/{org}/copilot/billing/seats?per_page=100` (paged by the Link header): each seat's
  `assignee.login` and `last_activity_at`; assigned = `total_seats` (else the seats listed). A seat
  not used within the window, or never, is reclaimable.

Access: a token of an organization owner: a fine-grained token with the organization permission
"GitHub Copilot Business" (read), or a classic token / OAuth app token with `manage_billing:copilot`
(or `read:org`). Rate limits: 403 or 429 with `retry-after`, or with `x-ratelimit-remaining: 0`
(waits until `x-ratelimit-reset`); a secondary rate limit without either waits a minute.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Annotated, Any, ClassVar
from urllib.parse import quote

from pydantic import Field, ValidationError

from itam.adapters.saas import SaasConnector
from itam.adapters.saas.http import HttpClient, ProviderSession, link_pages, malformed
from itam.inventory.saas import (
    GitHubCredentials,
    GitHubSettings,
    Moment,
    Provider,
    ProviderRecord,
    SaasProduct,
    SeatTally,
    UsageWindow,
    product_or_warning,
    read_records,
)

API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
SEATS_PAGE = 100
PLANS = {"business": "GitHub Copilot Business", "enterprise": "GitHub Copilot Enterprise"}
Count = Annotated[int, Field(ge=0)]


class SeatBreakdown(ProviderRecord):
    total: Count | None = None


class CopilotBilling(ProviderRecord):
    """`GET /orgs/{org}/copilot/billing`."""

    seat_breakdown: SeatBreakdown | None = None
    plan_type: Annotated[str, Field(max_length=64)] | None = None


class Assignee(ProviderRecord):
    login: Annotated[str, Field(min_length=1, max_length=256)]


class CopilotSeat(ProviderRecord):
    """An element of `seats` in `GET /orgs/{org}/copilot/billing/seats`."""

    assignee: Assignee
    last_activity_at: Moment = None


# --- transform -----------------------------------------------------------------------------------


def read_billing(doc: Mapping[str, Any]) -> CopilotBilling:
    try:
        return CopilotBilling.model_validate(doc)
    except ValidationError:
        raise malformed("github", "the Copilot billing answer cannot be read") from None


def copilot_product(
    billing: CopilotBilling,
    tally: SeatTally,
    total_seats: int | None,
    *,
    organization: str,
    window: UsageWindow,
    warn: Callable[[str], None],
) -> SaasProduct | None:
    """The organization's Copilot product from its billing and its tallied seats."""
    assigned = total_seats if total_seats is not None else tally.seats
    breakdown = billing.seat_breakdown
    purchased = breakdown.total if breakdown is not None and breakdown.total is not None else None
    if purchased is None:
        warn("the billing answer has no seat_breakdown.total: purchased = assigned")
        purchased = assigned
    usage = tally.usage(assigned)
    plan = (billing.plan_type or "").lower()
    return product_or_warning(
        warn,
        provider="github",
        external_key=f"github:{organization.lower()}:copilot",
        product=PLANS.get(plan, "GitHub Copilot"),
        vendor="GitHub",
        sku=plan or None,
        purchased=purchased,
        assigned=assigned,
        active=usage.active,
        activity_known=True,
        reclaimable=usage.reclaimable,
        reclaimable_total=usage.reclaimable_total,
        observed_at=window.now,
    )


def add_seats(
    doc: Mapping[str, Any], tally: SeatTally, warn: Callable[[str], None]
) -> tuple[int, int | None]:
    """Tally the readable seats of one page; (seats on the page, its total_seats or None)."""
    seats = doc.get("seats")
    if not isinstance(seats, list):
        raise malformed("github", "a Copilot seats page has no seats array")
    for seat in read_records(CopilotSeat, seats, warn, "Copilot seat"):
        tally.add(seat.assignee.login, seat.last_activity_at)
    total = doc.get("total_seats")
    total = total if isinstance(total, int) and not isinstance(total, bool) and total >= 0 else None
    return len(seats), total


def transform(
    billing_doc: Mapping[str, Any],
    seat_pages: Iterable[Mapping[str, Any]],
    *,
    organization: str,
    window: UsageWindow,
    warn: Callable[[str], None],
) -> SaasProduct | None:
    """The product from the billing answer and the seats pages, as the API returns them."""
    billing = read_billing(billing_doc)
    tally = SeatTally(window)
    total: int | None = None
    for doc in seat_pages:
        _, total = add_seats(doc, tally, warn)
    return copilot_product(billing, tally, total, organization=organization, window=window, warn=warn)


# --- get -----------------------------------------------------------------------------------------


class GitHubCopilotCollector(SaasConnector[GitHubSettings, GitHubCredentials]):
    """Collects an organization's Copilot subscription and seats."""

    provider: ClassVar[Provider] = "github"

    def _hosts(self) -> Mapping[str, str]:
        return {"github": API_URL}

    def _secrets(self) -> Sequence[str]:
        return [self._credentials.token.get_secret_value()]

    def _collect(self, session: ProviderSession, window: UsageWindow) -> Iterator[SaasProduct]:
        token = self._credentials.token.get_secret_value()
        github = session.client(
            "github",
            auth=lambda: {"Authorization": f"Bearer {token}"},
            headers={"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION},
        )
        org = quote(self.settings.organization, safe="")
        billing = github.get(github.url(f"/orgs/{org}/copilot/billing")).json_object()
        seats = github.url(f"/orgs/{org}/copilot/billing/seats", {"per_page": SEATS_PAGE})
        product = transform(
            billing,
            self._seat_pages(github, session, seats),
            organization=self.settings.organization,
            window=window,
            warn=session.warn,
        )
        if product is not None:
            yield product

    @staticmethod
    def _seat_pages(github: HttpClient, session: ProviderSession, url: str) -> Iterator[dict[str, Any]]:
        """Every Copilot seats page, following the Link header."""
        for response in link_pages(github, url):
            doc = response.json_object()
            seats = doc.get("seats")
            session.count(len(seats) if isinstance(seats, list) else 0)
            yield doc
