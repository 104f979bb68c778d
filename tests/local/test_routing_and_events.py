"""Route priority, claim formatting, payload 2.0 events and result conversion, without a server."""

from __future__ import annotations

import base64
import json

import pytest

from infra.local.gateway import (
    IntegrationError,
    Request,
    RouteTable,
    build_event,
    match_path,
    result_to_response,
)
from infra.local.jwt_verify import TokenError, bearer_token, claim_string, format_claims
from infra.local.template import FunctionSpec, Route

FN = FunctionSpec("F", "handler.lambda_handler", "f/", 128, 3, None)


def route(key: str) -> Route:
    method, path = key.split(" ", 1) if key != "$default" else ("ANY", "$default")
    return Route(method=method, path=path, function=FN, event_name=key, api_id="Api", authorizer=None)


TABLE = RouteTable(
    [
        route("ANY /{proxy+}"),
        route("$default"),
        route("ANY /v1/{proxy+}"),
        route("GET /v1/{proxy+}"),
        route("GET /v1/items/{id}"),
        route("ANY /v1/items/special"),
        route("GET /v1/items/special"),
        route("GET /v1/items/{id}/history"),
    ]
)


@pytest.mark.parametrize(
    ("method", "path", "expected", "params"),
    [
        ("GET", "/v1/items/special", "GET /v1/items/special", {}),
        ("DELETE", "/v1/items/special", "ANY /v1/items/special", {}),
        ("GET", "/v1/items/42", "GET /v1/items/{id}", {"id": "42"}),
        ("GET", "/v1/items/a%20b", "GET /v1/items/{id}", {"id": "a b"}),
        ("POST", "/v1/items/42", "ANY /v1/{proxy+}", {"proxy": "items/42"}),
        ("GET", "/v1/items/42/history", "GET /v1/items/{id}/history", {"id": "42"}),
        ("GET", "/v1/items/42/other", "GET /v1/{proxy+}", {"proxy": "items/42/other"}),
        ("PATCH", "/v1/a/b/c", "ANY /v1/{proxy+}", {"proxy": "a/b/c"}),
        ("GET", "/v2/x", "ANY /{proxy+}", {"proxy": "v2/x"}),
        ("GET", "/", "$default", {}),
    ],
)
def test_most_specific_route_wins(method: str, path: str, expected: str, params: dict[str, str]) -> None:
    matched = TABLE.match(method, path)
    assert matched is not None
    assert matched[0].route_key == expected
    assert matched[1] == params


def test_greedy_variable_needs_at_least_one_segment_and_unmatched_is_none() -> None:
    table = RouteTable([route("ANY /v1/{proxy+}"), route("GET /v1/health")])
    assert table.match("GET", "/v1") is None
    assert table.match("GET", "/v1/") is None
    assert table.match("POST", "/v1/health") is not None  # the ANY proxy catches the other methods
    assert table.match("GET", "/v2/health") is None
    assert match_path("/v1/items/{id}", "/v1/items/") is None
    assert match_path("/v1/items/{id}", "/v1/items/1/2") is None


def test_claims_are_rendered_as_the_http_api_renders_them() -> None:
    token = format_claims(
        {
            "sub": "u-1",
            "exp": 1700000000,
            "cognito:groups": ["admin", "editor"],
            "email_verified": True,
            "ratio": 1.5,
            "custom:tenant_id": "acme",
            "scope": "read write",
        }
    )
    assert token.claims == {
        "sub": "u-1",
        "exp": "1700000000",
        "cognito:groups": "[admin editor]",
        "email_verified": "true",
        "ratio": "1.5",
        "custom:tenant_id": "acme",
        "scope": "read write",
    }
    assert token.scopes == ["read", "write"]
    assert format_claims({"sub": "x"}).scopes is None
    assert claim_string([]) == "[]"
    assert claim_string({"b": 1, "a": [2]}) == "map[a:[2] b:1]"


def test_bearer_token_parsing() -> None:
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer abc") == "abc"
    assert bearer_token("abc") == "abc"
    for bad in (None, "", "   "):
        with pytest.raises(TokenError, match="missing bearer token"):
            bearer_token(bad)
    with pytest.raises(TokenError, match="malformed"):
        bearer_token("Basic a b")


