"""SaaS license inventory: what a SaaS connector reports per product (seats bought, assigned, in
use, and the seats that could be reclaimed), the per-provider connection settings (shown to admins)
and credentials (secret, write-only), and the usage arithmetic every connector shares.

No HTTP and no AWS here: the connectors that call the providers live in `itam.adapters.saas`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

Provider = Literal["microsoft365", "google_workspace", "okta", "github", "slack"]
PROVIDERS: tuple[Provider, ...] = ("microsoft365", "google_workspace", "okta", "github", "slack")

MAX_RECLAIMABLE = 1000
MAX_SEATS = 10_000_000
MAX_WARNINGS = 200
# Fields that change without the product changing: left out of content_hash().
VOLATILE_FIELDS = frozenset({"observed_at"})


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Seats = Annotated[int, Field(ge=0, le=MAX_SEATS)]


# --- what a connector reports --------------------------------------------------------------------


class SeatUse(BaseModel):
    """One assigned seat: who holds it and when they were last seen using it (None: never)."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    assignee: Annotated[str, Field(min_length=1, max_length=256)]
    last_activity_at: datetime | None

    @field_validator("last_activity_at")
    @classmethod
    def _as_utc(cls, value: datetime | None) -> datetime | None:
        return _utc(value)


class SaasProduct(BaseModel):
    """One licensed SaaS product of one provider account, as a connector saw it."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    provider: Provider
    external_key: Annotated[str, Field(min_length=1, max_length=512)] = Field(
        description='stable and provider-scoped, e.g. "microsoft365:<directory>:<skuId>"'
    )
    product: Annotated[str, Field(min_length=1, max_length=200)]
    vendor: Annotated[str, Field(min_length=1, max_length=128)]
    sku: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    purchased: Seats
    assigned: Seats
    suspended: Seats = 0
    active: Seats = Field(description="assigned seats used within the window; = assigned if not known")
    activity_known: bool
    reclaimable: Annotated[list[SeatUse], Field(max_length=MAX_RECLAIMABLE)] = Field(
        description="assigned seats unused within the window (or never), by assignee, capped"
    )
    reclaimable_total: Seats
    observed_at: datetime

    @field_validator("observed_at")
    @classmethod
    def _observed_utc(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @field_validator("reclaimable")
    @classmethod
    def _sorted(cls, value: list[SeatUse]) -> list[SeatUse]:
        return sorted(value, key=lambda seat: seat.assignee)

    @model_validator(mode="after")
    def _consistent(self) -> SaasProduct:
        if self.reclaimable_total < len(self.reclaimable):
            raise ValueError("reclaimable_total is smaller than the reclaimable seats listed")
        if self.active > self.assigned:
            raise ValueError("more active seats than assigned seats")
        if not self.activity_known and (self.active != self.assigned or self.reclaimable_total):
            raise ValueError("without activity data every assigned seat counts as active")
        return self

    def content_hash(self) -> str:
        """sha256 of a canonical JSON of every field except observed_at: equal hashes mean nothing
        worth recording changed."""
        body = self.model_dump(mode="json", exclude=set(VOLATILE_FIELDS))
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


# --- usage: active and reclaimable seats ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UsageWindow:
    """A seat is in use when its assignee was active within `reclaim_after_days` before `now`."""

    now: datetime
    reclaim_after_days: int

    @property
    def cutoff(self) -> datetime:
        moment = _utc(self.now)
        assert moment is not None
        return moment - timedelta(days=self.reclaim_after_days)

    def in_use(self, last_activity_at: datetime | None) -> bool:
        moment = _utc(last_activity_at)
        return moment is not None and moment >= self.cutoff


@dataclass(frozen=True, slots=True)
class Usage:
    active: int
    reclaimable: list[SeatUse]
    reclaimable_total: int


class SeatTally:
    """Counts the seats of one product as they stream in, keeping only what a product reports: the
    active count and the first MAX_RECLAIMABLE unused seats by assignee (plus their total). Each
    assignee counts once, with their latest activity. `window` None: activity is not known."""

    def __init__(self, window: UsageWindow | None) -> None:
        self._window = window
        self._latest: dict[str, datetime | None] = {}

    @property
    def seats(self) -> int:
        return len(self._latest)

    def add(self, assignee: str, last_activity_at: datetime | None = None) -> None:
        moment = _utc(last_activity_at)
        if assignee in self._latest:
            known = self._latest[assignee]
            if moment is None or (known is not None and known >= moment):
                return
        self._latest[assignee] = moment

    def usage(self, assigned: int) -> Usage:
        """Active and reclaimable seats, for a product of `assigned` seats (active never exceeds it)."""
        if self._window is None:
            return Usage(active=assigned, reclaimable=[], reclaimable_total=0)
        window = self._window
        unused = [(who, last) for who, last in self._latest.items() if not window.in_use(last)]
        active = min(assigned, len(self._latest) - len(unused))
        unused.sort(key=lambda seat: seat[0])
        listed = [SeatUse(assignee=who, last_activity_at=last) for who, last in unused[:MAX_RECLAIMABLE]]
        return Usage(active=active, reclaimable=listed, reclaimable_total=len(unused))


def product_or_warning(warn: Callable[[str], None], **fields: Any) -> SaasProduct | None:
    """The product, or None with a warning when the provider's figures cannot make one."""
    try:
        return SaasProduct(**fields)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'product'}: {e['msg']}" for e in exc.errors()[:3]
        )
        warn(f"{fields.get('external_key', 'a product')} skipped: {problems}")
        return None


