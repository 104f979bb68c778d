"""Reconciliation of what a connector saw with what the register holds, one resource at a time.

A run streams what it observed in chunks; for each chunk the stored links (external key -> asset,
content hash, last run seen, consecutive misses) are read in one batch, and each observed resource
gets a decision. After the stream, the links the run did not see get theirs. Nothing here holds the
whole inventory in memory, and an unchanged resource gets no write at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

DEFAULT_RETIRE_AFTER = 3


class Action(StrEnum):
    CREATE = "create"  # new: register an asset and link it
    UPDATE = "update"  # content changed: update the asset and the link's hash
    UNCHANGED = "unchanged"  # same hash: only the link's last-seen run moves (no asset write)
    RESTORE = "restore"  # seen again after being missing or retired
    MISSING = "missing"  # not seen this run: count a miss
    RETIRE = "retire"  # missed `retire_after` runs in a row: retire the asset


@dataclass(frozen=True, slots=True)
class Link:
    """What the register remembers of one external resource."""

    external_key: str
    asset_id: str
    content_hash: str
    last_seen_run: str
    misses: int = 0
    retired: bool = False


@dataclass(frozen=True, slots=True)
class Observed:
    external_key: str
    content_hash: str


def decide(observed: Observed, link: Link | None) -> Action:
    """The decision for a resource seen in this run."""
    if link is None:
        return Action.CREATE
    if link.retired or link.misses > 0:
        return Action.RESTORE
    if link.content_hash != observed.content_hash:
        return Action.UPDATE
    return Action.UNCHANGED


def decide_unseen(link: Link, run_id: str, retire_after: int = DEFAULT_RETIRE_AFTER) -> Action | None:
    """The decision for a linked resource this run did not see (None: nothing to do)."""
    if link.last_seen_run == run_id or link.retired:
        return None
    return Action.RETIRE if link.misses + 1 >= retire_after else Action.MISSING


@dataclass
class RunCounts:
    """The counts a sync run reports."""

    seen: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    missing: int = 0
    retired: int = 0
    restored: int = 0
    errors: int = 0

    def count(self, action: Action) -> None:
        field = {
            Action.CREATE: "created",
            Action.UPDATE: "updated",
            Action.UNCHANGED: "unchanged",
            Action.RESTORE: "restored",
            Action.MISSING: "missing",
            Action.RETIRE: "retired",
        }[action]
        setattr(self, field, getattr(self, field) + 1)
        if action in (Action.CREATE, Action.UPDATE, Action.UNCHANGED, Action.RESTORE):
            self.seen += 1
