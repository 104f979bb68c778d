"""No request gets a server error: malformed bodies, media types, encodings, headers and query strings
sent to every write route of the served OpenAPI document, as an admin and as a viewer.

The routes come from the document itself, so a new route is covered the day it is added. Every
answer must be below 500, and every error an `application/problem+json` document with its status.
The bodies are a catalogue of what a client or a gateway can get wrong, plus a few hundred seeded
mutations of a valid body. The services are the in-memory fakes: thousands of requests take seconds.
"""

from __future__ import annotations

import base64
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.support.events import claims_for, http_event
from tests.support.lambda_api import Reply, invoke
from tests.unit.routes.conftest import Api, Services

WRITE_METHODS = ("post", "put", "patch", "delete")
ROLES = ("admin", "viewer")
VALID = {
    "name": "x",
    "kind": "hardware",
    "quantity": 1,
    "product": "p",
    "tags": {"a": "b"},
    "custom_fields": {"f": 1.5},
}
JSON = "application/json"


@dataclass(frozen=True)
class Case:
    """One malformed request: its body (bytes go base64-encoded, as the gateway passes them), headers
    (names as given, not lower-cased) and query string."""

    name: str
    body: str | bytes | None = None
    headers: dict[str, str] = field(default_factory=lambda: {"content-type": JSON})
    query: dict[str, str] | None = None
    raw_query: str | None = None
    base64: str | None = None  # a body the gateway marked base64-encoded, verbatim


def _nested(depth: int, opener: str = '{"a":', closer: str = "}") -> str:
    return opener * depth + "1" + closer * depth


BODIES: list[Case] = [
    # Nesting: past the API's limit, past the parser's stack, on objects and arrays
    Case("object nested 33 deep", _nested(33)),
    Case("object nested 1,000 deep", _nested(1000)),
    Case("array nested 100,000 deep", "[" * 100_000 + "]" * 100_000),
    Case("nested inside a valid body", json.dumps(VALID)[:-1] + ', "custom_fields": ' + _nested(500) + "}"),
    # Not JSON, or not an object
    Case("empty", ""),
    Case("whitespace", "   \n\t"),
    Case("truncated", json.dumps(VALID)[:-3]),
    Case("trailing garbage", json.dumps(VALID) + "}"),
    Case("two documents", json.dumps(VALID) * 2),
    Case("null", "null"),
    Case("array", "[]"),
    Case("string", '"x"'),
    Case("number", "1"),
    Case("true", "true"),
    Case("single quotes", "{'name': 'x'}"),
    Case("comment", '{"name": "x" /* c */}'),
    Case("trailing comma", '{"name": "x",}'),
    Case("control character in a string", '{"name": "a\x01b"}'),
    # Numbers
    Case("NaN", '{"quantity": NaN}'),
    Case("Infinity", '{"quantity": -Infinity}'),
    Case("1e400", '{"quantity": 1e400, "cost": {"amount": 1e400, "currency": "EUR"}}'),
    Case("10,000 digits", '{"quantity": ' + "9" * 10_000 + "}"),
    Case("400 digits", '{"quantity": ' + "9" * 400 + "}"),
    Case("38 digits", '{"quantity": ' + "9" * 38 + ', "overlap_hours": ' + "9" * 38 + "}"),
    Case("negative zero", '{"quantity": -0.0, "overlap_hours": -0}'),
    Case("tiny", '{"quantity": 1e-400}'),
    # Strings and names
    Case("lone high surrogate", '{"name": "\\ud800"}'),
    Case("lone low surrogate as a name", '{"\\udc00": "x"}'),
    Case("a surrogate pair", '{"name": "\\ud83d\\ude00", "kind": "hardware"}'),
    Case("a name twice", '{"name": "x", "name": "y"}'),
    Case("a nested name twice", '{"tags": {"a": "1", "a": "2"}}'),
    Case("NUL in a string", '{"name": "a\\u0000b", "kind": "hardware"}'),
    Case("a huge string", json.dumps({"name": "x" * 500_000})),
    Case("over 1 MB", json.dumps({"name": "x" * (1024 * 1024)})),
    Case(
        "wrong types everywhere", json.dumps({k: [None] for k in [*VALID, "to", "settings", "credentials"]})
    ),
    Case("objects where strings go", json.dumps({k: {"$ne": 1} for k in [*VALID, "to", "reason", "user"]})),
    # Encodings
    Case("UTF-8 BOM", "\ufeff" + json.dumps(VALID)),
    Case("UTF-16 with BOM", json.dumps(VALID).encode("utf-16")),
    Case("UTF-16 without BOM", json.dumps(VALID).encode("utf-16-le")),
    Case("UTF-16 big-endian", json.dumps(VALID).encode("utf-16-be")),
    Case("UTF-32 with BOM", json.dumps(VALID).encode("utf-32")),
    Case("UTF-32 without BOM", json.dumps(VALID).encode("utf-32-be")),
    Case("Latin-1", '{"name": "caf\xe9"}'.encode("latin-1")),
    Case("invalid UTF-8", b'{"name": "\xc3\x28"}'),
    Case("overlong UTF-8", b'{"name": "\xc0\xaf"}'),
    Case("encoded surrogate", b'{"name": "\xed\xa0\x80"}'),
    Case("raw bytes", bytes(range(256))),
    Case("a surrogate in the event's text", '{"name": "\ud800"}'),
    Case("base64 with bad padding", base64="abc"),
    Case("base64 with foreign characters", base64="!!!!"),
    Case("base64 of nothing", base64="===="),
    Case("base64 of a nested body", base64=base64.b64encode(_nested(2000).encode()).decode()),
]

