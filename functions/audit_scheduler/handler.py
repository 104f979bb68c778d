"""The daily license audit's schedule: queue one audit per tenant, nothing more."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from itam.adapters import tenant_directory
from itam.adapters.messaging import SqsJobQueue
from itam.clock import fired_at
from itam.jobs import fan_out
from itam.licenses.service import scheduled_message
from itam.settings import load_settings

logger = Logger()


def audit_day(event: dict[str, Any]) -> datetime:
    """The day the schedule fired for (its `time`), or now when the event carries none."""
    fired = fired_at(event)
    if fired is None:
        logger.warning("no readable schedule time; auditing today", extra={"time": event.get("time")})
    return fired or datetime.now(UTC)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = load_settings()
    queue = SqsJobQueue(settings.audit_queue_url or "", settings.region, settings.sqs_endpoint)
    day = audit_day(event).date()
    messages = (scheduled_message(tenant_id, day) for tenant_id in tenant_directory(settings))
    queued = fan_out(messages, queue, "audit")
    logger.info("audits queued", extra={"tenants": queued, "day": day.isoformat()})
    return {"day": day.isoformat(), "queued": queued}