def add_warning(warnings: list[str], message: str) -> None:
    """Append a notice, keeping at most MAX_WARNINGS (the last one says how many were dropped)."""
    if len(warnings) < MAX_WARNINGS:
        warnings.append(message[:1000])
    elif len(warnings) == MAX_WARNINGS:
        warnings.append("further warnings were dropped")


# --- reading provider records ------------------------------------------------------------------


def _capped(limit: int) -> Callable[[Any], Any]:
    def cap(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        return value.strip()[:limit] or None  # blank text is absent text

    return cap


def _moment(value: Any) -> datetime | None:
    """An ISO 8601 time as UTC; None for anything else, and for placeholder dates before 1971."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment if moment.year >= 1971 else None


# A provider timestamp: unreadable values count as unknown rather than spoiling the record.
Moment = Annotated[datetime | None, BeforeValidator(_moment)]
# Provider display text, stripped and cut to fit (never used for identifiers, which are rejected
# when too long rather than cut).
DisplayText = Annotated[str, BeforeValidator(_capped(200)), Field(min_length=1)]
SkuText = Annotated[str, BeforeValidator(_capped(128)), Field(min_length=1)]


class ProviderRecord(BaseModel):
    """Base of the tolerant readers of provider records: unknown keys are ignored, missing optional
    keys are fine, a record that cannot be read raises ValidationError (and is skipped)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True, defer_build=True)


RecordT = TypeVar("RecordT", bound=ProviderRecord)


def read_records(
    model: type[RecordT], items: Iterable[Any], warn: Callable[[str], None], what: str
) -> list[RecordT]:
    """The records of one page that can be read; each one that cannot is skipped with a warning."""
    found: list[RecordT] = []
    for position, item in enumerate(items):
        try:
            found.append(model.model_validate(item))
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(map(str, error["loc"])) or "record"
            warn(f"skipped {what} #{position + 1} of a page: {where}: {error['msg']}")
    return found


# --- settings (shown to admins) and credentials (secret, write-only) -----------------------------

GUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
DOMAIN = r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
EMAIL = r"^[A-Za-z0-9.!#$%&'*+=?^_`{|}~/-]{1,64}@" + DOMAIN.removeprefix("^")
OKTA_DOMAIN = r"^[a-z0-9][a-z0-9-]*\.(okta|oktapreview|okta-emea|okta-gov)\.com$"
GITHUB_LOGIN = r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$"
GOOGLE_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"

_SETTINGS = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True, defer_build=True)
# Secrets never show in a repr (SecretStr) nor in a validation error (hide_input_in_errors).
_SECRETS = ConfigDict(
    frozen=True, extra="forbid", str_strip_whitespace=True, hide_input_in_errors=True, defer_build=True
)


def _printable_secret(secret: SecretStr) -> SecretStr:
    """Printable ASCII without spaces: every secret goes into a header or a form field."""
    text = secret.get_secret_value()
    if not text or any(not 0x21 <= ord(ch) <= 0x7E for ch in text):
        raise ValueError("must be printable ASCII without spaces")
    return secret


PrintableSecret = Annotated[SecretStr, AfterValidator(_printable_secret)]


class Microsoft365Settings(BaseModel):
    """Microsoft 365 through Microsoft Graph: the Entra ID directory (tenant id or a verified domain)
    and the client id of the app registration that holds the application permissions."""

    model_config = _SETTINGS

    directory_id: Annotated[str, Field(max_length=253, pattern=f"{GUID}|{DOMAIN}")]
    client_id: Annotated[str, Field(pattern=GUID)]

    @field_validator("directory_id")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()


class Microsoft365Credentials(BaseModel):
    """The app registration's client secret (its value, not its id)."""

    model_config = _SECRETS

    client_secret: Annotated[PrintableSecret, Field(min_length=1, max_length=1024)]


class GoogleProduct(BaseModel):
    """One License Manager product, either whole (every SKU) or one SKU of it."""

    model_config = _SETTINGS

    product_id: Annotated[str, Field(pattern=GOOGLE_ID)]
    sku_id: Annotated[str, Field(pattern=GOOGLE_ID)] | None = None


# The Google Workspace product as a whole: one listing covers every edition SKU (Business Starter
# 1010020027, Business Standard 1010020028, Business Plus 1010020025, Enterprise Standard 1010020026,
# Enterprise Plus 1010020020, Essentials, Frontline, ...), grouped by SKU.
DEFAULT_GOOGLE_PRODUCTS = (GoogleProduct(product_id="Google-Apps"),)


