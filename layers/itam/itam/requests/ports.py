"""What the request service needs from the outside world, as Protocols. Adapters and the asset and
license services implement them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from itam.assets.models import Asset, AssetFilter, CheckoutRequest
from itam.idempotency import IdempotencyClaim, IdempotencyRecord
from itam.pagination import Page, PageRequest
from itam.requests.models import ApprovalPolicy, PolicyEvent, Request, RequestEvent, RequestFilter
from itam.tenancy import TenantContext

if TYPE_CHECKING:  # a hardware request never loads the licensing code
    from itam.licenses.models import License, LicenseFilter, Seat, SeatCreate


@dataclass(frozen=True, slots=True)
class Lease:
    """A fulfilment's hold on a request: while it lasts, only its holder writes the request."""

    token: str
    until: int  # epoch seconds


@dataclass(frozen=True, slots=True)
class StoredRequest:
    request: Request
    lease_until: int | None = None  # epoch seconds; a lease that ended is no lease

    def leased_at(self, now: int) -> bool:
        return self.lease_until is not None and self.lease_until >= now


@dataclass(frozen=True, slots=True)
class Person:
    """A user of the tenant, as the directory knows them: the id (Cognito `sub`) every rule compares,
    and a name to show."""

    user_id: str
    name: str


class Directory(Protocol):
    """The tenant's users (the Cognito user pool)."""

    def find(self, ctx: TenantContext, name: str) -> Person | None:
        """The enabled user of the caller's tenant whom `name` names (an e-mail address or user name,
        in any case), or None: nobody, someone disabled, or a user of another tenant."""


class RequestRepository(Protocol):
    """Persistence of one tenant's requests, their history and the approval policy."""

    def create(
        self, ctx: TenantContext, request: Request, event: RequestEvent, claim: IdempotencyClaim | None = None
    ) -> None:
        """Store a new request with its first history event (and bind `claim` to it); raise
        KeyAlreadyUsed if the claim's key is bound already, StaleVersion if the id is taken."""

    def idempotency_record(self, ctx: TenantContext, key_digest: str, now: int) -> IdempotencyRecord | None:
        """What the key is bound to, unless nothing is or the binding expired before `now`."""

    def get(self, ctx: TenantContext, request_id: str) -> StoredRequest | None:
        """The request and its lease (strongly consistent), or None."""

    def list(self, ctx: TenantContext, filters: RequestFilter, page: PageRequest) -> Page[Request]:
        """One page of the tenant's requests matching `filters`, newest first (one Query)."""

    def cursor_after(self, ctx: TenantContext, filters: RequestFilter, request_id: str) -> str:
        """The cursor of the listing for `filters` that continues after the request `request_id`."""

    def history(self, ctx: TenantContext, request_id: str, page: PageRequest) -> Page[RequestEvent]:
        """The request's history events, oldest first."""

    def update(
        self,
        ctx: TenantContext,
        previous: Request,
        current: Request,
        event: RequestEvent,
        now: int,
        lease: Lease | None = None,
        keep_lease: bool = False,
    ) -> None:
        """Replace `previous` by `current` with `event`, if `previous.version` is still stored and no
        one else's lease is live at `now` (the holder passes its `lease`, kept with `keep_lease`,
        released otherwise); else raise StaleVersion and write nothing."""

    def take_lease(self, ctx: TenantContext, request: Request, lease: Lease, now: int) -> bool:
        """Hold the request for a fulfilment if it is still at `request.version` and not leased at
        `now`; False (nothing written) otherwise."""

    def release_lease(self, ctx: TenantContext, request_id: str, lease: Lease) -> None:
        """End `lease` if it is still the request's lease."""

    def get_policy(self, ctx: TenantContext) -> ApprovalPolicy | None:
        """The tenant's approval policy, or None when it never set one."""

    def put_policy(
        self, ctx: TenantContext, previous_version: int, policy: ApprovalPolicy, event: PolicyEvent
    ) -> None:
        """Store `policy` (with its history event) if the stored version is `previous_version` (0: none
        stored); else raise StaleVersion."""

    def policy_history(self, ctx: TenantContext, page: PageRequest) -> Page[PolicyEvent]:
        """The policy's changes, oldest first."""


class Stock(Protocol):
    """The asset register, as fulfilment uses it (AssetService implements it)."""

    def list_assets(self, ctx: TenantContext, filters: AssetFilter, page: PageRequest) -> Page[Asset]: ...
    def get_asset(self, ctx: TenantContext, asset_id: str) -> Asset: ...
    def checkout_asset(
        self, ctx: TenantContext, asset_id: str, request: CheckoutRequest, if_match: str | None = None
    ) -> Asset: ...


class Seats(Protocol):
    """Licensing, as submission and fulfilment use it (LicenseService implements it)."""

    def get_license(self, ctx: TenantContext, license_id: str) -> License: ...
    def list_licenses(
        self,
        ctx: TenantContext,
        filters: LicenseFilter,
        page: PageRequest,
        expiring_within_days: int | None = None,
    ) -> Page[License]: ...
    def assign_seat(self, ctx: TenantContext, license_id: str, request: SeatCreate) -> Seat: ...