def test_event_has_the_payload_2_0_shape() -> None:
    request = Request(
        method="post",
        target="/v1/items/42?a=1&b=&a=2&c=x%20y",
        headers=[
            ("Host", "localhost:3000"),
            ("X-Multi", "one"),
            ("x-multi", "two"),
            ("Cookie", "s=1; t=2"),
            ("User-Agent", "pytest"),
        ],
        body=b'{"k": "v"}',
        source_ip="10.0.0.9",
    )
    event = build_event(
        request,
        route("GET /v1/items/{id}"),
        {"id": "42"},
        request_id="rid",
        api_id="api123",
        token=None,
        now=1.5,
    )
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /v1/items/{id}"
    assert event["rawPath"] == "/v1/items/42"
    assert event["rawQueryString"] == "a=1&b=&a=2&c=x%20y"
    assert event["queryStringParameters"] == {"a": "1,2", "b": "", "c": "x y"}
    assert event["pathParameters"] == {"id": "42"}
    assert event["cookies"] == ["s=1", "t=2"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["x-multi"] == "one,two"
    assert event["headers"]["x-forwarded-for"] == "10.0.0.9"
    assert event["body"] == '{"k": "v"}'
    assert event["isBase64Encoded"] is False
    assert event["stageVariables"] is None
    ctx = event["requestContext"]
    assert ctx["http"] == {
        "method": "POST",
        "path": "/v1/items/42",
        "protocol": "HTTP/1.1",
        "sourceIp": "10.0.0.9",
        "userAgent": "pytest",
    }
    assert ctx["requestId"] == "rid"
    assert ctx["apiId"] == "api123"
    assert ctx["accountId"] == "123456789012"
    assert ctx["stage"] == "$default"
    assert ctx["domainName"] == "localhost"
    assert ctx["timeEpoch"] == 1500
    assert "authorizer" not in ctx


def test_event_without_query_body_or_cookies_omits_them_and_binary_bodies_are_base64() -> None:
    bare = build_event(Request("GET", "/x", []), route("GET /x"), {}, request_id="r", api_id="a", token=None)
    assert not {"queryStringParameters", "pathParameters", "cookies", "body"} & set(bare)
    binary = build_event(
        Request("POST", "/x", [], body=b"\xff\x00\xfe"),
        route("POST /x"),
        {},
        request_id="r",
        api_id="a",
        token=None,
    )
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == b"\xff\x00\xfe"


def test_authorised_event_carries_claims_and_scopes() -> None:
    token = format_claims({"sub": "u", "cognito:groups": ["admin"]})
    event = build_event(
        Request("GET", "/x", []), route("GET /x"), {}, request_id="r", api_id="a", token=token
    )
    assert event["requestContext"]["authorizer"] == {
        "jwt": {"claims": {"sub": "u", "cognito:groups": "[admin]"}, "scopes": None}
    }


def test_structured_result_becomes_the_response() -> None:
    response = result_to_response(
        {
            "statusCode": 201,
            "headers": {"content-type": "application/json", "etag": '"v1"'},
            "multiValueHeaders": {"x-many": ["a", "b"]},
            "cookies": ["a=1", "b=2"],
            "body": '{"ok": true}',
        }
    )
    assert response.status == 201
    assert ("etag", '"v1"') in response.headers
    assert [v for k, v in response.headers if k == "set-cookie"] == ["a=1", "b=2"]
    assert [v for k, v in response.headers if k == "x-many"] == ["a", "b"]
    assert response.body == b'{"ok": true}'
    encoded = result_to_response(
        {"statusCode": 200, "body": base64.b64encode(b"\x89PNG").decode(), "isBase64Encoded": True}
    )
    assert encoded.body == b"\x89PNG"
    assert result_to_response({"statusCode": 204}).body == b""


def test_result_without_status_code_is_a_json_200() -> None:
    response = result_to_response({"hello": "world"})
    assert (response.status, json.loads(response.body)) == (200, {"hello": "world"})
    assert ("content-type", "application/json") in response.headers
    assert result_to_response("text").body == b'"text"'


@pytest.mark.parametrize(
    "result",
    [
        {"statusCode": "200"},
        {"statusCode": 99},
        {"statusCode": True},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "body": "%%%", "isBase64Encoded": True},
        {1, 2},
    ],
)
def test_invalid_results_are_integration_errors(result: object) -> None:
    with pytest.raises(IntegrationError):
        result_to_response(result)
