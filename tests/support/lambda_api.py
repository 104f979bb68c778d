"""Calling the API function in-process, as Lambda would, and reading its answers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


class LambdaContext:
    """The parts of the Lambda context object the API function reads."""

    function_name = "itam-test-api"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:itam-test-api"
    aws_request_id = "00000000-0000-4000-8000-000000000000"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        """Time left in the invocation."""
        return 10_000


@dataclass(frozen=True)
class Reply:
    """A handler result, decoded."""

    status: int
    headers: dict[str, str]
    body: Any

    @property
    def etag(self) -> str:
        """The ETag header."""
        return self.headers["ETag"]


def invoke(event: dict[str, Any]) -> Reply:
    """Call the API function's lambda_handler with `event`."""
    from functions.api.handler import lambda_handler

    result = lambda_handler(event, LambdaContext())  # type: ignore[arg-type]
    headers = dict(result.get("headers") or {})
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.setdefault(name, values[0])
    text = result.get("body") or ""
    body = json.loads(text) if text and "json" in headers.get("Content-Type", "") else text
    return Reply(int(result["statusCode"]), headers, body)


def reset_caches() -> None:
    """Forget cached settings, services and model classes so the next request builds them afresh."""
    from itam import bootstrap
    from itam.adapters import sessions, tenant_bindings
    from itam.adapters.schema import table_models
    from itam.settings import load_settings

    services = [
        getattr(bootstrap, name)
        for name in dir(bootstrap)
        if hasattr(getattr(bootstrap, name), "cache_clear")
    ]
    for cached in (load_settings, table_models, tenant_bindings, sessions.base_session, *services):
        cached.cache_clear()
