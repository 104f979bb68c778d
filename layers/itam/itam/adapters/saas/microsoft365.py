"""Microsoft 365 licenses through Microsoft Graph v1.0 (an app registration, client credentials).

Collected, one product per subscribed SKU of the directory:
- `GET /v1.0/subscribedSkus`: purchased = `prepaidUnits.enabled`, assigned = `consumedUnits`,
  suspended = `prepaidUnits.suspended`; the product is the SKU's friendly name where known (e.g.
  SPE_E3 -> "Microsoft 365 E3"), else its `skuPartNumber`.
- `GET /v1.0/users?$select=id,userPrincipalName,assignedLicenses,signInActivity&$top=999`
  (paged by `@odata.nextLink`): each SKU's holders and their last successful sign-in
  (`signInActivity.lastSuccessfulSignInDateTime`, else the latest of the interactive and
  non-interactive sign-ins). A seat whose holder has not signed in within the window, or never, is
  reclaimable.

Permissions (Microsoft Graph application permissions, with admin consent):
- `LicenseAssignment.Read.All` (or `Organization.Read.All`) for the subscribed SKUs;
- `User.Read.All` and `AuditLog.Read.All` for the users with their sign-in activity, which Graph
  only returns in a directory with a Microsoft Entra ID P1 or P2 licence.
When Graph refuses the sign-in activity (403), the SKUs are still collected with activity unknown
(every assigned seat counts as active) and a warning says why; the users are then not read, since
without activity they add nothing to what a product reports.

Token: `POST https://login.microsoftonline.com/{directory}/oauth2/v2.0/token` with the
client secret and the scope `https://graph.microsoft.com/.default`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, ClassVar
from urllib.parse import quote

from pydantic import Field

from itam.adapters.saas import SaasConnector
from itam.adapters.saas.http import (
    BearerToken,
    HttpClient,
    PageGuard,
    ProviderSession,
    Response,
    access_token,
    malformed,
    provider_error,
)
from itam.inventory.saas import (
    GUID,
    Microsoft365Credentials,
    Microsoft365Settings,
    Moment,
    Provider,
    ProviderRecord,
    SaasProduct,
    SeatTally,
    UsageWindow,
    product_or_warning,
    read_records,
)

LOGIN_URL = "https://login.microsoftonline.com"
GRAPH_URL = "https://graph.microsoft.com"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
USERS_PAGE = 999
TOKEN_REFUSALS = frozenset({400, 401, 403})

# skuPartNumber -> product name, from Microsoft's "Product names and service plan identifiers for
# licensing" list (the SKUs most often held); any other SKU is named by its part number.
FRIENDLY_NAMES = {
    "SPE_E3": "Microsoft 365 E3",
    "SPE_E5": "Microsoft 365 E5",
    "SPE_F1": "Microsoft 365 F3",
    "M365_F1": "Microsoft 365 F1",
    "SPB": "Microsoft 365 Business Premium",
    "O365_BUSINESS_PREMIUM": "Microsoft 365 Business Standard",
    "O365_BUSINESS_ESSENTIALS": "Microsoft 365 Business Basic",
    "O365_BUSINESS": "Microsoft 365 Apps for business",
    "OFFICESUBSCRIPTION": "Microsoft 365 Apps for enterprise",
    "STANDARDPACK": "Office 365 E1",
    "ENTERPRISEPACK": "Office 365 E3",
    "ENTERPRISEPREMIUM": "Office 365 E5",
    "DESKLESSPACK": "Office 365 F3",
    "EXCHANGESTANDARD": "Exchange Online (Plan 1)",
    "EXCHANGEENTERPRISE": "Exchange Online (Plan 2)",
    "EMS": "Enterprise Mobility + Security E3",
    "EMSPREMIUM": "Enterprise Mobility + Security E5",
    "AAD_PREMIUM": "Microsoft Entra ID P1",
    "AAD_PREMIUM_P2": "Microsoft Entra ID P2",
    "POWER_BI_PRO": "Power BI Pro",
    "POWER_BI_STANDARD": "Power BI (free)",
    "PBI_PREMIUM_PER_USER": "Power BI Premium Per User",
    "VISIOCLIENT": "Visio Plan 2",
    "PROJECTPREMIUM": "Project Plan 5",
    "PROJECTPROFESSIONAL": "Project Plan 3",
    "FLOW_FREE": "Microsoft Power Automate Free",
    "POWERAPPS_DEV": "Microsoft Power Apps for Developer",
    "TEAMS_EXPLORATORY": "Microsoft Teams Exploratory",
    "Microsoft_Teams_Premium": "Microsoft Teams Premium",
    "MCOEV": "Microsoft Teams Phone Standard",
    "MCOMEETADV": "Microsoft 365 Audio Conferencing",
    "Microsoft_365_Copilot": "Microsoft 365 Copilot",
    "ATP_ENTERPRISE": "Microsoft Defender for Office 365 (Plan 1)",
    "WIN_DEF_ATP": "Microsoft Defender for Endpoint P2",
    "WIN10_VDA_E3": "Windows 10/11 Enterprise E3",
    "INTUNE_A": "Microsoft Intune Plan 1",
}

Units = Annotated[int, Field(ge=0)]


# --- reading Graph records -----------------------------------------------------------------------


class LicenseUnits(ProviderRecord):
    """licenseUnitsDetail (null counts read as 0)."""

    enabled: Units | None = 0
    suspended: Units | None = 0
    warning: Units | None = 0
    locked_out: Units | None = Field(default=0, alias="lockedOut")


class GraphSku(ProviderRecord):
    """An element of `subscribedSkus`' value[]."""

    sku_id: Annotated[str, Field(alias="skuId", pattern=GUID)]
    sku_part_number: Annotated[str, Field(alias="skuPartNumber", min_length=1, max_length=128)]
    consumed_units: Units | None = Field(default=0, alias="consumedUnits")
    prepaid_units: LicenseUnits | None = Field(default=None, alias="prepaidUnits")
    applies_to: str | None = Field(default=None, alias="appliesTo")


