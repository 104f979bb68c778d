"""The request state machine and the approval rules: pure functions of a request, a policy and a caller."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

from itam.assets.models import Money
from itam.errors import DomainError, IllegalTransition, InvalidState
from itam.requests.errors import NotApprover, SelfApproval
from itam.requests.models import ApprovalPolicy, ApprovalStep, Request, RequestStatus
from itam.tenancy import Role, TenantContext

S = RequestStatus

NEXT_STATES: Mapping[RequestStatus, tuple[RequestStatus, ...]] = {
    S.SUBMITTED: (S.APPROVED, S.REJECTED, S.CANCELLED),
    S.APPROVED: (S.FULFILLED, S.AWAITING_PROCUREMENT, S.CANCELLED),
    S.AWAITING_PROCUREMENT: (S.FULFILLED, S.CANCELLED),
    S.FULFILLED: (),
    S.REJECTED: (),
    S.CANCELLED: (),
}
# States in which units may be assigned to the request.
FULFILLABLE = frozenset({S.APPROVED, S.AWAITING_PROCUREMENT})
# Roles that see every request of the tenant; others see the requests they are part of.
OVERSEERS = frozenset({Role.ADMIN, Role.EDITOR, Role.AUDITOR})

DEFAULT_POLICY = ApprovalPolicy(steps=[ApprovalStep(role=Role.ADMIN)], version=0)


def check_transition(current: RequestStatus, target: RequestStatus) -> None:
    """Raise IllegalTransition unless the state machine allows current -> target."""
    allowed = NEXT_STATES[current]
    if target not in allowed:
        raise IllegalTransition(current, target, allowed)


def step_applies(step: ApprovalStep, cost: Money | None) -> bool:
    """A step with a threshold applies at or above it; without a comparable estimate it applies too,
    so that leaving out the cost never skips an approval."""
    if step.min_cost is None or cost is None or cost.currency != step.min_cost.currency:
        return True
    return cost.amount >= step.min_cost.amount


def applicable_steps(policy: ApprovalPolicy, cost: Money | None) -> list[ApprovalStep]:
    """The policy's steps, in order, that a request of estimated cost `cost` goes through."""
    return [step for step in policy.steps if step_applies(step, cost)]


def fold(name: str) -> str:
    """The form people's ids and names are compared in: NFKC, trimmed, case-folded."""
    return unicodedata.normalize("NFKC", name).strip().casefold()


def is_person(ctx: TenantContext, name: str) -> bool:
    """Whether `name` (a user id or a user name) names the caller."""
    return fold(name) in (fold(ctx.user_id), fold(ctx.username))


def is_party(ctx: TenantContext, request: Request) -> bool:
    """The caller made the request or receives it."""
    return ctx.user_id == request.requested_by or is_person(ctx, request.requested_for)


def matches_step(ctx: TenantContext, step: ApprovalStep) -> bool:
    if step.role is not None:
        return step.role in ctx.roles
    return step.user is not None and is_person(ctx, step.user)


def may_see(ctx: TenantContext, request: Request) -> bool:
    """Admins, editors and auditors see every request; others the ones they made, receive or approve."""
    if ctx.roles & OVERSEERS or is_party(ctx, request):
        return True
    return any(matches_step(ctx, step) for step in request.approval.steps)


def awaits(ctx: TenantContext, request: Request) -> bool:
    """Whether the request waits for a decision the caller may make now (what check_approver allows)."""
    try:
        check_approver(ctx, request)
    except DomainError:
        return False
    return True


def check_approver(ctx: TenantContext, request: Request) -> int:
    """The index of the step the caller decides now, or the reason why they may not: the request is
    not waiting for a decision, the caller made or receives it (nobody approves their own request),
    the step waits for someone else, or the caller approved an earlier step (one person, one step)."""
    if request.status is not S.SUBMITTED or request.approval.current_step is None:
        raise InvalidState(f"the request is {request.status}; only submitted requests are decided")
    if is_party(ctx, request):
        raise SelfApproval()
    return check_decider(ctx, request)


def check_decider(ctx: TenantContext, request: Request) -> int:
    """The index of the current step if the caller matches it and has decided no earlier one."""
    if request.status is not S.SUBMITTED or request.approval.current_step is None:
        raise InvalidState(f"the request is {request.status}; only submitted requests are decided")
    index = request.approval.current_step
    step = request.approval.steps[index]
    if not matches_step(ctx, step):
        raise NotApprover(f"step {index + 1} of {len(request.approval.steps)} waits for {describe(step)}")
    if any(d.by.user_id == ctx.user_id for d in request.approval.decisions):
        raise NotApprover(
            "you approved an earlier step of this request; another approver must decide this one"
        )
    return index


def describe(step: ApprovalStep) -> str:
    return f"a user with the {step.role} role" if step.role is not None else f"user {step.user}"
