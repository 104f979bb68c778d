"""Handlers and adapters on moto (in-process), with the table built from template.yaml's own properties."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.local.template import load_template, table_create_kwargs
from tests.support.events import claims_for, http_event


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "itam")
    with mock_aws():
        yield


@pytest.fixture
def table(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The template's table, created in moto; settings and cached clients are reset around each test."""
    from itam.adapters.dynamodb import table_models
    from itam.bootstrap import asset_service
    from itam.settings import load_settings

    [kwargs] = table_create_kwargs(load_template(), {"Stage": "test"})
    boto3.client("dynamodb").create_table(**kwargs)
    monkeypatch.setenv("TABLE_NAME", kwargs["TableName"])
    for cached in (load_settings, asset_service, table_models):
        cached.cache_clear()
    yield kwargs["TableName"]
    for cached in (load_settings, asset_service, table_models):
        cached.cache_clear()


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def etag(self) -> str:
        return self.headers["ETag"]


class LambdaContext:
    function_name = "itam-test-api"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:itam-test-api"
    aws_request_id = "00000000-0000-4000-8000-000000000000"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


class Api:
    """Calls the API function's lambda_handler with HTTP API v2 events, as a given tenant and role."""

    def __init__(self, tenant: str = "acme", role: str = "admin", user: str = "u-1") -> None:
        self.claims: dict[str, str] | None = claims_for(tenant, role, user)

    def as_(self, tenant: str, role: str = "admin", user: str = "u-1") -> Api:
        return Api(tenant, role, user)

    def call(self, method: str, path: str, **kwargs: Any) -> Reply:
        from functions.api.handler import lambda_handler

        event = http_event(method, path, claims=self.claims, **kwargs)
        result = lambda_handler(event, LambdaContext())
        headers = {k: v for k, v in (result.get("headers") or {}).items()}
        for k, values in (result.get("multiValueHeaders") or {}).items():
            headers.setdefault(k, values[0])
        text = result.get("body") or ""
        content_type = headers.get("Content-Type", "")
        body = json.loads(text) if text and "json" in content_type else text
        return Reply(result["statusCode"], headers, body)

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Reply:
        return self.call("POST", path, body=body, **kwargs)

    def patch(self, path: str, body: Any, etag: str | None = None, **kwargs: Any) -> Reply:
        headers = dict(kwargs.pop("headers", {}) or {})
        if etag is not None:
            headers["if-match"] = etag
        return self.call("PATCH", path, body=body, headers=headers, **kwargs)


@pytest.fixture
def api(table: str) -> Api:
    return Api()
