"""Claims parsing, cursors, ETags, problem mapping and the raw-body checks."""

from __future__ import annotations

import base64
import json

import pytest

from itam import errors
from itam.adapters import cursors
from itam.assets.errors import AssetNotFound, DuplicateValue
from itam.etags import etag_matches
from itam.pagination import decode_cursor, encode_cursor
from itam.settings import load_settings
from itam.tenancy import Permission, Role, TenantContext
from itam.web.auth import parse_list_claim, tenant_context
from itam.web.gate import MAX_BODY_BYTES, MAX_DEPTH, reject_unacceptable_body
from itam.web.problems import from_domain_error, from_validation_errors


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("[admin editor]", ["admin", "editor"]),
        ('["admin","viewer"]', ["admin", "viewer"]),
        (["auditor"], ["auditor"]),
        ("admin,editor", ["admin", "editor"]),
        ("viewer", ["viewer"]),
        ("[]", []),
        (None, []),
    ],
)
def test_group_claim_formats(value: object, expected: list[str]) -> None:
    assert parse_list_claim(value) == expected


def test_tenant_context_from_claims() -> None:
    ctx = tenant_context(
        {
            "sub": "u1",
            "custom:tenant_id": "acme",
            "cognito:groups": "[editor unknown]",
            "email": "a@acme.example.com",
            "token_use": "id",
        }
    )
    assert ctx == TenantContext("acme", "u1", "a@acme.example.com", frozenset({Role.EDITOR}))
    assert ctx.key_prefix == "T#acme#"
    ctx.require(Permission.WRITE)
    with pytest.raises(errors.Forbidden):
        ctx.require(Permission.READ_HISTORY)


@pytest.mark.parametrize(
    ("claims", "error"),
    [
        ({}, errors.Unauthenticated),
        ({"sub": "u1", "custom:tenant_id": "acme", "token_use": "access"}, errors.Unauthenticated),
        (
            {"sub": "u1", "custom:tenant_id": "acme"},
            errors.Unauthenticated,
        ),  # no token_use: not known as an ID token
        ({"sub": "u1", "token_use": "id"}, errors.Forbidden),
        ({"sub": "u1", "token_use": "id", "custom:tenant_id": "ac#me"}, errors.Forbidden),
        ({"sub": "u1", "token_use": "id", "custom:tenant_id": "Acme"}, errors.Forbidden),
    ],
)
def test_unusable_claims(claims: dict[str, str], error: type[Exception]) -> None:
    with pytest.raises(error):
        tenant_context(claims)


def test_tenant_ids_with_the_key_delimiter_are_impossible() -> None:
    with pytest.raises(ValueError, match="tenant id"):
        TenantContext("a#b", "u", "u", frozenset())


SECRET = b"cursor secret of the tests"
SCOPE = "acme|assets|{}"


def test_cursor_round_trip_and_scope() -> None:
    key = {"PK": "T#acme#ASSET#1", "SK": "META"}
    cursor = encode_cursor(key, SCOPE, SECRET)
    assert decode_cursor(cursor, SCOPE, SECRET) == key
    for scope in ("acme2|assets|{}", 'acme|assets|{"kind":"saas"}', "acme|licenses|{}"):
        with pytest.raises(errors.InvalidCursor):
            decode_cursor(cursor, scope, SECRET)  # another tenant, other filters, another listing
    with pytest.raises(errors.InvalidCursor):
        decode_cursor(cursor, SCOPE, b"another deployment's secret")


def test_a_cursor_shows_neither_the_tenant_nor_the_key_names() -> None:
    cursor = encode_cursor({"PK": "T#acme#ASSET#1", "SK": "META", "GSI1PK": "T#acme#ASSETS"}, SCOPE, SECRET)
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))

    for clear in (b"acme", b"PK", b"GSI1", b"ASSET", b"META"):
        assert clear not in raw
    # Sealed with a fresh nonce each time: two cursors of one position do not even look alike.
    assert encode_cursor({"PK": "T#acme#ASSET#1", "SK": "META"}, SCOPE, SECRET) != encode_cursor(
        {"PK": "T#acme#ASSET#1", "SK": "META"}, SCOPE, SECRET
    )


