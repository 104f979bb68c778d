"""Business metrics, written as CloudWatch embedded metric format (EMF) log lines by Powertools.

CloudWatch turns each line into metrics without an API call. Dimensions are low-cardinality values
(a connector type, a run status, a finding type, an HTTP status), never a tenant: every distinct
dimension value is a separately billed custom metric. The tenant and the object go in as metadata,
which stays searchable in the logs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

NAMESPACE = "ITAM"


def emit(counts: Mapping[str, float], dimensions: Mapping[str, str], **metadata: str) -> None:
    """One EMF document: every count (a Count metric) under the same dimensions, with metadata."""
    document = EphemeralMetrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or NAMESPACE)
    for name, value in dimensions.items():
        document.add_dimension(name=name, value=value)
    for name, count in counts.items():
        document.add_metric(name=name, unit=MetricUnit.Count, value=count)
    for key, value in metadata.items():
        document.add_metadata(key=key, value=value)
    document.flush_metrics()
