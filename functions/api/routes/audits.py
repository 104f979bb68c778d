"""License audits: requested here, run by the audit worker, their findings read back here."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from itam.bootstrap import license_service
from itam.licenses.audit import AuditAccepted, AuditDetail, AuditPage
from itam.licenses.service import LicenseService
from itam.pagination import DEFAULT_PAGE_SIZE, PageRequest
from itam.web.openapi import responses
from itam.web.responses import json_response, page_response
from routes.common import Caller, Cursor, IdempotencyKey, Limit

PREFIX = "/v1/audits"
router = Router()
Licenses = Annotated[LicenseService, Depends(license_service)]


@router.post("/", tags=["audits"], responses=responses(AuditAccepted, status=202))
def handle_request_audit(
    ctx: Caller, licenses: Licenses, idempotency_key: IdempotencyKey = None
) -> Response[AuditAccepted]:
    accepted = licenses.request_audit(ctx, idempotency_key)
    return json_response(accepted, 202, {"Location": f"/v1/audits/{accepted.id}"})


@router.get("/", tags=["audits"], responses=responses(AuditPage, 400, 422))
def handle_list_audits(
    ctx: Caller, licenses: Licenses, limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> Response[AuditPage]:
    return page_response(licenses.list_audits(ctx, PageRequest(limit, cursor)))


@router.get("/<audit_id>", tags=["audits"], responses=responses(AuditDetail, 400, 404, 422))
def handle_get_audit(
    audit_id: str, ctx: Caller, licenses: Licenses, limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> Response[AuditDetail]:
    return json_response(licenses.get_audit(ctx, audit_id, PageRequest(limit, cursor)))
