"""End to end: the local stack over real HTTP, tokens from the emulated Cognito user pool."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.e2e.conftest import LocalStack
from tests.e2e.http import Client
from tests.support.tokens import b64url, sign, unverified_claims

pytestmark = pytest.mark.e2e


def tenant() -> str:
    """A tenant id of its own for each test, so tests do not see each other's data."""
    return f"t-{uuid.uuid4().hex[:10]}"


def client(stack: LocalStack, tenant_id: str, role: str = "admin", user: str | None = None) -> Client:
    return Client(stack.gateway_url, stack.token(tenant_id, role, user=user))


def test_health_openapi_and_docs_need_no_token(local_stack: LocalStack) -> None:
    anonymous = Client(local_stack.gateway_url, None)

    assert anonymous.get("/v1/health").body == {"status": "ok"}
    spec = anonymous.get("/openapi.json")
    assert spec.status == 200
    assert spec.body["openapi"].startswith("3.1")
    assert "/v1/assets/{asset_id}/transitions" in spec.body["paths"]
    docs = anonymous.get("/docs")
    assert docs.status == 200
    assert "swagger-ui" in docs.body.lower()


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer not-a-jwt", "Basic YWRtaW46YWRtaW4="],
)
def test_requests_without_a_valid_token_are_401_problems(
    local_stack: LocalStack, authorization: str | None
) -> None:
    anonymous = Client(local_stack.gateway_url, None)
    reply = anonymous.get("/v1/assets", headers={"Authorization": authorization} if authorization else None)

    assert reply.status == 401
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert reply.body["status"] == 401
    assert reply.headers["www-authenticate"].startswith("Bearer")


def _forged(local_stack: LocalStack, **changes: Any) -> str:
    """A validly signed copy of a real token of the stack's pool, with some claims changed."""
    claims = unverified_claims(local_stack.token(tenant(), "admin"))
    claims.update(changes)
    return sign(claims)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"exp": int(time.time()) - 60}, "expired"),
        ({"aud": "another-app-client"}, "audience"),
        ({"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other"}, "issuer"),
        ({"token_use": "access"}, "token use"),
        ({"nbf": int(time.time()) + 600}, "not yet valid"),
    ],
)
def test_tokens_the_authorizer_refuses_are_401(
    local_stack: LocalStack, changes: dict[str, Any], reason: str
) -> None:
    # Given a token that is correctly signed but wrong in one claim
    forged = _forged(local_stack, **changes)
    # When it is used on any protected route
    reply = Client(local_stack.gateway_url, forged).get("/v1/assets")
    # Then the gateway refuses it before the function runs, saying why
    assert reply.status == 401, reason
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert reply.headers["www-authenticate"].startswith('Bearer error="invalid_token"')


def test_an_unchanged_forged_copy_is_accepted(local_stack: LocalStack) -> None:
    """The refusals above are about the claim changed, not about the copying."""
    assert Client(local_stack.gateway_url, _forged(local_stack)).get("/v1/assets").status == 200


def test_tampered_token_is_401(local_stack: LocalStack) -> None:
    token = local_stack.token(tenant(), "admin")
    header, _, signature = token.split(".")
    claims = {**unverified_claims(token), "custom:tenant_id": "someone-else"}
    forged = ".".join([header, b64url(json.dumps(claims).encode()), signature])

    assert Client(local_stack.gateway_url, forged).get("/v1/assets").status == 401


def test_walkthrough_of_the_asset_lifecycle(local_stack: LocalStack) -> None:
    admin = client(local_stack, tenant())

    created = admin.post(
        "/v1/assets",
        {
            "name": "ThinkPad X1",
            "kind": "hardware",
            "asset_tag": "LT-7",
            "serial_number": "PF-123",
            "category": "laptop",
        },
    )
    assert created.status == 201
    asset_path = created.headers["Location"]
    assert created.etag == '"1"'

    fetched = admin.get(asset_path)
    assert (fetched.status, fetched.etag, fetched.body) == (200, '"1"', created.body)

    patched = admin.patch(asset_path, {"location": "Lyon", "tags": {"team": "data"}}, etag=fetched.etag)
    assert (patched.status, patched.etag) == (200, '"2"')

    for state in ("ordered", "in_stock"):
        assert admin.post(f"{asset_path}/transitions", {"to": state}).status == 200
    out = admin.post(
        f"{asset_path}/checkout", {"assignee": "ines@example.com", "expected_return": "2027-06-30"}
    )
    assert (out.body["status"], out.body["assigned_to"]) == ("deployed", "ines@example.com")
    assert (
        admin.post(
            f"{asset_path}/maintenance", {"type": "upgrade", "title": "SSD", "start_date": "2026-11-27"}
        ).status
        == 201
    )
    back = admin.post(f"{asset_path}/checkin", {"condition": "good"})
    assert back.body["status"] == "in_stock"

    listed = admin.get("/v1/assets", params={"category": "laptop"})
    assert [a["id"] for a in listed.body["items"]] == [created.body["id"]]
    history = admin.get(f"{asset_path}/history").body["items"]
    assert [e["type"] for e in history] == [
        "created",
        "updated",
        "transitioned",
        "transitioned",
        "checked_out",
        "maintenance_logged",
        "checked_in",
    ]
    assert all(e["actor"]["username"].startswith("admin@") for e in history)


