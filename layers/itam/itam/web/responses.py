"""Response shaping: JSON bodies, ETag and Location headers, pages."""

from __future__ import annotations

from typing import Any, Protocol

from aws_lambda_powertools.event_handler import Response
from pydantic import BaseModel

from itam.pagination import Page
from itam.web.problems import PROBLEM_CONTENT_TYPE, problem_json

JSON = "application/json"


def json_response(
    body: BaseModel | dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response[Any]:
    """A JSON response; the resolver serializes (and checks) the body against the route's declared type."""
    return Response(status_code=status, content_type=JSON, body=body, headers=headers or {})


class Versioned(Protocol):
    """A resource with an id and a version, which its ETag carries."""

    @property
    def id(self) -> str: ...

    @property
    def etag(self) -> str: ...


def versioned_response(item: Versioned, collection: str, status: int = 200) -> Response[Any]:
    """A versioned resource (asset, license, connector, request) with its ETag; a 201 also carries
    its Location in `collection` (e.g. "/v1/assets")."""
    headers = {"ETag": item.etag}
    if status == 201:
        headers["Location"] = f"{collection}/{item.id}"
    return Response(status_code=status, content_type=JSON, body=item, headers=headers)


def page_response(page: Page[Any]) -> Response[Any]:
    return json_response({"items": page.items, "next_cursor": page.next_cursor})


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[Any]:
    """A problem details response; a 401 also says which scheme to authenticate with (RFC 9110)."""
    status = int(body["status"])
    all_headers = dict(headers or {})
    if status == 401:
        all_headers.setdefault("WWW-Authenticate", 'Bearer error="invalid_token"')
    return Response(
        status_code=status, content_type=PROBLEM_CONTENT_TYPE, body=problem_json(body), headers=all_headers
    )
