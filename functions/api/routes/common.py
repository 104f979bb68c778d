"""What every router shares: the caller and the services as dependencies, the paging and precondition
parameters, and the responses without a body."""

from typing import Annotated, Any, cast

from aws_lambda_powertools.event_handler import Depends, Request, Response
from aws_lambda_powertools.event_handler.openapi.params import Header, Query
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from itam.assets.service import AssetService
from itam.bootstrap import asset_service
from itam.pagination import MAX_PAGE_SIZE
from itam.tenancy import TenantContext
from itam.web.auth import tenant_context

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Page size")]
Cursor = Annotated[str | None, Query(max_length=2048, description="next_cursor of the previous page")]
IfMatch = Annotated[str | None, Header(alias="if-match", description="ETag of the version being changed")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="idempotency-key",
        pattern=r"^[\x21-\x7e]{1,255}$",
        description="Makes a retried create safe: the same key and body return what the first created (24 h)",
    ),
]
WRITE_ERRORS = (404, 409, 412, 422)


def removed() -> dict[int, Any]:
    """The OpenAPI responses of a DELETE: 204, or 404 for another tenant's (or no) object."""
    return {204: {"description": "Removed"}, 404: {"description": "No such object for this tenant"}}


def current_caller(request: Request) -> TenantContext:
    """The caller's tenant context, from the claims the JWT authorizer verified (401/403 otherwise)."""
    event = cast(APIGatewayProxyEventV2, request.resolved_event)  # the resolver is the HTTP API's
    return tenant_context(event.request_context.authorizer.jwt_claim)


# Resolved once per request (Depends caches it), and replaceable in tests through
# app.dependency_overrides. The other services' aliases live in the routers of their own context, so
# a function deployed for one context never imports another context's service.
Caller = Annotated[TenantContext, Depends(current_caller)]
Assets = Annotated[AssetService, Depends(asset_service)]


def no_content() -> Response[Any]:
    """A 204 without a body."""
    return Response(status_code=204, body=None)
