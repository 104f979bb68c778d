"""Reconciliation decisions: new, changed, unchanged, missing, retired, restored."""

from __future__ import annotations

import pytest

from itam.inventory.reconcile import Action, Link, Observed, RunCounts, decide, decide_unseen

KEY = "arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc"


def link(**fields: object) -> Link:
    base: dict[str, object] = {
        "external_key": KEY,
        "asset_id": "a" * 32,
        "content_hash": "h1",
        "last_seen_run": "r1",
    }
    return Link(**{**base, **fields})  # type: ignore[arg-type]


def test_a_new_resource_is_created() -> None:
    assert decide(Observed(KEY, "h1"), None) is Action.CREATE


def test_a_changed_resource_is_updated_and_an_unchanged_one_is_not() -> None:
    assert decide(Observed(KEY, "h2"), link()) is Action.UPDATE
    assert decide(Observed(KEY, "h1"), link()) is Action.UNCHANGED


@pytest.mark.parametrize("state", [{"misses": 1}, {"misses": 2}, {"retired": True, "misses": 3}])
def test_a_resource_seen_again_is_restored(state: dict[str, object]) -> None:
    assert decide(Observed(KEY, "h1"), link(**state)) is Action.RESTORE


def test_unseen_resources_are_missing_then_retired_after_n_misses() -> None:
    assert decide_unseen(link(last_seen_run="r1"), "r1") is None  # seen in this run
    assert decide_unseen(link(misses=0), "r2") is Action.MISSING
    assert decide_unseen(link(misses=1), "r3") is Action.MISSING
    assert decide_unseen(link(misses=2), "r4") is Action.RETIRE
    assert decide_unseen(link(misses=0), "r2", retire_after=1) is Action.RETIRE
    assert decide_unseen(link(retired=True, misses=3), "r5") is None  # retired once


def test_counts() -> None:
    counts = RunCounts()
    for action in (
        Action.CREATE,
        Action.UNCHANGED,
        Action.UNCHANGED,
        Action.MISSING,
        Action.RETIRE,
        Action.RESTORE,
    ):
        counts.count(action)
    assert (
        counts.seen,
        counts.created,
        counts.unchanged,
        counts.missing,
        counts.retired,
        counts.restored,
    ) == (
        4,
        1,
        2,
        1,
        1,
        1,
    )
