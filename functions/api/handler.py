"""The asset register's HTTP API: routing and shaping only; the product lives in the `itam` layer."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Header, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

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
    HistoryPage,
    Kind,
    Maintenance,
    MaintenanceCreate,
    MaintenancePage,
    Status,
    TransitionRequest,
)
from itam.bootstrap import asset_service
from itam.errors import DomainError
from itam.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, PageRequest
from itam.tenancy import TenantContext
from itam.web import problems
from itam.web.auth import tenant_context
from itam.web.openapi import Health, responses
from itam.web.requests import access_fields, reject_unacceptable_body
from itam.web.responses import asset_response, json_response, page_response, problem_response

logger = Logger()
app = APIGatewayHttpResolver(enable_validation=True)

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


def caller() -> TenantContext:
    return tenant_context(app.current_event.request_context.authorizer.jwt_claim)


@app.get("/v1/health", tags=["meta"], responses=responses(Health))
def handle_health() -> Health:
    return Health(status="ok")


@app.get("/openapi.json", include_in_schema=False)
def handle_openapi() -> Response[Any]:
    from itam.web import docs  # only this route needs it: keep it out of every cold start

    return json_response(docs.openapi_document(app))


@app.get("/docs", include_in_schema=False)
def handle_docs() -> Response[Any]:
    from itam.web import docs

    return Response(status_code=200, content_type="text/html", body=docs.swagger_page(app))


@app.post("/v1/assets", tags=["assets"], responses=responses(Asset, 409, 422, status=201))
def handle_create_asset(asset: AssetCreate, idempotency_key: IdempotencyKey = None) -> Response[Asset]:
    return asset_response(asset_service().register_asset(caller(), asset, idempotency_key), status=201)


@app.get("/v1/assets", tags=["assets"], responses=responses(AssetPage, 400, 422))
def handle_list_assets(
    kind: Annotated[Kind | None, Query()] = None,
    status: Annotated[Status | None, Query()] = None,
    category: Annotated[str | None, Query(max_length=128)] = None,
    location: Annotated[str | None, Query(max_length=128)] = None,
    assigned_to: Annotated[str | None, Query(max_length=128)] = None,
    tag: Annotated[str | None, Query(pattern=rf"^{TAG_KEY}:.{{0,256}}$", description="key:value")] = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Response[AssetPage]:
    filters = AssetFilter(
        kind=kind, status=status, category=category, location=location, assigned_to=assigned_to, tag=tag
    )
    return page_response(asset_service().list_assets(caller(), filters, PageRequest(limit, cursor)))


@app.get("/v1/assets/<asset_id>", tags=["assets"], responses=responses(Asset, 404))
def handle_get_asset(asset_id: str) -> Response[Asset]:
    return asset_response(asset_service().get_asset(caller(), asset_id))


@app.patch("/v1/assets/<asset_id>", tags=["assets"], responses=responses(Asset, *WRITE_ERRORS, 428))
def handle_update_asset(asset_id: str, patch: AssetPatch, if_match: IfMatch = None) -> Response[Asset]:
    return asset_response(asset_service().update_asset(caller(), asset_id, patch, if_match))


@app.post("/v1/assets/<asset_id>/transitions", tags=["lifecycle"], responses=responses(Asset, *WRITE_ERRORS))
def handle_transition_asset(
    asset_id: str, transition: TransitionRequest, if_match: IfMatch = None
) -> Response[Asset]:
    return asset_response(asset_service().transition_asset(caller(), asset_id, transition, if_match))


@app.post("/v1/assets/<asset_id>/checkout", tags=["assignments"], responses=responses(Asset, *WRITE_ERRORS))
def handle_checkout_asset(
    asset_id: str, checkout: CheckoutRequest, if_match: IfMatch = None
) -> Response[Asset]:
    return asset_response(asset_service().checkout_asset(caller(), asset_id, checkout, if_match))


@app.post("/v1/assets/<asset_id>/checkin", tags=["assignments"], responses=responses(Asset, *WRITE_ERRORS))
def handle_checkin_asset(asset_id: str, checkin: CheckinRequest, if_match: IfMatch = None) -> Response[Asset]:
    return asset_response(asset_service().checkin_asset(caller(), asset_id, checkin, if_match))


@app.get(
    "/v1/assets/<asset_id>/assignments",
    tags=["assignments"],
    responses=responses(AssignmentPage, 400, 404, 422),
)
def handle_list_assignments(
    asset_id: str, limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> Response[AssignmentPage]:
    return page_response(asset_service().list_assignments(caller(), asset_id, PageRequest(limit, cursor)))


@app.post(
    "/v1/assets/<asset_id>/maintenance",
    tags=["maintenance"],
    responses=responses(Maintenance, *WRITE_ERRORS, status=201),
)
def handle_log_maintenance(
    asset_id: str, record: MaintenanceCreate, if_match: IfMatch = None, idempotency_key: IdempotencyKey = None
) -> Response[Maintenance]:
    logged = asset_service().log_maintenance(caller(), asset_id, record, if_match, idempotency_key)
    return json_response(logged, status=201)


@app.get(
    "/v1/assets/<asset_id>/maintenance",
    tags=["maintenance"],
    responses=responses(MaintenancePage, 400, 404, 422),
)
def handle_list_maintenance(
    asset_id: str, limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> Response[MaintenancePage]:
    return page_response(asset_service().list_maintenance(caller(), asset_id, PageRequest(limit, cursor)))


@app.get("/v1/assets/<asset_id>/history", tags=["history"], responses=responses(HistoryPage, 400, 404, 422))
def handle_asset_history(
    asset_id: str, limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> Response[HistoryPage]:
    return page_response(asset_service().asset_history(caller(), asset_id, PageRequest(limit, cursor)))


@app.exception_handler(DomainError)
def handle_domain_error(error: DomainError) -> Response[Any]:
    problem = problems.from_domain_error(error, app.current_event.path)
    if problem["status"] >= 500:
        logger.exception("domain error without an HTTP mapping")
    return problem_response(problem)


@app.exception_handler(RequestValidationError)
def handle_validation_error(error: RequestValidationError) -> Response[Any]:
    return problem_response(problems.from_validation_errors(error.errors(), app.current_event.path))


@app.not_found
def handle_not_found(_: NotFoundError) -> Response[Any]:
    from itam.web import docs

    return problem_response(*docs.unmatched_request(app))


@app.exception_handler(Exception)
def handle_unexpected(error: Exception) -> Response[Any]:
    logger.exception("unhandled error")
    return problem_response(problems.problem(500, "internal-error", "an unexpected error occurred"))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    rejected = reject_unacceptable_body(event)
    result = problems.lambda_result(rejected) if rejected is not None else app.resolve(event, context)
    logger.info("request handled", extra=access_fields(event, result))
    return result
