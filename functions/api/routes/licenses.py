"""Software licenses: the licenses, their history and their seat assignments."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from itam.bootstrap import license_service
from itam.licenses.models import (
    License,
    LicenseCreate,
    LicenseFilter,
    LicenseHistoryPage,
    LicensePage,
    LicensePatch,
    Metric,
    Seat,
    SeatCreate,
    SeatPage,
)
from itam.licenses.service import LicenseService
from itam.pagination import DEFAULT_PAGE_SIZE, PageRequest
from itam.web.openapi import responses
from itam.web.responses import json_response, page_response, versioned_response
from routes.common import WRITE_ERRORS, Caller, Cursor, IdempotencyKey, IfMatch, Limit

PREFIX = "/v1/licenses"
router = Router()
Licenses = Annotated[LicenseService, Depends(license_service)]


@router.post("/", tags=["licenses"], responses=responses(License, 422, status=201))
def handle_create_license(
    license: LicenseCreate, ctx: Caller, licenses: Licenses, idempotency_key: IdempotencyKey = None
) -> Response[License]:
    created = licenses.create_license(ctx, license, idempotency_key=idempotency_key)
    return versioned_response(created, PREFIX, 201)


@router.get("/", tags=["licenses"], responses=responses(LicensePage, 400, 422))
def handle_list_licenses(
    ctx: Caller,
    licenses: Licenses,
    product: Annotated[str | None, Query(max_length=200)] = None,
    vendor: Annotated[str | None, Query(max_length=128)] = None,
    metric: Annotated[Metric | None, Query()] = None,
    expiring_within_days: Annotated[
        int | None, Query(ge=0, le=3650, description="Licenses whose end date is at most this many days away")
    ] = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Response[LicensePage]:
    filters = LicenseFilter(product=product, vendor=vendor, metric=metric)
    page = licenses.list_licenses(ctx, filters, PageRequest(limit, cursor), expiring_within_days)
    return page_response(page)


@router.get("/<license_id>", tags=["licenses"], responses=responses(License, 404))
def handle_get_license(license_id: str, ctx: Caller, licenses: Licenses) -> Response[License]:
    return versioned_response(licenses.get_license(ctx, license_id), PREFIX)


@router.patch("/<license_id>", tags=["licenses"], responses=responses(License, *WRITE_ERRORS, 428))
def handle_update_license(
    license_id: str, patch: LicensePatch, ctx: Caller, licenses: Licenses, if_match: IfMatch = None
) -> Response[License]:
    return versioned_response(licenses.update_license(ctx, license_id, patch, if_match), PREFIX)


@router.get(
    "/<license_id>/history", tags=["licenses"], responses=responses(LicenseHistoryPage, 400, 404, 422)
)
def handle_license_history(
    license_id: str, ctx: Caller, licenses: Licenses, limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> Response[LicenseHistoryPage]:
    return page_response(licenses.license_history(ctx, license_id, PageRequest(limit, cursor)))


@router.post(
    "/<license_id>/assignments",
    tags=["license assignments"],
    responses=responses(Seat, 404, 409, 422, status=201),
)
def handle_assign_seat(
    license_id: str,
    assignment: SeatCreate,
    ctx: Caller,
    licenses: Licenses,
    idempotency_key: IdempotencyKey = None,
) -> Response[Seat]:
    seat = licenses.assign_seat(ctx, license_id, assignment, idempotency_key)
    return json_response(seat, 201, {"Location": f"/v1/licenses/{license_id}/assignments/{seat.id}"})


@router.get(
    "/<license_id>/assignments/<assignment_id>",
    tags=["license assignments"],
    responses=responses(Seat, 404),
)
def handle_get_seat(license_id: str, assignment_id: str, ctx: Caller, licenses: Licenses) -> Response[Seat]:
    return json_response(licenses.get_seat(ctx, license_id, assignment_id))


@router.get(
    "/<license_id>/assignments",
    tags=["license assignments"],
    responses=responses(SeatPage, 400, 404, 422),
)
def handle_list_seats(
    license_id: str,
    ctx: Caller,
    licenses: Licenses,
    released: Annotated[bool, Query(description="Released assignments instead of current ones")] = False,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Response[SeatPage]:
    return page_response(licenses.list_seats(ctx, license_id, PageRequest(limit, cursor), released))


@router.delete(
    "/<license_id>/assignments/<assignment_id>",
    tags=["license assignments"],
    responses=responses(Seat, 404),
)
def handle_release_seat(
    license_id: str, assignment_id: str, ctx: Caller, licenses: Licenses
) -> Response[Seat]:
    return json_response(licenses.release_seat(ctx, license_id, assignment_id))
