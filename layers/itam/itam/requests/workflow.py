"""The request state machine and the approval rules: pure functions of a request, a policy and a caller."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

from itam.assets.models import Money
from itam.errors import DomainError, IllegalTransition, InvalidState
from itam.requests.errors import NotApprover, SelfApproval, SelfRejection
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


def names_caller(ctx: TenantContext, name: str) -> bool:
    """Whether `name` is the caller's id or display name. Only for reading a filter the caller wrote
    about themself; nothing is granted by a name."""
    return fold(name) in (fold(ctx.user_id), fold(ctx.username))


def is_party(ctx: TenantContext, request: Request) -> bool:
    """The caller made the request or receives it, by user id (a request made before recipients were
    kept by id has no recipient here: only its requester is a party)."""
    return ctx.user_id in (request.requested_by, request.requested_for_id)


def matches_step(ctx: TenantContext, step: ApprovalStep) -> bool:
    """A role step matches whoever holds the role; a user step only the user whose id it holds."""
    if step.role is not None:
        return step.role in ctx.roles
    return step.user_id is not None and step.user_id == ctx.user_id


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
    _waiting_step(request)
    if is_party(ctx, request):
        raise SelfApproval()
    return check_decider(ctx, request)


def check_rejecter(ctx: TenantContext, request: Request) -> int:
    """As check_approver, for a rejection: the person who made the request withdraws it (cancel)
    rather than rejecting it as its approver, and the person it is for decides nothing on it."""
    _waiting_step(request)
    if is_party(ctx, request):
        raise SelfRejection()
    return check_decider(ctx, request)


def _waiting_step(request: Request) -> int:
    """The index of the step the request waits for; InvalidState if it waits for no decision."""
    index = request.approval.current_step
    if request.status is not S.SUBMITTED or index is None:
        raise InvalidState(f"the request is {request.status}; only submitted requests are decided")
    return index


def check_decider(ctx: TenantContext, request: Request) -> int:
    """The index of the current step if the caller matches it and has decided no earlier one."""
    index = _waiting_step(request)
    step = request.approval.steps[index]
    if not matches_step(ctx, step):
        raise NotApprover(f"step {index + 1} of {len(request.approval.steps)} waits for {describe(step)}")
    if any(d.by.user_id == ctx.user_id for d in request.approval.decisions):
        raise NotApprover(
            "you approved an earlier step of this request; another approver must decide this one"
        )
    return index


def describe(step: ApprovalStep) -> str:
    if step.role is not None:
        return f"a user with the {step.role} role"
    if step.user_id is None:
        return (
            f"user {step.user}, named before steps held user ids: it waits for nobody "
            "(an admin cancels the request, and it is made again under the current policy)"
        )
    return f"user {step.user}"
