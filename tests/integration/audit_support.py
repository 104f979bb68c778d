"""Driving the audit's functions in-process: the schedule's event, SQS batches for the worker."""

from __future__ import annotations

import json
from typing import Any

import boto3

from tests.support.events import load_event
from tests.support.lambda_api import LambdaContext


def fire_schedule(time: str = "2026-11-27T05:00:00Z") -> dict[str, Any]:
    """Invoke the scheduler function with the event its schedule delivers."""
    from functions.audit_scheduler.handler import lambda_handler

    event = load_event("schedule/daily_audit.json")
    event["time"] = time
    result: dict[str, Any] = lambda_handler(event, LambdaContext())  # type: ignore[arg-type]
    return result


def sqs_event(bodies: list[dict[str, Any]], receive_count: int = 1) -> dict[str, Any]:
    """An SQS batch event for the worker, shaped like events/sqs/audit_batch.json."""
    template = load_event("sqs/audit_batch.json")["Records"][0]
    records = []
    for n, body in enumerate(bodies):
        record = json.loads(json.dumps(template))
        record["messageId"] = f"00000000-0000-4000-8000-{n:012d}"
        record["body"] = json.dumps(body)
        record["attributes"]["ApproximateReceiveCount"] = str(receive_count)
        records.append(record)
    return {"Records": records}


def run_worker(bodies: list[dict[str, Any]], receive_count: int = 1) -> dict[str, Any]:
    """Invoke the worker with one batch; return its response (batchItemFailures)."""
    from functions.audit_worker.handler import lambda_handler

    result: dict[str, Any] = lambda_handler(sqs_event(bodies, receive_count), LambdaContext())  # type: ignore[arg-type]
    return result


def drain(queue_url: str) -> list[dict[str, Any]]:
    """Every message body waiting on the queue (received and deleted)."""
    sqs = boto3.client("sqs")
    bodies: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return bodies
