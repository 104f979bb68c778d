"""SQS and EventBridge: the job queue and the domain event bus (boto3 clients made on first use)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

from botocore.config import Config

from itam.adapters import sessions

EVENT_SOURCE = "itam"
# PutEvents takes 10 entries a call, of 256 KB together at most.
PUT_EVENTS_BATCH = 10
_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 3, "mode": "standard"})


class SqsJobQueue:
    """JobQueue on an SQS queue."""

    def __init__(self, queue_url: str, region: str, endpoint: str | None = None) -> None:
        self._url = queue_url
        self._region = region
        self._endpoint = endpoint

    @cached_property
    def _client(self) -> Any:
        return _client("sqs", self._region, self._endpoint)

    def send(self, message: Mapping[str, Any]) -> None:
        self._client.send_message(QueueUrl=self._url, MessageBody=json.dumps(message, sort_keys=True))

    def send_batch(self, messages: Sequence[Mapping[str, Any]]) -> list[str]:
        """Send up to 10 messages in one call; return the bodies SQS did not take."""
        entries = [
            {"Id": str(i), "MessageBody": json.dumps(message, sort_keys=True)}
            for i, message in enumerate(messages)
        ]
        result = self._client.send_message_batch(QueueUrl=self._url, Entries=entries)
        return [entries[int(failed["Id"])]["MessageBody"] for failed in result.get("Failed", [])]


class EventBridgePublisher:
    """EventPublisher on an EventBridge bus: source `itam`, one detail-type per kind of event."""

    def __init__(self, bus_name: str, region: str, endpoint: str | None = None) -> None:
        self._bus = bus_name
        self._region = region
        self._endpoint = endpoint

    @cached_property
    def _client(self) -> Any:
        return _client("events", self._region, self._endpoint)

    def publish(self, detail_type: str, details: Sequence[Mapping[str, Any]]) -> None:
        for start in range(0, len(details), PUT_EVENTS_BATCH):
            entries = [
                {
                    "EventBusName": self._bus,
                    "Source": EVENT_SOURCE,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail, sort_keys=True),
                }
                for detail in details[start : start + PUT_EVENTS_BATCH]
            ]
            result = self._client.put_events(Entries=entries)
            if result.get("FailedEntryCount"):
                codes = sorted({e.get("ErrorCode", "") for e in result["Entries"] if e.get("ErrorCode")})
                raise RuntimeError(f"EventBridge refused {result['FailedEntryCount']} events: {codes}")


def _client(service: str, region: str, endpoint: str | None) -> Any:
    return sessions.client(service, region, endpoint, _CONFIG)