class AssignedLicense(ProviderRecord):
    sku_id: Annotated[str, Field(pattern=GUID)] | None = Field(default=None, alias="skuId")


class SignInActivity(ProviderRecord):
    last_sign_in: Moment = Field(default=None, alias="lastSignInDateTime")
    last_non_interactive: Moment = Field(default=None, alias="lastNonInteractiveSignInDateTime")
    last_successful: Moment = Field(default=None, alias="lastSuccessfulSignInDateTime")


class GraphUser(ProviderRecord):
    """An element of `users`' value[] with the selected properties."""

    id: Annotated[str, Field(min_length=1, max_length=64)]
    user_principal_name: Annotated[str, Field(alias="userPrincipalName", min_length=1, max_length=256)]
    assigned_licenses: list[AssignedLicense] | None = Field(default=None, alias="assignedLicenses")
    sign_in_activity: SignInActivity | None = Field(default=None, alias="signInActivity")


def last_sign_in(activity: SignInActivity | None) -> datetime | None:
    """The last successful sign-in; before Graph recorded that (December 2023), the latest of the
    interactive and non-interactive sign-ins."""
    if activity is None:
        return None
    if activity.last_successful is not None:
        return activity.last_successful
    seen = [t for t in (activity.last_sign_in, activity.last_non_interactive) if t is not None]
    return max(seen, default=None)


def product_name(sku_part_number: str) -> str:
    return FRIENDLY_NAMES.get(sku_part_number, sku_part_number)


# --- transform -----------------------------------------------------------------------------------


class DirectorySeats:
    """Each SKU's holders, tallied from the users as their pages stream in."""

    def __init__(self, window: UsageWindow | None) -> None:
        self._window = window
        self._tallies: dict[str, SeatTally] = {}

    @property
    def activity_known(self) -> bool:
        return self._window is not None

    def add(self, user: GraphUser) -> None:
        last = last_sign_in(user.sign_in_activity)
        for assigned in user.assigned_licenses or []:
            if assigned.sku_id is not None:
                tally = self._tallies.setdefault(assigned.sku_id.lower(), SeatTally(self._window))
                tally.add(user.user_principal_name, last)

    def tally(self, sku_id: str) -> SeatTally:
        return self._tallies.get(sku_id.lower()) or SeatTally(self._window)


def sku_products(
    skus: Iterable[GraphSku],
    seats: DirectorySeats,
    *,
    directory: str,
    observed_at: datetime,
    warn: Callable[[str], None],
) -> Iterator[SaasProduct]:
    """One product per subscribed SKU."""
    for sku in skus:
        units = sku.prepaid_units or LicenseUnits()
        assigned = sku.consumed_units or 0
        usage = seats.tally(sku.sku_id).usage(assigned)
        product = product_or_warning(
            warn,
            provider="microsoft365",
            external_key=f"microsoft365:{directory}:{sku.sku_id.lower()}",
            product=product_name(sku.sku_part_number),
            vendor="Microsoft",
            sku=sku.sku_part_number,
            purchased=units.enabled or 0,
            assigned=assigned,
            suspended=units.suspended or 0,
            active=usage.active,
            activity_known=seats.activity_known,
            reclaimable=usage.reclaimable,
            reclaimable_total=usage.reclaimable_total,
            observed_at=observed_at,
        )
        if product is not None:
            yield product


