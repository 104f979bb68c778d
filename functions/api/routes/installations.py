"""Software installed on an asset: what the license position counts."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from itam.bootstrap import license_service
from itam.licenses.models import Installation, InstallationCreate, InstallationPage
from itam.licenses.service import LicenseService
from itam.pagination import DEFAULT_PAGE_SIZE, PageRequest
from itam.web.openapi import responses
from itam.web.responses import json_response, page_response
from routes.common import Caller, Cursor, IdempotencyKey, Limit, no_content, removed

PREFIX = "/v1/assets"
router = Router()
Licenses = Annotated[LicenseService, Depends(license_service)]


@router.post(
    "/<asset_id>/software",
    tags=["installations"],
    responses=responses(Installation, 404, 409, 422, status=201),
)
def handle_add_installation(
    asset_id: str,
    installation: InstallationCreate,
    ctx: Caller,
    licenses: Licenses,
    idempotency_key: IdempotencyKey = None,
) -> Response[Installation]:
    inst = licenses.add_installation(ctx, asset_id, installation, idempotency_key)
    return json_response(inst, 201, {"Location": f"/v1/assets/{asset_id}/software/{inst.id}"})


@router.get(
    "/<asset_id>/software",
    tags=["installations"],
    responses=responses(InstallationPage, 400, 404, 422),
)
def handle_list_installations(
    asset_id: str, ctx: Caller, licenses: Licenses, limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> Response[InstallationPage]:
    return page_response(licenses.list_installations(ctx, asset_id, PageRequest(limit, cursor)))


@router.delete("/<asset_id>/software/<installation_id>", tags=["installations"], responses=removed())
def handle_remove_installation(
    asset_id: str, installation_id: str, ctx: Caller, licenses: Licenses
) -> Response[Any]:
    licenses.remove_installation(ctx, asset_id, installation_id)
    return no_content()
