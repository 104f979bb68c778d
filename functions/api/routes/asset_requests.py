"""Asset requests and their approval: the requests, the decisions on them and the approval policy."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from itam.bootstrap import request_service
from itam.pagination import DEFAULT_PAGE_SIZE, PageRequest
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
from itam.requests.service import RequestService
from itam.web.openapi import responses
from itam.web.responses import json_response, page_response, versioned_response
from routes.common import WRITE_ERRORS, Caller, Cursor, IdempotencyKey, IfMatch, Limit

PREFIX = "/v1"
router = Router()
Requests = Annotated[RequestService, Depends(request_service)]
OptionalComment = Annotated[DecisionBody | None, Body(description="An optional comment")]


@router.post("/requests", tags=["requests"], responses=responses(Request, 422, status=201))
def handle_submit_request(
    submitted: RequestCreate, ctx: Caller, requests: Requests, idempotency_key: IdempotencyKey = None
) -> Response[Request]:
    return versioned_response(requests.submit_request(ctx, submitted, idempotency_key), "/v1/requests", 201)


@router.get("/requests", tags=["requests"], responses=responses(RequestPage, 400, 422))
def handle_list_requests(
    ctx: Caller,
    requests: Requests,
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
    return page_response(requests.list_requests(ctx, filters, PageRequest(limit, cursor), awaiting_me))


@router.get("/requests/<request_id>", tags=["requests"], responses=responses(Request, 404))
def handle_get_request(request_id: str, ctx: Caller, requests: Requests) -> Response[Request]:
    return versioned_response(requests.get_request(ctx, request_id), "/v1/requests")


@router.get(
    "/requests/<request_id>/history",
    tags=["requests"],
    responses=responses(RequestHistoryPage, 400, 404, 422),
)
def handle_request_history(
    request_id: str, ctx: Caller, requests: Requests, limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> Response[RequestHistoryPage]:
    return page_response(requests.request_history(ctx, request_id, PageRequest(limit, cursor)))


@router.post(
    "/requests/<request_id>/approve", tags=["requests"], responses=responses(Request, *WRITE_ERRORS, 428)
)
def handle_approve_request(
    request_id: str,
    ctx: Caller,
    requests: Requests,
    decision: OptionalComment = None,
    if_match: IfMatch = None,
) -> Response[Request]:
    body = decision or DecisionBody()
    return versioned_response(requests.approve_request(ctx, request_id, body, if_match), "/v1/requests")


@router.post(
    "/requests/<request_id>/reject", tags=["requests"], responses=responses(Request, *WRITE_ERRORS, 428)
)
def handle_reject_request(
    request_id: str, decision: RejectionBody, ctx: Caller, requests: Requests, if_match: IfMatch = None
) -> Response[Request]:
    return versioned_response(requests.reject_request(ctx, request_id, decision, if_match), "/v1/requests")


@router.post(
    "/requests/<request_id>/cancel", tags=["requests"], responses=responses(Request, *WRITE_ERRORS, 428)
)
def handle_cancel_request(
    request_id: str,
    ctx: Caller,
    requests: Requests,
    decision: OptionalComment = None,
    if_match: IfMatch = None,
) -> Response[Request]:
    body = decision or DecisionBody()
    return versioned_response(requests.cancel_request(ctx, request_id, body, if_match), "/v1/requests")


@router.post("/requests/<request_id>/fulfil", tags=["requests"], responses=responses(Request, 404, 409, 412))
def handle_fulfil_request(
    request_id: str, ctx: Caller, requests: Requests, if_match: IfMatch = None
) -> Response[Request]:
    return versioned_response(requests.fulfil_request(ctx, request_id, if_match), "/v1/requests")


@router.get("/approval-policy", tags=["requests"], responses=responses(ApprovalPolicy))
def handle_get_policy(ctx: Caller, requests: Requests) -> Response[ApprovalPolicy]:
    policy = requests.get_policy(ctx)
    return json_response(policy, headers={"ETag": policy.etag})


@router.put("/approval-policy", tags=["requests"], responses=responses(ApprovalPolicy, 412, 422, 428))
def handle_put_policy(
    policy: PolicyUpdate, ctx: Caller, requests: Requests, if_match: IfMatch = None
) -> Response[ApprovalPolicy]:
    stored = requests.put_policy(ctx, policy, if_match)
    return json_response(stored, headers={"ETag": stored.etag})


@router.get("/approval-policy/history", tags=["requests"], responses=responses(PolicyHistoryPage, 400, 422))
def handle_policy_history(
    ctx: Caller, requests: Requests, limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> Response[PolicyHistoryPage]:
    return page_response(requests.policy_history(ctx, PageRequest(limit, cursor)))
