"""The asset register: assets, their lifecycle, check-out and check-in, maintenance and history."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from itam.assets.models import (
    TAG_KEY,
    Asset,
    AssetCreate,
    AssetFilter,
    AssetPage,
    AssetPatch,
    AssignmentPage,
    CheckinRequest,
    CheckoutRequest,
    DiscoveryState,
    HistoryPage,
    Kind,
    Maintenance,
    MaintenanceCreate,
    MaintenancePage,
    Status,
    TransitionedAsset,
    TransitionRequest,
)
from itam.pagination import DEFAULT_PAGE_SIZE, PageRequest
from itam.web.openapi import responses
from itam.web.responses import json_response, page_response, versioned_response
from routes.common import WRITE_ERRORS, Assets, Caller, Cursor, IdempotencyKey, IfMatch, Limit

PREFIX = "/v1/assets"
router = Router()


@router.post("/", tags=["assets"], responses=responses(Asset, 409, 422, status=201))
def handle_create_asset(
    asset: AssetCreate, ctx: Caller, assets: Assets, idempotency_key: IdempotencyKey = None
) -> Response[Asset]:
    return versioned_response(assets.register_asset(ctx, asset, idempotency_key), PREFIX, 201)


@router.get("/", tags=["assets"], responses=responses(AssetPage, 400, 422))
def handle_list_assets(
    ctx: Caller,
    assets: Assets,
    kind: Annotated[Kind | None, Query()] = None,
    status: Annotated[Status | None, Query()] = None,
    category: Annotated[str | None, Query(max_length=128)] = None,
    location: Annotated[str | None, Query(max_length=128)] = None,
    assigned_to: Annotated[str | None, Query(max_length=128)] = None,
    tag: Annotated[str | None, Query(pattern=rf"^{TAG_KEY}:.{{0,256}}$", description="key:value")] = None,
    connector_id: Annotated[
        str | None, Query(pattern=r"^[0-9a-f]{32}$", description="Assets this inventory connector keeps")
    ] = None,
    discovery_state: Annotated[
        DiscoveryState | None, Query(description="Discovered assets present, missing or retired by the sync")
    ] = None,
    external_key: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=2048,
            description="The asset(s) an inventory connector keeps for this provider key (an ARN, a SaaS "
            "product key): a lookup, answered in one page, that other filters narrow",
        ),
    ] = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Response[AssetPage]:
    filters = AssetFilter(
        kind=kind,
        status=status,
        category=category,
        location=location,
        assigned_to=assigned_to,
        tag=tag,
        connector_id=connector_id,
        discovery_state=discovery_state,
    )
    return page_response(assets.list_assets(ctx, filters, PageRequest(limit, cursor), external_key))


@router.get("/<asset_id>", tags=["assets"], responses=responses(Asset, 404))
def handle_get_asset(asset_id: str, ctx: Caller, assets: Assets) -> Response[Asset]:
    return versioned_response(assets.get_asset(ctx, asset_id), PREFIX)


@router.patch("/<asset_id>", tags=["assets"], responses=responses(Asset, *WRITE_ERRORS, 428))
def handle_update_asset(
    asset_id: str, patch: AssetPatch, ctx: Caller, assets: Assets, if_match: IfMatch = None
) -> Response[Asset]:
    return versioned_response(assets.update_asset(ctx, asset_id, patch, if_match), PREFIX)


@router.post(
    "/<asset_id>/transitions", tags=["lifecycle"], responses=responses(TransitionedAsset, *WRITE_ERRORS)
)
def handle_transition_asset(
    asset_id: str, transition: TransitionRequest, ctx: Caller, assets: Assets, if_match: IfMatch = None
) -> Response[TransitionedAsset]:
    return versioned_response(assets.transition_asset(ctx, asset_id, transition, if_match), PREFIX)


@router.post("/<asset_id>/checkout", tags=["assignments"], responses=responses(Asset, *WRITE_ERRORS))
def handle_checkout_asset(
    asset_id: str, checkout: CheckoutRequest, ctx: Caller, assets: Assets, if_match: IfMatch = None
) -> Response[Asset]:
    return versioned_response(assets.checkout_asset(ctx, asset_id, checkout, if_match), PREFIX)


@router.post("/<asset_id>/checkin", tags=["assignments"], responses=responses(Asset, *WRITE_ERRORS))
def handle_checkin_asset(
    asset_id: str, checkin: CheckinRequest, ctx: Caller, assets: Assets, if_match: IfMatch = None
) -> Response[Asset]:
    return versioned_response(assets.checkin_asset(ctx, asset_id, checkin, if_match), PREFIX)


@router.get(
    "/<asset_id>/assignments", tags=["assignments"], responses=responses(AssignmentPage, 400, 404, 422)
)
def handle_list_assignments(
    asset_id: str, ctx: Caller, assets: Assets, limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> Response[AssignmentPage]:
    return page_response(assets.list_assignments(ctx, asset_id, PageRequest(limit, cursor)))


@router.post(
    "/<asset_id>/maintenance",
    tags=["maintenance"],
    responses=responses(Maintenance, *WRITE_ERRORS, status=201),
)
def handle_log_maintenance(
    asset_id: str,
    record: MaintenanceCreate,
    ctx: Caller,
    assets: Assets,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> Response[Maintenance]:
    logged = assets.log_maintenance(ctx, asset_id, record, if_match, idempotency_key)
    return json_response(logged, status=201)


@router.get(
    "/<asset_id>/maintenance", tags=["maintenance"], responses=responses(MaintenancePage, 400, 404, 422)
)
def handle_list_maintenance(
    asset_id: str, ctx: Caller, assets: Assets, limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> Response[MaintenancePage]:
    return page_response(assets.list_maintenance(ctx, asset_id, PageRequest(limit, cursor)))


@router.get("/<asset_id>/history", tags=["history"], responses=responses(HistoryPage, 400, 404, 422))
def handle_asset_history(
    asset_id: str, ctx: Caller, assets: Assets, limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> Response[HistoryPage]:
    return page_response(assets.asset_history(ctx, asset_id, PageRequest(limit, cursor)))
