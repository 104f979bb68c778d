"""Use cases of requests: submission, approval along the tenant's policy, fulfilment from stock and
license seats (or from what procurement receives), cancellation. Every change of a request is one
conditional write with its history event; domain events are published after the write."""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from itam.assets.errors import AssetNotFound
from itam.assets.models import Actor, Asset, AssetFilter, CheckoutRequest, Kind, Money, Status
from itam.clock import ID_PATTERN, SystemClock, TimeOrderedIds
from itam.errors import (
    ConcurrentModification,
    Forbidden,
    InvalidInput,
    InvalidState,
    KeyAlreadyUsed,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    StaleVersion,
    WriteConflict,
)
from itam.etags import etag_matches
from itam.idempotency import IdempotencyClaim
from itam.pagination import MAX_PAGE_SIZE, Page, PageRequest
from itam.ports import Clock, EventPublisher, IdGenerator
from itam.requests.errors import FulfilmentInProgress, RequestNotFound, UnknownUser
from itam.requests.models import (
    Approval,
    ApprovalPolicy,
    ApprovalStep,
    Decision,
    DecisionBody,
    EventType,
    PolicyEvent,
    PolicyUpdate,
    RejectionBody,
    Request,
    RequestCreate,
    RequestEvent,
    RequestFilter,
    RequestKind,
    RequestStatus,
    SeatRef,
    StepUpdate,
)
from itam.requests.ports import Directory, Lease, RequestRepository, Seats, Stock, StoredRequest
from itam.requests.workflow import (
    DEFAULT_POLICY,
    FULFILLABLE,
    OVERSEERS,
    applicable_steps,
    awaits,
    check_approver,
    check_rejecter,
    check_transition,
    fold,
    may_see,
    names_caller,
)
from itam.retry import back_off
from itam.tenancy import Permission, Role, TenantContext

if TYPE_CHECKING:
    from itam.licenses.models import License

logger = logging.getLogger(__name__)

# A fulfilment holds its request this long at most; the API function's timeout is 10 s.
LEASE_SECONDS = 60
# Candidates a fulfilment looks through at most: pages of 100 in-stock assets, or of licenses.
STOCK_PAGES = 20
LICENSE_PAGES = 5
# Who approves a request that no step of the policy applies to.
POLICY_ACTOR = Actor(user_id="system", username="approval policy")
DETAIL_TYPES = {
    RequestStatus.SUBMITTED: "request.submitted",
    RequestStatus.APPROVED: "request.approved",
    RequestStatus.REJECTED: "request.rejected",
    RequestStatus.AWAITING_PROCUREMENT: "request.awaiting_procurement",
    RequestStatus.FULFILLED: "request.fulfilled",
    RequestStatus.CANCELLED: "request.cancelled",
}

S = RequestStatus
# An approver's inbox reads at most this many pages (of 100 submitted requests) per call.
INBOX_QUERIES = 10


@dataclass
class _Change:
    """What a decision does to a request, and what its history event says."""

    update: dict[str, Any]
    type: EventType
    comment: str | None = None
    step: int | None = None


@dataclass
class _Run:
    """One fulfilment: the request as last written, its lease, and the events to publish."""

    request: Request
    lease: Lease
    released: bool = False
    published: list[Request] = field(default_factory=list)


Assign = Callable[[TenantContext, _Run], None]


