"""The license position: entitlements against consumption, per product."""

from typing import Annotated
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from itam.bootstrap import license_service
from itam.licenses.models import CompliancePage, ProductCompliance
from itam.licenses.service import LicenseService
from itam.web.openapi import responses
from itam.web.responses import json_response
from routes.common import Caller

PREFIX = "/v1/compliance"
router = Router()
Licenses = Annotated[LicenseService, Depends(license_service)]


@router.get("/", tags=["compliance"], responses=responses(CompliancePage))
def handle_compliance(ctx: Caller, licenses: Licenses) -> Response[CompliancePage]:
    return json_response(licenses.compliance(ctx))


@router.get("/<product>", tags=["compliance"], responses=responses(ProductCompliance, 404))
def handle_product_compliance(product: str, ctx: Caller, licenses: Licenses) -> Response[ProductCompliance]:
    # The path arrives as sent: product names with spaces come percent-encoded.
    return json_response(licenses.product_compliance(ctx, unquote(product)))
