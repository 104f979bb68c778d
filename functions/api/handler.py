"""The HTTP API: the asset register and software licensing. Routing and shaping only; the product
lives in the `itam` layer."""

from __future__ import annotations

import gc

# Importing the routes' models allocates a great deal, and the garbage collector would walk it all
# several times over during the cold start: collect nothing until the module is set up, then move
# what it made out of the collector's sight for good (gc.freeze, at the end of this module).
gc.disable()

from typing import Annotated, Any
from urllib.parse import unquote

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Query
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
    DiscoveryState,
    HistoryPage,
    Kind,
    Maintenance,
    MaintenanceCreate,
    MaintenancePage,
    Status,
    TransitionRequest,
)
from itam.bootstrap import (
    asset_service,
    connector_service,
    endpoint_service,
    license_service,
    request_service,
)
from itam.errors import DomainError
from itam.inventory.models import (
    Connector,
    ConnectorCreate,
    ConnectorPage,
    ConnectorPatch,
    SyncRun,
    SyncRunPage,
)
from itam.licenses.audit import AuditAccepted, AuditDetail, AuditPage
from itam.licenses.models import (
    CompliancePage,
    Installation,
    InstallationCreate,
    InstallationPage,
    License,
    LicenseCreate,
    LicenseFilter,
    LicenseHistoryPage,
    LicensePage,
    LicensePatch,
    Metric,
    ProductCompliance,
    Rule,
    RuleCreate,
    RulePage,
    Seat,
    SeatCreate,
    SeatPage,
)
from itam.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, PageRequest
from itam.procurement.models import (
    DeliveryPage,
    EndpointCreate,
    EndpointPage,
    EndpointPatch,
    EndpointWithSecret,
    RotateRequest,
    WebhookEndpoint,
)
from itam.requests.models import (
    ApprovalPolicy,
    DecisionBody,
    PolicyHistoryPage,
    PolicyUpdate,
    RejectionBody,
    Request,
    RequestCreate,
    RequestFilter,
    RequestHistoryPage,
    RequestPage,
    RequestStatus,
)
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


def license_response(lic: License, status: int = 200) -> Response[License]:
    """A license with its ETag; a 201 also carries its Location."""
    headers = {"ETag": lic.etag}
    if status == 201:
        headers["Location"] = f"/v1/licenses/{lic.id}"
    return json_response(lic, status, headers)


def no_content() -> Response[Any]:
    return Response(status_code=204, body=None)


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
    page = asset_service().list_assets(caller(), filters, PageRequest(limit, cursor), external_key)
    return page_response(page)


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


# ---------------------------------------------------------------------- licenses
@app.post("/v1/licenses", tags=["licenses"], responses=responses(License, 422, status=201))
def handle_create_license(license: LicenseCreate) -> Response[License]:
    return license_response(license_service().create_license(caller(), license), status=201)


