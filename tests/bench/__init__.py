"""Benchmarks of the asset register: ratios against baselines measured in the same run (`make bench`)."""

from __future__ import annotations

from typing import Literal, TypedDict

Better = Literal["lower", "higher"]


class Figure(TypedDict):
    """One benchmark figure as written to bench-results.json; target None marks an informational figure."""

    name: str
    value: float
    unit: str
    target: float | None
    better: Better


def figure(
    name: str, value: float, unit: str, target: float | None = None, better: Better = "lower"
) -> Figure:
    """A figure with its value rounded for reading."""
    return Figure(name=name, value=round(value, 3), unit=unit, target=target, better=better)


def target_met(item: Figure) -> bool | None:
    """Whether the figure meets its target (None when it has no target)."""
    target = item["target"]
    if target is None:
        return None
    return item["value"] <= target if item["better"] == "lower" else item["value"] >= target