class GoogleWorkspaceSettings(BaseModel):
    """Google Workspace through the Enterprise License Manager API, as a super admin (domain-wide
    delegation of the service account)."""

    model_config = _SETTINGS

    customer_id: Annotated[str, Field(pattern=r"^(my_customer|C[0-9A-Za-z]{5,20})$")] = "my_customer"
    admin_email: Annotated[str, Field(max_length=254, pattern=EMAIL)]
    products: Annotated[list[GoogleProduct], Field(min_length=1, max_length=50)] = Field(
        default_factory=lambda: list(DEFAULT_GOOGLE_PRODUCTS),
        description="License Manager product ids, each with one SKU id or none for every SKU",
    )

    @field_validator("products")
    @classmethod
    def _distinct(cls, value: list[GoogleProduct]) -> list[GoogleProduct]:
        whole = {p.product_id for p in value if p.sku_id is None}
        seen: set[tuple[str, str | None]] = set()
        for item in value:
            key = (item.product_id, item.sku_id)
            if key in seen:
                raise ValueError(f"{item.product_id}/{item.sku_id or '*'} is listed twice")
            if item.sku_id is not None and item.product_id in whole:
                raise ValueError(f"{item.product_id} is listed whole and with SKU {item.sku_id}")
            seen.add(key)
        return value

    @property
    def domain(self) -> str:
        return self.admin_email.rsplit("@", 1)[1].lower()


class GoogleServiceAccountKey(BaseModel):
    """The service account's JSON key as Google issues it. Only client_email, private_key and
    private_key_id are kept; every other key, token_uri included, is ignored: the token URL is fixed."""

    model_config = ConfigDict(
        frozen=True, extra="ignore", str_strip_whitespace=True, hide_input_in_errors=True, defer_build=True
    )

    type: Literal["service_account"] = "service_account"
    client_email: Annotated[str, Field(max_length=254, pattern=EMAIL)]
    private_key: Annotated[SecretStr, Field(min_length=64, max_length=16384)]
    private_key_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9]{1,128}$")] | None = None

    @field_validator("private_key")
    @classmethod
    def _pem(cls, value: SecretStr) -> SecretStr:
        text = value.get_secret_value()
        if "-----BEGIN" not in text or "PRIVATE KEY-----" not in text:
            raise ValueError("must be the PEM private key of the service account's JSON key")
        return value


class GoogleWorkspaceCredentials(BaseModel):
    """The service account's JSON key (the object, or the file's text)."""

    model_config = _SECRETS

    service_account: GoogleServiceAccountKey

    @field_validator("service_account", mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        if isinstance(value, str | bytes):
            try:
                return json.loads(value)
            except ValueError:
                raise ValueError("must be the service account's JSON key") from None
        return value


class OktaSettings(BaseModel):
    """The Okta org's own domain (the one per-tenant host a connector may call)."""

    model_config = _SETTINGS

    org_domain: Annotated[str, Field(max_length=253, pattern=OKTA_DOMAIN)]

    @field_validator("org_domain", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value


class OktaCredentials(BaseModel):
    """An Okta API token (sent as `Authorization: SSWS <token>`)."""

    model_config = _SECRETS

    api_token: Annotated[PrintableSecret, Field(min_length=20, max_length=200)]


class GitHubSettings(BaseModel):
    """The GitHub organization whose Copilot seats are collected."""

    model_config = _SETTINGS

    organization: Annotated[str, Field(pattern=GITHUB_LOGIN)]


class GitHubCredentials(BaseModel):
    """A token of an organization owner: classic with manage_billing:copilot (or read:org), or
    fine-grained with the organization's "GitHub Copilot Business" permission (read)."""

    model_config = _SECRETS

    token: Annotated[PrintableSecret, Field(min_length=20, max_length=255)]


class SlackSettings(BaseModel):
    """The workspace to read; only needed with an org-level token (Enterprise Grid)."""

    model_config = _SETTINGS

    team_id: Annotated[str, Field(pattern=r"^T[A-Z0-9]{2,20}$")] | None = None


class SlackCredentials(BaseModel):
    """A Slack token (xoxp- user token of a workspace admin with the `admin` scope, or xoxb-)."""

    model_config = _SECRETS

    token: Annotated[SecretStr, Field(min_length=10, max_length=512)]

    @field_validator("token")
    @classmethod
    def _slack_token(cls, value: SecretStr) -> SecretStr:
        text = _printable_secret(value).get_secret_value()
        if not text.startswith(("xoxb-", "xoxp-")):
            raise ValueError("must be a Slack token starting with xoxb- or xoxp-")
        return value


SETTINGS: dict[Provider, type[BaseModel]] = {
    "microsoft365": Microsoft365Settings,
    "google_workspace": GoogleWorkspaceSettings,
    "okta": OktaSettings,
    "github": GitHubSettings,
    "slack": SlackSettings,
}
CREDENTIALS: dict[Provider, type[BaseModel]] = {
    "microsoft365": Microsoft365Credentials,
    "google_workspace": GoogleWorkspaceCredentials,
    "okta": OktaCredentials,
    "github": GitHubCredentials,
    "slack": SlackCredentials,
}
