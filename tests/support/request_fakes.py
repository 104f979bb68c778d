"""In-memory implementations of the request service's ports, for unit tests. Type-checked against the
Protocols below."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from itam.errors import NotFound, StaleVersion, WriteConflict
from itam.idempotency import IdempotencyClaim
from itam.licenses.errors import NoSeatLeft, SeatTaken
from itam.licenses.models import License, LicenseFilter, Seat, SeatCreate, product_key
from itam.pagination import Page, PageRequest
from itam.ports import EventPublisher
from itam.requests.models import ApprovalPolicy, PolicyEvent, Request, RequestEvent, RequestFilter
from itam.requests.ports import Directory, Lease, Person, RequestRepository, Seats, StoredRequest
from itam.requests.workflow import fold
from itam.tenancy import TenantContext
from tests.support.fakes import IdempotencyKeys


class FakeRequestRepository(IdempotencyKeys):
    """Requests, their leases and history per tenant, in dicts. `conflicts` makes the next N updates
    meet another transaction in flight, `create_conflicts` the next N creates."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: dict[tuple[str, str], Request] = {}
        self.leases: dict[tuple[str, str], Lease] = {}
        self.events: dict[tuple[str, str], list[RequestEvent]] = {}
        self.policies: dict[str, ApprovalPolicy] = {}
        self.policy_events: dict[str, list[PolicyEvent]] = {}
        self.conflicts = 0
        self.create_conflicts = 0

    def create(
        self, ctx: TenantContext, request: Request, event: RequestEvent, claim: IdempotencyClaim | None = None
    ) -> None:
        key = (ctx.tenant_id, request.id)
        if key in self.requests:
            raise StaleVersion()
        if self.create_conflicts > 0:
            self.create_conflicts -= 1
            raise WriteConflict()
        self._bind(ctx, claim, request.id, event.at)
        self.requests[key] = request
        self.events[key] = [event]

    def get(self, ctx: TenantContext, request_id: str) -> StoredRequest | None:
        key = (ctx.tenant_id, request_id)
        if key not in self.requests:
            return None
        lease = self.leases.get(key)
        return StoredRequest(self.requests[key], lease.until if lease is not None else None)

    def list(self, ctx: TenantContext, filters: RequestFilter, page: PageRequest) -> Page[Request]:
        def matches(request: Request) -> bool:
            if filters.status is not None and request.status is not filters.status:
                return False
            if filters.requested_by is not None and fold(request.requested_by) != fold(filters.requested_by):
                return False
            recipient = request.requested_for_id or request.requested_for  # as the adapter indexes it
            return filters.requested_for is None or fold(recipient) == fold(filters.requested_for)

        listed = sorted(
            (r for (t, _), r in self.requests.items() if t == ctx.tenant_id and matches(r)),
            key=lambda r: r.id,
            reverse=True,
        )
        if page.cursor is not None:  # "after:<id>", as cursor_after makes it
            listed = [r for r in listed if r.id < page.cursor.removeprefix("after:")]
        items = listed[: page.limit]
        more = len(listed) > page.limit
        return Page(items=items, next_cursor=self.cursor_after(ctx, filters, items[-1].id) if more else None)

    def cursor_after(self, ctx: TenantContext, filters: RequestFilter, request_id: str) -> str:
        return f"after:{request_id}"

    def history(self, ctx: TenantContext, request_id: str, page: PageRequest) -> Page[RequestEvent]:
        return Page(items=self.events.get((ctx.tenant_id, request_id), [])[: page.limit])

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
        if self.conflicts > 0:
            self.conflicts -= 1
            raise WriteConflict()
        key = (ctx.tenant_id, previous.id)
        held = self.leases.get(key)
        if self.requests[key].version != previous.version:
            raise StaleVersion()
        if lease is not None and held != lease:
            raise StaleVersion()
        if lease is None and held is not None and held.until >= now:
            raise StaleVersion()
        self.requests[key] = current
        self.events[key].append(event)
        if lease is not None and keep_lease:
            self.leases[key] = lease
        else:
            self.leases.pop(key, None)

    def take_lease(self, ctx: TenantContext, request: Request, lease: Lease, now: int) -> bool:
        key = (ctx.tenant_id, request.id)
        held = self.leases.get(key)
        taken = held is not None and held.until >= now and held.token != lease.token  # its own: a retry
        if self.requests[key].version != request.version or taken:
            return False
        self.leases[key] = lease
        return True

    def release_lease(self, ctx: TenantContext, request_id: str, lease: Lease) -> None:
        key = (ctx.tenant_id, request_id)
        if self.leases.get(key) == lease:
            del self.leases[key]

    def get_policy(self, ctx: TenantContext) -> ApprovalPolicy | None:
        return self.policies.get(ctx.tenant_id)

    def put_policy(
        self, ctx: TenantContext, previous_version: int, policy: ApprovalPolicy, event: PolicyEvent
    ) -> None:
        stored = self.policies.get(ctx.tenant_id)
        if (stored.version if stored is not None else 0) != previous_version:
            raise StaleVersion()
        self.policies[ctx.tenant_id] = policy
        self.policy_events.setdefault(ctx.tenant_id, []).append(event)

    def policy_history(self, ctx: TenantContext, page: PageRequest) -> Page[PolicyEvent]:
        return Page(items=self.policy_events.get(ctx.tenant_id, [])[: page.limit])


