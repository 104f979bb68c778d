"""Calling the API function in-process, as Lambda would, and reading its answers."""

from __future__ import annotations

import importlib.util
import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
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


_environments = threading.local()
_loaded = itertools.count()


def _lambda_handler() -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The API function's lambda_handler: the imported module's on the main thread (where route tests
    set dependency overrides), and on any other thread an execution environment of that thread's own,
    as Lambda runs each concurrent request in its own (the resolver keeps the request it serves)."""
    if threading.current_thread() is threading.main_thread():
        from functions.api.handler import lambda_handler

        return lambda_handler
    handler: Callable[[dict[str, Any], Any], dict[str, Any]] | None = getattr(_environments, "handler", None)
    if handler is None:
        path = Path(__file__).resolve().parents[2] / "functions" / "api" / "handler.py"
        spec = importlib.util.spec_from_file_location(f"_api_environment_{next(_loaded)}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        handler = _environments.handler = module.lambda_handler
    return handler


def invoke(event: dict[str, Any]) -> Reply:
    """Call the API function's lambda_handler with `event`."""
    result = _lambda_handler()(event, LambdaContext())
    headers = dict(result.get("headers") or {})
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.setdefault(name, values[0])
    text = result.get("body") or ""
    body = json.loads(text) if text and "json" in headers.get("Content-Type", "") else text
    return Reply(int(result["statusCode"]), headers, body)


def reset_caches() -> None:
    """Forget cached settings, services and model classes so the next request builds them afresh."""
    from itam import bootstrap
    from itam.adapters import cursors, secrets, sessions, tenant_bindings, tenant_credentials
    from itam.adapters.schema import table_models
    from itam.settings import load_settings

    services = [
        getattr(bootstrap, name)
        for name in dir(bootstrap)
        if hasattr(getattr(bootstrap, name), "cache_clear")
    ]
    caches = (load_settings, table_models, tenant_bindings, tenant_credentials, secrets.secrets_client)
    for cached in (*caches, sessions.base_session, cursors.secret_provider, *services):
        cached.cache_clear()
