"""Scheduled fan-out: one job message per tenant or connector, queued ten to a call."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from itam.ports import JobQueue

# SendMessageBatch takes 10 entries a call.
SEND_BATCH = 10


def fan_out(messages: Iterable[Mapping[str, Any]], queue: JobQueue, kind: str) -> int:
    """Queue every message, ten a call; return how many were queued. A scheduled job's id is fixed
    for its period, so a repeated schedule queues nothing new in effect. Raise if the queue refused
    any message (after queueing all the others), so the schedule's retry policy tries again."""
    queued, refused, batch = 0, 0, []
    for message in messages:
        batch.append(message)
        if len(batch) == SEND_BATCH:
            refused += len(queue.send_batch(batch))
            queued += len(batch)
            batch = []
    if batch:
        refused += len(queue.send_batch(batch))
        queued += len(batch)
    if refused:
        raise RuntimeError(f"{refused} of {queued} {kind} messages were not queued")
    return queued