class FakeDirectory:
    """The tenants' users: (tenant, id, e-mail, enabled); names compared as the pool does, in any case."""

    def __init__(self, *users: tuple[str, str, str]) -> None:
        self.users: list[tuple[str, str, str, bool]] = []
        self.lookups: list[str] = []
        for tenant, user_id, email in users:
            self.add(tenant, user_id, email)

    def add(self, tenant: str, user_id: str, email: str, enabled: bool = True) -> None:
        self.users.append((tenant, user_id, email, enabled))

    def find(self, ctx: TenantContext, name: str) -> Person | None:
        self.lookups.append(name)
        for tenant, user_id, email, enabled in self.users:
            if name.lower() in (email.lower(), user_id.lower()):
                return Person(user_id, email) if tenant == ctx.tenant_id and enabled else None
        return None


class FakeSeats:
    """Licenses and their seats per tenant: never a seat beyond the quantity (unless over-allocation
    is allowed), one seat per user."""

    def __init__(self) -> None:
        self.licenses: dict[tuple[str, str], License] = {}
        self.seats: list[Seat] = []

    def add(
        self, ctx: TenantContext, license_id: str, product: str = "Visio", quantity: int = 1, **fields: Any
    ) -> License:
        now = datetime(2026, 1, 1, tzinfo=UTC)
        lic = License(
            id=license_id,
            product=product,
            metric="per_user",
            quantity=quantity,
            version=1,
            created_at=now,
            updated_at=now,
            created_by="u",
            updated_by="u",
            **fields,
        )
        self.licenses[(ctx.tenant_id, license_id)] = lic
        return lic

    def get_license(self, ctx: TenantContext, license_id: str) -> License:
        lic = self.licenses.get((ctx.tenant_id, license_id))
        if lic is None:
            raise NotFound(f"license {license_id} does not exist")
        return lic

    def list_licenses(
        self,
        ctx: TenantContext,
        filters: LicenseFilter,
        page: PageRequest,
        expiring_within_days: int | None = None,
    ) -> Page[License]:
        items = [
            lic
            for (t, _), lic in self.licenses.items()
            if t == ctx.tenant_id
            and (filters.product is None or product_key(lic.product) == product_key(filters.product))
        ]
        return Page(items=items[: page.limit])

    def assign_seat(self, ctx: TenantContext, license_id: str, request: SeatCreate) -> Seat:
        lic = self.get_license(ctx, license_id)
        if any(s.license_id == license_id and s.consumer == request.consumer for s in self.seats):
            raise SeatTaken(request.consumer)
        if lic.assigned >= lic.quantity and not lic.allow_overallocation:
            raise NoSeatLeft(lic.quantity)
        seat = Seat(
            id=f"{len(self.seats) + 1:032x}",
            license_id=license_id,
            user=request.user,
            note=request.note,
            assigned_at=datetime(2026, 1, 1, tzinfo=UTC),
            assigned_by=ctx.user_id,
        )
        self.seats.append(seat)
        self.licenses[(ctx.tenant_id, license_id)] = lic.model_copy(update={"assigned": lic.assigned + 1})
        return seat


class FakePublisher:
    """Records what is published; with `failing`, refuses like an unreachable bus."""

    def __init__(self, failing: bool = False) -> None:
        self.published: list[tuple[str, Mapping[str, Any]]] = []
        self.failing = failing

    def publish(self, detail_type: str, details: Sequence[Mapping[str, Any]]) -> None:
        if self.failing:
            raise RuntimeError("the bus is unreachable")
        self.published.extend((detail_type, detail) for detail in details)

    @property
    def types(self) -> list[str]:
        return [detail_type for detail_type, _ in self.published]


# The fakes must satisfy the ports: mypy checks these assignments.
_requests: RequestRepository = FakeRequestRepository()
_seats: Seats = FakeSeats()
_publisher: EventPublisher = FakePublisher()
_directory: Directory = FakeDirectory()
