"""The inventory sync worker: one SQS message per connector run; a failing connector fails only its
own message (partial batch response), and a provider's refusal ends the run `failed` without a
retry."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from itam import telemetry
from itam.bootstrap import sync_runner
from itam.inventory.models import SyncJob

logger = Logger()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
# The queue's maxReceiveCount (template.yaml): the last delivery records a run that still fails as failed.
MAX_RECEIVES = 3


def record_handler(record: SQSRecord) -> None:
    job = SyncJob.model_validate(json.loads(record.body))
    logger.append_keys(tenant_id=job.tenant_id, connector_id=job.connector_id)
    last = int(record.attributes.approximate_receive_count or 1) >= MAX_RECEIVES
    run = sync_runner().execute(job, last_attempt=last)
    if run is None:
        logger.info("nothing to run: the connector is gone or disabled")
        return
    logger.info(
        "sync run finished",
        extra={"run_id": run.id, "status": run.status.value, "counts": run.counts, "failure": run.failure},
    )
    telemetry.emit(
        {"SyncRuns": 1, **{f"Sync{name.title()}": count for name, count in run.counts.items()}},
        {"connector_type": run.connector_type.value, "status": run.status.value},
        tenant_id=job.tenant_id,
        connector_id=run.connector_id,
        run_id=run.id,
    )


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
