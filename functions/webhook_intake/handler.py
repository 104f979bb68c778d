"""Procurement webhook intake (no JWT: the Standard Webhooks signature authenticates the sender).
Verify, record once per webhook-id, queue, answer 202 -- the work happens behind the queue."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from itam import telemetry
from itam.bootstrap import webhook_intake
from itam.errors import DomainError
from itam.json_text import decode
from itam.procurement.service import MAX_BODY_BYTES
from itam.web import problems
from itam.web.gate import raw_body

logger = Logger()
JSON = "application/json"


def _answer(status: int, body: dict[str, Any], content_type: str = JSON) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": content_type}, "body": json.dumps(body)}


def _problem(body: dict[str, Any]) -> dict[str, Any]:
    return problems.lambda_result(body)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    endpoint_id = str((event.get("pathParameters") or {}).get("endpoint_id") or "")
    result = _deliver(event, endpoint_id)
    # One delivery, by outcome and HTTP status: a rise in 401s is a sender with a wrong secret.
    status = int(result["statusCode"])
    outcome = {"outcome": "accepted" if status == 202 else "refused", "status": str(status)}
    telemetry.emit({"WebhookDeliveries": 1}, outcome, endpoint_id=endpoint_id)
    return result


def _deliver(event: dict[str, Any], endpoint_id: str) -> dict[str, Any]:
    path = str(event.get("rawPath") or "")
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    try:
        data = raw_body(event)
        if len(data) > MAX_BODY_BYTES:
            return _problem(
                problems.problem(413, "payload-too-large", f"the body is over {MAX_BODY_BYTES} bytes", path)
            )
        # Bytes that are not UTF-8 cannot be checked against a signature made over UTF-8 text.
        body = decode(data)
        accepted = webhook_intake().receive(endpoint_id, headers, body)
    except DomainError as error:
        problem = problems.from_domain_error(error, path)
        logger.info("delivery refused", extra={"status": problem["status"], "endpoint_id": endpoint_id})
        result = _problem(problem)
        if problem["status"] == 401:
            result["headers"]["WWW-Authenticate"] = 'Webhook realm="itam"'
        return result
    logger.info("delivery accepted", extra={"endpoint_id": endpoint_id, "delivery_id": accepted.delivery_id})
    return _answer(202, json.loads(accepted.model_dump_json()))
