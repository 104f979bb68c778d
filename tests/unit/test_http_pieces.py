"""Claims parsing, cursors, ETags, problem mapping and the raw-body checks."""

from __future__ import annotations

import base64
import json

import pytest

from itam import errors
from itam.adapters import cursors
from itam.assets.errors import AssetNotFound, DuplicateValue
from itam.etags import etag_matches
from itam.json_text import MAX_DEPTH
from itam.pagination import decode_cursor, encode_cursor
from itam.settings import load_settings
from itam.tenancy import Permission, Role, TenantContext
from itam.web.auth import parse_list_claim, tenant_context
from itam.web.gate import MAX_BODY_BYTES, reject_unacceptable_body, routed_event
from itam.web.problems import from_domain_error, from_validation_errors


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("[admin editor]", ["admin", "editor"]),  # the HTTP API's rendering of an array
        ("[admin]", ["admin"]),
        (["auditor"], ["auditor"]),
        (["x,admin", "admin "], ["x,admin", "admin "]),  # a decoded token: exact names
        ("viewer", ["viewer"]),
        ("[]", []),
        ("", []),
        (None, []),
    ],
)
def test_group_claim_formats(value: object, expected: list[str]) -> None:
    assert parse_list_claim(value) == expected


@pytest.mark.parametrize(
    "groups",
    [
        "[x,admin]",  # a group named "x,admin"
        "admin,editor",
        "[admin ]",  # a group named "admin "
        "[ admin]",
        "[viewer  admin]",  # "viewer " and "admin", or "viewer" and " admin"
        "[admin\t]",
        '["admin"]',  # a group named '"admin"', or JSON inside a string
        '["viewer","admin"]',
        "[[admin]]",
        " admin",
        "admin ",
        ["x,admin", "admin ", " admin", "Admin", "[admin]"],
    ],
)
def test_a_group_whose_name_only_contains_a_role_name_grants_nothing(groups: object) -> None:
    ctx = tenant_context(
        {"sub": "u1", "custom:tenant_id": "acme", "token_use": "id", "cognito:groups": groups}
    )
    assert ctx.roles == frozenset()


def test_tenant_context_from_claims() -> None:
    ctx = tenant_context(
        {
            "sub": "u1",
            "custom:tenant_id": "acme",
            "cognito:groups": "[editor unknown]",
            "email": "a@acme.example.com",
            "email_verified": "true",
            "token_use": "id",
        }
    )
    assert ctx == TenantContext("acme", "u1", "a@acme.example.com", frozenset({Role.EDITOR}))
    assert ctx.key_prefix == "T#acme#"
    ctx.require(Permission.WRITE)
    with pytest.raises(errors.Forbidden):
        ctx.require(Permission.READ_HISTORY)


@pytest.mark.parametrize(
    ("extra", "shown"),
    [
        ({"email": "a@acme.example.com", "email_verified": "true"}, "a@acme.example.com"),
        ({"email": "a@acme.example.com", "email_verified": True}, "a@acme.example.com"),
        ({"email": "a@acme.example.com", "email_verified": "false"}, "name-1"),
        ({"email": "a@acme.example.com"}, "name-1"),  # not known to be verified
        ({}, "name-1"),
    ],
)
def test_the_display_name_is_the_e_mail_only_when_verified(extra: dict[str, object], shown: str) -> None:
    claims = {"sub": "u1", "custom:tenant_id": "acme", "token_use": "id", "cognito:username": "name-1"}
    ctx = tenant_context({**claims, **extra})
    assert (ctx.user_id, ctx.username) == ("u1", shown)
    claims.pop("cognito:username")
    assert tenant_context(claims).username == "u1"


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


def _encoded(method: str, raw: bytes, content_type: str = "application/json") -> dict[str, object]:
    """An event whose body the gateway passed base64-encoded, as it does for bytes that are not UTF-8."""
    return {**_event(method, base64.b64encode(raw).decode(), content_type), "isBase64Encoded": True}


