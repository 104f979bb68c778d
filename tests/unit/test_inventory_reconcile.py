"""Reconciliation decisions (new, changed, unchanged, missing, retired, restored) and the compact
link index a run holds in memory."""

from __future__ import annotations

import hashlib

import pytest

from itam.inventory.reconcile import Action, Link, LinkIndex, Observed, RunCounts, decide, decide_unseen

KEY = "arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc"
H1 = "1" * 64
H2 = "2" * 64


def link(**fields: object) -> Link:
    base: dict[str, object] = {"asset_id": "a" * 32, "content_hash": H1[:16]}
    return Link(**{**base, **fields})  # type: ignore[arg-type]


def test_a_new_resource_is_created() -> None:
    assert decide(Observed(KEY, H1), None) is Action.CREATE


def test_a_changed_resource_is_updated_and_an_unchanged_one_is_not() -> None:
    assert decide(Observed(KEY, H2), link()) is Action.UPDATE
    assert decide(Observed(KEY, H1), link()) is Action.UNCHANGED


@pytest.mark.parametrize("state", [{"misses": 1}, {"misses": 2}, {"retired": True, "misses": 3}])
def test_a_resource_seen_again_is_restored(state: dict[str, object]) -> None:
    assert decide(Observed(KEY, H1), link(**state)) is Action.RESTORE


def test_unseen_resources_are_missing_then_retired_after_n_misses() -> None:
    assert decide_unseen(link(misses=0)) is Action.MISSING
    assert decide_unseen(link(misses=1)) is Action.MISSING
    assert decide_unseen(link(misses=2)) is Action.RETIRE
    assert decide_unseen(link(misses=0), retire_after=1) is Action.RETIRE
    assert decide_unseen(link(retired=True, misses=3)) is None  # retired once


def test_counts() -> None:
    counts = RunCounts(seen=6)
    for action in (Action.CREATE, Action.UNCHANGED, Action.UNCHANGED, Action.MISSING, Action.RETIRE):
        counts.count(action)
    counts.count(Action.RESTORE)
    assert counts.as_dict() == {
        "seen": 6,
        "created": 1,
        "updated": 0,
        "unchanged": 2,
        "missing": 1,
        "retired": 1,
        "restored": 1,
        "errors": 0,
    }


def ids(n: int) -> list[str]:
    return sorted(hashlib.sha256(str(i).encode()).hexdigest()[:32] for i in range(n))


def test_the_index_finds_what_was_added_and_nothing_else() -> None:
    index = LinkIndex()
    stored = ids(500)
    for i, asset_id in enumerate(stored):
        index.add(Link(asset_id, f"{i:016x}", misses=i % 3, retired=i % 7 == 0, scope=f"s{i % 4}"))
    assert len(index) == 500
    for i, asset_id in enumerate(stored):
        assert index.find(asset_id) == Link(asset_id, f"{i:016x}", i % 3, i % 7 == 0, f"s{i % 4}")
    assert index.find("f" * 32) is None
    assert index.was_seen("f" * 32) is None


def test_the_index_counts_what_is_left_unseen() -> None:
    index = LinkIndex()
    stored = ids(10)
    for i, asset_id in enumerate(stored):
        index.add(Link(asset_id, "0" * 16, retired=i == 0))
    assert index.unseen == 9  # the retired one is never missed again
    index.mark_seen(stored[0])
    index.mark_seen(stored[1])
    index.mark_seen(stored[1])  # twice counts once
    assert index.unseen == 8
    assert index.was_seen(stored[1]) is True
    assert index.was_seen(stored[2]) is False


def test_links_sharing_a_64_bit_prefix_stay_exact() -> None:
    index = LinkIndex()
    a, b = "0123456789abcdef" + "0" * 16, "0123456789abcdef" + "f" * 16
    index.add(Link(a, "a" * 16, scope="x"))
    index.add(Link(b, "b" * 16, misses=2, scope="y"))
    assert index.find(a) == Link(a, "a" * 16, scope="x")
    assert index.find(b) == Link(b, "b" * 16, misses=2, scope="y")
    assert index.find("0123456789abcdef" + "1" * 16) is None
    index.mark_seen(b)
    assert (index.was_seen(a), index.was_seen(b), index.unseen) == (False, True, 1)


def test_links_out_of_order_are_refused() -> None:
    index = LinkIndex()
    index.add(Link("b" * 32, "0" * 16))
    with pytest.raises(ValueError, match="order"):
        index.add(Link("a" * 32, "0" * 16))
