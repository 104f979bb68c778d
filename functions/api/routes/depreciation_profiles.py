"""Depreciation profiles: how each category of assets depreciates (method, life, salvage, start)."""

from typing import Annotated, Any
from urllib.parse import quote, unquote

from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from itam.assets.book_models import DepreciationProfile, DepreciationProfilePage
from itam.assets.books import Books
from itam.assets.models import DepreciationTerms
from itam.bootstrap import books
from itam.errors import InvalidInput
from itam.pagination import DEFAULT_PAGE_SIZE, PageRequest
from itam.web.openapi import DESCRIPTIONS, responses
from itam.web.responses import JSON, page_response
from routes.common import Caller, Cursor, IfMatch, Limit, no_content, removed

PREFIX = "/v1/depreciation-profiles"
router = Router()
BooksService = Annotated[Books, Depends(books)]
MAX_CATEGORY = 128


def category_of(segment: str) -> str:
    """The category a path segment names (percent-decoded, trimmed), as an asset's `category` holds it."""
    try:
        category = unquote(segment, errors="strict").strip()
    except UnicodeDecodeError:
        raise InvalidInput("the category is not percent-encoded UTF-8", "category") from None
    if not category or len(category) > MAX_CATEGORY:
        raise InvalidInput(f"a category is 1 to {MAX_CATEGORY} characters", "category")
    return category


def _answer(profile: DepreciationProfile, status: int = 200) -> Response[Any]:
    headers = {"ETag": profile.etag}
    if status == 201:
        headers["Location"] = f"{PREFIX}/{quote(profile.category, safe='')}"
    return Response(status_code=status, content_type=JSON, body=profile, headers=headers)


@router.get("/", tags=["depreciation"], responses=responses(DepreciationProfilePage, 400, 422))
def handle_list_profiles(
    ctx: Caller, books: BooksService, limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> Response[DepreciationProfilePage]:
    return page_response(books.list_profiles(ctx, PageRequest(limit, cursor)))


@router.get("/<category>", tags=["depreciation"], responses=responses(DepreciationProfile, 404, 422))
def handle_get_profile(category: str, ctx: Caller, books: BooksService) -> Response[DepreciationProfile]:
    return _answer(books.get_profile(ctx, category_of(category)))


@router.put(
    "/<category>",
    tags=["depreciation"],
    responses=responses(DepreciationProfile, 412, 422, 428) | responses(DepreciationProfile, status=201),
)
def handle_put_profile(
    category: str, terms: DepreciationTerms, ctx: Caller, books: BooksService, if_match: IfMatch = None
) -> Response[DepreciationProfile]:
    profile, created = books.put_profile(ctx, category_of(category), terms, if_match)
    return _answer(profile, 201 if created else 200)


@router.delete(
    "/<category>",
    tags=["depreciation"],
    responses=removed() | {code: {"description": DESCRIPTIONS[code]} for code in (412, 422, 428)},
)
def handle_delete_profile(
    category: str, ctx: Caller, books: BooksService, if_match: IfMatch = None
) -> Response[Any]:
    books.delete_profile(ctx, category_of(category), if_match)
    return no_content()
