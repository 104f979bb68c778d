"""Lost answers: DynamoDB writes that the emulator applies and whose answers never reach the client.

A write whose answer times out may have been applied all the same; botocore then sends the very same
request again. `LostAnswers` is a botocore `before-send` handler that plays this with in-process moto:
registered after moto's own handler (which applies the request and makes its answer), it throws that
answer away and raises botocore's `ReadTimeoutError` in its place, for as many attempts as it was
armed for. Everything else passes untouched.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from typing import Any

from botocore.exceptions import ReadTimeoutError

WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"})


class LostAnswers:
    """Arm with `lose_next(...)`; `lost` lists the operations whose answer was thrown away, in order,
    and `attempts` counts every DynamoDB request sent, by operation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._operations: frozenset[str] = frozenset()
        self._remaining = 0
        self.lost: list[str] = []
        self.attempts: Counter[str] = Counter()

    def lose_next(self, operations: Iterable[str] = WRITES, times: int = 1) -> None:
        """The answers of the next `times` requests of any of `operations` (any write by default) are
        lost after the emulator applied them."""
        with self._lock:
            self._operations, self._remaining = frozenset(operations), times

    def __call__(self, event_name: str, request: Any, **_: Any) -> None:
        """botocore's `before-send` event: raise a read timeout in place of an armed request's answer."""
        service, _, operation = event_name.removeprefix("before-send.").partition(".")
        if service != "dynamodb":
            return
        with self._lock:
            self.attempts[operation] += 1
            if self._remaining <= 0 or operation not in self._operations:
                return
            self._remaining -= 1
            self.lost.append(operation)
        raise ReadTimeoutError(endpoint_url=request.url)
