"""The register's books for one asset: its depreciation schedule and book value, and its total cost of
ownership. Served by the finance function (template.yaml), with contracts and depreciation profiles."""

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from itam.assets.book_models import AssetDepreciation, AssetTco
from itam.assets.books import Books
from itam.assets.models import Day
from itam.bootstrap import books
from itam.web.openapi import responses
from itam.web.responses import json_response
from routes.common import Caller

PREFIX = "/v1/assets"
router = Router()
BooksService = Annotated[Books, Depends(books)]


@router.get(
    "/<asset_id>/depreciation", tags=["depreciation"], responses=responses(AssetDepreciation, 404, 409, 422)
)
def handle_get_depreciation(
    asset_id: str,
    ctx: Caller,
    books: BooksService,
    period: Annotated[Literal["year", "month"], Query(description="Schedule by year or by month")] = "year",
    as_of: Annotated[
        Day | None, Query(description="Book value as of this day (YYYY-MM-DD); today by default")
    ] = None,
) -> Response[AssetDepreciation]:
    return json_response(books.asset_depreciation(ctx, asset_id, period, as_of))


@router.get("/<asset_id>/tco", tags=["depreciation"], responses=responses(AssetTco, 404, 422))
def handle_get_tco(
    asset_id: str,
    ctx: Caller,
    books: BooksService,
    start: Annotated[
        Day | None, Query(alias="from", description="First day (YYYY-MM-DD); the purchase date by default")
    ] = None,
    end: Annotated[
        Day | None, Query(alias="to", description="Last day (YYYY-MM-DD); today by default")
    ] = None,
) -> Response[AssetTco]:
    return json_response(books.asset_tco(ctx, asset_id, start, end))
