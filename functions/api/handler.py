"""The HTTP API: the resolver, its error handlers and the Lambda entry points. The routes live in
`routes/`, one router per resource; the product lives in the `itam` layer."""

from __future__ import annotations

import gc

# Importing the models allocates a great deal, and the garbage collector would walk it all several
# times over during the cold start: collect nothing until the module is set up (and, in `_include`,
# while the routers are imported), then move what was made out of the collector's sight for good.
gc.disable()

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from itam.errors import DomainError
from itam.web import problems
from itam.web.gate import access_fields, reject_unacceptable_body, routed_event
from itam.web.responses import problem_response
from routes import CONTEXTS, include_contexts

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]

logger = Logger()
app = APIGatewayHttpResolver(enable_validation=True)
_included: set[str] = set()


@app.exception_handler(DomainError)
def handle_domain_error(error: DomainError) -> Response[Any]:
    problem = problems.from_domain_error(error, app.current_event.path)
    if problem["status"] >= 500:
        logger.exception("domain error without an HTTP mapping")
    return problem_response(problem)


@app.exception_handler(RequestValidationError)
def handle_validation_error(error: RequestValidationError) -> Response[Any]:
    return problem_response(problems.from_validation_errors(error.errors(), app.current_event.path))


@app.not_found
def handle_not_found(_: NotFoundError) -> Response[Any]:
    from itam.web import docs

    return problem_response(*docs.unmatched_request(app))


@app.exception_handler(Exception)
def handle_unexpected(error: Exception) -> Response[Any]:
    logger.exception("unhandled error")
    return problem_response(problems.problem(500, "internal-error", "an unexpected error occurred"))


def _include(contexts: tuple[str, ...]) -> None:
    # The routers' imports get the same treatment as the module's (see the top of the module).
    gc.disable()
    try:
        include_contexts(app, contexts, _included)
    finally:
        gc.freeze()
        gc.enable()


def entry_point(*contexts: str) -> Handler:
    """A Lambda handler serving the routes of `contexts`, included on its first invocation."""
    ready = False

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        nonlocal ready
        if not ready:
            _include(contexts)
            ready = True
        rejected = reject_unacceptable_body(event)
        if rejected is not None:
            result = problems.lambda_result(rejected)
        else:
            result = app.resolve(routed_event(event), context)
        logger.info("request handled", extra=access_fields(event, result))
        return result

    return handler


# Every route, with the OpenAPI document and the Swagger UI page that describe them all.
lambda_handler = entry_point(*CONTEXTS)
# One function per bounded context: each imports its own context's code only.
assets_handler = entry_point("assets")
licenses_handler = entry_point("licenses")
inventory_handler = entry_point("inventory")
procurement_handler = entry_point("procurement")
requests_handler = entry_point("requests")
finance_handler = entry_point("finance")

# Everything set up at import stays for the environment's life: keep it out of every collection.
gc.freeze()
gc.enable()