class RequestService:
    """Requests and approvals for the tenant of each call."""

    def __init__(
        self,
        repository: RequestRepository,
        stock: Stock,
        seats: Callable[[], Seats],
        publisher: EventPublisher,
        clock: Clock | None = None,
        ids: IdGenerator | None = None,
        max_attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        *,
        people: Directory,
    ) -> None:
        self._repo = repository
        self._people = people  # who a name given in a policy step, a recipient or a filter is
        self._stock = stock
        self._seats = seats  # built on first use: a hardware request does not load licensing
        self._publisher = publisher
        self._clock = clock or SystemClock()
        self._ids = ids or TimeOrderedIds()
        self._max_attempts = max_attempts
        self._sleep = sleep

    # ------------------------------------------------------------------ reads
    def get_request(self, ctx: TenantContext, request_id: str) -> Request:
        """The request, if the caller may see it (else RequestNotFound, as for another tenant's id)."""
        ctx.require(Permission.READ)
        return self._load(ctx, request_id).request

    def list_requests(
        self, ctx: TenantContext, filters: RequestFilter, page: PageRequest, awaiting_me: bool = False
    ) -> Page[Request]:
        """One page of requests, newest first. Admins, editors and auditors list all of the tenant's;
        anyone else lists the ones they made (the default) or receive.

        `awaiting_me` lists, to anyone, the submitted requests whose current step the caller may
        decide now: the approver's inbox (see `_inbox`).
        """
        ctx.require(Permission.READ)
        if awaiting_me:
            return self._inbox(ctx, filters, page)
        if ctx.roles & OVERSEERS:
            return self._repo.list(ctx, self._by_id(ctx, filters), page)
        found = self._repo.list(ctx, self._by_id(ctx, _own_filters(ctx, filters)), page)
        # A request made before recipients were kept by id is listed under the name it was made for,
        # which grants nothing: it is left out unless the caller may see it.
        return Page([r for r in found.items if may_see(ctx, r)], found.next_cursor)

    def _by_id(self, ctx: TenantContext, filters: RequestFilter) -> RequestFilter:
        """The filters as the listing indexes hold people: a recipient who is a user of the tenant by
        their id; anyone else by the name they were given."""
        name = filters.requested_for
        if name is None:
            return filters
        person_id = ctx.user_id if names_caller(ctx, name) else self._user_id(ctx, name)
        return filters if person_id is None else filters.model_copy(update={"requested_for": person_id})

    def _user_id(self, ctx: TenantContext, name: str) -> str | None:
        person = self._people.find(ctx, name)
        return person.user_id if person is not None else None

    def _inbox(self, ctx: TenantContext, filters: RequestFilter, page: PageRequest) -> Page[Request]:
        """Up to `page.limit` submitted requests the caller may decide now, newest first.

        The tenant's submitted requests are read 100 a Query until the page is full, the requests
        end, or INBOX_QUERIES were made. A full page's cursor is placed after the last request it
        returns, never after one only read, so that it names nothing the caller may not see. When
        the reading stops short, an overseer (who may see every request) gets the cursor where it
        stopped; anyone else gets none, since that cursor would name a request of someone else's.
        Someone who is not an overseer filters by people only as in any listing."""
        if filters.status not in (None, S.SUBMITTED):
            raise InvalidInput("awaiting_me lists submitted requests: leave status out")
        if not ctx.roles & OVERSEERS:
            _own_filters(ctx, filters)  # refuses a filter naming someone else, as a listing does
        submitted = self._by_id(ctx, filters).model_copy(update={"status": S.SUBMITTED})
        kept: list[Request] = []
        cursor = page.cursor
        for _ in range(INBOX_QUERIES):
            found = self._repo.list(ctx, submitted, PageRequest(MAX_PAGE_SIZE, cursor))
            for request in found.items:
                if awaits(ctx, request):
                    kept.append(request)
                    if len(kept) == page.limit:
                        return Page(kept, self._repo.cursor_after(ctx, submitted, request.id))
            if found.next_cursor is None:
                return Page(kept)
            cursor = found.next_cursor
        return Page(kept, cursor if ctx.roles & OVERSEERS else None)

    def request_history(self, ctx: TenantContext, request_id: str, page: PageRequest) -> Page[RequestEvent]:
        """The request's changes, oldest first, for whoever may see the request."""
        ctx.require(Permission.READ)
        self._load(ctx, request_id)
        return self._repo.history(ctx, request_id, page)

    # ------------------------------------------------------------------ submission and decisions
    def submit_request(
        self, ctx: TenantContext, data: RequestCreate, idempotency_key: str | None = None
    ) -> Request:
        """Record a request with the approval chain the policy gives it now. A request that no step
        applies to is approved at once, and fulfilment is tried.

        With an Idempotency-Key, the same request sent again by the same person gets the request the
        first one made, as it is now (and, if the first stopped before the policy approved it, that
        approval is done now); the key with another body, or from someone else, is refused, for
        IDEMPOTENCY_TTL after the first."""
        ctx.require(Permission.READ)
        cost = data.estimated_cost
        if data.license_id is not None:
            cost = _higher(cost, self._license_price(ctx, data.license_id))
        policy = self._policy(ctx)
        steps = applicable_steps(policy, cost)
        recipient = data.requested_for
        now = self._clock.now()
        request = Request(
            **data.model_dump(exclude={"requested_for", "estimated_cost"}),
            id=self._ids.new_id(),
            requested_by=ctx.user_id,
            requested_by_name=ctx.username,
            requested_for=recipient or ctx.user_id,
            # The recipient is a party (sees the request, decides nothing on it) only as a user of the
            # tenant, by id; a name that is no user's is kept for the assignment and grants nothing.
            requested_for_id=(
                ctx.user_id
                if recipient is None or names_caller(ctx, recipient)
                else self._user_id(ctx, recipient)
            ),
            estimated_cost=cost,
            status=S.SUBMITTED,
            version=1,
            created_at=now,
            updated_at=now,
            updated_by=ctx.user_id,
            approval=Approval(policy_version=policy.version, steps=steps, current_step=0 if steps else None),
            remaining=data.quantity,
        )
        event = RequestEvent(
            request_id=request.id,
            version=1,
            type="submitted",
            at=now,
            actor=_actor(ctx),
            new_status=S.SUBMITTED,
        )
        claim = None
        if idempotency_key is not None:
            fingerprint = f"request|{ctx.user_id}|{data.model_dump_json()}"  # someone else's key is no replay
            claim = IdempotencyClaim.of(idempotency_key, fingerprint, now)
        for attempt in range(self._max_attempts):
            try:
                self._repo.create(ctx, request, event, claim)
                break
            except KeyAlreadyUsed:
                assert claim is not None
                record = self._repo.idempotency_record(ctx, claim.key_digest, int(now.timestamp()))
                return self._resumed(ctx, self._load(ctx, claim.replayed(record)).request)
            except WriteConflict:  # the same key's other submission in flight, say: try again
                back_off(attempt, self._sleep)
        else:
            raise ConcurrentModification("the requests were too busy to take this one; retry")
        self._publish(ctx, [request])
        return self._settled(ctx, request)

    def _resumed(self, ctx: TenantContext, first: Request) -> Request:
        """A replayed submission: the first one's request as it is now, after doing what the first
        may not have done. While it is submitted, `request.submitted` is published again (events
        are delivered at least once, and carry the version to tell repeats apart), so that an
        approver is told even if the first submission stopped before publishing."""
        if first.status is S.SUBMITTED:
            self._publish(ctx, [first])
        return self._settled(ctx, first)

    def _settled(self, ctx: TenantContext, request: Request) -> Request:
        """The policy's approval of a just-submitted request; if another call (the same submission's
        replay, or the first) is approving it at the same moment, whatever that call left."""
        for attempt in range(self._max_attempts):
            try:
                return self._approved_by_policy(ctx, request)
            except (StaleVersion, WriteConflict):
                back_off(attempt, self._sleep)
                stored = self._repo.get(ctx, request.id)
                if stored is None:
                    return request
                request = stored.request
        raise ConcurrentModification("the request kept changing while the policy approved it; retry")

    def _approved_by_policy(self, ctx: TenantContext, request: Request) -> Request:
        """A just-submitted request that no step applies to, approved (and fulfilment tried); any
        other request as it is."""
        if request.status is not S.SUBMITTED or request.approval.steps:
            return request
        change = _Change(
            {"status": S.APPROVED},
            "approved",
            "no step of the approval policy applies to this request's estimated cost",
        )
        approved = self._write_change(ctx, POLICY_ACTOR, request, change)
        self._publish(ctx, [approved])
        return self._fulfil_after_approval(ctx, approved)

    def approve_request(
        self, ctx: TenantContext, request_id: str, body: DecisionBody, if_match: str | None
    ) -> Request:
        """Approve the step the request waits for; the last approval approves the request and tries
        to fulfil it at once."""
        ctx.require(Permission.READ)
        if if_match is None:
            raise PreconditionRequired()

        def apply(request: Request, now: datetime) -> _Change:
            index = check_approver(ctx, request)
            decision = Decision(step=index, decision="approved", by=_actor(ctx), at=now, comment=body.comment)
            last = index + 1 == len(request.approval.steps)
            approval = request.approval.model_copy(
                update={
                    "current_step": None if last else index + 1,
                    "decisions": [*request.approval.decisions, decision],
                }
            )
            update: dict[str, Any] = {"approval": approval, "comment": body.comment}
            if last:
                update["status"] = S.APPROVED
            return _Change(update, "approved" if last else "step_approved", body.comment, index)

        request = self._mutate(ctx, request_id, if_match, apply)
        if request.status is not S.APPROVED:
            return request
        self._publish(ctx, [request])
        return self._fulfil_after_approval(ctx, request)

    def reject_request(
        self, ctx: TenantContext, request_id: str, body: RejectionBody, if_match: str | None
    ) -> Request:
        """Reject the request at the step it waits for (the approver of that step, with a reason)."""
        ctx.require(Permission.READ)
        if if_match is None:
            raise PreconditionRequired()

        def apply(request: Request, now: datetime) -> _Change:
            index = check_rejecter(ctx, request)
            decision = Decision(step=index, decision="rejected", by=_actor(ctx), at=now, comment=body.comment)
            approval = request.approval.model_copy(
                update={"current_step": None, "decisions": [*request.approval.decisions, decision]}
            )
            update = {"approval": approval, "status": S.REJECTED, "comment": body.comment}
            return _Change(update, "rejected", body.comment, index)

        request = self._mutate(ctx, request_id, if_match, apply)
        self._publish(ctx, [request])
        return request

    def cancel_request(
        self, ctx: TenantContext, request_id: str, body: DecisionBody, if_match: str | None
    ) -> Request:
        """Withdraw a request before it is fulfilled (its requester or an admin). Units already
        assigned to it stay with the person they were assigned to."""
        ctx.require(Permission.READ)
        if if_match is None:
            raise PreconditionRequired()

        def apply(request: Request, now: datetime) -> _Change:
            if ctx.user_id != request.requested_by and Role.ADMIN not in ctx.roles:
                raise Forbidden("only the person who made the request or an admin can cancel it")
            check_transition(request.status, S.CANCELLED)
            approval = request.approval.model_copy(update={"current_step": None})
            return _Change(
                {"status": S.CANCELLED, "approval": approval, "comment": body.comment},
                "cancelled",
                body.comment,
            )

        request = self._mutate(ctx, request_id, if_match, apply)
        self._publish(ctx, [request])
        return request

    # ------------------------------------------------------------------ fulfilment
    def fulfil_request(self, ctx: TenantContext, request_id: str, if_match: str | None = None) -> Request:
        """Assign what is free now to an approved (or awaiting_procurement) request; what is not free
        leaves it awaiting_procurement. A fulfilled request is returned as it is."""
        ctx.require(Permission.WRITE)
        stored = self._load(ctx, request_id)
        if if_match is not None and not etag_matches(if_match, stored.request.version):
            raise PreconditionFailed("request")
        if stored.request.status is S.FULFILLED:
            return stored.request
        return self._fulfil(ctx, stored, self._assign_free_units)

    def on_procurement_received(
        self,
        ctx: TenantContext,
        request_id: str,
        asset_ids: Sequence[str] = (),
        license_id: str | None = None,
    ) -> Request:
        """Assign the units a received purchase-order line brought for this request: its assets
        (hardware) or a seat of its license; the request is fulfilled when nothing remains.
        Idempotent: units already recorded on the request are not assigned again."""
        ctx.require(Permission.WRITE)
        if bool(asset_ids) == (license_id is not None):
            raise InvalidInput("give the received assets or the received license, one of the two")
        stored = self._load(ctx, request_id)
        request = stored.request
        new_assets = _new_units(request, asset_ids, license_id)
        if not new_assets and (license_id is None or license_id in {s.license_id for s in request.seats}):
            return request  # a repeated delivery
        if request.status is S.FULFILLED:
            return request  # nothing remains: the units stay in stock
        if request.status not in FULFILLABLE:
            raise InvalidState(f"the request is {request.status}; the received units stay in stock")

        def assign(fctx: TenantContext, run: _Run) -> None:
            if license_id is not None:
                seats = self._seats()
                self._assign_seats(fctx, run, [seats.get_license(fctx, license_id)])
                return
            for asset_id in new_assets:
                if run.request.remaining == 0:
                    return
                if self._take_received(fctx, run.request, asset_id):
                    self._record_unit(fctx, run, asset_id=asset_id)

        return self._fulfil(ctx, stored, assign)

    # ------------------------------------------------------------------ approval policy
    def get_policy(self, ctx: TenantContext) -> ApprovalPolicy:
        """The tenant's approval policy (everyone may read who approves)."""
        ctx.require(Permission.READ)
        return self._policy(ctx)

    def put_policy(self, ctx: TenantContext, body: PolicyUpdate, if_match: str | None) -> ApprovalPolicy:
        """Replace the policy (admins). Requests submitted before keep the chain they were given.
        A step naming a user is stored with that user's id, which is what it matches from then on; a
        name that is no user of the tenant is refused (UnknownUser)."""
        ctx.require(Permission.ADMIN)
        if if_match is None:
            raise PreconditionRequired()
        steps: list[ApprovalStep] | None = None
        for attempt in range(self._max_attempts):
            current = self._policy(ctx)
            if not etag_matches(if_match, current.version):
                raise PreconditionFailed("approval policy")
            if steps is None:  # looked up once, and only for a write that can succeed
                steps = [self._stored_step(ctx, index, step) for index, step in enumerate(body.steps)]
            if current.version > 0 and steps == current.steps:
                return current  # nothing to write
            now = self._clock.now()
            policy = ApprovalPolicy(
                steps=steps, version=current.version + 1, updated_at=now, updated_by=ctx.user_id
            )
            event = PolicyEvent(version=policy.version, at=now, actor=_actor(ctx), steps=policy.steps)
            try:
                self._repo.put_policy(ctx, current.version, policy, event)
                return policy
            except StaleVersion:
                continue  # the next read decides between 412 and a retry (If-Match: *)
            except WriteConflict:
                back_off(attempt, self._sleep)
        raise ConcurrentModification(
            "the approval policy kept changing while this request was applied; retry"
        )

    def _stored_step(self, ctx: TenantContext, index: int, step: StepUpdate) -> ApprovalStep:
        # Only what an admin writes is taken from the body; the id is the directory's answer.
        stored = ApprovalStep.model_validate(step.model_dump(include=set(StepUpdate.model_fields)))
        if step.user is None:
            return stored
        user_id = self._user_id(ctx, step.user)
        if user_id is None:
            raise UnknownUser(step.user, f"steps.{index}.user")
        return stored.model_copy(update={"user_id": user_id})

    def policy_history(self, ctx: TenantContext, page: PageRequest) -> Page[PolicyEvent]:
        ctx.require(Permission.READ_HISTORY)
        return self._repo.policy_history(ctx, page)

    # ------------------------------------------------------------------ internals: decisions
    def _load(self, ctx: TenantContext, request_id: str) -> StoredRequest:
        stored = self._repo.get(ctx, request_id) if ID_PATTERN.fullmatch(request_id) else None
        if stored is None or not may_see(ctx, stored.request):
            raise RequestNotFound(request_id)
        return stored

    def _policy(self, ctx: TenantContext) -> ApprovalPolicy:
        return self._repo.get_policy(ctx) or DEFAULT_POLICY

    def _license_price(self, ctx: TenantContext, license_id: str) -> Money | None:
        try:
            lic = self._seats().get_license(ctx, license_id)
        except NotFound:
            raise InvalidInput(f"license {license_id} does not exist", "license_id") from None
        return lic.unit_cost

    def _mutate(
        self,
        ctx: TenantContext,
        request_id: str,
        if_match: str | None,
        apply: Callable[[Request, datetime], _Change],
    ) -> Request:
        """Read, decide, write on condition of the version read (and of no fulfilment holding it).
        A write that lost a race is decided again on a fresh read, where If-Match is checked again."""
        for attempt in range(self._max_attempts):
            stored = self._load(ctx, request_id)
            if if_match is not None and not etag_matches(if_match, stored.request.version):
                raise PreconditionFailed("request")
            if stored.leased_at(int(self._clock.now().timestamp())):
                raise FulfilmentInProgress()
            change = apply(stored.request, self._clock.now())
            try:
                return self._write_change(ctx, _actor(ctx), stored.request, change)
            except StaleVersion:
                continue
            except WriteConflict:
                back_off(attempt, self._sleep)
        raise ConcurrentModification("the request kept changing while this decision was applied; retry")

    def _write_change(self, ctx: TenantContext, actor: Actor, request: Request, change: _Change) -> Request:
        now = self._clock.now()
        current, event = _next(actor, request, change, now)
        self._repo.update(ctx, request, current, event, int(now.timestamp()))
        return current

    # ------------------------------------------------------------------ internals: fulfilment
    def _fulfil_after_approval(self, ctx: TenantContext, request: Request) -> Request:
        """Fulfil a request just approved. The approval stands whatever happens here: a failure is
        logged and the request stays approved, for POST /fulfil to retry."""
        try:
            return self._fulfil(ctx, StoredRequest(request), self._assign_free_units)
        except Exception:
            logger.exception("fulfilment after approval failed", extra={"request_id": request.id})
            stored = self._repo.get(ctx, request.id)
            return stored.request if stored is not None else request

    def _fulfil(self, ctx: TenantContext, stored: StoredRequest, assign: Assign) -> Request:
        """Hold the request, assign units through `assign`, settle its state, let go, publish."""
        request, lease = self._hold(ctx, stored)
        if lease is None:
            return request  # fulfilled by another fulfilment meanwhile
        run = _Run(request, lease)
        # Assets and seats are assigned with editor rights under the caller's name: the approval
        # chain, not the approver's role, is what authorises them.
        fctx = replace(ctx, roles=ctx.roles | {Role.EDITOR})
        try:
            assign(fctx, run)
            if run.request.remaining > 0 and run.request.status is S.APPROVED:
                change = _Change({"status": S.AWAITING_PROCUREMENT}, "awaiting_procurement")
                self._write_unit(ctx, run, change, keep_lease=False)
        finally:
            if not run.released:
                self._release(ctx, run)
            self._publish(ctx, run.published)
        return run.request

    def _hold(self, ctx: TenantContext, stored: StoredRequest) -> tuple[Request, Lease | None]:
        """Lease the request for this fulfilment (concurrent fulfilments of one request would
        otherwise each assign its remaining units): the request as leased, and the lease; no lease
        if the request is fulfilled already."""
        for _ in range(self._max_attempts):
            request = stored.request
            if request.status is S.FULFILLED:
                return request, None
            if request.status not in FULFILLABLE:
                raise InvalidState(f"only approved requests are fulfilled; this one is {request.status}")
            now = int(self._clock.now().timestamp())
            if stored.leased_at(now):
                raise FulfilmentInProgress()
            lease = Lease(self._ids.new_id(), now + LEASE_SECONDS)
            if self._repo.take_lease(ctx, request, lease, now):
                return request, lease
            fresh = self._repo.get(ctx, request.id)
            if fresh is None:
                raise RequestNotFound(request.id)
            stored = fresh
        raise ConcurrentModification("the request kept changing while its fulfilment started; retry")

    def _release(self, ctx: TenantContext, run: _Run) -> None:
        try:
            self._repo.release_lease(ctx, run.request.id, run.lease)
        except Exception:  # it expires by itself
            logger.exception("a fulfilment lease was not released", extra={"request_id": run.request.id})

    def _assign_free_units(self, fctx: TenantContext, run: _Run) -> None:
        if run.request.kind is RequestKind.HARDWARE:
            self._assign_stock(fctx, run)
        else:
            self._assign_seats(fctx, run, self._candidate_licenses(fctx, run.request))

    def _assign_stock(self, fctx: TenantContext, run: _Run) -> None:
        """Check out matching in-stock assets, each on condition of the version listed: an asset
        another fulfilment took first is skipped, so no asset goes to two requests."""
        request = run.request
        filters = AssetFilter(kind=Kind.HARDWARE, status=Status.IN_STOCK, category=request.category)
        cursor = None
        for _ in range(STOCK_PAGES):
            page = self._stock.list_assets(fctx, filters, PageRequest(MAX_PAGE_SIZE, cursor))
            candidates = [asset for asset in page.items if _fits(asset, request)]
            random.shuffle(candidates)  # concurrent fulfilments start on different assets
            for asset in candidates:
                if run.request.remaining == 0:
                    return
                if self._take_from_stock(fctx, run.request, asset):
                    self._record_unit(fctx, run, asset_id=asset.id)
            cursor = page.next_cursor
            if cursor is None or run.request.remaining == 0:
                return

    def _take_from_stock(self, fctx: TenantContext, request: Request, asset: Asset) -> bool:
        checkout = CheckoutRequest(assignee=request.requested_for, note=f"request {request.id}")
        try:
            self._stock.checkout_asset(fctx, asset.id, checkout, if_match=asset.etag)
        except (PreconditionFailed, InvalidState, ConcurrentModification, AssetNotFound):
            return False  # changed or taken since it was listed
        return True

    def _take_received(self, fctx: TenantContext, request: Request, asset_id: str) -> bool:
        """Check out a received asset to the request's recipient. One found checked out to them
        already was checked out by an earlier, interrupted delivery of the same line."""
        asset = self._stock.get_asset(fctx, asset_id)
        if asset.assigned_to is not None:
            return fold(asset.assigned_to) == fold(request.requested_for)
        checkout = CheckoutRequest(assignee=request.requested_for, note=f"request {request.id}")
        try:
            self._stock.checkout_asset(fctx, asset_id, checkout)
        except InvalidState:
            return False  # taken by another request in between: it stays awaiting its unit
        return True

    def _candidate_licenses(self, fctx: TenantContext, request: Request) -> Iterator[License]:
        seats = self._seats()
        if request.license_id is not None:
            yield seats.get_license(fctx, request.license_id)
            return
        from itam.licenses.models import LicenseFilter

        cursor = None
        for _ in range(LICENSE_PAGES):
            page = seats.list_licenses(
                fctx, LicenseFilter(product=request.product), PageRequest(MAX_PAGE_SIZE, cursor)
            )
            yield from page.items
            cursor = page.next_cursor
            if cursor is None:
                return

    def _assign_seats(self, fctx: TenantContext, run: _Run, licenses: Iterable[License]) -> None:
        """Give the recipient a seat of the first license with one free. The license's counter
        refuses a seat beyond its quantity, whatever runs concurrently; a seat the recipient holds
        already counts as assigned."""
        from itam.licenses.errors import NoSeatLeft, SeatTaken
        from itam.licenses.models import SeatCreate

        seats = self._seats()
        today = self._clock.now().date()
        request = run.request
        for lic in licenses:
            if run.request.remaining == 0:
                return
            if not lic.active_on(today) or (lic.allow_overallocation and lic.assigned >= lic.quantity):
                continue  # over-allocating is not fulfilling: it is a shortfall
            try:
                seat = seats.assign_seat(
                    fctx, lic.id, SeatCreate(user=request.requested_for, note=f"request {request.id}")
                )
                ref = SeatRef(license_id=lic.id, seat_id=seat.id)
            except SeatTaken:
                ref = SeatRef(license_id=lic.id, seat_id=None)
            except (NoSeatLeft, InvalidState, ConcurrentModification):
                continue
            self._record_unit(fctx, run, seat=ref)

    def _record_unit(
        self, ctx: TenantContext, run: _Run, asset_id: str | None = None, seat: SeatRef | None = None
    ) -> None:
        """Write one assigned unit onto the request; the last one fulfils it (and ends the lease)."""
        request = run.request
        remaining = request.remaining - 1
        update: dict[str, Any] = {"remaining": remaining}
        if asset_id is not None:
            update["assets"] = [*request.assets, asset_id]
        if seat is not None:
            update["seats"] = [*request.seats, seat]
        done = remaining == 0
        if done:
            update["status"] = S.FULFILLED
        refs = [asset_id] if asset_id is not None else []
        if seat is not None:
            refs.append(seat.seat_id or seat.license_id)
        change = _Change(update, "fulfilled" if done else "assigned")
        self._write_unit(ctx, run, change, keep_lease=not done, refs=refs)

    def _write_unit(
        self, ctx: TenantContext, run: _Run, change: _Change, keep_lease: bool, refs: Sequence[str] = ()
    ) -> None:
        """A write of the lease's holder; nothing else writes the request meanwhile, so a stale
        version means the lease was lost (held past LEASE_SECONDS)."""
        for attempt in range(self._max_attempts):
            now = self._clock.now()
            current, event = _next(_actor(ctx), run.request, change, now, refs)
            try:
                self._repo.update(
                    ctx, run.request, current, event, int(now.timestamp()), run.lease, keep_lease
                )
            except WriteConflict:
                back_off(attempt, self._sleep)
                continue
            except StaleVersion:
                raise ConcurrentModification("the request changed during its fulfilment; retry") from None
            if current.status is not run.request.status:
                run.published.append(current)
            run.request = current
            run.released = not keep_lease
            return
        raise ConcurrentModification("the request was too busy to record its fulfilment; retry")

    # ------------------------------------------------------------------ internals: events
    def _publish(self, ctx: TenantContext, requests: Sequence[Request]) -> None:
        """Publish one event per state a request reached. The write is what counts: an event that
        cannot be published is logged, not raised."""
        for request in requests:
            detail = {"tenant_id": ctx.tenant_id, "request": json.loads(request.model_dump_json())}
            try:
                self._publisher.publish(DETAIL_TYPES[request.status], [detail])
            except Exception:
                logger.exception(
                    "request event not published",
                    extra={"request_id": request.id, "detail_type": DETAIL_TYPES[request.status]},
                )


