"""The gateway over real HTTP, with tokens from the emulated user pool and the echo handler."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import logging
import time
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives import serialization

from tests.local.conftest import EchoStack
from tests.support.tokens import b64url, moto_private_key, sign, unverified_claims


def call(
    stack: EchoStack,
    method: str,
    path: str,
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> tuple[int, http.client.HTTPMessage, bytes]:
    parts = urlsplit(stack.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    all_headers = dict(headers or {})
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    connection.request(method, path, body=body, headers=all_headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, response.headers, data


def assert_unauthorized(stack: EchoStack, token: str | None, detail: str, path: str = "/v1/things") -> None:
    status, headers, body = call(stack, "GET", path, token=token)
    assert status == 401
    assert headers["content-type"] == "application/problem+json"
    assert headers["www-authenticate"].startswith("Bearer")
    problem = json.loads(body)
    assert problem == {
        "type": "about:blank",
        "title": "Unauthorized",
        "status": 401,
        "detail": problem["detail"],
        "instance": path,
    }
    assert detail in problem["detail"]
    if token:
        assert token not in body.decode()


def test_open_route_needs_no_token(echo_stack: EchoStack) -> None:
    status, headers, body = call(echo_stack, "GET", "/v1/health")
    assert status == 200
    assert headers["x-echo"] == "1"
    assert headers["apigw-requestid"]
    payload = json.loads(body)
    assert payload["event"]["routeKey"] == "GET /v1/health"
    assert "authorizer" not in payload["event"]["requestContext"]
    assert payload["context"]["function_name"] == "echo-echo"
    assert payload["context"]["memory_limit_in_mb"] == 256
    assert 0 < payload["context"]["remaining_ms"] <= 5000


def test_valid_id_token_reaches_the_handler_with_http_api_claims(echo_stack: EchoStack) -> None:
    token = echo_stack.token("acme", "admin")
    status, headers, body = call(echo_stack, "GET", "/v1/items/42?x=1", token=token)
    assert status == 200, body
    event = json.loads(body)["event"]
    assert event["routeKey"] == "GET /v1/items/{id}"
    assert event["pathParameters"] == {"id": "42"}
    claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
    assert claims["custom:tenant_id"] == "acme"
    assert claims["cognito:groups"] == "[admin]"
    assert claims["token_use"] == "id"
    assert claims["aud"] == echo_stack.resources.client_id
    assert claims["exp"].isdigit()
    assert all(isinstance(v, str) for v in claims.values())
    assert event["requestContext"]["authorizer"]["jwt"]["scopes"] is None
    assert headers.get_all("set-cookie") == ["a=1; Path=/", "b=2; Path=/"]


def test_a_second_user_of_the_same_tenant_gets_its_own_identity(echo_stack: EchoStack) -> None:
    first = unverified_claims(echo_stack.token("acme", "editor"))
    second = unverified_claims(echo_stack.token("acme", "editor", user="bob"))
    assert second["email"] == "bob@acme.example.com"
    assert second["sub"] != first["sub"]
    assert second["custom:tenant_id"] == first["custom:tenant_id"] == "acme"
    assert second["cognito:groups"] == ["editor"]
    promoted = unverified_claims(echo_stack.token("acme", "auditor", user="bob"))
    assert promoted["cognito:groups"] == ["auditor"]


def test_missing_token_is_rejected(echo_stack: EchoStack) -> None:
    assert_unauthorized(echo_stack, None, "missing bearer token")


def test_expired_token_is_rejected(echo_stack: EchoStack) -> None:
    claims = unverified_claims(echo_stack.token())
    now = int(time.time())
    claims.update(iat=now - 7200, auth_time=now - 7200, exp=now - 3600)
    assert_unauthorized(echo_stack, sign(claims), "token expired")


def test_token_issued_in_the_future_is_rejected(echo_stack: EchoStack) -> None:
    claims = unverified_claims(echo_stack.token())
    claims.update(iat=int(time.time()) + 600, exp=int(time.time()) + 4200)
    assert_unauthorized(echo_stack, sign(claims), "not yet valid")
    claims.update(iat=int(time.time()), nbf=int(time.time()) + 600)
    assert_unauthorized(echo_stack, sign(claims), "not yet valid")


def test_token_for_another_app_client_is_rejected(echo_stack: EchoStack) -> None:
    cognito = echo_stack.cognito()
    pool_id = echo_stack.resources.user_pool_id
    other = cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName="other", ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    echo_stack.token("acme", "viewer")  # makes the user and sets a password we then replace
    cognito.admin_set_user_password(
        UserPoolId=pool_id, Username="viewer@acme.example.com", Password="Other-client-1!", Permanent=True
    )
    token = cognito.admin_initiate_auth(
        UserPoolId=pool_id,
        ClientId=other,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "viewer@acme.example.com", "PASSWORD": "Other-client-1!"},
    )["AuthenticationResult"]["IdToken"]
    assert unverified_claims(token)["aud"] == other
    assert_unauthorized(echo_stack, token, "wrong audience")


def test_access_token_is_rejected(echo_stack: EchoStack) -> None:
    claims = unverified_claims(echo_stack.token())
    claims.pop("aud")
    claims.update(
        client_id=echo_stack.resources.client_id, token_use="access", scope="aws.cognito.signin.user.admin"
    )
    assert_unauthorized(echo_stack, sign(claims), "not an ID token")


def test_token_from_another_issuer_is_rejected(echo_stack: EchoStack) -> None:
    claims = unverified_claims(echo_stack.token())
    claims["iss"] = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_someoneelse"
    assert_unauthorized(echo_stack, sign(claims), "wrong issuer")


def test_token_without_exp_is_rejected(echo_stack: EchoStack) -> None:
    claims = unverified_claims(echo_stack.token())
    claims.pop("exp")
    assert_unauthorized(echo_stack, sign(claims), "missing exp claim")


def test_tampered_token_is_rejected(echo_stack: EchoStack) -> None:
    header, payload, signature = echo_stack.token().split(".")
    claims = json.loads(base64_decode(payload))
    claims["custom:tenant_id"] = "globex"
    forged = f"{header}.{b64url(json.dumps(claims).encode())}.{signature}"
    assert_unauthorized(echo_stack, forged, "invalid signature")
    flipped = signature[:-4] + ("AAAA" if not signature.endswith("AAAA") else "BBBB")
    assert_unauthorized(echo_stack, f"{header}.{payload}.{flipped}", "invalid signature")


def test_unsigned_token_is_rejected(echo_stack: EchoStack) -> None:
    claims = unverified_claims(echo_stack.token())
    header = b64url(json.dumps({"alg": "none", "typ": "JWT", "kid": "dummy"}).encode())
    assert_unauthorized(
        echo_stack, f"{header}.{b64url(json.dumps(claims).encode())}.", "unsupported algorithm"
    )


def test_hs256_token_keyed_with_the_public_key_is_rejected(echo_stack: EchoStack) -> None:
    claims = unverified_claims(echo_stack.token())
    public_pem = (
        moto_private_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    signing_input = (
        b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "dummy"}).encode())
        + "."
        + b64url(json.dumps(claims).encode())
    )
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    assert_unauthorized(echo_stack, f"{signing_input}.{b64url(mac)}", "unsupported algorithm")


def test_unknown_key_id_and_garbage_are_rejected(echo_stack: EchoStack) -> None:
    claims = unverified_claims(echo_stack.token())
    assert_unauthorized(echo_stack, sign(claims, kid="rotated"), "unknown signing key")
    assert_unauthorized(echo_stack, "not-a-jwt", "malformed token")


def test_unmatched_route_is_404_like_api_gateway(echo_stack: EchoStack) -> None:
    status, _, body = call(echo_stack, "GET", "/v2/nothing")
    assert (status, json.loads(body)) == (404, {"message": "Not Found"})


def test_handler_exception_is_500_with_traceback_in_the_log(
    echo_stack: EchoStack, caplog: pytest.LogCaptureFixture
) -> None:
    token = echo_stack.token()
    with caplog.at_level(logging.INFO):
        status, _, body = call(echo_stack, "GET", "/v1/boom", token=token)
    assert (status, json.loads(body)) == (500, {"message": "Internal Server Error"})
    errors = [r for r in caplog.records if r.name == "infra.local.gateway" and r.levelno == logging.ERROR]
    assert errors
    assert "RuntimeError: boom" in errors[0].traceback
    assert all(token not in r.getMessage() and token not in str(r.__dict__) for r in caplog.records)


def test_access_log_has_one_line_per_request(echo_stack: EchoStack, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="infra.local.access"):
        _, headers, body = call(echo_stack, "GET", "/v1/health")
        call(echo_stack, "GET", "/v1/things", token="bad")
    lines = [r for r in caplog.records if r.name == "infra.local.access"]
    assert [(r.method, r.path, r.route, r.status) for r in lines] == [
        ("GET", "/v1/health", "GET /v1/health", 200),
        ("GET", "/v1/things", "ANY /v1/{proxy+}", 401),
    ]
    assert (lines[0].auth_error, lines[1].auth_error) == (None, "malformed token")
    assert all(isinstance(r.latency_ms, float) and r.correlation_id for r in lines)
    # The request's ids: API Gateway's (the header) and the Lambda request id the handler ran as.
    assert lines[0].correlation_id == headers["apigw-requestid"]
    assert lines[0].function_request_id == json.loads(body)["context"]["aws_request_id"]
    assert lines[1].function_request_id is None, "a rejected token invokes nothing"


def test_results_without_status_code_and_binary_results(echo_stack: EchoStack) -> None:
    token = echo_stack.token()
    status, headers, body = call(echo_stack, "GET", "/v1/plain", token=token)
    assert (status, headers["content-type"], json.loads(body)) == (
        200,
        "application/json",
        {"hello": "world"},
    )
    status, headers, body = call(echo_stack, "GET", "/v1/binary", token=token)
    assert (status, headers["content-type"], body) == (200, "image/png", b"\x89PNG\r\n")


def test_binary_request_body_is_base64_in_the_event(echo_stack: EchoStack) -> None:
    status, _, body = call(
        echo_stack,
        "POST",
        "/v1/upload",
        token=echo_stack.token(),
        body=b"\xff\xfe",
        headers={"content-type": "x/y"},
    )
    event = json.loads(body)["event"]
    assert status == 200
    assert event["isBase64Encoded"] is True
    assert event["body"] == "//4="


def test_request_over_10_mb_is_413(echo_stack: EchoStack) -> None:
    parts = urlsplit(echo_stack.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    connection.putrequest("POST", "/v1/upload")
    connection.putheader("content-length", str(10 * 1024 * 1024 + 1))
    connection.endheaders()
    response = connection.getresponse()
    assert (response.status, json.loads(response.read())) == (413, {"message": "Request Entity Too Large"})
    connection.close()


def test_cors_preflight_is_answered_by_the_gateway(echo_stack: EchoStack) -> None:
    status, headers, _ = call(
        echo_stack,
        "OPTIONS",
        "/v1/things",
        headers={"origin": "https://app.example.com", "access-control-request-method": "POST"},
    )
    assert status == 204
    assert headers["access-control-allow-origin"] == "https://app.example.com"
    assert headers["access-control-allow-methods"] == "GET,POST"
    assert headers["access-control-max-age"] == "600"
    _, headers, _ = call(echo_stack, "GET", "/v1/health", headers={"origin": "https://app.example.com"})
    assert headers["access-control-allow-origin"] == "https://app.example.com"
    assert headers["access-control-expose-headers"] == "etag"
    _, headers, _ = call(echo_stack, "GET", "/v1/health", headers={"origin": "https://evil.example.com"})
    assert "access-control-allow-origin" not in headers


def base64_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