def test_twenty_concurrent_patches_with_one_etag_make_exactly_one_change(local_stack: LocalStack) -> None:
    admin = client(local_stack, tenant())
    created = admin.post("/v1/assets", {"name": "contended", "kind": "hardware"})
    path = created.headers["Location"]

    def attempt(i: int) -> tuple[int, str]:
        own = Client(local_stack.gateway_url, None)
        own.session.headers.update(admin.session.headers)
        reply = own.patch(path, {"name": f"writer {i}"}, etag='"1"')
        return reply.status, reply.body.get("name", "") if isinstance(reply.body, dict) else ""

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(attempt, range(20)))

    statuses = Counter(status for status, _ in results)
    assert statuses == {200: 1, 412: 19}, statuses
    [winner] = [name for status, name in results if status == 200]
    final = admin.get(path)
    assert (final.etag, final.body["name"]) == ('"2"', winner)
    history = admin.get(f"{path}/history").body["items"]
    assert [e["version"] for e in history] == [1, 2]
    assert history[1]["changes"] == [{"field": "name", "from": "contended", "to": winner}]


def test_a_create_retried_concurrently_with_one_idempotency_key_has_one_effect(
    local_stack: LocalStack,
) -> None:
    admin = client(local_stack, tenant())
    body = {"name": "Monitor 27in", "kind": "hardware", "serial_number": "MON-1"}

    def attempt(_: int) -> tuple[int, str]:
        own = Client(local_stack.gateway_url, None)
        own.session.headers.update(admin.session.headers)
        reply = own.call("POST", "/v1/assets", json_body=body, headers={"Idempotency-Key": "po-77-line-3"})
        return reply.status, reply.body.get("id", "")

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(attempt, range(8)))

    assert {status for status, _ in results} == {201}, results
    assert len({asset_id for _, asset_id in results}) == 1
    assert len(admin.get("/v1/assets").body["items"]) == 1


# Every route that takes an asset id, with a body that would change something.
ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "", None),
    ("PATCH", "", {"name": "pwned"}),
    ("POST", "/transitions", {"to": "retired"}),
    ("POST", "/checkout", {"assignee": "mallory"}),
    ("POST", "/checkin", {}),
    ("GET", "/assignments", None),
    ("POST", "/maintenance", {"type": "repair", "title": "x", "start_date": "2026-11-27"}),
    ("GET", "/maintenance", None),
    ("GET", "/history", None),
]


def test_every_route_with_another_tenants_id_is_404_and_changes_nothing(local_stack: LocalStack) -> None:
    owner_tenant = tenant()
    owner = client(local_stack, owner_tenant)
    intruder = client(local_stack, owner_tenant + "x")  # a tenant whose id extends the owner's
    victim = owner.post(
        "/v1/assets", {"name": "victim", "kind": "hardware", "status": "in_stock", "asset_tag": "V-1"}
    )
    path = victim.headers["Location"]
    owner.post(f"{path}/checkout", {"assignee": "alice"})
    before = owner.get(path)
    history_before = owner.get(f"{path}/history").body

    for method, suffix, body in ROUTES:
        headers = {"If-Match": before.etag} if method == "PATCH" else None
        reply = intruder.call(method, path + suffix, json_body=body, headers=headers)
        assert reply.status == 404, (method, suffix, reply.body)
        assert reply.body["type"] == "/problems/not-found"

    assert intruder.get("/v1/assets").body["items"] == []
    assert intruder.get("/v1/assets", params={"assigned_to": "alice"}).body["items"] == []
    after = owner.get(path)
    assert (after.etag, after.body) == (before.etag, before.body)
    assert owner.get(f"{path}/history").body == history_before
    # The intruder's own register is separate: the same asset tag is free there.
    assert intruder.post("/v1/assets", {"name": "own", "kind": "hardware", "asset_tag": "V-1"}).status == 201


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"data": b'{"name": "x", "kind": ', "headers": {"Content-Type": "application/json"}}, 400),
        (
            {
                "data": b"name=x&kind=hardware",
                "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            },
            415,
        ),
        ({"data": b'{"name": "x"}', "headers": {"Content-Type": "text/plain"}}, 415),
        (
            {
                "data": b'{"name": "' + b"x" * (1024 * 1024) + b'", "kind": "hardware"}',
                "headers": {"Content-Type": "application/json"},
            },
            413,
        ),
        ({"json_body": {"name": "x", "kind": "hardware", "tenant_id": "other"}}, 422),
        ({"json_body": {"name": "x", "kind": "hardware", "version": 3}}, 422),
        ({"json_body": {"name": "x", "kind": "hardware", "sparkles": True}}, 422),
        # Nested past the API's limit, and past the JSON parser's own stack.
        (
            {
                "data": b'{"name": "x", "kind": "hardware", "custom_fields": '
                + b'{"a":' * 40
                + b"1"
                + b"}" * 41,
                "headers": {"Content-Type": "application/json"},
            },
            422,
        ),
        (
            {"data": b'{"a":' * 5000 + b"1" + b"}" * 5000, "headers": {"Content-Type": "application/json"}},
            422,
        ),
    ],
)
def test_bad_input_gets_a_problem_and_writes_nothing(
    local_stack: LocalStack, kwargs: dict[str, Any], status: int
) -> None:
    admin = client(local_stack, tenant())

    reply = admin.call("POST", "/v1/assets", **kwargs)

    assert reply.status == status
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert reply.body["status"] == status
    assert admin.get("/v1/assets").body["items"] == []


