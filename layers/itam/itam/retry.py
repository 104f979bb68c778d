"""Retries of optimistic writes that met another writer."""

from __future__ import annotations

import random
from collections.abc import Callable


def back_off(attempt: int, sleep: Callable[[float], None]) -> None:
    """Sleep a random time up to 25, 50, 100 ms... so that colliding writers spread out."""
    sleep(random.uniform(0, 0.025 * 2**attempt))  # noqa: S311 - jitter, not security
