"""The license audit worker: one SQS message per tenant; a failing tenant fails only its own message."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from itam import telemetry
from itam.bootstrap import audit_runner
from itam.licenses.audit import AuditJob, scheduled_audit_id
from itam.tenancy import TenantContext

logger = Logger()
# A batch whose every record failed is reported like any other (all listed), not raised.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
# The queue's maxReceiveCount (template.yaml): the last delivery marks a report that still fails as failed.
MAX_RECEIVES = 3


def record_handler(record: SQSRecord) -> None:
    job = AuditJob.model_validate(json.loads(record.body))
    ctx = TenantContext.system(job.tenant_id, "audit", "license audit")
    logger.append_keys(tenant_id=job.tenant_id, job=job.job)
    if job.job == "normalize":
        changed = audit_runner().normalize(ctx)
        logger.info("installations re-normalized", extra={"changed": changed})
        return
    day = job.day or datetime.now(UTC).date()
    audit_id = job.audit_id or scheduled_audit_id(job.tenant_id, day)
    last = int(record.attributes.approximate_receive_count or 1) >= MAX_RECEIVES
    report = audit_runner().audit(ctx, audit_id, job.trigger, day, last_attempt=last)
    logger.info("audit complete", extra={"audit_id": report.id, "findings": report.findings_total})
    by_type = {"Findings" + kind.title().replace("_", ""): count for kind, count in report.counts.items()}
    telemetry.emit(
        {"Audits": 1, "AuditFindings": report.findings_total, **by_type},
        {"status": report.status.value},
        tenant_id=job.tenant_id,
        audit_id=report.id,
    )


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
