"""The API about itself: health, and the OpenAPI document with its Swagger UI page (every route's)."""

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from itam.web.openapi import Health, responses
from itam.web.responses import json_response

PREFIX = ""
router = Router()


def _resolver() -> APIGatewayHttpResolver:
    # The document describes the resolver this router was included in, with every route it serves.
    resolver = router.api_resolver
    if not isinstance(resolver, APIGatewayHttpResolver):
        raise TypeError("the meta router serves an HTTP API resolver")
    return resolver


@router.get("/v1/health", tags=["meta"], responses=responses(Health))
def handle_health() -> Health:
    return Health(status="ok")


@router.get("/openapi.json", include_in_schema=False)
def handle_openapi() -> Response[Any]:
    from itam.web import docs  # only these routes need it: keep it out of every cold start

    return json_response(docs.openapi_document(_resolver()))


@router.get("/docs", include_in_schema=False)
def handle_docs() -> Response[Any]:
    from itam.web import docs

    return Response(status_code=200, content_type="text/html", body=docs.swagger_page(_resolver()))
