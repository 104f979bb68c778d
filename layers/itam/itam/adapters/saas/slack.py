"""Slack seats of a workspace, through the Slack Web API.

Collected, one product "Slack":
- `GET /api/auth.test`: checks the token and names the workspace (`team_id`) when it is not
  configured;
- `GET /api/team.billableInfo` (paged by `cursor` / `response_metadata.next_cursor`): each
  member's `billing_active`. Under Slack's Fair Billing Policy a workspace pays for its active
  members only, so purchased = assigned = the members with billing_active true.
Slack publishes no per-member last activity through these methods (billing_active already folds
activity into billing), so activity is unknown and no seat is reported as reclaimable.

Access: a user token (xoxp-) of a workspace owner or admin with the `admin` scope, which
team.billableInfo requires (a paid plan); an org-level token needs `team_id`. Errors come as HTTP
200 with {"ok": false, "error": ...}: invalid_auth, not_authed, account_inactive, token_revoked,
token_expired, missing_scope, not_allowed_token_type and no_permission end the run as refused
credentials. Rate limits: 429 with Retry-After.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

from itam.adapters.saas import SaasConnector
from itam.adapters.saas.http import HttpClient, PageGuard, ProviderSession, Response, malformed
from itam.inventory.errors import ConnectorAuthError, ConnectorError
from itam.inventory.saas import (
    Provider,
    SaasProduct,
    SeatTally,
    SlackCredentials,
    SlackSettings,
    UsageWindow,
    product_or_warning,
)

API_URL = "https://slack.com"
PAGE_SIZE = 1000
AUTH_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "missing_scope",
        "not_allowed_token_type",
        "no_permission",
        "ekm_access_denied",
        "team_access_not_granted",
    }
)
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,30}$")


def slack_answer(response: Response, method: str) -> dict[str, Any]:
    """The body of a Web API answer; {"ok": false} becomes the matching error."""
    doc = response.json_object()
    if doc.get("ok") is True:
        return doc
    error = doc.get("error") if isinstance(doc.get("error"), str) else "unknown_error"
    error = str(error)[:100]
    needed = doc.get("needed")
    message = f"{error} (needed: {str(needed)[:100]})" if isinstance(needed, str) else error
    if error in AUTH_ERRORS:
        raise ConnectorAuthError(
            f"slack refused the token for {method}: {message}", code=error, provider_message=message
        )
    raise ConnectorError(f"slack answered {method} with {message}", code=error)


def next_cursor(doc: Mapping[str, Any]) -> Any:
    metadata = doc.get("response_metadata")
    return metadata.get("next_cursor") if isinstance(metadata, dict) else None


# --- transform -----------------------------------------------------------------------------------


def add_billable(doc: Mapping[str, Any], tally: SeatTally, warn: Callable[[str], None]) -> int:
    """Tally the members with billing_active true of one team.billableInfo page; the entries read."""
    info = doc.get("billable_info", {})
    if not isinstance(info, dict):
        raise malformed("slack", "team.billableInfo answered without a billable_info object")
    for user_id, entry in info.items():
        active = entry.get("billing_active") if isinstance(entry, dict) else None
        if not USER_ID.fullmatch(str(user_id)) or not isinstance(active, bool):
            warn(f"skipped a billable_info entry that cannot be read ({str(user_id)[:40]})")
        elif active:
            tally.add(user_id)
    return len(info)


def billable_product(
    tally: SeatTally, *, team_id: str, observed_at: datetime, warn: Callable[[str], None]
) -> SaasProduct | None:
    seats = tally.seats
    return product_or_warning(
        warn,
        provider="slack",
        external_key=f"slack:{team_id}",
        product="Slack",
        vendor="Slack",
        purchased=seats,
        assigned=seats,
        active=seats,
        activity_known=False,
        reclaimable=[],
        reclaimable_total=0,
        observed_at=observed_at,
    )


def transform(
    pages: Iterable[Mapping[str, Any]], *, team_id: str, window: UsageWindow, warn: Callable[[str], None]
) -> SaasProduct | None:
    """The product from team.billableInfo pages as the API returns them."""
    tally = SeatTally(None)
    for doc in pages:
        add_billable(doc, tally, warn)
    return billable_product(tally, team_id=team_id, observed_at=window.now, warn=warn)


# --- get -----------------------------------------------------------------------------------------


class SlackCollector(SaasConnector[SlackSettings, SlackCredentials]):
    """Collects a workspace's billable members."""

    provider: ClassVar[Provider] = "slack"

    def _hosts(self) -> Mapping[str, str]:
        return {"slack": API_URL}

    def _secrets(self) -> Sequence[str]:
        return [self._credentials.token.get_secret_value()]

    def _collect(self, session: ProviderSession, window: UsageWindow) -> Iterator[SaasProduct]:
        token = self._credentials.token.get_secret_value()
        slack = session.client("slack", auth=lambda: {"Authorization": f"Bearer {token}"})
        team_id = self._team(slack)
        product = transform(
            self._billable_pages(slack, session), team_id=team_id, window=window, warn=session.warn
        )
        if product is not None:
            yield product

    def _billable_pages(self, slack: HttpClient, session: ProviderSession) -> Iterator[dict[str, Any]]:
        """Every team.billableInfo page, following next_cursor."""
        guard = PageGuard(session.provider)
        params: dict[str, str | int] = {"limit": PAGE_SIZE}
        if self.settings.team_id is not None:
            params["team_id"] = self.settings.team_id
        while True:
            doc = slack_answer(slack.get(slack.url("/api/team.billableInfo", params)), "team.billableInfo")
            info = doc.get("billable_info", {})
            session.count(len(info) if isinstance(info, dict) else 0)
            yield doc
            cursor = next_cursor(doc)
            if not cursor:
                return
            if not isinstance(cursor, str):
                raise malformed(session.provider, "next_cursor is not a string")
            guard.check(cursor)
            params["cursor"] = cursor

    def _team(self, slack: HttpClient) -> str:
        """The configured workspace, else the token's (auth.test also checks the token first)."""
        doc = slack_answer(slack.get(slack.url("/api/auth.test")), "auth.test")
        if self.settings.team_id is not None:
            return self.settings.team_id
        team_id = doc.get("team_id")
        if not isinstance(team_id, str) or not 1 <= len(team_id) <= 32 or not team_id.isalnum():
            raise malformed("slack", "auth.test named no workspace (team_id)")
        return team_id
