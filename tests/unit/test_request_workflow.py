"""The request state machine and the approval rules, as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from itam.assets.models import Actor, Money
from itam.errors import IllegalTransition, InvalidState
from itam.requests.errors import NotApprover, SelfApproval, SelfRejection
from itam.requests.models import (
    Approval,
    ApprovalPolicy,
    ApprovalStep,
    Decision,
    Request,
    RequestCreate,
    RequestStatus,
)
from itam.requests.workflow import (
    NEXT_STATES,
    applicable_steps,
    check_approver,
    check_decider,
    check_rejecter,
    check_transition,
    may_see,
)
from itam.tenancy import Role, TenantContext

S = RequestStatus
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def ctx(user: str, *roles: Role, name: str | None = None) -> TenantContext:
    return TenantContext("acme", user, name or f"{user}@acme.example.com", frozenset(roles))


def eur(amount: str, currency: str = "EUR") -> Money:
    return Money(amount=Decimal(amount), currency=currency)


def request(steps: list[ApprovalStep], **fields: Any) -> Request:
    values: dict[str, Any] = {
        "id": "1" * 32,
        "kind": "hardware",
        "category": "laptop",
        "quantity": 1,
        "justification": "x",
        "requested_by": "alice",
        "requested_by_name": "alice@acme.example.com",
        "requested_for": "alice",
        "requested_for_id": "alice",
        "status": S.SUBMITTED,
        "version": 1,
        "created_at": NOW,
        "updated_at": NOW,
        "updated_by": "alice",
        "approval": Approval(policy_version=1, steps=steps, current_step=0 if steps else None),
        "remaining": 1,
    }
    values.update(fields)
    return Request(**values)


# ---------------------------------------------------------------------- states
ALLOWED = {
    (S.SUBMITTED, S.APPROVED),
    (S.SUBMITTED, S.REJECTED),
    (S.SUBMITTED, S.CANCELLED),
    (S.APPROVED, S.FULFILLED),
    (S.APPROVED, S.AWAITING_PROCUREMENT),
    (S.APPROVED, S.CANCELLED),
    (S.AWAITING_PROCUREMENT, S.FULFILLED),
    (S.AWAITING_PROCUREMENT, S.CANCELLED),
}


@pytest.mark.parametrize("current", list(S))
@pytest.mark.parametrize("target", list(S))
def test_the_state_machine_allows_exactly_the_documented_moves(current: S, target: S) -> None:
    if (current, target) in ALLOWED:
        check_transition(current, target)
    else:
        with pytest.raises(IllegalTransition) as refused:
            check_transition(current, target)
        assert refused.value.allowed == list(NEXT_STATES[current])


def test_fulfilled_rejected_and_cancelled_are_terminal() -> None:
    assert [s for s, following in NEXT_STATES.items() if not following] == [
        S.FULFILLED,
        S.REJECTED,
        S.CANCELLED,
    ]


# ---------------------------------------------------------------------- policy evaluation
POLICY = ApprovalPolicy(
    version=3,
    steps=[
        ApprovalStep(role=Role.EDITOR),
        ApprovalStep(user="controller", user_id="c-1", min_cost=eur("1000")),
        ApprovalStep(role=Role.ADMIN, min_cost=eur("10000")),
    ],
)


@pytest.mark.parametrize(
    ("cost", "expected"),
    [
        (eur("0"), 1),
        (eur("999.9999"), 1),
        (eur("1000"), 2),  # a threshold is inclusive
        (eur("9999"), 2),
        (eur("10000"), 3),
        (eur("50", "USD"), 3),  # another currency is not comparable: every step applies
        (None, 3),  # no estimate: every step applies
    ],
)
def test_steps_whose_threshold_exceeds_the_cost_are_skipped(cost: Money | None, expected: int) -> None:
    steps = applicable_steps(POLICY, cost)
    assert steps == POLICY.steps[:expected]


def test_steps_keep_their_order_when_an_early_one_is_skipped() -> None:
    policy = ApprovalPolicy(
        version=1,
        steps=[ApprovalStep(role=Role.ADMIN, min_cost=eur("500")), ApprovalStep(role=Role.EDITOR)],
    )
    assert applicable_steps(policy, eur("10")) == [ApprovalStep(role=Role.EDITOR)]
    assert applicable_steps(policy, eur("500")) == policy.steps


@pytest.mark.parametrize(
    "step",
    [{}, {"role": "admin", "user": "bob"}, {"role": "owner"}, {"user": ""}, {"role": "admin", "extra": 1}],
)
def test_a_step_names_exactly_one_known_approver(step: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ApprovalStep.model_validate(step)


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "hardware", "justification": "x"},
        {"kind": "hardware", "model": "X1", "license_id": "0" * 32, "justification": "x"},
        {"kind": "license", "justification": "x"},
        {"kind": "license", "product": "Visio", "license_id": "0" * 32, "justification": "x"},
        {"kind": "license", "product": "Visio", "quantity": 3, "justification": "x"},
        {"kind": "license", "product": "Visio", "model": "X1", "justification": "x"},
        {"kind": "hardware", "model": "X1", "quantity": 101, "justification": "x"},
        {"kind": "hardware", "model": "X1", "quantity": True, "justification": "x"},
        {"kind": "hardware", "model": "X1"},
    ],
)
def test_inconsistent_requests_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        RequestCreate.model_validate(body)


# ---------------------------------------------------------------------- who approves
TWO_STEPS = [ApprovalStep(role=Role.ADMIN), ApprovalStep(user="Controller@Acme.example.com", user_id="c-1")]


def test_the_approver_of_the_current_step_decides_it() -> None:
    r = request(TWO_STEPS)
    assert check_approver(ctx("boss", Role.ADMIN), r) == 0
    with pytest.raises(NotApprover, match="admin role"):
        check_approver(ctx("ed", Role.EDITOR), r)
    with pytest.raises(NotApprover, match="step 1 of 2 waits for a user with the admin role"):
        check_approver(ctx("c-1", Role.VIEWER), r)  # the second step's approver, too early


def test_a_user_step_matches_the_user_id_it_holds_and_no_name() -> None:
    decided = Decision(step=0, decision="approved", by=Actor(user_id="boss", username="b"), at=NOW)
    approval = Approval(policy_version=1, steps=TWO_STEPS, current_step=1, decisions=[decided])
    r = request(TWO_STEPS, approval=approval)
    assert check_approver(ctx("c-1", Role.VIEWER, name="whatever"), r) == 1
    for impostor in (
        "Controller@Acme.example.com",
        "controller@acme.example.com",
        "CONTROLLER@ACME.EXAMPLE.COM",
    ):
        with pytest.raises(NotApprover):  # the step's name as display name, in any case
            check_approver(ctx("mallory", Role.VIEWER, name=impostor), r)
        assert not may_see(ctx("mallory", Role.VIEWER, name=impostor), r)
    with pytest.raises(NotApprover):  # nor as user id
        check_approver(ctx("controller@acme.example.com", Role.VIEWER), r)
    with pytest.raises(NotApprover):
        check_approver(ctx("someone", Role.ADMIN), r)


def test_a_user_step_stored_without_an_id_waits_for_nobody() -> None:
    r = request([ApprovalStep(user="controller@acme.example.com")])
    named = ctx("c-1", Role.VIEWER, name="controller@acme.example.com")
    for caller in (named, ctx("controller@acme.example.com", Role.ADMIN)):
        with pytest.raises(NotApprover, match="waits for nobody"):
            check_approver(caller, r)
    assert not may_see(named, r)


@pytest.mark.parametrize(
    ("requested_by", "requested_for_id", "caller"),
    [
        ("boss", "alice", ctx("boss", Role.ADMIN)),  # the requester
        ("alice", "boss", ctx("boss", Role.ADMIN)),  # the recipient, by user id
        ("alice", "b-1", ctx("b-1", Role.ADMIN, name="someone-else@acme.example.com")),  # whatever her name
    ],
)
def test_nobody_decides_a_request_they_made_or_receive(
    requested_by: str, requested_for_id: str, caller: TenantContext
) -> None:
    r = request(
        [ApprovalStep(role=Role.ADMIN)],
        requested_by=requested_by,
        requested_for="BOSS@acme.example.com",
        requested_for_id=requested_for_id,
    )
    with pytest.raises(SelfApproval):
        check_approver(caller, r)
    with pytest.raises(SelfRejection):  # the requester cancels instead
        check_rejecter(caller, r)
    assert check_decider(caller, r) == 0  # they hold the step's role: only being a party stops them


def test_a_recipient_who_is_no_user_is_nobody_s_party() -> None:
    r = request([ApprovalStep(role=Role.ADMIN)], requested_for="boss@acme.example.com", requested_for_id=None)
    assert check_approver(ctx("boss", Role.ADMIN, name="boss@acme.example.com"), r) == 0
    assert not may_see(ctx("boss", Role.VIEWER, name="boss@acme.example.com"), r)


def test_self_approval_is_refused_even_where_the_step_names_the_requester() -> None:
    r = request([ApprovalStep(user="alice", user_id="alice")])
    with pytest.raises(SelfApproval):
        check_approver(ctx("alice", Role.VIEWER), r)


def test_one_person_approves_one_step_of_a_request() -> None:
    steps = [ApprovalStep(role=Role.EDITOR), ApprovalStep(role=Role.ADMIN)]
    decided = Decision(step=0, decision="approved", by=Actor(user_id="both", username="b"), at=NOW)
    r = request(steps, approval=Approval(policy_version=1, steps=steps, current_step=1, decisions=[decided]))
    with pytest.raises(NotApprover, match="earlier step"):
        check_approver(ctx("both", Role.EDITOR, Role.ADMIN), r)
    assert check_approver(ctx("other", Role.ADMIN), r) == 1


@pytest.mark.parametrize("status", [S.APPROVED, S.AWAITING_PROCUREMENT, S.FULFILLED, S.REJECTED, S.CANCELLED])
def test_only_submitted_requests_are_decided(status: S) -> None:
    r = request([ApprovalStep(role=Role.ADMIN)], status=status)
    with pytest.raises(InvalidState):
        check_approver(ctx("boss", Role.ADMIN), r)
    with pytest.raises(InvalidState):
        check_decider(ctx("boss", Role.ADMIN), r)
    with pytest.raises(InvalidState):
        check_rejecter(ctx("boss", Role.ADMIN), r)


# ---------------------------------------------------------------------- who sees
@pytest.mark.parametrize(
    ("caller", "sees"),
    [
        (ctx("alice", Role.VIEWER), True),  # the requester
        (ctx("b-1", Role.VIEWER), True),  # the recipient
        (ctx("c-1", Role.VIEWER), True),  # an approver of its chain
        (ctx("mallory", Role.VIEWER), False),
        (ctx("bob", Role.VIEWER, name="bob"), False),  # the recipient's name is no id
        (ctx("controller", Role.VIEWER, name="controller"), False),
        (ctx("ed", Role.EDITOR), True),
        (ctx("aud", Role.AUDITOR), True),
        (ctx("boss", Role.ADMIN), True),
        (ctx("nobody"), False),
    ],
)
def test_who_sees_a_request(caller: TenantContext, sees: bool) -> None:
    r = request([ApprovalStep(user="controller", user_id="c-1")], requested_for="bob", requested_for_id="b-1")
    assert may_see(caller, r) is sees


def test_a_request_from_before_recipients_had_ids_has_only_its_requester_as_party() -> None:
    stored = request([ApprovalStep(role=Role.ADMIN)], requested_for="bob").model_dump(mode="json")
    del stored["requested_for_id"]
    r = Request.model_validate(stored)
    assert may_see(ctx("alice", Role.VIEWER), r)
    assert not may_see(ctx("bob", Role.VIEWER, name="bob"), r)
