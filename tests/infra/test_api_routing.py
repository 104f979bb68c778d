"""API Gateway's routes in template.yaml send every operation of the API to a function whose entry
point serves that operation's bounded context (docs/adr/0010-one-function-per-context.md)."""

from __future__ import annotations

import re

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from infra.local.gateway import RouteTable
from infra.local.template import http_routes, load_template
from routes import CONTEXTS, include_contexts

METHODS = ("get", "put", "post", "delete", "patch")


def operations(context: str) -> list[tuple[str, str]]:
    """(METHOD, path with sample ids) of every operation a context's routers declare."""
    app = APIGatewayHttpResolver(enable_validation=True)
    include_contexts(app, (context,), set())
    paths = app.get_openapi_schema().paths or {}
    found = []
    for path, item in paths.items():
        concrete = re.sub(r"\{[^}]+\}", "0123456789abcdef0123456789abcdef", path)
        found += [(method.upper(), concrete) for method in METHODS if getattr(item, method) is not None]
    return found


@pytest.fixture(scope="module")
def table() -> RouteTable:
    return RouteTable(http_routes(load_template()))


@pytest.mark.parametrize("context", [c for c in CONTEXTS if c != "meta"])
def test_every_operation_of_a_context_reaches_that_contexts_function(table: RouteTable, context: str) -> None:
    declared = operations(context)
    assert declared, f"{context} declares no operation"
    for method, path in declared:
        matched = table.match(method, path)
        assert matched is not None, f"no route in template.yaml for {method} {path}"
        function = matched[0].function
        assert function.attribute == f"{context}_handler", (
            f"{method} {path} reaches {function.logical_id} ({function.handler}), not the {context} function"
        )


def test_the_documents_health_and_unknown_paths_reach_the_function_that_serves_every_route(
    table: RouteTable,
) -> None:
    for method, path in [*operations("meta"), ("GET", "/v1/no-such-thing"), ("DELETE", "/v1/nothing/here")]:
        matched = table.match(method, path)
        assert matched is not None, f"no route in template.yaml for {method} {path}"
        assert matched[0].function.handler == "handler.lambda_handler", f"{method} {path}"
