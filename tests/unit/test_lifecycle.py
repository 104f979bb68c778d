from __future__ import annotations

import pytest

from itam.assets.lifecycle import NEXT_STATES, allowed_next, check_transition
from itam.assets.models import Status
from itam.errors import IllegalTransition

LEGAL = {
    ("planned", "ordered"),
    ("ordered", "in_stock"),
    ("in_stock", "deployed"),
    ("in_stock", "retired"),
    ("deployed", "in_maintenance"),
    ("deployed", "in_stock"),
    ("deployed", "retired"),
    ("in_maintenance", "deployed"),
    ("in_maintenance", "retired"),
    ("retired", "disposed"),
    ("planned", "cancelled"),
    ("ordered", "cancelled"),
}


@pytest.mark.parametrize("current", list(Status))
@pytest.mark.parametrize("target", list(Status))
def test_every_pair_of_states(current: Status, target: Status) -> None:
    if (current.value, target.value) in LEGAL:
        check_transition(current, target)
    else:
        with pytest.raises(IllegalTransition) as caught:
            check_transition(current, target)
        assert caught.value.allowed == [s.value for s in allowed_next(current)]
        assert current.value in caught.value.detail


def test_disposed_is_terminal_and_every_state_has_an_entry() -> None:
    assert set(NEXT_STATES) == set(Status)
    assert allowed_next(Status.DISPOSED) == ()
    assert allowed_next(Status.CANCELLED) == ()
