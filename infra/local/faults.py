"""Fault injection for end-to-end tests: DynamoDB writes that are applied, but answered too late.

A client whose read timeout passes before a write's answer arrives cannot tell a write that landed
from one that did not; botocore sends it again. With `ITAM_LATE_ANSWERS` naming a key prefix (e.g.
`T#late-answer-`: every tenant whose id starts with `late-answer-`), the emulator applies each
write that touches such a key, then holds its answer back for `ITAM_LATE_ANSWER_S` seconds (past the
functions' DynamoDB read timeout) the first time it sees that exact request; the same request sent
again is answered at once. Off unless the variable is set: the stack a developer runs has no faults.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from moto.core.responses import ActionResult
from moto.dynamodb.responses import DynamoHandler

from infra.local.persistence import idle

log = logging.getLogger("infra.local")

HANDLERS = ("put_item", "update_item", "delete_item", "transact_write_items")
DEFAULT_DELAY_S = 5.0  # the functions' DynamoDB read timeout is 4 s (itam.adapters.schema)

Handler = Callable[[DynamoHandler], ActionResult]


def written_keys(body: dict[str, Any]) -> Iterator[str]:
    """The partition keys (PK) a write request puts, updates, deletes or checks."""
    actions = [next(iter(action.values())) for action in body.get("TransactItems", [])] or [body]
    for action in actions:
        key = action.get("Item") or action.get("Key") or {}
        pk = key.get("PK", {}).get("S")
        if isinstance(pk, str):
            yield pk


@dataclass
class LateAnswers:
    """Writes to keys starting with `key_prefix` are answered `delay_s` seconds late, once per request."""

    key_prefix: str
    delay_s: float = DEFAULT_DELAY_S
    _seen: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _first_time(self, body: dict[str, Any]) -> bool:
        if not any(pk.startswith(self.key_prefix) for pk in written_keys(body)):
            return False
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        with self._lock:
            if digest in self._seen:
                return False
            self._seen.add(digest)
            return True

    def wrap(self, handle: Handler) -> Handler:
        """`handle`, answering late the first time a matching request is applied."""

        @functools.wraps(handle)
        def answer_late(handler: DynamoHandler) -> ActionResult:
            answer = handle(handler)  # applied (a refused write raises, and is answered at once)
            if self._first_time(handler.body):
                log.warning("holding back a DynamoDB answer", extra={"delay_s": self.delay_s})
                with idle():  # outside the write lock and the snapshots' gate: the retry is served meanwhile
                    time.sleep(self.delay_s)
            return answer

        return answer_late

    def install(self) -> None:
        """Wrap the emulator's DynamoDB write handlers (after make_dynamodb_writes_atomic)."""
        for name in HANDLERS:
            setattr(DynamoHandler, name, self.wrap(getattr(DynamoHandler, name)))
