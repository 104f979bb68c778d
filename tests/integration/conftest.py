"""Handlers and adapters on moto (in-process), with the table built from template.yaml's own properties."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.local.template import load_template, table_create_kwargs
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
    with mock_aws():
        yield


@pytest.fixture
def table(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The template's table, created in moto; settings and cached clients are reset around each test."""
    [kwargs] = table_create_kwargs(load_template(), {"Stage": "test"})
    boto3.client("dynamodb").create_table(**kwargs)
    monkeypatch.setenv("TABLE_NAME", kwargs["TableName"])
    reset_caches()
    yield kwargs["TableName"]
    reset_caches()


class Api:
    """Calls the API function's lambda_handler with HTTP API v2 events, as a given tenant and role."""

    def __init__(self, tenant: str = "acme", role: str = "admin", user: str = "u-1") -> None:
        self.claims: dict[str, str] | None = claims_for(tenant, role, user)

    def as_(self, tenant: str, role: str = "admin", user: str = "u-1") -> Api:
        return Api(tenant, role, user)

    def call(self, method: str, path: str, **kwargs: Any) -> Reply:
        return invoke(http_event(method, path, claims=self.claims, **kwargs))

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
