"""Applies queued procurement deliveries; a failing delivery fails only its own message."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from itam.bootstrap import procurement_processor

logger = Logger()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    message = json.loads(record.body)
    done = procurement_processor().process(
        str(message["tenant_id"]), str(message["endpoint_id"]), str(message["delivery_id"])
    )
    logger.info(
        "delivery processed",
        extra={
            "tenant_id": message["tenant_id"],
            "delivery_id": message["delivery_id"],
            "status": done.status if done else "unknown delivery",
            "error": done.error if done else None,
        },
    )


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
