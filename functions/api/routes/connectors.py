"""Inventory connectors: the providers an inventory is synced from, and their sync runs."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from itam.bootstrap import connector_service
from itam.inventory.models import (
    Connector,
    ConnectorCreate,
    ConnectorPage,
    ConnectorPatch,
    SyncRun,
    SyncRunPage,
)
from itam.inventory.service import ConnectorService
from itam.pagination import DEFAULT_PAGE_SIZE, PageRequest
from itam.web.openapi import responses
from itam.web.responses import json_response, page_response, versioned_response
from routes.common import Caller, Cursor, IdempotencyKey, IfMatch, Limit, no_content, removed

PREFIX = "/v1"
router = Router()
Connectors = Annotated[ConnectorService, Depends(connector_service)]


@router.post("/connectors", tags=["inventory"], responses=responses(Connector, 404, 422, status=201))
def handle_create_connector(
    connector: ConnectorCreate, ctx: Caller, connectors: Connectors, idempotency_key: IdempotencyKey = None
) -> Response[Connector]:
    return versioned_response(connectors.create(ctx, connector, idempotency_key), "/v1/connectors", 201)


@router.get("/connectors", tags=["inventory"], responses=responses(ConnectorPage, 400, 422))
def handle_list_connectors(
    ctx: Caller, connectors: Connectors, limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> Response[ConnectorPage]:
    return page_response(connectors.list(ctx, PageRequest(limit, cursor)))


@router.get("/connectors/<connector_id>", tags=["inventory"], responses=responses(Connector, 404))
def handle_get_connector(connector_id: str, ctx: Caller, connectors: Connectors) -> Response[Connector]:
    return versioned_response(connectors.get(ctx, connector_id), "/v1/connectors")


@router.patch("/connectors/<connector_id>", tags=["inventory"], responses=responses(Connector, 404, 412, 422))
def handle_update_connector(
    connector_id: str, patch: ConnectorPatch, ctx: Caller, connectors: Connectors, if_match: IfMatch = None
) -> Response[Connector]:
    return versioned_response(connectors.update(ctx, connector_id, patch, if_match), "/v1/connectors")


@router.delete("/connectors/<connector_id>", tags=["inventory"], responses=removed())
def handle_delete_connector(connector_id: str, ctx: Caller, connectors: Connectors) -> Response[Any]:
    connectors.delete(ctx, connector_id)
    return no_content()


@router.post(
    "/connectors/<connector_id>/sync", tags=["inventory"], responses=responses(SyncRun, 404, 409, status=202)
)
def handle_sync_connector(connector_id: str, ctx: Caller, connectors: Connectors) -> Response[SyncRun]:
    run = connectors.trigger(ctx, connector_id)
    return json_response(run, 202, {"Location": f"/v1/sync-runs/{run.id}"})


@router.get(
    "/connectors/<connector_id>/runs", tags=["inventory"], responses=responses(SyncRunPage, 400, 404, 422)
)
def handle_list_runs(
    connector_id: str,
    ctx: Caller,
    connectors: Connectors,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Response[SyncRunPage]:
    return page_response(connectors.runs(ctx, connector_id, PageRequest(limit, cursor)))


@router.get("/sync-runs/<run_id>", tags=["inventory"], responses=responses(SyncRun, 404))
def handle_get_run(run_id: str, ctx: Caller, connectors: Connectors) -> Response[SyncRun]:
    return json_response(connectors.get_run(ctx, run_id))
