"""Reconciliation of what a connector saw with what the register holds: pure decisions, and the
compact index of a connector's links that a run holds in memory.

A run first reads the connector's links (external key -> asset, content hash, consecutive misses)
in key order, page by page, into a `LinkIndex` of about 20 bytes per link; then streams what the
provider reports, deciding per resource; then, only if some links were not seen, reads the links
again to give those theirs. Reads are the link pages (twice at most); an unchanged resource gets no
write at all, neither on its asset nor on its link.
"""

from __future__ import annotations

import bisect
from array import array
from dataclasses import asdict, dataclass
from enum import StrEnum

DEFAULT_RETIRE_AFTER = 3


class Action(StrEnum):
    CREATE = "create"  # new: register an asset and link it
    UPDATE = "update"  # content changed: update the asset and the link's hash
    UNCHANGED = "unchanged"  # same hash: nothing is written
    RESTORE = "restore"  # seen again after being missing or retired
    MISSING = "missing"  # not seen this run: count a miss
    RETIRE = "retire"  # missed `retire_after` runs in a row: retire the asset


@dataclass(frozen=True, slots=True)
class Link:
    """What the register remembers of one external resource."""

    asset_id: str  # 32 hex characters, derived from the connector and the external key
    content_hash: str  # 16 hex characters: the start of the resource's content hash
    misses: int = 0
    retired: bool = False
    scope: str = ""  # where the resource lives (account/region/type, a provider)


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
    if link.content_hash != observed.content_hash[: len(link.content_hash)]:
        return Action.UPDATE
    return Action.UNCHANGED


def decide_unseen(link: Link, retire_after: int = DEFAULT_RETIRE_AFTER) -> Action | None:
    """The decision for a linked resource a completed run did not see (None: nothing to do)."""
    if link.retired:
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

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


_RETIRED, _SEEN = 1, 2
_MAX_MISSES = 255


class LinkIndex:
    """A connector's links, added in asset-id order, held as parallel arrays: the first 64 bits of
    the asset id and of the content hash, the misses, two flags and a scope number per link.
    Two links whose ids share their first 64 bits (about one chance in 10^9 at 250,000 links) are
    kept whole on the side, so a lookup is always exact."""

    def __init__(self) -> None:
        self._keys = array("Q")
        self._hashes = array("Q")
        self._misses = bytearray()
        self._flags = bytearray()
        self._scopes = array("H")
        self._scope_names: list[str] = []
        self._scope_numbers: dict[str, int] = {}
        self._whole: dict[str, Link] = {}  # links whose 64-bit prefix is shared
        self._shared: set[int] = set()
        self._seen_whole: set[str] = set()
        self._unseen = 0
        self._last: Link | None = None

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, link: Link) -> None:
        key = int(link.asset_id[:16], 16)
        if self._keys and key < self._keys[-1]:
            raise ValueError("links must be added in asset-id order")
        if self._keys and key == self._keys[-1]:
            self._shared.add(key)
            if self._last is not None:
                self._whole[self._last.asset_id] = self._last
        else:
            self._keys.append(key)
            self._hashes.append(int(link.content_hash[:16], 16))
            self._misses.append(min(link.misses, _MAX_MISSES))
            self._flags.append(_RETIRED if link.retired else 0)
            self._scopes.append(self._scope_number(link.scope))
        if key in self._shared:
            self._whole[link.asset_id] = link
        if not link.retired:
            self._unseen += 1
        self._last = link

    def find(self, asset_id: str) -> Link | None:
        key = int(asset_id[:16], 16)
        if key in self._shared:
            return self._whole.get(asset_id)
        slot = self._slot(key)
        if slot is None:
            return None
        return Link(
            asset_id=asset_id,
            content_hash=f"{self._hashes[slot]:016x}",
            misses=self._misses[slot],
            retired=bool(self._flags[slot] & _RETIRED),
            scope=self._scope_names[self._scopes[slot]],
        )

    def mark_seen(self, asset_id: str) -> None:
        key = int(asset_id[:16], 16)
        if key in self._shared:
            link = self._whole.get(asset_id)
            if link is not None and asset_id not in self._seen_whole:
                self._seen_whole.add(asset_id)
                self._unseen -= 0 if link.retired else 1
            return
        slot = self._slot(key)
        if slot is not None and not self._flags[slot] & _SEEN:
            self._flags[slot] |= _SEEN
            self._unseen -= 0 if self._flags[slot] & _RETIRED else 1

    def was_seen(self, asset_id: str) -> bool | None:
        """True or False for an indexed link; None for one the index does not hold (new this run)."""
        key = int(asset_id[:16], 16)
        if key in self._shared:
            return asset_id in self._seen_whole if asset_id in self._whole else None
        slot = self._slot(key)
        return None if slot is None else bool(self._flags[slot] & _SEEN)

    @property
    def unseen(self) -> int:
        """Links that are not retired and were not seen: the misses a sweep has to record."""
        return self._unseen

    def _slot(self, key: int) -> int | None:
        slot = bisect.bisect_left(self._keys, key)
        return slot if slot < len(self._keys) and self._keys[slot] == key else None

    def _scope_number(self, scope: str) -> int:
        number = self._scope_numbers.get(scope)
        if number is None:
            number = len(self._scope_names)
            if number > 0xFFFF:
                raise ValueError("too many distinct scopes")
            self._scope_names.append(scope)
            self._scope_numbers[scope] = number
        return number
