"""The asset lifecycle state machine: plan -> acquire -> deploy -> maintain -> retire -> dispose."""

from __future__ import annotations

from collections.abc import Mapping

from itam.assets.models import EndReason, Status
from itam.errors import IllegalTransition

S = Status

# deployed -> in_stock is how a check-in returns an asset to stock.
NEXT_STATES: Mapping[Status, tuple[Status, ...]] = {
    S.PLANNED: (S.ORDERED, S.CANCELLED),
    S.ORDERED: (S.IN_STOCK, S.CANCELLED),
    S.IN_STOCK: (S.DEPLOYED, S.RETIRED),
    S.DEPLOYED: (S.IN_MAINTENANCE, S.IN_STOCK, S.RETIRED),
    S.IN_MAINTENANCE: (S.DEPLOYED, S.RETIRED),
    S.RETIRED: (S.DISPOSED,),
    S.DISPOSED: (),
    S.CANCELLED: (),
}


# Owned and usable: what a warranty-expiring finding is about.
IN_SERVICE = frozenset({S.IN_STOCK, S.DEPLOYED, S.IN_MAINTENANCE})
# Out of service for good (the inventory sync alone brings a retired resource back when it is seen
# again): an asset in these states holds no license seat, and its installations do not count.
OUT_OF_SERVICE = frozenset({S.RETIRED, S.DISPOSED, S.CANCELLED})
_END_REASONS = {
    S.RETIRED: EndReason.ASSET_RETIRED,
    S.DISPOSED: EndReason.ASSET_DISPOSED,
    S.CANCELLED: EndReason.ASSET_CANCELLED,
}


def end_reason(status: Status) -> EndReason:
    """Why an asset's seats and installations end when it moves to `status` (one of OUT_OF_SERVICE)."""
    return _END_REASONS[status]


def allowed_next(current: Status) -> tuple[Status, ...]:
    """States an asset in `current` may move to."""
    return NEXT_STATES[current]


def check_transition(current: Status, target: Status) -> None:
    """Raise IllegalTransition unless current -> target is an edge of the state machine."""
    if target not in NEXT_STATES[current]:
        raise IllegalTransition(current, target, [str(s) for s in NEXT_STATES[current]])