def _next(
    actor: Actor, request: Request, change: _Change, now: datetime, refs: Sequence[str] = ()
) -> tuple[Request, RequestEvent]:
    """The request after `change`, and the history event that records it."""
    status = change.update.get("status", request.status)
    if status is not request.status:
        check_transition(request.status, status)
    current = request.model_copy(
        update={
            **change.update,
            "version": request.version + 1,
            "updated_at": now,
            "updated_by": actor.user_id,
        }
    )
    event = RequestEvent(
        request_id=request.id,
        version=current.version,
        type=change.type,
        at=now,
        actor=actor,
        old_status=request.status,
        new_status=status,
        comment=change.comment,
        step=change.step,
        refs=list(refs),
    )
    return current, event


def _actor(ctx: TenantContext) -> Actor:
    return Actor(user_id=ctx.user_id, username=ctx.username)


def _fits(asset: Asset, request: Request) -> bool:
    if asset.assigned_to is not None or asset.status is not Status.IN_STOCK:
        return False
    if request.category is not None and asset.category != request.category:
        return False
    return request.model is None or fold(asset.model or "") == fold(request.model)


def _higher(estimate: Money | None, price: Money | None) -> Money | None:
    """The estimate, raised to the catalogue price when both are in one currency."""
    if estimate is None or price is None:
        return estimate or price
    if estimate.currency == price.currency and price.amount > estimate.amount:
        return price
    return estimate


def _own_filters(ctx: TenantContext, filters: RequestFilter) -> RequestFilter:
    """The filters of someone who sees only the requests they made or receive."""
    if filters.requested_by is None and filters.requested_for is None:
        return filters.model_copy(update={"requested_by": ctx.user_id})
    for value in (filters.requested_by, filters.requested_for):
        if value is not None and not names_caller(ctx, value):
            raise Forbidden(
                "you list the requests you made or receive: filter requested_by or requested_for by yourself"
            )
    if filters.requested_by is not None:
        return filters.model_copy(update={"requested_by": ctx.user_id})
    return filters


def _new_units(request: Request, asset_ids: Sequence[str], license_id: str | None) -> list[str]:
    """The received assets not yet recorded on the request (InvalidInput if the kind is wrong)."""
    if request.kind is RequestKind.HARDWARE and license_id is not None:
        raise InvalidInput("a hardware request receives assets, not a license")
    if request.kind is RequestKind.LICENSE and asset_ids:
        raise InvalidInput("a license request receives a license, not assets")
    return [asset_id for asset_id in dict.fromkeys(asset_ids) if asset_id not in request.assets]
