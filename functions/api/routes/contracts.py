"""Contracts (support, maintenance, leases, warranties, SLAs, services, subscriptions) and what they cover."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from itam.bootstrap import contract_service
from itam.contracts.models import (
    Contract,
    ContractCreate,
    ContractFilter,
    ContractHistoryPage,
    ContractPage,
    ContractPatch,
    ContractType,
)
from itam.contracts.service import ContractService
from itam.pagination import DEFAULT_PAGE_SIZE, PageRequest
from itam.web.openapi import responses
from itam.web.responses import page_response, versioned_response
from routes.common import WRITE_ERRORS, Caller, Cursor, IdempotencyKey, IfMatch, Limit

PREFIX = "/v1/contracts"
router = Router()
Contracts = Annotated[ContractService, Depends(contract_service)]


@router.post("/", tags=["contracts"], responses=responses(Contract, 422, status=201))
def handle_create_contract(
    contract: ContractCreate, ctx: Caller, contracts: Contracts, idempotency_key: IdempotencyKey = None
) -> Response[Contract]:
    return versioned_response(contracts.create_contract(ctx, contract, idempotency_key), PREFIX, 201)


@router.get("/", tags=["contracts"], responses=responses(ContractPage, 400, 422))
def handle_list_contracts(
    ctx: Caller,
    contracts: Contracts,
    type: Annotated[ContractType | None, Query()] = None,
    vendor: Annotated[str | None, Query(max_length=128)] = None,
    ending_within_days: Annotated[
        int | None,
        Query(ge=0, le=3650, description="Contracts whose end date is at most this many days away"),
    ] = None,
    asset_id: Annotated[
        str | None, Query(pattern=r"^[0-9a-f]{32}$", description="Contracts covering this asset (one page)")
    ] = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Response[ContractPage]:
    filters = ContractFilter(type=type, vendor=vendor)
    page = contracts.list_contracts(ctx, filters, PageRequest(limit, cursor), ending_within_days, asset_id)
    return page_response(page)


@router.get("/<contract_id>", tags=["contracts"], responses=responses(Contract, 404))
def handle_get_contract(contract_id: str, ctx: Caller, contracts: Contracts) -> Response[Contract]:
    return versioned_response(contracts.get_contract(ctx, contract_id), PREFIX)


@router.patch("/<contract_id>", tags=["contracts"], responses=responses(Contract, *WRITE_ERRORS, 428))
def handle_update_contract(
    contract_id: str, patch: ContractPatch, ctx: Caller, contracts: Contracts, if_match: IfMatch = None
) -> Response[Contract]:
    return versioned_response(contracts.update_contract(ctx, contract_id, patch, if_match), PREFIX)


@router.get(
    "/<contract_id>/history", tags=["contracts"], responses=responses(ContractHistoryPage, 400, 404, 422)
)
def handle_contract_history(
    contract_id: str,
    ctx: Caller,
    contracts: Contracts,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Response[ContractHistoryPage]:
    return page_response(contracts.contract_history(ctx, contract_id, PageRequest(limit, cursor)))