def transform(
    sku_pages: Iterable[Iterable[Any]],
    user_pages: Iterable[Iterable[Any]] | None,
    *,
    directory: str,
    window: UsageWindow,
    warn: Callable[[str], None],
) -> list[SaasProduct]:
    """Products from the `value` arrays of the subscribedSkus and users pages (None: sign-in
    activity could not be read, so activity is unknown)."""
    skus = [sku for values in sku_pages for sku in read_records(GraphSku, values, warn, "subscribed SKU")]
    seats = DirectorySeats(window if user_pages is not None else None)
    for values in user_pages or ():
        for user in read_records(GraphUser, values, warn, "user"):
            seats.add(user)
    return list(sku_products(skus, seats, directory=directory, observed_at=window.now, warn=warn))


# --- get -----------------------------------------------------------------------------------------


def odata_pages(client: HttpClient, first: Response) -> Iterator[list[Any]]:
    """The `value` arrays of a Graph collection, following `@odata.nextLink` on Graph's own host."""
    guard = PageGuard(client.provider)
    response = first
    while True:
        doc = response.json_object()
        values = doc.get("value")
        if not isinstance(values, list):
            raise malformed(client.provider, f"{response.path} answered without a value array")
        yield values
        link = doc.get("@odata.nextLink")
        if link is None:
            return
        if not isinstance(link, str):
            raise malformed(client.provider, "@odata.nextLink is not a URL")
        guard.check(link)
        response = client.get(link)


def counted(session: ProviderSession, pages: Iterable[list[Any]]) -> Iterator[list[Any]]:
    """The pages, each one's records counted against the run's budget."""
    for values in pages:
        session.count(len(values))
        yield values


class Microsoft365Collector(SaasConnector[Microsoft365Settings, Microsoft365Credentials]):
    """Collects a directory's subscribed SKUs and their holders' sign-in activity."""

    provider: ClassVar[Provider] = "microsoft365"

    def _hosts(self) -> Mapping[str, str]:
        return {"login_microsoft": LOGIN_URL, "graph": GRAPH_URL}

    def _secrets(self) -> Sequence[str]:
        return [self._credentials.client_secret.get_secret_value()]

    def _collect(self, session: ProviderSession, window: UsageWindow) -> Iterator[SaasProduct]:
        token = BearerToken(session, lambda: self._token(session))
        graph = session.client("graph", auth=token.header)
        # Every SKU page is read before the users, whose first answer says whether activity is known.
        sku_pages = list(counted(session, odata_pages(graph, graph.get(graph.url("/v1.0/subscribedSkus")))))
        yield from transform(
            sku_pages,
            self._user_pages(graph, session),
            directory=self.settings.directory_id,
            window=window,
            warn=session.warn,
        )

    def _token(self, session: ProviderSession) -> tuple[str, int]:
        login = session.client("login_microsoft")
        directory = quote(self.settings.directory_id, safe="")
        response = login.post_form(
            login.url(f"/{directory}/oauth2/v2.0/token"),
            {
                "client_id": self.settings.client_id,
                "client_secret": self._credentials.client_secret.get_secret_value(),
                "scope": GRAPH_SCOPE,
                "grant_type": "client_credentials",
            },
            auth_statuses=TOKEN_REFUSALS,
        )
        return access_token(response)

    def _user_pages(self, graph: HttpClient, session: ProviderSession) -> Iterator[list[Any]] | None:
        """The users pages with their licenses and sign-in activity; None when Graph refuses the
        sign-in activity (a warning says why)."""
        params: dict[str, str | int] = {
            "$select": "id,userPrincipalName,assignedLicenses,signInActivity",
            "$top": USERS_PAGE,
        }
        first = graph.get(graph.url("/v1.0/users", params), allow=frozenset({403}))
        if first.status == 403:
            _, message = provider_error(first.body)
            session.warn(
                "sign-in activity cannot be read (it needs AuditLog.Read.All and Microsoft Entra ID "
                f"P1): activity is unknown for every SKU. Graph said: {session.redact(message)}"
            )
            return None
        return counted(session, odata_pages(graph, first))