OBJECT = '{"name": "x", "kind": "hardware"}'


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
        (_event("POST", "[" * 100_000 + "]" * 100_000), 422),
        # Media types and their parameters are case-insensitive; JSON is UTF-8 only (RFC 8259).
        (_event("POST", OBJECT, "APPLICATION/JSON"), None),
        (_event("POST", OBJECT, 'Application/Json; Charset="UTF-8"'), None),
        (_event("POST", OBJECT, "application/json;charset=utf-16"), 415),
        (_event("PATCH", OBJECT, "application/merge-patch+json"), 415),
        (_event("POST", OBJECT, "application/json, text/plain"), 415),
        # Bytes that are not UTF-8 JSON text: UTF-16 and UTF-32 (with or without a BOM), a UTF-8 BOM,
        # invalid UTF-8, base64 that is not base64, a lone surrogate in a text body.
        (_encoded("POST", OBJECT.encode("utf-16")), 400),
        (_encoded("POST", OBJECT.encode("utf-16-be")), 400),
        (_encoded("POST", OBJECT.encode("utf-32")), 400),
        (_encoded("POST", OBJECT.encode("utf-32-le")), 400),
        (_encoded("POST", "\ufeff".encode() + OBJECT.encode()), 400),
        (_event("POST", "\ufeff" + OBJECT), 400),
        (_encoded("POST", b'{"name": "\xff\xfe"}'), 400),
        (_encoded("POST", OBJECT.encode()), None),
        ({**_event("POST", "abc"), "isBase64Encoded": True}, 400),
        (_event("POST", '{"name": "\ud800"}'), 400),
        # JSON the parser would take but no route can: a lone surrogate escape, numbers beyond a double,
        # a name given twice; and what is not an object.
        (_event("POST", '{"name": "\\ud800"}'), 400),
        (_event("POST", '{"\\udc00": 1}'), 400),
        (_event("POST", '{"name": "\\ud83d\\ude00"}'), None),
        (_event("POST", '{"cost": 1e400}'), 422),
        (_event("POST", '{"cost": -1e400}'), 422),
        (_event("POST", '{"cost": ' + "9" * 10_000 + "}"), 422),
        (_event("POST", '{"cost": ' + "9" * 400 + "}"), 422),
        (_event("POST", '{"cost": 1e-400, "n": ' + "9" * 300 + "}"), None),
        (_event("POST", '{"cost": NaN}'), 400),
        (_event("POST", '{"name": "x", "name": "y"}'), 400),
        (_event("POST", '{"a": {"b": 1, "b": 1}}'), 400),
        (_event("POST", "null"), 422),
        (_event("POST", '"x"'), 422),
        (_event("PUT", "1"), 422),
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
            "message": f"the body nests objects and arrays more than {MAX_DEPTH} levels deep",
            "type": "value_error",
        }
    ]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (
            "{",
            "the body is not valid JSON: Expecting property name enclosed in double quotes (line 1 column 2)",
        ),
        ('{"a": 1, "a": 2}', 'the body is not valid JSON: the member name "a" appears twice in one object'),
        ("\ufeff{}", "the body starts with a byte order mark: send UTF-8 JSON without one"),
    ],
)
def test_a_body_that_cannot_be_read_is_told_why(body: str, detail: str) -> None:
    rejected = reject_unacceptable_body(_event("POST", body))

    assert rejected is not None
    assert (rejected["status"], rejected["type"], rejected["detail"]) == (
        400,
        "/problems/malformed-body",
        detail,
    )


def test_a_number_beyond_a_double_is_named_as_such() -> None:
    rejected = reject_unacceptable_body(_event("POST", '{"a": 1e999}'))

    assert rejected is not None
    assert (rejected["status"], rejected["type"]) == (422, "/problems/validation-error")
    assert rejected["detail"] == "the body holds the number 1e999, beyond the range of a double"


def test_a_declared_charset_other_than_utf8_is_unsupported() -> None:
    rejected = reject_unacceptable_body(_event("POST", OBJECT, "application/json; charset=UTF-16"))

    assert rejected is not None
    assert rejected["type"] == "/problems/unsupported-media-type"
    assert rejected["detail"] == "send the body as UTF-8 application/json (charset=utf-16 is not supported)"


def test_the_resolver_gets_the_media_type_in_its_canonical_spelling_and_the_body_as_text() -> None:
    event = _encoded("POST", OBJECT.encode())
    event["headers"] = {"Content-Type": "Application/JSON; charset=UTF-8", "if-match": '"1"'}

    routed = routed_event(event)

    assert routed["headers"] == {"content-type": "application/json", "if-match": '"1"'}
    assert (routed["body"], routed["isBase64Encoded"]) == (OBJECT, False)
    assert event["headers"]["Content-Type"] == "Application/JSON; charset=UTF-8"  # the original is kept


@pytest.mark.parametrize(
    "content_type", ["multipart/form-data", "application/x-www-form-urlencoded", "APPLICATION/JSON"]
)
def test_a_request_without_a_body_reaches_the_resolver_without_a_media_type(content_type: str) -> None:
    # A media type that describes no body would have the resolver parse nothing as a form, or refuse it
    routed = routed_event(_event("POST", None, content_type))

    assert "content-type" not in routed["headers"]
