"""Procurement webhook endpoints: where a purchasing system delivers its events, and those deliveries."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from itam.bootstrap import endpoint_service
from itam.pagination import DEFAULT_PAGE_SIZE, PageRequest
from itam.procurement.models import (
    DeliveryPage,
    EndpointCreate,
    EndpointPage,
    EndpointPatch,
    EndpointWithSecret,
    RotateRequest,
    WebhookEndpoint,
)
from itam.procurement.service import EndpointService
from itam.web.openapi import responses
from itam.web.responses import json_response, page_response
from routes.common import Caller, Cursor, IdempotencyKey, Limit, no_content, removed

PREFIX = "/v1/webhook-endpoints"
router = Router()
Endpoints = Annotated[EndpointService, Depends(endpoint_service)]


@router.post("/", tags=["procurement"], responses=responses(EndpointWithSecret, 404, 409, 422, status=201))
def handle_create_endpoint(
    endpoint: EndpointCreate, ctx: Caller, endpoints: Endpoints, idempotency_key: IdempotencyKey = None
) -> Response[EndpointWithSecret]:
    created = endpoints.create(ctx, endpoint, idempotency_key)
    return json_response(created, 201, {"Location": f"/v1/webhook-endpoints/{created.id}"})


@router.get("/", tags=["procurement"], responses=responses(EndpointPage, 400, 422))
def handle_list_endpoints(
    ctx: Caller, endpoints: Endpoints, limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> Response[EndpointPage]:
    return page_response(endpoints.list(ctx, PageRequest(limit, cursor)))


@router.get("/<endpoint_id>", tags=["procurement"], responses=responses(WebhookEndpoint, 404))
def handle_get_endpoint(endpoint_id: str, ctx: Caller, endpoints: Endpoints) -> Response[WebhookEndpoint]:
    return json_response(endpoints.get(ctx, endpoint_id))


@router.patch("/<endpoint_id>", tags=["procurement"], responses=responses(WebhookEndpoint, 404, 412, 422))
def handle_update_endpoint(
    endpoint_id: str, patch: EndpointPatch, ctx: Caller, endpoints: Endpoints
) -> Response[WebhookEndpoint]:
    return json_response(endpoints.update(ctx, endpoint_id, patch))


@router.post(
    "/<endpoint_id>/rotate", tags=["procurement"], responses=responses(EndpointWithSecret, 404, 412, 422)
)
def handle_rotate_endpoint(
    endpoint_id: str, rotation: RotateRequest, ctx: Caller, endpoints: Endpoints
) -> Response[EndpointWithSecret]:
    return json_response(endpoints.rotate(ctx, endpoint_id, rotation))


@router.delete("/<endpoint_id>", tags=["procurement"], responses=removed())
def handle_delete_endpoint(endpoint_id: str, ctx: Caller, endpoints: Endpoints) -> Response[Any]:
    endpoints.delete(ctx, endpoint_id)
    return no_content()


@router.get(
    "/<endpoint_id>/deliveries", tags=["procurement"], responses=responses(DeliveryPage, 400, 404, 422)
)
def handle_list_deliveries(
    endpoint_id: str,
    ctx: Caller,
    endpoints: Endpoints,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Response[DeliveryPage]:
    return page_response(endpoints.deliveries(ctx, endpoint_id, PageRequest(limit, cursor)))
