"""Normalization rules: how raw installation names map to licensed products."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from itam.bootstrap import license_service
from itam.licenses.models import Rule, RuleCreate, RulePage
from itam.licenses.service import LicenseService
from itam.pagination import DEFAULT_PAGE_SIZE, PageRequest
from itam.web.openapi import responses
from itam.web.responses import json_response, page_response
from routes.common import Caller, Cursor, IdempotencyKey, Limit, no_content, removed

PREFIX = "/v1/normalization-rules"
router = Router()
Licenses = Annotated[LicenseService, Depends(license_service)]


@router.post("/", tags=["normalization"], responses=responses(Rule, 404, 422, status=201))
def handle_create_rule(
    rule: RuleCreate, ctx: Caller, licenses: Licenses, idempotency_key: IdempotencyKey = None
) -> Response[Rule]:
    created = licenses.create_rule(ctx, rule, idempotency_key)
    return json_response(created, 201, {"Location": f"/v1/normalization-rules/{created.id}"})


@router.get("/", tags=["normalization"], responses=responses(RulePage, 400, 422))
def handle_list_rules(
    ctx: Caller, licenses: Licenses, limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> Response[RulePage]:
    return page_response(licenses.list_rules(ctx, PageRequest(limit, cursor)))


@router.delete("/<rule_id>", tags=["normalization"], responses=removed())
def handle_delete_rule(rule_id: str, ctx: Caller, licenses: Licenses) -> Response[Any]:
    licenses.delete_rule(ctx, rule_id)
    return no_content()