def test_an_altered_cursor_is_refused() -> None:
    cursor = encode_cursor({"PK": "T#acme#ASSET#1", "SK": "META"}, SCOPE, SECRET)
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    for position in (0, 5, len(raw) // 2, len(raw) - 1):
        altered = bytearray(raw)
        altered[position] ^= 1
        forged = base64.urlsafe_b64encode(bytes(altered)).decode().rstrip("=")
        with pytest.raises(errors.InvalidCursor):
            decode_cursor(forged, SCOPE, SECRET)


@pytest.mark.parametrize(
    "payload",
    [b"not json", b"[]", b'{"k": {}, "s": "x"}', b'{"k": {"PK": 1}}', json.dumps({"k": {"a": "b"}}).encode()],
)
def test_malformed_and_unsealed_cursors(payload: bytes) -> None:
    for text in (base64.urlsafe_b64encode(payload).decode(), "garbage!", "", "AQ"):
        with pytest.raises(errors.InvalidCursor):
            decode_cursor(text, SCOPE, SECRET)


@pytest.mark.parametrize("key", [{}, {"PK": 1}, {"a": "b", "c": "d", "e": "f", "g": "h", "i": "j"}])
def test_sealed_positions_that_are_no_key_are_refused(key: dict[str, object]) -> None:
    cursor = encode_cursor(key, SCOPE, SECRET)  # type: ignore[arg-type]  # what a forger would seal
    with pytest.raises(errors.InvalidCursor):
        decode_cursor(cursor, SCOPE, SECRET)


def test_off_aws_the_cursor_key_may_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLE_NAME", "itam-test")
    monkeypatch.setenv("ITAM_CURSOR_KEY", "a key for tests")
    monkeypatch.delenv("CURSOR_SECRET_ARN", raising=False)
    load_settings.cache_clear()
    try:
        cursor = cursors.seal({"PK": "T#acme#ASSET#1", "SK": "META"}, SCOPE)
        assert cursors.unseal(cursor, SCOPE) == {"PK": "T#acme#ASSET#1", "SK": "META"}
        assert decode_cursor(cursor, SCOPE, b"a key for tests") == {"PK": "T#acme#ASSET#1", "SK": "META"}
    finally:
        load_settings.cache_clear()


def test_without_a_cursor_key_making_a_cursor_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLE_NAME", "itam-test")
    monkeypatch.delenv("ITAM_CURSOR_KEY", raising=False)
    monkeypatch.delenv("CURSOR_SECRET_ARN", raising=False)
    load_settings.cache_clear()
    try:
        with pytest.raises(RuntimeError, match="CURSOR_SECRET_ARN"):
            cursors.seal({"PK": "T#acme#ASSET#1", "SK": "META"}, SCOPE)
    finally:
        load_settings.cache_clear()


@pytest.mark.parametrize(
    ("header", "version", "matches"),
    [
        ('"3"', 3, True),
        ('"2"', 3, False),
        ('W/"3"', 3, False),
        ("*", 9, True),
        ('"1", "3"', 3, True),
        ("3", 3, False),
    ],
)
def test_if_match_uses_strong_comparison(header: str, version: int, matches: bool) -> None:
    assert etag_matches(header, version) is matches


@pytest.mark.parametrize(
    ("error", "status", "slug"),
    [
        (AssetNotFound("x"), 404, "not-found"),
        (DuplicateValue("asset_tag", "A"), 409, "duplicate-value"),
        (errors.IllegalTransition("planned", "deployed", ["ordered"]), 409, "illegal-transition"),
        (errors.PreconditionFailed(), 412, "precondition-failed"),
        (errors.PreconditionRequired(), 428, "precondition-required"),
        (errors.InvalidCursor(), 400, "invalid-cursor"),
        (errors.Forbidden("no"), 403, "forbidden"),
        (errors.Unauthenticated("no"), 401, "unauthorized"),
        (errors.InvalidInput("bad", "disposal"), 422, "validation-error"),
    ],
)
def test_domain_errors_map_to_problem_details(error: errors.DomainError, status: int, slug: str) -> None:
    body = from_domain_error(error, "/v1/assets/x")
    assert (body["status"], body["type"], body["instance"]) == (status, f"/problems/{slug}", "/v1/assets/x")
    assert body["detail"] == error.detail


def test_validation_errors_map_to_400_415_or_422() -> None:
    assert from_validation_errors([{"type": "json_invalid", "loc": ("body", 3)}], None)["status"] == 400
    assert (
        from_validation_errors([{"type": "unsupported_content_type", "loc": ("body",)}], None)["status"]
        == 415
    )
    body = from_validation_errors(
        [{"type": "missing", "loc": ("body", "name"), "msg": "Field required"}], None
    )
    assert body["status"] == 422
    assert body["errors"] == [
        {"location": "body", "field": "name", "message": "Field required", "type": "missing"}
    ]


def _event(method: str, body: str | None, content_type: str | None = "application/json") -> dict[str, object]:
    headers = {"content-type": content_type} if content_type else {}
    return {
        "rawPath": "/v1/assets",
        "requestContext": {"http": {"method": method}},
        "headers": headers,
        "body": body,
    }


@pytest.mark.parametrize(
    ("event", "status"),
    [
        (_event("POST", '{"a": 1}'), None),
        (_event("GET", "whatever", None), None),
        (_event("POST", "{"), 400),
        (_event("POST", '{"a": 1}', "text/plain"), 415),
        (_event("POST", '{"a": 1}', None), 415),
        (_event("PATCH", '{"a": 1}', "application/json; charset=utf-8"), None),
        (_event("POST", '"' + "x" * MAX_BODY_BYTES + '"'), 413),
        (_event("POST", "[1]"), 422),
        # As deep as the API allows, one level deeper, and deeper than the parser's own stack.
        (_event("POST", '{"a":' * (MAX_DEPTH - 1) + "[1]" + "}" * (MAX_DEPTH - 1)), None),
        (_event("POST", '{"a":' * MAX_DEPTH + "[1]" + "}" * MAX_DEPTH), 422),
        (_event("POST", '{"a":[' * 5000 + "1" + "]}" * 5000), 422),
    ],
)
def test_raw_body_checks(event: dict[str, object], status: int | None) -> None:
    rejected = reject_unacceptable_body(event)
    assert (rejected or {}).get("status") == status


def test_a_body_nested_too_deep_is_named_as_such() -> None:
    rejected = reject_unacceptable_body(_event("POST", '{"a":' * 5000 + "1" + "}" * 5000))

    assert rejected is not None
    assert rejected["type"] == "/problems/validation-error"
    assert rejected["errors"] == [
        {
            "location": "body",
            "field": "",
            "message": f"is nested more than {MAX_DEPTH} levels deep",
            "type": "value_error",
        }
    ]