@app.get("/v1/licenses", tags=["licenses"], responses=responses(LicensePage, 400, 422))
def handle_list_licenses(
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
    page = license_service().list_licenses(
        caller(), filters, PageRequest(limit, cursor), expiring_within_days
    )
    return page_response(page)


@app.get("/v1/licenses/<license_id>", tags=["licenses"], responses=responses(License, 404))
def handle_get_license(license_id: str) -> Response[License]:
    return license_response(license_service().get_license(caller(), license_id))


@app.patch("/v1/licenses/<license_id>", tags=["licenses"], responses=responses(License, *WRITE_ERRORS, 428))
def handle_update_license(
    license_id: str, patch: LicensePatch, if_match: IfMatch = None
) -> Response[License]:
    return license_response(license_service().update_license(caller(), license_id, patch, if_match))


@app.get(
    "/v1/licenses/<license_id>/history",
    tags=["licenses"],
    responses=responses(LicenseHistoryPage, 400, 404, 422),
)
def handle_license_history(
    license_id: str, limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> Response[LicenseHistoryPage]:
    return page_response(license_service().license_history(caller(), license_id, PageRequest(limit, cursor)))


# ---------------------------------------------------------------------- seats
@app.post(
    "/v1/licenses/<license_id>/assignments",
    tags=["license assignments"],
    responses=responses(Seat, 404, 409, 422, status=201),
)
def handle_assign_seat(license_id: str, assignment: SeatCreate) -> Response[Seat]:
    seat = license_service().assign_seat(caller(), license_id, assignment)
    headers = {"Location": f"/v1/licenses/{license_id}/assignments/{seat.id}"}
    return json_response(seat, 201, headers)


@app.get(
    "/v1/licenses/<license_id>/assignments",
    tags=["license assignments"],
    responses=responses(SeatPage, 400, 404, 422),
)
def handle_list_seats(
    license_id: str,
    released: Annotated[bool, Query(description="Released assignments instead of current ones")] = False,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Response[SeatPage]:
    page = license_service().list_seats(caller(), license_id, PageRequest(limit, cursor), released)
    return page_response(page)


@app.delete(
    "/v1/licenses/<license_id>/assignments/<assignment_id>",
    tags=["license assignments"],
    responses=responses(Seat, 404),
)
def handle_release_seat(license_id: str, assignment_id: str) -> Response[Seat]:
    return json_response(license_service().release_seat(caller(), license_id, assignment_id))


# ---------------------------------------------------------------------- installations
@app.post(
    "/v1/assets/<asset_id>/software",
    tags=["installations"],
    responses=responses(Installation, 404, 409, 422, status=201),
)
def handle_add_installation(asset_id: str, installation: InstallationCreate) -> Response[Installation]:
    inst = license_service().add_installation(caller(), asset_id, installation)
    return json_response(inst, 201, {"Location": f"/v1/assets/{asset_id}/software/{inst.id}"})


@app.get(
    "/v1/assets/<asset_id>/software",
    tags=["installations"],
    responses=responses(InstallationPage, 400, 404, 422),
)
def handle_list_installations(
    asset_id: str, limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> Response[InstallationPage]:
    return page_response(license_service().list_installations(caller(), asset_id, PageRequest(limit, cursor)))


@app.delete(
    "/v1/assets/<asset_id>/software/<installation_id>",
    tags=["installations"],
    responses={204: {"description": "Removed"}, 404: {"description": "No such object for this tenant"}},
)
def handle_remove_installation(asset_id: str, installation_id: str) -> Response[Any]:
    license_service().remove_installation(caller(), asset_id, installation_id)
    return no_content()


# ---------------------------------------------------------------------- normalization rules
@app.post("/v1/normalization-rules", tags=["normalization"], responses=responses(Rule, 422, status=201))
def handle_create_rule(rule: RuleCreate) -> Response[Rule]:
    created = license_service().create_rule(caller(), rule)
    return json_response(created, 201, {"Location": f"/v1/normalization-rules/{created.id}"})


@app.get("/v1/normalization-rules", tags=["normalization"], responses=responses(RulePage, 400, 422))
def handle_list_rules(limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None) -> Response[RulePage]:
    return page_response(license_service().list_rules(caller(), PageRequest(limit, cursor)))


@app.delete(
    "/v1/normalization-rules/<rule_id>",
    tags=["normalization"],
    responses={204: {"description": "Removed"}, 404: {"description": "No such object for this tenant"}},
)
def handle_delete_rule(rule_id: str) -> Response[Any]:
    license_service().delete_rule(caller(), rule_id)
    return no_content()


# ---------------------------------------------------------------------- compliance
@app.get("/v1/compliance", tags=["compliance"], responses=responses(CompliancePage))
def handle_compliance() -> Response[CompliancePage]:
    return json_response(license_service().compliance(caller()))


@app.get("/v1/compliance/<product>", tags=["compliance"], responses=responses(ProductCompliance, 404))
def handle_product_compliance(product: str) -> Response[ProductCompliance]:
    # The path arrives as sent: product names with spaces come percent-encoded.
    return json_response(license_service().product_compliance(caller(), unquote(product)))


# ---------------------------------------------------------------------- audits
@app.post("/v1/audits", tags=["audits"], responses=responses(AuditAccepted, status=202))
def handle_request_audit() -> Response[AuditAccepted]:
    accepted = license_service().request_audit(caller())
    return json_response(accepted, 202, {"Location": f"/v1/audits/{accepted.id}"})


@app.get("/v1/audits", tags=["audits"], responses=responses(AuditPage, 400, 422))
def handle_list_audits(limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None) -> Response[AuditPage]:
    return page_response(license_service().list_audits(caller(), PageRequest(limit, cursor)))


@app.get("/v1/audits/<audit_id>", tags=["audits"], responses=responses(AuditDetail, 400, 404, 422))
def handle_get_audit(
    audit_id: str, limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> Response[AuditDetail]:
    return json_response(license_service().get_audit(caller(), audit_id, PageRequest(limit, cursor)))


# ---------------------------------------------------------------------- procurement webhook endpoints
@app.post(
    "/v1/webhook-endpoints", tags=["procurement"], responses=responses(EndpointWithSecret, 422, status=201)
)
def handle_create_endpoint(endpoint: EndpointCreate) -> Response[EndpointWithSecret]:
    created = endpoint_service().create(caller(), endpoint)
    return json_response(created, 201, {"Location": f"/v1/webhook-endpoints/{created.id}"})


@app.get("/v1/webhook-endpoints", tags=["procurement"], responses=responses(EndpointPage, 400, 422))
def handle_list_endpoints(limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None) -> Response[EndpointPage]:
    return page_response(endpoint_service().list(caller(), PageRequest(limit, cursor)))


@app.get(
    "/v1/webhook-endpoints/<endpoint_id>", tags=["procurement"], responses=responses(WebhookEndpoint, 404)
)
def handle_get_endpoint(endpoint_id: str) -> Response[WebhookEndpoint]:
    return json_response(endpoint_service().get(caller(), endpoint_id))


@app.patch(
    "/v1/webhook-endpoints/<endpoint_id>",
    tags=["procurement"],
    responses=responses(WebhookEndpoint, 404, 412, 422),
)
def handle_update_endpoint(endpoint_id: str, patch: EndpointPatch) -> Response[WebhookEndpoint]:
    return json_response(endpoint_service().update(caller(), endpoint_id, patch))


@app.post(
    "/v1/webhook-endpoints/<endpoint_id>/rotate",
    tags=["procurement"],
    responses=responses(EndpointWithSecret, 404, 412, 422),
)
def handle_rotate_endpoint(endpoint_id: str, rotation: RotateRequest) -> Response[EndpointWithSecret]:
    return json_response(endpoint_service().rotate(caller(), endpoint_id, rotation))


@app.delete(
    "/v1/webhook-endpoints/<endpoint_id>",
    tags=["procurement"],
    responses={204: {"description": "Removed"}, 404: {"description": "No such object for this tenant"}},
)
def handle_delete_endpoint(endpoint_id: str) -> Response[Any]:
    endpoint_service().delete(caller(), endpoint_id)
    return no_content()


@app.get(
    "/v1/webhook-endpoints/<endpoint_id>/deliveries",
    tags=["procurement"],
    responses=responses(DeliveryPage, 400, 404, 422),
)
def handle_list_deliveries(
    endpoint_id: str, limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> Response[DeliveryPage]:
    return page_response(endpoint_service().deliveries(caller(), endpoint_id, PageRequest(limit, cursor)))


# ---------------------------------------------------------------------- inventory connectors
def connector_response(connector: Connector, status: int = 200) -> Response[Connector]:
    headers = {"ETag": connector.etag}
    if status == 201:
        headers["Location"] = f"/v1/connectors/{connector.id}"
    return json_response(connector, status, headers)


@app.post("/v1/connectors", tags=["inventory"], responses=responses(Connector, 422, status=201))
def handle_create_connector(connector: ConnectorCreate) -> Response[Connector]:
    return connector_response(connector_service().create(caller(), connector), 201)


@app.get("/v1/connectors", tags=["inventory"], responses=responses(ConnectorPage, 400, 422))
def handle_list_connectors(
    limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> Response[ConnectorPage]:
    return page_response(connector_service().list(caller(), PageRequest(limit, cursor)))


@app.get("/v1/connectors/<connector_id>", tags=["inventory"], responses=responses(Connector, 404))
def handle_get_connector(connector_id: str) -> Response[Connector]:
    return connector_response(connector_service().get(caller(), connector_id))


@app.patch("/v1/connectors/<connector_id>", tags=["inventory"], responses=responses(Connector, 404, 412, 422))
def handle_update_connector(
    connector_id: str, patch: ConnectorPatch, if_match: IfMatch = None
) -> Response[Connector]:
    return connector_response(connector_service().update(caller(), connector_id, patch, if_match))


@app.delete(
    "/v1/connectors/<connector_id>",
    tags=["inventory"],
    responses={204: {"description": "Removed"}, 404: {"description": "No such object for this tenant"}},
)
def handle_delete_connector(connector_id: str) -> Response[Any]:
    connector_service().delete(caller(), connector_id)
    return no_content()


@app.post(
    "/v1/connectors/<connector_id>/sync",
    tags=["inventory"],
    responses=responses(SyncRun, 404, 409, status=202),
)
def handle_sync_connector(connector_id: str) -> Response[SyncRun]:
    run = connector_service().trigger(caller(), connector_id)
    return json_response(run, 202, {"Location": f"/v1/sync-runs/{run.id}"})


@app.get(
    "/v1/connectors/<connector_id>/runs", tags=["inventory"], responses=responses(SyncRunPage, 400, 404, 422)
)
def handle_list_runs(
    connector_id: str, limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> Response[SyncRunPage]:
    return page_response(connector_service().runs(caller(), connector_id, PageRequest(limit, cursor)))


@app.get("/v1/sync-runs/<run_id>", tags=["inventory"], responses=responses(SyncRun, 404))
def handle_get_run(run_id: str) -> Response[SyncRun]:
    return json_response(connector_service().get_run(caller(), run_id))


# ---------------------------------------------------------------------- requests and approvals
OptionalComment = Annotated[DecisionBody | None, Body(description="An optional comment")]


def request_response(req: Request, status: int = 200) -> Response[Request]:
    """A request with its ETag; a 201 also carries its Location."""
    headers = {"ETag": req.etag}
    if status == 201:
        headers["Location"] = f"/v1/requests/{req.id}"
    return json_response(req, status, headers)


@app.post("/v1/requests", tags=["requests"], responses=responses(Request, 422, status=201))
def handle_submit_request(
    submitted: RequestCreate, idempotency_key: IdempotencyKey = None
) -> Response[Request]:
    return request_response(
        request_service().submit_request(caller(), submitted, idempotency_key), status=201
    )


@app.get("/v1/requests", tags=["requests"], responses=responses(RequestPage, 400, 422))
def handle_list_requests(
    status: Annotated[RequestStatus | None, Query()] = None,
    requested_by: Annotated[str | None, Query(max_length=128)] = None,
    requested_for: Annotated[str | None, Query(max_length=128)] = None,
    awaiting_me: Annotated[
        bool,
        Query(
            description="Only submitted requests whose current approval step the caller may decide now "
            "(the approver's inbox)"
        ),
    ] = False,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Response[RequestPage]:
    filters = RequestFilter(status=status, requested_by=requested_by, requested_for=requested_for)
    page = request_service().list_requests(caller(), filters, PageRequest(limit, cursor), awaiting_me)
    return page_response(page)


@app.get("/v1/requests/<request_id>", tags=["requests"], responses=responses(Request, 404))
def handle_get_request(request_id: str) -> Response[Request]:
    return request_response(request_service().get_request(caller(), request_id))


@app.get(
    "/v1/requests/<request_id>/history",
    tags=["requests"],
    responses=responses(RequestHistoryPage, 400, 404, 422),
)
def handle_request_history(
    request_id: str, limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> Response[RequestHistoryPage]:
    return page_response(request_service().request_history(caller(), request_id, PageRequest(limit, cursor)))


@app.post(
    "/v1/requests/<request_id>/approve", tags=["requests"], responses=responses(Request, *WRITE_ERRORS, 428)
)
def handle_approve_request(
    request_id: str, decision: OptionalComment = None, if_match: IfMatch = None
) -> Response[Request]:
    body = decision or DecisionBody()
    return request_response(request_service().approve_request(caller(), request_id, body, if_match))


@app.post(
    "/v1/requests/<request_id>/reject", tags=["requests"], responses=responses(Request, *WRITE_ERRORS, 428)
)
def handle_reject_request(
    request_id: str, decision: RejectionBody, if_match: IfMatch = None
) -> Response[Request]:
    return request_response(request_service().reject_request(caller(), request_id, decision, if_match))


@app.post(
    "/v1/requests/<request_id>/cancel", tags=["requests"], responses=responses(Request, *WRITE_ERRORS, 428)
)
def handle_cancel_request(
    request_id: str, decision: OptionalComment = None, if_match: IfMatch = None
) -> Response[Request]:
    body = decision or DecisionBody()
    return request_response(request_service().cancel_request(caller(), request_id, body, if_match))


@app.post("/v1/requests/<request_id>/fulfil", tags=["requests"], responses=responses(Request, 404, 409, 412))
def handle_fulfil_request(request_id: str, if_match: IfMatch = None) -> Response[Request]:
    return request_response(request_service().fulfil_request(caller(), request_id, if_match))


@app.get("/v1/approval-policy", tags=["requests"], responses=responses(ApprovalPolicy))
def handle_get_policy() -> Response[ApprovalPolicy]:
    policy = request_service().get_policy(caller())
    return json_response(policy, headers={"ETag": policy.etag})


@app.put("/v1/approval-policy", tags=["requests"], responses=responses(ApprovalPolicy, 412, 422, 428))
def handle_put_policy(policy: PolicyUpdate, if_match: IfMatch = None) -> Response[ApprovalPolicy]:
    stored = request_service().put_policy(caller(), policy, if_match)
    return json_response(stored, headers={"ETag": stored.etag})


@app.get("/v1/approval-policy/history", tags=["requests"], responses=responses(PolicyHistoryPage, 400, 422))
def handle_policy_history(
    limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> Response[PolicyHistoryPage]:
    return page_response(request_service().policy_history(caller(), PageRequest(limit, cursor)))


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


# Everything set up at import stays for the environment's life: keep it out of every collection.
gc.freeze()
gc.enable()