MEDIA_TYPES = [
    "APPLICATION/JSON",
    "Application/Json; charset=UTF-8",
    'application/json; charset="utf-8"',
    "application/json;charset=utf-16",
    "application/json; charset=utf-32",
    "application/json; charset=latin1",
    "application/json;",
    "application/json; charset",
    "application/merge-patch+json",
    "application/problem+json",
    "application/json, text/plain",
    "text/plain",
    "text/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "multipart/form-data",
    "",
    ";",
    "application/json\x00",
]

HEADERS: list[Case] = [
    *(Case(f"media type {m!r}", json.dumps(VALID), {"content-type": m}) for m in MEDIA_TYPES),
    *(Case(f"no body as {m!r}", None, {"content-type": m}) for m in MEDIA_TYPES),
    Case("no content type", json.dumps(VALID), {}),
    Case("Content-Type", json.dumps(VALID), {"Content-Type": "Application/JSON"}),
    Case("CONTENT-TYPE", json.dumps(VALID), {"CONTENT-TYPE": "APPLICATION/JSON"}),
    Case("two content types", json.dumps(VALID), {"content-type": JSON, "Content-Type": "text/plain"}),
    *(
        Case(f"If-Match {value!r}", json.dumps(VALID), {"content-type": JSON, name: value})
        for name in ("if-match", "If-Match", "IF-MATCH")
        for value in ('"1"', 'W/"1"', "*", "garbage", '"' + "9" * 400 + '"', '"-1"', '"1", "2"', "é", "")
    ),
    *(
        Case(f"Idempotency-Key {value!r}", json.dumps(VALID), {"content-type": JSON, name: value})
        for name in ("idempotency-key", "Idempotency-Key", "IDEMPOTENCY-KEY")
        for value in ("", " ", "é", "x" * 256, "a\tb", "a b", "k-1")
    ),
]

QUERIES: list[Case] = [
    Case("limit out of range", None, {}, {"limit": "0"}),
    Case("limit huge", None, {}, {"limit": "9" * 5000}),
    Case("limit 1e400", None, {}, {"limit": "1e400"}),
    Case("limit not a number", None, {}, {"limit": "ten"}),
    Case("cursor garbage", None, {}, {"cursor": "!!!"}),
    Case("cursor base64 of garbage", None, {}, {"cursor": base64.urlsafe_b64encode(b"\xff" * 40).decode()}),
    Case("cursor base64 of JSON", None, {}, {"cursor": base64.urlsafe_b64encode(b'{"PK": 1}').decode()}),
    Case("cursor too long", None, {}, {"cursor": "A" * 5000}),
    Case("NUL", None, {}, {"status": "\x00", "q": "\x00"}),
    Case("non-ASCII", None, {}, {"status": "é", "product": "日本"}),
    Case("lone surrogate", None, {}, {"status": "\ud800"}),
    Case("raw percent-encoding", None, {}, {"status": "%FF%FE"}, raw_query="status=%FF%FE&limit=%"),
    Case("empty names", None, {}, {"": ""}, raw_query="=&&="),
]


def _mutations(count: int, seed: int = 20261204) -> Iterator[Case]:
    """Seeded mutations of a valid body: truncated, bytes replaced or inserted, slices repeated."""
    rng = random.Random(seed)
    valid = json.dumps(VALID).encode()
    alphabet = [
        b"{",
        b"}",
        b"[",
        b"]",
        b'"',
        b"\\",
        b":",
        b",",
        b"\x00",
        b"\xff",
        b"\xc3",
        b"\\u",
        b"e9",
        b"-",
    ]
    for n in range(count):
        body = bytearray(valid)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(body) + 1)
            operation = rng.randrange(4)
            if operation == 0:
                del body[at:]
            elif operation == 1:
                body[at:at] = rng.choice(alphabet)
            elif operation == 2 and at < len(body):
                body[at] = rng.randrange(256)
            else:
                body[at:at] = body[at : at + rng.randint(1, 8)] * rng.randint(1, 50)
        yield Case(f"mutation {n}", bytes(body))


