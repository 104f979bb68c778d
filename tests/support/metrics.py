"""Reading the CloudWatch embedded-metric (EMF) documents a handler printed."""

from __future__ import annotations

import json
from typing import Any


def documents(out: str, metric: str) -> list[dict[str, Any]]:
    """The EMF documents among the printed lines that carry `metric`."""
    found = [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]
    return [doc for doc in found if metric in doc]


def definition(doc: dict[str, Any]) -> tuple[str, list[list[str]], set[str]]:
    """The document's namespace, dimension sets and metric names."""
    [spec] = doc["_aws"]["CloudWatchMetrics"]
    return spec["Namespace"], spec["Dimensions"], {m["Name"] for m in spec["Metrics"]}