NESTED = b'{"a":' * 1000 + b"1" + b"}" * 1000
ASSET = json.dumps({"name": "x", "kind": "hardware"})


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        (NESTED, "application/json", 422),
        (b"[" * 100_000 + b"]" * 100_000, "APPLICATION/JSON", 422),
        (ASSET.encode(), "APPLICATION/JSON", 201),
        (ASSET.encode(), "Application/Json; charset=UTF-8", 201),
        (ASSET.encode("utf-16"), "application/json", 400),
        (ASSET.encode("utf-16-le"), "APPLICATION/JSON", 400),
        (ASSET.encode("utf-16"), "application/json; charset=utf-16", 415),
        (ASSET.encode(), "application/json;charset=UTF-16", 415),
    ],
    ids=[
        "nested object",
        "nested array",
        "upper case",
        "charset utf-8",
        "utf-16",
        "utf-16 no bom",
        "declared utf-16",
        "mislabelled",
    ],
)
def test_nested_upper_case_and_utf16_bodies_get_their_answer_for_every_role(
    local_stack: LocalStack, data: bytes, content_type: str, status: int
) -> None:
    tenant_id = tenant()
    for role in ("admin", "editor", "viewer", "auditor"):
        caller = client(local_stack, tenant_id, role)

        reply = caller.call("POST", "/v1/assets", data=data, headers={"Content-Type": content_type})

        if status == 201 and role in ("viewer", "auditor"):
            assert reply.status == 403, reply.body  # well-formed: the role is what refuses it
        elif status == 201:
            assert reply.status == 201, reply.body
            continue
        else:
            assert reply.status == status, (role, reply.body)
        assert reply.headers["content-type"] == "application/problem+json"
        assert reply.body["status"] == reply.status


def test_invalid_cursor_and_oversized_page(local_stack: LocalStack) -> None:
    admin = client(local_stack, tenant())
    assert admin.get("/v1/assets", params={"cursor": "not-a-cursor"}).status == 400
    assert admin.get("/v1/assets", params={"limit": "1000"}).status == 422


def test_viewer_reads_but_cannot_write_and_auditor_reads_history(local_stack: LocalStack) -> None:
    tenant_id = tenant()
    admin = client(local_stack, tenant_id)
    viewer = client(local_stack, tenant_id, "viewer")
    auditor = client(local_stack, tenant_id, "auditor")
    path = admin.post("/v1/assets", {"name": "x", "kind": "software"}).headers["Location"]

    assert viewer.get(path).status == 200
    assert viewer.post("/v1/assets", {"name": "y", "kind": "software"}).status == 403
    assert viewer.get(f"{path}/history").status == 403
    assert auditor.get(f"{path}/history").status == 200
    assert auditor.patch(path, {"name": "z"}, etag='"1"').status == 403


def test_logs_are_json_in_one_format_with_the_request_id_as_correlation_id(local_stack: LocalStack) -> None:
    admin = client(local_stack, tenant())
    reply = admin.get("/v1/assets")
    request_id = reply.headers["apigw-requestid"]

    lines = [json.loads(line) for line in local_stack.output().splitlines() if line.startswith("{")]
    mine = [line for line in lines if line.get("correlation_id") == request_id]
    assert {line["service"] for line in mine} == {"itam-local", "itam"}, "the access line and the handler's"
    assert len({line["function_request_id"] for line in mine}) == 1, "and the Lambda request id they share"
    for line in lines:
        if "_aws" not in line:  # a metric document (embedded metric format), not a log line
            assert {"level", "location", "message", "timestamp", "service"} <= line.keys(), line
