"""Handlers and adapters on moto (in-process), with the table built from template.yaml's own properties."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.local.atomic import make_dynamodb_writes_atomic
from infra.local.cognito import make_cognito_keep_pool_settings
from infra.local.resources import Context, create_user_pool
from infra.local.template import Resolver, load_template, table_create_kwargs
from tests.support.events import claims_for, http_event
from tests.support.lambda_api import Reply, invoke, reset_caches


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "itam")
    make_dynamodb_writes_atomic()
    make_cognito_keep_pool_settings()
    with mock_aws():
        yield


@dataclass(frozen=True)
class Jobs:
    """The audit queue, its dead-letter queue and the event bus, in moto; `tap` receives every event
    published on the bus (through a catch-all rule)."""

    queue_url: str
    dlq_url: str
    bus: str
    tap_url: str

    def messages(self, url: str | None = None) -> list[dict[str, Any]]:
        """Receive (and delete) every message waiting on a queue, bodies decoded."""
        sqs = boto3.client("sqs")
        found: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(QueueUrl=url or self.queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not batch:
                return found
            for message in batch:
                found.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url or self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def events(self) -> list[dict[str, Any]]:
        return self.messages(self.tap_url)


@pytest.fixture
def table(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The template's table, created in moto; settings and cached clients are reset around each test."""
    template = load_template()
    [kwargs] = table_create_kwargs(template, {"Stage": "test"})
    boto3.client("dynamodb").create_table(**kwargs)
    monkeypatch.setenv("TABLE_NAME", kwargs["TableName"])
    jobs = _create_jobs()
    monkeypatch.setenv("AUDIT_QUEUE_URL", jobs.queue_url)
    monkeypatch.setenv("EVENT_BUS_NAME", jobs.bus)
    procurement = boto3.client("sqs").create_queue(QueueName="itam-test-procurement")["QueueUrl"]
    monkeypatch.setenv("PROCUREMENT_QUEUE_URL", procurement)
    monkeypatch.setenv("WEBHOOK_SECRET_PREFIX", "itam-test/webhooks")
    sync = boto3.client("sqs").create_queue(QueueName="itam-test-sync")["QueueUrl"]
    monkeypatch.setenv("SYNC_QUEUE_URL", sync)
    monkeypatch.setenv("CONNECTOR_SECRET_PREFIX", "itam-test/connectors")
    monkeypatch.setenv("USER_POOL_ID", _create_user_pool(template))
    monkeypatch.setenv("CURSOR_SECRET_ARN", _create_cursor_secret())
    reset_caches()
    yield kwargs["TableName"]
    reset_caches()


def _create_user_pool(template: dict[str, Any]) -> str:
    """The template's user pool, created in moto; its id."""
    props = template["Resources"]["UserPool"]["Properties"]
    resolved = Resolver(params={"Stage": "test"}).resolve(props)
    return create_user_pool(Context(boto3.Session(), None, "us-east-1"), "UserPool", resolved).ref  # type: ignore[arg-type]


class Api:
    """Calls the API function's lambda_handler with HTTP API v2 events, as a given tenant and role.

    The caller's claims name a user the user pool does not hold (sub "<tenant>-<user>"); `Api.member`
    makes a caller who is a user of the pool, as anyone an approval step or a request names must be."""

    def __init__(self, tenant: str = "acme", role: str = "admin", user: str = "u-1") -> None:
        self.claims: dict[str, str] | None = claims_for(tenant, role, user)

    @classmethod
    def member(cls, tenant: str, role: str, user: str, email: str | None = None) -> Api:
        """A caller who is a user of the pool (created if need be): the claims carry the pool's sub."""
        address = email or f"{user}@{tenant}.example.com"
        cognito, pool_id = boto3.client("cognito-idp"), os.environ["USER_POOL_ID"]
        try:
            found = cognito.admin_get_user(UserPoolId=pool_id, Username=address)
        except cognito.exceptions.UserNotFoundException:
            attributes = [
                {"Name": "email", "Value": address},
                {"Name": "email_verified", "Value": "true"},
                {"Name": "custom:tenant_id", "Value": tenant},
            ]
            cognito.admin_create_user(
                UserPoolId=pool_id, Username=address, UserAttributes=attributes, MessageAction="SUPPRESS"
            )
            found = cognito.admin_get_user(UserPoolId=pool_id, Username=address)
        sub = next(a["Value"] for a in found["UserAttributes"] if a["Name"] == "sub")
        api = cls(tenant, role, user)
        assert api.claims is not None
        api.claims.update({"sub": sub, "cognito:username": sub, "email": address})
        return api

    @property
    def sub(self) -> str:
        assert self.claims is not None
        return self.claims["sub"]

    def as_(self, tenant: str, role: str = "admin", user: str = "u-1") -> Api:
        return Api(tenant, role, user)

    def call(self, method: str, path: str, **kwargs: Any) -> Reply:
        return invoke(http_event(method, path, claims=self.claims, **kwargs))

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Reply:
        return self.call("POST", path, body=body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Reply:
        return self.call("DELETE", path, **kwargs)

    def patch(self, path: str, body: Any, etag: str | None = None, **kwargs: Any) -> Reply:
        headers = dict(kwargs.pop("headers", {}) or {})
        if etag is not None:
            headers["if-match"] = etag
        return self.call("PATCH", path, body=body, headers=headers, **kwargs)


@pytest.fixture
def api(table: str) -> Api:
    return Api()


def _create_cursor_secret() -> str:
    """The secret cursors are sealed with, generated as template.yaml's CursorSecret has it generated."""
    secrets = boto3.client("secretsmanager")
    value = secrets.get_random_password(PasswordLength=64, ExcludePunctuation=True)["RandomPassword"]
    arn: str = secrets.create_secret(Name="itam-test/cursors", SecretString=value)["ARN"]
    return arn


def _create_jobs() -> Jobs:
    sqs, events = boto3.client("sqs"), boto3.client("events")
    dlq = sqs.create_queue(QueueName="itam-test-audits-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})
    queue = sqs.create_queue(QueueName="itam-test-audits", Attributes={"RedrivePolicy": redrive})["QueueUrl"]
    tap = sqs.create_queue(QueueName="itam-test-events-tap")["QueueUrl"]
    tap_arn = sqs.get_queue_attributes(QueueUrl=tap, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.create_event_bus(Name="itam-test")
    events.put_rule(Name="tap", EventBusName="itam-test", EventPattern=json.dumps({"source": ["itam"]}))
    events.put_targets(Rule="tap", EventBusName="itam-test", Targets=[{"Id": "tap", "Arn": tap_arn}])
    return Jobs(queue, dlq, "itam-test", tap)


@pytest.fixture
def jobs(table: str) -> Jobs:
    """The queues and bus `table` created (and pointed the functions at)."""
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName="itam-test-audits")["QueueUrl"]
    dlq = sqs.get_queue_url(QueueName="itam-test-audits-dlq")["QueueUrl"]
    tap = sqs.get_queue_url(QueueName="itam-test-events-tap")["QueueUrl"]
    return Jobs(url, dlq, "itam-test", tap)
