"""The hourly inventory schedule: queue one sync run per enabled connector, nothing more."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from itam.adapters.inventory_store import connector_directory
from itam.adapters.messaging import SqsJobQueue
from itam.clock import fired_at
from itam.inventory.service import scheduled_job
from itam.jobs import fan_out
from itam.settings import load_settings

logger = Logger()


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = load_settings()
    queue = SqsJobQueue(settings.sync_queue_url or "", settings.region, settings.sqs_endpoint)
    at = fired_at(event) or datetime.now(UTC)
    messages = (
        scheduled_job(tenant_id, connector_id, at)
        for tenant_id, connector_id in connector_directory(settings)
    )
    queued = fan_out(messages, queue, "sync")
    logger.info("sync runs queued", extra={"connectors": queued, "at": at.isoformat()})
    return {"at": at.isoformat(), "queued": queued}