MUTATIONS = list(_mutations(300))


@cache
def served_routes(methods: tuple[str, ...] = WRITE_METHODS) -> list[tuple[str, str]]:
    """(METHOD, path template) of every operation of `methods` in the served OpenAPI document."""
    document = invoke(http_event("GET", "/openapi.json")).body
    return [
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in methods
        if method in operations
    ]


def write_routes() -> list[tuple[str, str]]:
    """Every write route of the served OpenAPI document."""
    return served_routes(WRITE_METHODS)


def concrete(path: str, odd: bool = False) -> str:
    """The path with its parameters filled in: ids of the right shape, or odd ones."""

    def value(match: re.Match[str]) -> str:
        if odd:
            return "%00..%2F" + "é" * 3
        return "acme." + "0" * 32 if "endpoint" in match.group(1) else "0" * 32

    return re.sub(r"\{([^}]+)\}", value, path)


def event_for(method: str, path: str, case: Case, role: str) -> dict[str, Any]:
    """An HTTP API v2 event for the case, with headers exactly as the case names them."""
    event = http_event(method, path, claims=claims_for("acme", role))
    headers = {k: v for k, v in event["headers"].items() if k != "content-type"}
    event["headers"] = {**headers, **case.headers}
    if case.query is not None:
        event["queryStringParameters"] = case.query
        event["rawQueryString"] = case.raw_query or urlencode(case.query, errors="surrogatepass")
    if case.base64 is not None:
        event["body"], event["isBase64Encoded"] = case.base64, True
    elif isinstance(case.body, bytes):
        event["body"], event["isBase64Encoded"] = base64.b64encode(case.body).decode(), True
    else:
        event["body"] = case.body
    return event


def assert_answered(reply: Reply, what: str) -> None:
    """Below 500, and an error is a problem document with its status."""
    assert reply.status < 500, f"{what}: {reply.status} {reply.body}"
    if reply.status >= 400:
        assert reply.headers.get("Content-Type") == "application/problem+json", f"{what}: {reply.headers}"
        assert isinstance(reply.body, dict) and reply.body.get("status") == reply.status, (
            f"{what}: {reply.body}"
        )


def test_the_document_lists_the_write_routes_of_every_context() -> None:
    routes = write_routes()
    prefixes = {path.split("/")[2] for _, path in routes}
    assert {"assets", "licenses", "webhook-endpoints", "connectors", "requests"} <= prefixes
    assert len(routes) >= 25


@pytest.mark.parametrize("role", ROLES)
def test_malformed_bodies_and_headers_on_every_write_route_get_a_problem(
    services: Services, role: str
) -> None:
    sent = 0
    for method, template in write_routes():
        path = concrete(template)
        for case in [*BODIES, *HEADERS]:
            assert_answered(invoke(event_for(method, path, case, role)), f"{method} {path} {case.name}")
            sent += 1
    assert sent >= 100 * len(write_routes())


def test_mutated_bodies_on_every_write_route_get_a_problem(services: Services) -> None:
    routes = write_routes()
    for n, case in enumerate(MUTATIONS):
        method, template = routes[n % len(routes)]
        path = concrete(template)
        assert_answered(invoke(event_for(method, path, case, ROLES[n % 2])), f"{method} {path} {case.name}")


def test_odd_query_strings_and_path_values_on_every_route_get_a_problem(services: Services) -> None:
    for method, template in served_routes((*WRITE_METHODS, "get")):
        for case in QUERIES:
            path = concrete(template)
            assert_answered(invoke(event_for(method, path, case, "admin")), f"{method} {path} {case.name}")
        odd = concrete(template, odd=True)
        body = Case("valid body", json.dumps(VALID))
        assert_answered(invoke(event_for(method, odd, body, "admin")), f"{method} {odd}")


@pytest.mark.parametrize(
    "case",
    [
        Case(
            "upper case", json.dumps({"name": "x", "kind": "hardware"}), {"Content-Type": "APPLICATION/JSON"}
        ),
        Case(
            "charset",
            json.dumps({"name": "x", "kind": "hardware"}),
            {"content-type": "Application/Json; Charset=UTF-8"},
        ),
        Case("base64-encoded by the gateway", json.dumps({"name": "x", "kind": "hardware"}).encode()),
    ],
    ids=lambda case: case.name,
)
def test_a_valid_body_in_any_spelling_of_its_media_type_or_encoded_by_the_gateway_is_served(
    api: Api, case: Case
) -> None:
    created = invoke(event_for("POST", "/v1/assets", case, "admin"))

    assert created.status == 201, created.body
    assert [a["name"] for a in api.get("/v1/assets").body["items"]] == ["x"]
