"""Application assignments in Okta, one product per active app.

Collected, all paged by `Link: <...>; rel="next"` on the org's own domain:
- `GET /api/v1/users?limit=200`, once: each user's login and `lastLogin` (the last Okta sign-in);
- `GET /api/v1/apps?limit=200`: the apps; only ACTIVE ones are reported;
- `GET /api/v1/apps/{appId}/users?limit=500` per active app: its assigned users (directly or
  through groups).
Per app: product = the app's label, vendor = the vendor of a known integration (else the label),
sku = the integration name; Okta has no purchase figures, so purchased = assigned. A seat is
reclaimable when its holder has not signed in to Okta within the window, or never (Okta's last
sign-in, not a per-app one); a deactivated user still assigned has no activity.

Access: an API token (`Authorization: SSWS <token>`) created by an administrator with read access
to users and apps (the read-only administrator role is enough); the token acts with its creator's
permissions. Rate limits: a 429 waits until `X-Rate-Limit-Reset` (epoch seconds).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, ClassVar
from urllib.parse import quote

from pydantic import Field

from itam.adapters.saas import SaasConnector
from itam.adapters.saas.http import ProviderSession, link_pages
from itam.inventory.saas import (
    DisplayText,
    Moment,
    OktaCredentials,
    OktaSettings,
    Provider,
    ProviderRecord,
    SaasProduct,
    SeatTally,
    SkuText,
    UsageWindow,
    product_or_warning,
    read_records,
)

USERS_PAGE = 200
APPS_PAGE = 200
APP_USERS_PAGE = 500
OktaId = Annotated[str, Field(pattern=r"^[A-Za-z0-9]{1,64}$")]
Login = Annotated[str, Field(min_length=1, max_length=256)]

# Integration name -> vendor, for well-known Okta Integration Network apps.
VENDORS = {
    "office365": "Microsoft",
    "google": "Google",
    "salesforce": "Salesforce",
    "slack": "Slack",
    "zoomus": "Zoom",
    "box": "Box",
    "dropbox_for_business": "Dropbox",
    "workday": "Workday",
    "amazon_aws": "Amazon Web Services",
    "docusign": "DocuSign",
    "zendesk": "Zendesk",
    "saasure": "Okta",
    "okta_enduser": "Okta",
    "okta_browser_plugin": "Okta",
}


class OktaProfile(ProviderRecord):
    login: Login | None = None


class OktaUser(ProviderRecord):
    """An element of `GET /api/v1/users`."""

    id: OktaId
    status: str | None = None
    last_login: Moment = Field(default=None, alias="lastLogin")
    profile: OktaProfile | None = None


class OktaApp(ProviderRecord):
    """An element of `GET /api/v1/apps`."""

    id: OktaId
    name: SkuText | None = None
    label: DisplayText | None = None
    status: str | None = None


class AppUserCredentials(ProviderRecord):
    user_name: Login | None = Field(default=None, alias="userName")


class OktaAppUser(ProviderRecord):
    """An element of `GET /api/v1/apps/{appId}/users` (its id is the user's id)."""

    id: OktaId
    credentials: AppUserCredentials | None = None


@dataclass(frozen=True, slots=True)
class Person:
    login: str | None
    last_login: datetime | None


def people(users: Iterable[OktaUser]) -> dict[str, Person]:
    """User id -> login and last sign-in."""
    return {u.id: Person(u.profile.login if u.profile else None, u.last_login) for u in users}


def vendor_of(app: OktaApp) -> str:
    return VENDORS.get(app.name or "") or app.label or "Okta"


# --- transform -----------------------------------------------------------------------------------


def app_product(
    app: OktaApp,
    app_users: Iterable[OktaAppUser],
    directory: Mapping[str, Person],
    *,
    org: str,
    window: UsageWindow,
    warn: Callable[[str], None],
) -> SaasProduct | None:
    """The product of one active app from its assigned users."""
    tally = SeatTally(window)
    for app_user in app_users:
        person = directory.get(app_user.id)
        user_name = app_user.credentials.user_name if app_user.credentials else None
        assignee = (person.login if person else None) or user_name or app_user.id
        tally.add(assignee, person.last_login if person else None)
    assigned = tally.seats
    usage = tally.usage(assigned)
    return product_or_warning(
        warn,
        provider="okta",
        external_key=f"okta:{org}:{app.id}",
        product=app.label or app.name or app.id,
        vendor=vendor_of(app)[:128],
        sku=app.name,
        purchased=assigned,
        assigned=assigned,
        active=usage.active,
        activity_known=True,
        reclaimable=usage.reclaimable,
        reclaimable_total=usage.reclaimable_total,
        observed_at=window.now,
    )


def transform(
    app_pages: Iterable[Iterable[Any]],
    app_user_pages: Callable[[str], Iterable[Iterable[Any]] | None],
    user_pages: Iterable[Iterable[Any]],
    *,
    org: str,
    window: UsageWindow,
    warn: Callable[[str], None],
) -> Iterator[SaasProduct]:
    """Products from the pages of the apps, of each app's users (by app id; None: none) and of the
    users, as the API lists them."""
    directory: dict[str, Person] = {}
    for page in user_pages:
        directory.update(people(read_records(OktaUser, page, warn, "user")))
    for page in app_pages:
        for app in read_records(OktaApp, page, warn, "app"):
            if app.status != "ACTIVE":
                continue
            assigned = (
                app_user
                for users in app_user_pages(app.id) or ()
                for app_user in read_records(OktaAppUser, users, warn, f"user of app {app.id}")
            )
            product = app_product(app, assigned, directory, org=org, window=window, warn=warn)
            if product is not None:
                yield product


# --- get -----------------------------------------------------------------------------------------


class OktaCollector(SaasConnector[OktaSettings, OktaCredentials]):
    """Collects the org's active apps and their assignments."""

    provider: ClassVar[Provider] = "okta"

    def _hosts(self) -> Mapping[str, str]:
        return {"okta": f"https://{self.settings.org_domain}"}

    def _secrets(self) -> Sequence[str]:
        return [self._credentials.api_token.get_secret_value()]

    def _collect(self, session: ProviderSession, window: UsageWindow) -> Iterator[SaasProduct]:
        token = self._credentials.api_token.get_secret_value()
        okta = session.client("okta", auth=lambda: {"Authorization": f"SSWS {token}"})

        def pages(path: str, limit: int) -> Iterator[list[Any]]:
            for response in link_pages(okta, okta.url(path, {"limit": limit})):
                page = response.json_array()
                session.count(len(page))
                yield page

        def app_user_pages(app_id: str) -> Iterator[list[Any]]:
            return pages(f"/api/v1/apps/{quote(app_id, safe='')}/users", APP_USERS_PAGE)

        yield from transform(
            pages("/api/v1/apps", APPS_PAGE),
            app_user_pages,
            pages("/api/v1/users", USERS_PAGE),
            org=self.settings.org_domain,
            window=window,
            warn=session.warn,
        )
