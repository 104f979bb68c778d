"""The request service's rules, on in-memory fakes (the asset register is the real AssetService on its
fake repository)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from itam.assets.models import Asset, AssetCreate, AssetFilter, CheckoutRequest, Money
from itam.assets.service import AssetService
from itam.errors import (
    ConcurrentModification,
    Forbidden,
    IdempotencyKeyReused,
    IllegalTransition,
    InvalidInput,
    InvalidState,
    PreconditionFailed,
    PreconditionRequired,
)
from itam.pagination import Page, PageRequest
from itam.requests.errors import (
    FulfilmentInProgress,
    NotApprover,
    RequestNotFound,
    SelfApproval,
    SelfRejection,
    UnknownUser,
)
from itam.requests.models import (
    ApprovalStep,
    DecisionBody,
    PolicyUpdate,
    RejectionBody,
    Request,
    RequestCreate,
    RequestFilter,
    RequestStatus,
)
from itam.requests.ports import Lease
from itam.requests.service import INBOX_QUERIES, RequestService
from itam.tenancy import Role, TenantContext
from tests.support.fakes import FakeAssetRepository, FixedClock, SequentialIds
from tests.support.request_fakes import FakeDirectory, FakePublisher, FakeRequestRepository, FakeSeats

ALICE = TenantContext("acme", "alice", "alice@acme", frozenset({Role.VIEWER}))
BOSS = TenantContext("acme", "boss", "boss@acme", frozenset({Role.ADMIN}))
CHIEF = TenantContext("acme", "chief", "chief@acme", frozenset({Role.ADMIN}))
EDITOR = TenantContext("acme", "ed", "ed@acme", frozenset({Role.EDITOR}))
GLOBEX = TenantContext("globex", "boss", "boss@globex", frozenset({Role.ADMIN}))
PEOPLE = (ALICE, BOSS, CHIEF, EDITOR, GLOBEX)
LAPTOP = RequestCreate(kind="hardware", category="laptop", justification="new hire")
APPROVE = DecisionBody()


class World:
    """A request service on fakes, with the asset register it fulfils from."""

    def __init__(self, publisher: FakePublisher | None = None, stock: Any = None) -> None:
        self.clock = FixedClock()
        self.repo = FakeRequestRepository()
        self.asset_repo = FakeAssetRepository()
        self.assets = AssetService(self.asset_repo, self.clock, SequentialIds(), sleep=lambda _: None)
        self.seats = FakeSeats()
        self.publisher = publisher or FakePublisher()
        self.people = FakeDirectory(*((c.tenant_id, c.user_id, c.username) for c in PEOPLE))
        ids = _Ids(1000)
        self.service = RequestService(
            self.repo,
            stock or self.assets,
            lambda: self.seats,
            self.publisher,
            self.clock,
            ids,
            sleep=lambda _: None,
            people=self.people,
        )

    def laptops(self, count: int, **fields: Any) -> list[Asset]:
        data = {"name": "Laptop", "kind": "hardware", "category": "laptop", "status": "in_stock", **fields}
        return [self.assets.register_asset(BOSS, AssetCreate.model_validate(data)) for _ in range(count)]

    def submit(self, ctx: TenantContext = ALICE, **fields: Any) -> Request:
        return self.service.submit_request(ctx, LAPTOP.model_copy(update=fields))

    def approve(self, request: Request, ctx: TenantContext = BOSS) -> Request:
        return self.service.approve_request(ctx, request.id, APPROVE, request.etag)


class _Ids:
    def __init__(self, start: int) -> None:
        self.counter = start

    def new_id(self) -> str:
        self.counter += 1
        return f"{self.counter:032x}"


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def logged() -> Iterator[list[str]]:
    """Messages the request service logs (pytest's own log capture is off in this suite)."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler = Collect(logging.ERROR)
    logger = logging.getLogger("itam.requests.service")
    logger.addHandler(handler)
    yield messages
    logger.removeHandler(handler)


def statuses(world: World, request: Request) -> list[tuple[str, str | None, str]]:
    return [(e.type, e.old_status, e.new_status) for e in world.repo.events[("acme", request.id)]]


# ---------------------------------------------------------------------- the approval chain
def test_a_two_step_chain_approves_then_fulfils(world: World) -> None:
    world.service.put_policy(
        BOSS, PolicyUpdate(steps=[ApprovalStep(role=Role.EDITOR), ApprovalStep(role=Role.ADMIN)]), '"0"'
    )
    [laptop] = world.laptops(1)
    made = world.submit()
    assert made.approval.current_step == 0

    first = world.approve(made, EDITOR)
    assert (first.status, first.approval.current_step, first.version) == ("submitted", 1, 2)
    assert world.publisher.types == ["request.submitted"]  # a step is not an event on the bus
    done = world.approve(first, BOSS)

    assert (done.status, done.assets, done.remaining) == ("fulfilled", [laptop.id], 0)
    assert statuses(world, made) == [
        ("submitted", None, "submitted"),
        ("step_approved", "submitted", "submitted"),
        ("approved", "submitted", "approved"),
        ("fulfilled", "approved", "fulfilled"),
    ]
    assert world.publisher.types == ["request.submitted", "request.approved", "request.fulfilled"]
    assert world.assets.get_asset(BOSS, laptop.id).assigned_to == "alice"
    assert world.repo.leases == {}  # the fulfilment let go


def test_the_requester_is_refused_and_nothing_is_written(world: World) -> None:
    made = world.submit(BOSS)
    with pytest.raises(SelfApproval):
        world.approve(made, BOSS)
    on_behalf = world.submit(ALICE, requested_for="chief@acme")
    with pytest.raises(SelfApproval):
        world.approve(on_behalf, CHIEF)
    assert world.repo.requests[("acme", made.id)] == made
    assert len(world.repo.events[("acme", on_behalf.id)]) == 1


def test_the_same_person_cannot_approve_two_steps(world: World) -> None:
    both = TenantContext("acme", "both", "both@acme", frozenset({Role.EDITOR, Role.ADMIN}))
    world.service.put_policy(
        BOSS, PolicyUpdate(steps=[ApprovalStep(role=Role.EDITOR), ApprovalStep(role=Role.ADMIN)]), '"0"'
    )
    first = world.approve(world.submit(), both)
    with pytest.raises(NotApprover):
        world.approve(first, both)
    assert world.approve(first, BOSS).status == "awaiting_procurement"


def test_decisions_need_the_current_etag(world: World) -> None:
    made = world.submit()
    with pytest.raises(PreconditionRequired):
        world.service.approve_request(BOSS, made.id, APPROVE, None)
    with pytest.raises(PreconditionFailed, match="request"):
        world.service.reject_request(BOSS, made.id, RejectionBody(comment="no"), '"2"')
    assert world.service.reject_request(BOSS, made.id, RejectionBody(comment="no"), "*").status == "rejected"
    with pytest.raises(InvalidState):
        world.service.approve_request(BOSS, made.id, APPROVE, "*")


def test_a_write_that_meets_another_in_flight_is_retried(world: World) -> None:
    made = world.submit()
    world.repo.conflicts = 2
    assert world.approve(made).status == "awaiting_procurement"


def test_a_request_no_step_applies_to_is_approved_by_the_policy(world: World) -> None:
    threshold = Money(amount=Decimal("100"), currency="EUR")
    world.service.put_policy(
        BOSS, PolicyUpdate(steps=[ApprovalStep(role=Role.ADMIN, min_cost=threshold)]), '"0"'
    )
    world.laptops(1)
    made = world.submit(estimated_cost=Money(amount=Decimal("99"), currency="EUR"))

    assert made.status == "fulfilled"
    approved = world.repo.events[("acme", made.id)][1]
    assert (approved.type, approved.actor.user_id) == ("approved", "system")
    assert world.publisher.types == ["request.submitted", "request.approved", "request.fulfilled"]


def test_a_keyed_retry_finishes_what_a_failed_submission_left_undone(world: World) -> None:
    # Given: a request no step applies to, whose submission stopped after storing it (the policy's
    # approval met a failure)
    world.service.put_policy(
        BOSS,
        PolicyUpdate(steps=[ApprovalStep(role=Role.ADMIN, min_cost=Money(amount="100", currency="EUR"))]),
        '"0"',
    )
    world.laptops(1)
    cheap = LAPTOP.model_copy(update={"estimated_cost": Money(amount=Decimal("99"), currency="EUR")})
    world.repo.conflicts = 3  # every attempt at the approval meets another transaction
    with pytest.raises(ConcurrentModification):
        world.service.submit_request(ALICE, cheap, idempotency_key="k-1")
    [(_, stored)] = world.repo.requests.items()
    assert stored.status == "submitted"

    # When: the client retries with its key
    again = world.service.submit_request(ALICE, cheap, idempotency_key="k-1")

    # Then: the same request, approved by the policy and fulfilled now; nothing submitted twice
    assert (again.id, again.status) == (stored.id, "fulfilled")
    assert len(world.repo.requests) == 1
    assert world.service.submit_request(ALICE, cheap, idempotency_key="k-1") == again
    with pytest.raises(IdempotencyKeyReused):  # the key with another body, or from someone else
        world.service.submit_request(ALICE, LAPTOP, idempotency_key="k-1")
    with pytest.raises(IdempotencyKeyReused):
        world.service.submit_request(EDITOR, cheap, idempotency_key="k-1")


def test_a_keyed_submission_that_meets_another_in_flight_is_retried_and_a_replay_notifies_again(
    world: World,
) -> None:
    # Given: the create meets another transaction in flight (the same key sent twice at once)
    world.repo.create_conflicts = 1
    made = world.service.submit_request(ALICE, LAPTOP, idempotency_key="k-2")
    assert len(world.repo.requests) == 1 and made.status == "submitted"

    # When: the client retries while the request still waits for its approver
    again = world.service.submit_request(ALICE, LAPTOP, idempotency_key="k-2")

    # Then: the same request, and request.submitted once more (at least once: the first may have
    # stopped before publishing), with the version that tells a repeat apart
    assert again == made
    assert world.publisher.types == ["request.submitted", "request.submitted"]
    assert {detail["request"]["version"] for _, detail in world.publisher.published} == {1}
    world.repo.create_conflicts = 3
    with pytest.raises(ConcurrentModification):
        world.service.submit_request(ALICE, LAPTOP, idempotency_key="k-3")
    assert len(world.repo.requests) == 1


def test_an_inbox_reads_a_bounded_number_of_pages_and_names_nothing_it_may_not_show(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given: 1,050 submitted requests, every one waiting for an admin
    first = world.submit()
    for n in range(1, 1050):
        copy = first.model_copy(update={"id": f"{int(first.id, 16) + n:032x}"})
        world.repo.requests[("acme", copy.id)] = copy
    queries: list[str | None] = []
    listing = world.repo.list

    def counted(ctx: TenantContext, filters: RequestFilter, page: PageRequest) -> Page[Request]:
        queries.append(page.cursor)
        return listing(ctx, filters, page)

    monkeypatch.setattr(world.repo, "list", counted)

    def inbox(ctx: TenantContext, cursor: str | None = None) -> Page[Request]:
        queries.clear()
        found = world.service.list_requests(ctx, RequestFilter(), PageRequest(10, cursor), awaiting_me=True)
        assert len(queries) <= INBOX_QUERIES
        return found

    # Then: an admin's page fills at once; its cursor continues after its last request
    page = inbox(BOSS)
    assert len(page.items) == 10 and len(queries) == 1
    following = inbox(BOSS, page.next_cursor).items
    assert len(following) == 10 and following[0].id < page.items[-1].id
    # An editor (may see all, decides none) is told where the bounded reading stopped, then the rest
    stopped = inbox(EDITOR)
    assert (stopped.items, len(queries)) == ([], INBOX_QUERIES) and stopped.next_cursor is not None
    assert inbox(EDITOR, stopped.next_cursor) == Page([], None)
    # A viewer who decides none gets no cursor: it would name someone else's request
    assert inbox(TenantContext("acme", "bob", "bob@acme", frozenset({Role.VIEWER}))) == Page([], None)


def test_the_license_price_raises_a_low_estimate(world: World) -> None:
    world.seats.add(ALICE, "a" * 32, unit_cost=Money(amount=Decimal("80"), currency="EUR"))
    threshold = Money(amount=Decimal("50"), currency="EUR")
    world.service.put_policy(
        BOSS, PolicyUpdate(steps=[ApprovalStep(role=Role.ADMIN, min_cost=threshold)]), '"0"'
    )
    low = RequestCreate(
        kind="license",
        license_id="a" * 32,
        justification="x",
        estimated_cost=Money(amount=Decimal("1"), currency="EUR"),
    )
    made = world.service.submit_request(ALICE, low)
    assert made.estimated_cost == Money(amount=Decimal("80"), currency="EUR")
    assert made.status == "submitted"
    with pytest.raises(InvalidInput) as missing:
        world.service.submit_request(ALICE, low.model_copy(update={"license_id": "b" * 32}))
    assert missing.value.field == "license_id"


def test_the_policy_needs_admin_and_if_match(world: World) -> None:
    update = PolicyUpdate(steps=[ApprovalStep(role=Role.EDITOR)])
    with pytest.raises(Forbidden):
        world.service.put_policy(EDITOR, update, '"0"')
    with pytest.raises(PreconditionRequired):
        world.service.put_policy(BOSS, update, None)
    assert world.service.get_policy(ALICE).version == 0
    assert world.service.put_policy(BOSS, update, '"0"').version == 1
    with pytest.raises(PreconditionFailed):
        world.service.put_policy(BOSS, update, '"0"')
    assert world.service.put_policy(BOSS, update, "*").version == 1  # unchanged: nothing written
    assert [e.version for e in world.service.policy_history(BOSS, PageRequest()).items] == [1]
    assert world.service.get_policy(GLOBEX).version == 0


# ---------------------------------------------------------------------- people, by id
CONTROLLER = TenantContext("acme", "c-1", "controller@acme", frozenset({Role.VIEWER}))


def controller_policy(world: World, name: str = "Controller@ACME") -> None:
    """One step: the controller, named by e-mail address in another case than the directory's."""
    world.people.add("acme", CONTROLLER.user_id, CONTROLLER.username)
    world.service.put_policy(BOSS, PolicyUpdate(steps=[ApprovalStep(user=name)]), '"0"')


def test_a_step_naming_a_user_holds_the_user_s_id_and_keeps_the_name(world: World) -> None:
    controller_policy(world)
    [step] = world.service.get_policy(ALICE).steps
    assert (step.user, step.user_id) == ("Controller@ACME", "c-1")
    [event] = world.service.policy_history(BOSS, PageRequest()).items
    assert event.steps[0].user_id == "c-1"


@pytest.mark.parametrize("name", ["nobody@acme", "boss@globex", "c-1 ", "off@acme"])
def test_a_step_naming_no_user_of_the_tenant_is_refused_and_nothing_is_written(
    world: World, name: str
) -> None:
    world.people.add("acme", "off", "off@acme", enabled=False)
    update = PolicyUpdate(steps=[ApprovalStep(role=Role.ADMIN), ApprovalStep(user=name)])
    with pytest.raises(UnknownUser) as refused:
        world.service.put_policy(BOSS, update, '"0"')
    assert refused.value.field == "steps.1.user"
    assert world.service.get_policy(BOSS).version == 0


def test_names_are_looked_up_only_for_a_write_that_can_succeed_and_ids_never_taken_from_the_body(
    world: World,
) -> None:
    world.service.put_policy(BOSS, PolicyUpdate(steps=[ApprovalStep(role=Role.EDITOR)]), '"0"')
    with pytest.raises(PreconditionFailed):
        world.service.put_policy(BOSS, PolicyUpdate(steps=[ApprovalStep(user="nobody@acme")]), '"0"')
    assert world.people.lookups == []
    given = [ApprovalStep(role=Role.ADMIN, user_id="alice"), ApprovalStep(user="chief@acme", user_id="alice")]
    stored = world.service.put_policy(BOSS, PolicyUpdate(steps=given), '"1"')
    assert [step.user_id for step in stored.steps] == [None, "chief"]


def test_someone_who_takes_the_step_s_name_neither_sees_nor_decides_the_request(world: World) -> None:
    # Given: a policy naming the controller, and a request waiting for her
    controller_policy(world)
    world.laptops(1)
    made = world.submit()
    # When: a viewer's token shows the controller's address, in the step's case or the pool's
    for shown in ("Controller@ACME", "controller@acme"):
        impostor = TenantContext("acme", "mallory", shown, frozenset({Role.VIEWER}))
        # Then: to her, the request does not exist
        with pytest.raises(RequestNotFound):
            world.service.get_request(impostor, made.id)
        with pytest.raises(RequestNotFound):
            world.service.approve_request(impostor, made.id, APPROVE, made.etag)
        assert (
            world.service.list_requests(impostor, RequestFilter(), PageRequest(), awaiting_me=True).items
            == []
        )
    # And the controller, whatever her token's name, decides it
    renamed = TenantContext("acme", "c-1", "c-1", frozenset({Role.VIEWER}))
    assert [
        r.id for r in world.service.list_requests(renamed, RequestFilter(), PageRequest(), True).items
    ] == [made.id]
    assert world.approve(made, renamed).status == "fulfilled"


def test_the_recipient_is_kept_by_id_and_stays_a_party_under_any_name(world: World) -> None:
    made = world.submit(ALICE, requested_for="CHIEF@acme")
    assert (made.requested_for, made.requested_for_id) == ("CHIEF@acme", "chief")
    renamed = TenantContext("acme", "chief", "someone-else@acme", frozenset({Role.ADMIN}))
    with pytest.raises(SelfApproval):
        world.approve(made, renamed)
    assert world.service.get_request(TenantContext("acme", "chief", "x", frozenset({Role.VIEWER})), made.id)
    own = world.submit(ALICE)
    assert (own.requested_for, own.requested_for_id) == ("alice", "alice")
    assert world.submit(ALICE, requested_for="ALICE@acme").requested_for_id == "alice"


def test_a_recipient_who_is_no_user_of_the_tenant_is_a_name_that_grants_nothing(world: World) -> None:
    for name in ("Bob Smith", "boss@globex"):
        made = world.submit(ALICE, requested_for=name)
        assert (made.requested_for, made.requested_for_id) == (name, None)
    pretender = TenantContext("acme", "bob", "Bob Smith", frozenset({Role.VIEWER}))
    assert (
        world.service.list_requests(pretender, RequestFilter(requested_for="Bob Smith"), PageRequest()).items
        == []
    )
    assert [
        r.requested_for
        for r in world.service.list_requests(
            EDITOR, RequestFilter(requested_for="bob smith"), PageRequest()
        ).items
    ] == ["Bob Smith"]


def test_recipients_list_what_they_receive_by_id_and_overseers_filter_by_e_mail(world: World) -> None:
    for_chief = world.submit(ALICE, requested_for="chief@acme")
    world.submit(ALICE, requested_for="Chief Officer")  # a name only
    chief = TenantContext("acme", "chief", "chief@acme", frozenset({Role.VIEWER}))
    for name in ("chief@acme", "chief"):
        listed = world.service.list_requests(chief, RequestFilter(requested_for=name), PageRequest())
        assert [r.id for r in listed.items] == [for_chief.id]
    for name in ("CHIEF@acme", "chief"):
        listed = world.service.list_requests(EDITOR, RequestFilter(requested_for=name), PageRequest())
        assert [r.id for r in listed.items] == [for_chief.id]


def test_a_request_stored_before_recipients_had_ids_is_listed_to_nobody_by_name(world: World) -> None:
    # Given: a request whose document has no requested_for_id, made for bob by name
    old = world.submit(ALICE, requested_for="Bob Smith")
    bob = TenantContext("acme", "bob", "bob", frozenset({Role.VIEWER}))
    legacy = old.model_copy(update={"requested_for": "bob", "requested_for_id": None})
    world.repo.requests[("acme", old.id)] = legacy
    # Then: bob, whose id is the name it was made for, neither lists nor reads it; its requester does
    assert world.service.list_requests(bob, RequestFilter(requested_for="bob"), PageRequest()).items == []
    with pytest.raises(RequestNotFound):
        world.service.get_request(bob, old.id)
    assert world.service.get_request(ALICE, old.id) == legacy


def test_the_requester_or_recipient_cannot_reject_even_holding_the_step_s_role(world: World) -> None:
    by_boss = world.submit(BOSS)
    for_chief = world.submit(ALICE, requested_for="chief@acme")
    no = RejectionBody(comment="no")
    with pytest.raises(SelfRejection):
        world.service.reject_request(BOSS, by_boss.id, no, by_boss.etag)
    with pytest.raises(SelfRejection):
        world.service.reject_request(CHIEF, for_chief.id, no, for_chief.etag)
    assert world.service.get_request(BOSS, by_boss.id) == by_boss  # nothing written
    assert world.service.cancel_request(BOSS, by_boss.id, DecisionBody(), by_boss.etag).status == "cancelled"
    assert world.service.reject_request(BOSS, for_chief.id, no, for_chief.etag).status == "rejected"


# ---------------------------------------------------------------------- cancellation and visibility
def test_cancel_by_the_requester_or_an_admin_only_before_fulfilment(world: World) -> None:
    made = world.submit()
    with pytest.raises(Forbidden):
        world.service.cancel_request(EDITOR, made.id, DecisionBody(), made.etag)
    cancelled = world.service.cancel_request(ALICE, made.id, DecisionBody(comment="no longer"), made.etag)
    assert (cancelled.status, cancelled.comment) == ("cancelled", "no longer")
    world.laptops(1)
    done = world.approve(world.submit())
    with pytest.raises(IllegalTransition):
        world.service.cancel_request(BOSS, done.id, DecisionBody(), done.etag)


def test_viewers_see_and_list_their_own_requests_only(world: World) -> None:
    mine = world.submit()
    bobs = world.submit(TenantContext("acme", "bob", "bob@acme", frozenset({Role.VIEWER})))
    mallory = TenantContext("acme", "mallory", "m@acme", frozenset({Role.VIEWER}))
    with pytest.raises(RequestNotFound):
        world.service.get_request(mallory, mine.id)
    assert [r.id for r in world.service.list_requests(ALICE, RequestFilter(), PageRequest()).items] == [
        mine.id
    ]
    assert [r.id for r in world.service.list_requests(EDITOR, RequestFilter(), PageRequest()).items] == [
        bobs.id,
        mine.id,
    ]
    with pytest.raises(Forbidden):
        world.service.list_requests(ALICE, RequestFilter(requested_by="bob"), PageRequest())
    with pytest.raises(RequestNotFound):
        world.service.get_request(GLOBEX, mine.id)


# ---------------------------------------------------------------------- fulfilment
def test_an_asset_changed_since_it_was_listed_is_skipped_for_the_next(world: World) -> None:
    laptops = world.laptops(2)
    world.asset_repo.fail_updates = 1  # the first check-out loses its race
    done = world.approve(world.submit())
    assert done.status == "fulfilled"
    [taken] = done.assets
    assert taken in {a.id for a in laptops}
    held = [a for a in laptops if world.assets.get_asset(BOSS, a.id).assigned_to == "alice"]
    assert [a.id for a in held] == [taken]


def test_only_matching_in_stock_assets_are_taken(world: World) -> None:
    world.laptops(1, model="Other")
    world.laptops(1, category="desktop", model="X1")
    world.laptops(1, status="ordered", model="X1")
    wanted = world.laptops(1, model="x1 ")  # the model compares case-insensitively, trimmed
    done = world.approve(world.submit(model="X1", quantity=2))
    assert (done.status, done.assets, done.remaining) == ("awaiting_procurement", [wanted[0].id], 1)
    assert statuses(world, done)[-1] == ("awaiting_procurement", "approved", "awaiting_procurement")


def test_a_license_request_takes_a_seat_and_a_full_license_leaves_it_waiting(world: World) -> None:
    world.seats.add(ALICE, "a" * 32, quantity=1)
    world.seats.add(ALICE, "b" * 32, quantity=1, allow_overallocation=True)
    seat_request = RequestCreate(kind="license", product="visio", justification="x")
    first = world.approve(world.service.submit_request(ALICE, seat_request))
    assert (first.status, [s.license_id for s in first.seats]) == ("fulfilled", ["a" * 32])

    bob = TenantContext("acme", "bob", "bob@acme", frozenset({Role.VIEWER}))
    second = world.approve(world.service.submit_request(bob, seat_request))
    # the first license is full; the second allows over-allocation, but over-allocating is not
    # fulfilling: it has one free seat, which bob takes, and then carol waits
    assert (second.status, [s.license_id for s in second.seats]) == ("fulfilled", ["b" * 32])
    carol = TenantContext("acme", "carol", "carol@acme", frozenset({Role.VIEWER}))
    third = world.approve(world.service.submit_request(carol, seat_request))
    assert (third.status, third.seats) == ("awaiting_procurement", [])
    assert world.seats.licenses[("acme", "b" * 32)].assigned == 1


def test_a_seat_the_recipient_holds_already_counts_as_assigned(world: World) -> None:
    from itam.licenses.models import SeatCreate

    world.seats.add(ALICE, "a" * 32, quantity=5)
    world.seats.assign_seat(BOSS, "a" * 32, SeatCreate(user="alice"))
    done = world.approve(
        world.service.submit_request(
            ALICE, RequestCreate(kind="license", license_id="a" * 32, justification="x")
        )
    )
    assert done.status == "fulfilled"
    assert [(s.license_id, s.seat_id) for s in done.seats] == [("a" * 32, None)]
    assert world.seats.licenses[("acme", "a" * 32)].assigned == 1


def test_a_fulfilment_in_progress_holds_off_others_until_its_lease_ends(world: World) -> None:
    made = world.approve(world.submit())
    assert made.status == "awaiting_procurement"
    now = int(world.clock.current.timestamp())
    world.repo.leases[("acme", made.id)] = Lease("other", now + 60)
    world.laptops(1)

    with pytest.raises(FulfilmentInProgress):
        world.service.fulfil_request(EDITOR, made.id)
    with pytest.raises(FulfilmentInProgress):
        world.service.cancel_request(ALICE, made.id, DecisionBody(), made.etag)
    assert world.repo.requests[("acme", made.id)] == made

    world.clock.current += timedelta(seconds=120)  # the holder died: its lease ran out
    assert world.service.fulfil_request(EDITOR, made.id).status == "fulfilled"


def test_a_failing_fulfilment_after_approval_leaves_the_request_approved(logged: list[str]) -> None:
    class BrokenStock:
        def list_assets(self, ctx: TenantContext, filters: AssetFilter, page: PageRequest) -> Page[Asset]:
            raise RuntimeError("DynamoDB is unreachable")

        def get_asset(self, ctx: TenantContext, asset_id: str) -> Asset:
            raise AssertionError

        def checkout_asset(
            self, ctx: TenantContext, asset_id: str, request: CheckoutRequest, if_match: str | None = None
        ) -> Asset:
            raise AssertionError

    broken = World(stock=BrokenStock())
    approved = broken.approve(broken.submit())
    assert approved.status == "approved"
    assert broken.repo.leases == {}
    assert logged == ["fulfilment after approval failed"]
    with pytest.raises(RuntimeError):
        broken.service.fulfil_request(EDITOR, approved.id)
    assert broken.repo.leases == {}


def test_events_that_cannot_be_published_are_logged_and_the_write_stands(logged: list[str]) -> None:
    world = World(publisher=FakePublisher(failing=True))
    world.laptops(1)
    done = world.approve(world.submit())
    assert done.status == "fulfilled"
    assert logged == ["request event not published"] * 3


def test_a_lost_lease_stops_the_fulfilment(world: World) -> None:
    made = world.approve(world.submit(quantity=2))
    world.laptops(2)
    real_update = world.repo.update

    def steal_then_update(*args: Any, **kwargs: Any) -> None:
        world.repo.leases[("acme", made.id)] = Lease("thief", 10**12)
        real_update(*args, **kwargs)

    world.repo.update = steal_then_update  # type: ignore[method-assign]
    with pytest.raises(ConcurrentModification):
        world.service.fulfil_request(EDITOR, made.id)


# ---------------------------------------------------------------------- procurement
def test_received_units_complete_a_request_once(world: World) -> None:
    [first] = world.laptops(1)
    waiting = world.approve(world.submit(quantity=3))
    assert (waiting.status, waiting.remaining) == ("awaiting_procurement", 2)
    [second, third] = world.laptops(2)

    partial = world.service.on_procurement_received(EDITOR, waiting.id, asset_ids=[second.id])
    assert (partial.status, partial.remaining, partial.assets) == (
        "awaiting_procurement",
        1,
        [first.id, second.id],
    )
    again = world.service.on_procurement_received(EDITOR, waiting.id, asset_ids=[second.id])
    assert again == partial  # a repeated delivery changes nothing

    done = world.service.on_procurement_received(EDITOR, waiting.id, asset_ids=[second.id, third.id])
    assert (done.status, done.remaining, done.assets) == ("fulfilled", 0, [first.id, second.id, third.id])
    assert world.service.on_procurement_received(EDITOR, waiting.id, asset_ids=[third.id]) == done
    assert world.publisher.types.count("request.fulfilled") == 1


def test_a_received_unit_already_checked_out_to_the_recipient_is_recorded(world: World) -> None:
    waiting = world.approve(world.submit())
    # an earlier delivery checked it out, then died before recording it on the request
    deployed = world.assets.register_asset(
        BOSS, AssetCreate(name="L", kind="hardware", status="deployed", assigned_to="ALICE")
    )
    someone_elses = world.assets.register_asset(
        BOSS, AssetCreate(name="L", kind="hardware", status="deployed", assigned_to="bob")
    )
    done = world.service.on_procurement_received(
        EDITOR, waiting.id, asset_ids=[someone_elses.id, deployed.id]
    )
    assert (done.status, done.assets) == ("fulfilled", [deployed.id])


def test_received_units_are_checked_against_the_request(world: World) -> None:
    waiting = world.approve(world.submit())
    with pytest.raises(InvalidInput):
        world.service.on_procurement_received(EDITOR, waiting.id, license_id="a" * 32)
    with pytest.raises(InvalidInput):
        world.service.on_procurement_received(EDITOR, waiting.id)
    with pytest.raises(Forbidden):
        world.service.on_procurement_received(ALICE, waiting.id, asset_ids=["a" * 32])
    with pytest.raises(RequestNotFound):
        world.service.on_procurement_received(GLOBEX, waiting.id, asset_ids=["a" * 32])
    submitted = world.submit()
    with pytest.raises(InvalidState):
        world.service.on_procurement_received(EDITOR, submitted.id, asset_ids=["a" * 32])


def test_a_received_license_seat_fulfils_a_license_request_once(world: World) -> None:
    waiting = world.approve(
        world.service.submit_request(ALICE, RequestCreate(kind="license", product="CAD", justification="x"))
    )
    assert waiting.status == "awaiting_procurement"
    world.seats.add(ALICE, "c" * 32, product="CAD", quantity=1)
    service: Callable[..., Request] = world.service.on_procurement_received
    done = service(EDITOR, waiting.id, license_id="c" * 32)
    assert done.status == "fulfilled"
    assert service(EDITOR, waiting.id, license_id="c" * 32) == done
    assert world.seats.licenses[("acme", "c" * 32)].assigned == 1


def test_malformed_ids_are_not_found_without_a_read(world: World) -> None:
    for request_id in ("../x", "A" * 32, "0" * 31):
        with pytest.raises(RequestNotFound):
            world.service.get_request(BOSS, request_id)


def test_a_fulfilment_that_finds_the_request_changed_starts_from_the_fresh_version(world: World) -> None:
    waiting = world.approve(world.submit())
    world.laptops(1)
    key = ("acme", waiting.id)
    real_take = world.repo.take_lease
    calls: list[int] = []

    def changed_first(ctx: TenantContext, request: Request, lease: Lease, now: int) -> bool:
        calls.append(request.version)
        if len(calls) == 1:  # another writer moved the request on just before
            world.repo.requests[key] = request.model_copy(update={"version": request.version + 1})
            return False
        return real_take(ctx, request, lease, now)

    world.repo.take_lease = changed_first  # type: ignore[method-assign]
    done = world.service.fulfil_request(EDITOR, waiting.id)

    assert calls == [waiting.version, waiting.version + 1]
    assert (done.status, done.version) == ("fulfilled", waiting.version + 2)


def test_a_request_fulfilled_meanwhile_is_returned_as_it_is(world: World) -> None:
    waiting = world.approve(world.submit())
    key = ("acme", waiting.id)

    def fulfilled_by_another(ctx: TenantContext, request: Request, lease: Lease, now: int) -> bool:
        world.repo.requests[key] = request.model_copy(
            update={"status": RequestStatus.FULFILLED, "version": 9}
        )
        return False

    world.repo.take_lease = fulfilled_by_another  # type: ignore[method-assign]
    done = world.service.fulfil_request(EDITOR, waiting.id)
    assert (done.status, done.version) == ("fulfilled", 9)
