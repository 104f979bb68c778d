"""Default Clock and IdGenerator implementations."""

from __future__ import annotations

import re
import secrets
import time
from datetime import UTC, datetime

# The shape of every id TimeOrderedIds makes, and of the ids derived from a hash (scheduled runs and
# audits): a lookup of anything else finds nothing, without a read.
ID_PATTERN = re.compile(r"[0-9a-f]{32}")


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class TimeOrderedIds:
    """32 hex characters: 48 bits of milliseconds then 80 random bits, so ids sort by creation time."""

    def new_id(self) -> str:
        return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


def fired_at(event: object) -> datetime | None:
    """When a schedule fired: its event's `time` (RFC 3339), or None when it carries none that
    can be read (the caller then uses now)."""
    fired = event.get("time") if isinstance(event, dict) else None
    if not isinstance(fired, str):
        return None
    try:
        return datetime.fromisoformat(fired.replace("Z", "+00:00"))
    except ValueError:
        return None
