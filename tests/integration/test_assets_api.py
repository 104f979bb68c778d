"""The asset routes through the real handler on moto: behaviour, errors and what gets written."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import Api

LAPTOP = {
    "name": "MacBook Pro 14",
    "kind": "hardware",
    "asset_tag": "LT-0001",
    "serial_number": "C02XK1ZZMD6T",
    "category": "laptop",
    "manufacturer": "Apple",
    "model": "A2442",
    "condition": "new",
    "location": "Berlin",
    "cost": {"amount": "2399.00", "currency": "EUR"},
    "purchase_date": "2026-11-02",
    "warranty_end": "2029-11-02",
    "vendor": "Gravis",
    "po_number": "PO-2026-0042",
    "tags": {"cost_center": "1234"},
    "custom_fields": {"ram_gb": 32, "encrypted": True, "owner_team": "platform"},
}


def create(api: Api, **fields: Any) -> dict[str, Any]:
    body = {"name": "Asset", "kind": "hardware", **fields}
    reply = api.post("/v1/assets", body)
    assert reply.status == 201, reply.body
    return reply.body


def test_create_returns_201_with_location_etag_and_the_asset(api: Api) -> None:
    # Given a full body / When it is posted
    reply = api.post("/v1/assets", LAPTOP)

    # Then the asset comes back with server-owned fields set
    assert reply.status == 201
    asset = reply.body
    assert reply.headers["Location"] == f"/v1/assets/{asset['id']}"
    assert reply.headers["ETag"] == '"1"'
    assert asset["status"] == "planned"
    assert asset["version"] == 1
    assert asset["cost"] == {"amount": "2399.00", "currency": "EUR"}
    assert asset["custom_fields"] == {"ram_gb": 32, "encrypted": True, "owner_team": "platform"}
    assert asset["created_by"] == "acme-u-1"
    assert api.get(reply.headers["Location"]).body == asset


def test_smallest_body_is_name_and_kind(api: Api) -> None:
    reply = api.post("/v1/assets", {"name": "Figma", "kind": "saas"})
    assert reply.status == 201
    assert reply.body["kind"] == "saas"
    assert reply.body["tags"] == {}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "hardware"}, "name"),
        ({"name": "x", "kind": "spaceship"}, "kind"),
        ({"name": "x", "kind": "hardware", "id": "abc"}, "id"),
        ({"name": "x", "kind": "hardware", "version": 7}, "version"),
        ({"name": "x", "kind": "hardware", "tenant_id": "other"}, "tenant_id"),
        ({"name": "x", "kind": "hardware", "created_by": "mallory"}, "created_by"),
        ({"name": "x", "kind": "hardware", "colour": "red"}, "colour"),
        ({"name": "x", "kind": "hardware", "cost": {"amount": "-1", "currency": "EUR"}}, "cost.amount"),
        ({"name": "x", "kind": "hardware", "cost": {"amount": "1", "currency": "euro"}}, "cost.currency"),
        ({"name": "x", "kind": "hardware", "status": "disposed"}, "status"),
        ({"name": "x", "kind": "hardware", "purchase_date": "2026-02-30"}, "purchase_date"),
        ({"name": "x", "kind": "hardware", "purchase_date": 0}, "purchase_date"),
        ({"name": "x", "kind": "hardware", "purchase_date": "0"}, "purchase_date"),  # not 1970-01-01
        ({"name": "x", "kind": "hardware", "in_service_date": "20260101"}, "in_service_date"),
        ({"name": "x", "kind": "hardware", "cost": {"amount": 1e20, "currency": "EUR"}}, "cost.amount"),
        ({"name": "x", "kind": "hardware", "cost": {"amount": "1.23456", "currency": "EUR"}}, "cost.amount"),
        ({"name": "x", "kind": "hardware", "custom_fields": {"x": {"nested": 1}}}, "custom_fields.x"),
    ],
)
def test_invalid_create_is_422_naming_the_field_and_writes_nothing(
    api: Api, body: dict[str, Any], field: str
) -> None:
    reply = api.post("/v1/assets", body)

    assert reply.status == 422
    assert reply.headers["Content-Type"] == "application/problem+json"
    assert reply.body["type"] == "/problems/validation-error"
    assert any(e["field"].startswith(field) for e in reply.body["errors"]), reply.body["errors"]
    assert api.get("/v1/assets").body["items"] == []


def test_read_only_fields_are_named_as_such(api: Api) -> None:
    reply = api.post("/v1/assets", {"name": "x", "kind": "hardware", "id": "abc", "colour": "red"})
    messages = {e["field"]: e["message"] for e in reply.body["errors"]}
    assert messages == {"id": "is read-only", "colour": "is not a known field"}


def test_warranty_before_purchase_is_422(api: Api) -> None:
    reply = api.post(
        "/v1/assets",
        {"name": "x", "kind": "hardware", "purchase_date": "2026-05-01", "warranty_end": "2026-04-01"},
    )
    assert reply.status == 422


@pytest.mark.parametrize(
    ("kwargs", "status", "slug"),
    [
        ({"raw_body": '{"name": "x", "kind": '}, 400, "malformed-body"),
        (
            {"raw_body": "name=x", "headers": {"content-type": "application/x-www-form-urlencoded"}},
            415,
            "unsupported-media-type",
        ),
        (
            {"raw_body": '{"name": "x", "kind": "hardware"}', "headers": {"content-type": "text/plain"}},
            415,
            "unsupported-media-type",
        ),
        (
            {"raw_body": '{"name": "' + "x" * (1024 * 1024) + '", "kind": "hardware"}'},
            413,
            "payload-too-large",
        ),
    ],
)
def test_unacceptable_bodies_get_problem_details_and_write_nothing(
    api: Api, kwargs: dict[str, Any], status: int, slug: str
) -> None:
    reply = api.call("POST", "/v1/assets", **kwargs)

    assert reply.status == status
    assert reply.headers["Content-Type"] == "application/problem+json"
    assert reply.body["type"] == f"/problems/{slug}"
    assert reply.body["status"] == status
    assert reply.body["instance"] == "/v1/assets"
    assert api.get("/v1/assets").body["items"] == []


def test_get_unknown_or_malformed_id_is_404(api: Api) -> None:
    assert api.get("/v1/assets/0123456789abcdef0123456789abcdef").status == 404
    reply = api.get("/v1/assets/not-an-id")
    assert reply.status == 404
    assert reply.body["type"] == "/problems/not-found"


def test_unknown_route_is_404_problem(api: Api) -> None:
    reply = api.get("/v1/gadgets")
    assert reply.status == 404
    assert reply.headers["Content-Type"] == "application/problem+json"


def test_missing_identity_is_401(api: Api) -> None:
    api.claims = None
    reply = api.get("/v1/assets")
    assert reply.status == 401
    assert reply.body["type"] == "/problems/unauthorized"


def test_token_without_tenant_is_403(api: Api) -> None:
    assert api.claims is not None
    del api.claims["custom:tenant_id"]
    assert api.get("/v1/assets").status == 403


# ---------------------------------------------------------------- PATCH and optimistic locking


def test_patch_with_current_etag_changes_fields_and_returns_new_etag(api: Api) -> None:
    asset = create(api, **LAPTOP)

    reply = api.patch(
        f"/v1/assets/{asset['id']}",
        {
            "location": "Paris",
            "model": None,
            "tags": {"cost_center": None, "team": "sre"},
            "custom_fields": {"ram_gb": 64},
        },
        etag='"1"',
    )

    assert reply.status == 200
    assert reply.headers["ETag"] == '"2"'
    assert reply.body["location"] == "Paris"
    assert reply.body["model"] is None
    assert reply.body["tags"] == {"team": "sre"}
    assert reply.body["custom_fields"] == {"ram_gb": 64, "encrypted": True, "owner_team": "platform"}
    assert api.get(f"/v1/assets/{asset['id']}").body == reply.body


def test_patch_without_if_match_is_428_and_stale_is_412(api: Api) -> None:
    asset = create(api)
    path = f"/v1/assets/{asset['id']}"

    assert api.patch(path, {"name": "new"}).status == 428
    assert api.patch(path, {"name": "v2"}, etag='"1"').status == 200
    stale = api.patch(path, {"name": "lost update"}, etag='"1"')

    assert stale.status == 412
    assert stale.body["type"] == "/problems/precondition-failed"
    assert api.get(path).body["name"] == "v2"
    assert api.patch(path, {"name": "weak"}, etag='W/"2"').status == 412


@pytest.mark.parametrize(
    "body",
    [
        {"status": "retired"},
        {"id": "0123456789abcdef0123456789abcdef"},
        {"version": 9},
        {"created_at": "2020-01-01T00:00:00Z"},
        {"updated_by": "mallory"},
        {"assigned_to": "mallory"},
        {"name": None},
        {"kind": None},
        {"tags": {"a:b": "colon in key"}},
        {"wheels": 4},
    ],
)
def test_patch_cannot_write_server_owned_or_unknown_fields(api: Api, body: dict[str, Any]) -> None:
    asset = create(api)
    path = f"/v1/assets/{asset['id']}"

    reply = api.patch(path, body, etag='"1"')

    assert reply.status == 422
    after = api.get(path)
    assert after.etag == '"1"'
    assert after.body == asset


def test_patch_that_breaks_a_cross_field_rule_is_422(api: Api) -> None:
    asset = create(api, purchase_date="2026-01-10")
    reply = api.patch(f"/v1/assets/{asset['id']}", {"warranty_end": "2025-01-01"}, etag='"1"')
    assert reply.status == 422
    assert reply.body["detail"] == "warranty_end is before purchase_date"
    assert api.get(f"/v1/assets/{asset['id']}").etag == '"1"'


# ---------------------------------------------------------------- uniqueness


def test_asset_tag_and_serial_are_unique_per_tenant_case_insensitively(api: Api) -> None:
    create(api, asset_tag="LT-1", serial_number="SN-1")

    tag = api.post("/v1/assets", {"name": "b", "kind": "hardware", "asset_tag": "lt-1"})
    serial = api.post("/v1/assets", {"name": "c", "kind": "hardware", "serial_number": "sn-1"})

    assert (tag.status, tag.body["field"]) == (409, "asset_tag")
    assert (serial.status, serial.body["field"]) == (409, "serial_number")
    assert len(api.get("/v1/assets").body["items"]) == 1
    # Another tenant may use the same values.
    assert (
        api.as_("globex").post("/v1/assets", {"name": "d", "kind": "hardware", "asset_tag": "LT-1"}).status
        == 201
    )


def test_changing_a_tag_frees_the_old_one_and_claims_the_new_one(api: Api) -> None:
    first = create(api, asset_tag="LT-1")
    second = create(api, asset_tag="LT-2")

    clash = api.patch(f"/v1/assets/{second['id']}", {"asset_tag": "LT-1"}, etag='"1"')
    moved = api.patch(f"/v1/assets/{first['id']}", {"asset_tag": "LT-9"}, etag='"1"')
    reused = api.patch(f"/v1/assets/{second['id']}", {"asset_tag": "LT-1"}, etag='"1"')

    assert clash.status == 409
    assert moved.status == 200
    assert reused.status == 200
    assert api.post("/v1/assets", {"name": "x", "kind": "hardware", "asset_tag": "LT-9"}).status == 409
    assert api.post("/v1/assets", {"name": "x", "kind": "hardware", "asset_tag": "LT-2"}).status == 201


# ---------------------------------------------------------------- listing


def test_list_filters_by_each_indexed_field_and_by_tag(api: Api) -> None:
    laptop = create(api, kind="hardware", category="laptop", location="Berlin", tags={"team": "sre"})
    server = create(api, kind="hardware", category="server", location="Frankfurt", tags={"team": "data"})
    saas = create(api, kind="saas", category="design", tags={"team": "sre"})
    api.post(f"/v1/assets/{server['id']}/transitions", {"to": "ordered"})

    def ids(**query: str) -> set[str]:
        reply = api.get("/v1/assets", query=query)
        assert reply.status == 200, reply.body
        return {a["id"] for a in reply.body["items"]}

    assert ids() == {laptop["id"], server["id"], saas["id"]}
    assert ids(kind="hardware") == {laptop["id"], server["id"]}
    assert ids(status="ordered") == {server["id"]}
    assert ids(category="laptop") == {laptop["id"]}
    assert ids(location="Frankfurt") == {server["id"]}
    assert ids(tag="team:sre") == {laptop["id"], saas["id"]}
    assert ids(kind="hardware", tag="team:sre") == {laptop["id"]}
    assert ids(kind="saas", location="Berlin") == set()


def test_list_filter_by_assignee(api: Api) -> None:
    asset = create(api, status="in_stock")
    create(api, status="in_stock")
    api.post(f"/v1/assets/{asset['id']}/checkout", {"assignee": "alice@acme.example.com"})

    reply = api.get("/v1/assets", query={"assigned_to": "alice@acme.example.com"})

    assert [a["id"] for a in reply.body["items"]] == [asset["id"]]


def test_cursor_pagination_walks_every_asset_once(api: Api) -> None:
    created = {create(api, name=f"asset {i}")["id"] for i in range(7)}

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        query = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        reply = api.get("/v1/assets", query=query)
        assert reply.status == 200
        assert len(reply.body["items"]) <= 3
        seen += [a["id"] for a in reply.body["items"]]
        cursor = reply.body["next_cursor"]
        pages += 1
        if cursor is None:
            break

    assert sorted(seen) == sorted(created)
    assert pages == 3
    # Newest first: ids are time-ordered.
    assert seen == sorted(seen, reverse=True)


@pytest.mark.parametrize("cursor", ["garbage!", "eyJrIjp7fX0", "e30"])
def test_invalid_cursor_is_400(api: Api, cursor: str) -> None:
    reply = api.get("/v1/assets", query={"cursor": cursor})
    assert reply.status == 400
    assert reply.body["type"] == "/problems/invalid-cursor"


def test_cursor_of_another_query_or_tenant_is_400(api: Api) -> None:
    for i in range(3):
        create(api, name=f"a{i}")
    cursor = api.get("/v1/assets", query={"limit": "1"}).body["next_cursor"]
    assert cursor

    assert api.get("/v1/assets", query={"limit": "1", "kind": "saas", "cursor": cursor}).status == 400
    assert api.as_("globex").get("/v1/assets", query={"cursor": cursor}).status == 400


@pytest.mark.parametrize("limit", ["0", "101", "ten"])
def test_limit_out_of_range_is_422(api: Api, limit: str) -> None:
    assert api.get("/v1/assets", query={"limit": limit}).status == 422


# ---------------------------------------------------------------- lifecycle


def test_full_lifecycle_to_disposal(api: Api) -> None:
    asset = create(api)
    path = f"/v1/assets/{asset['id']}/transitions"

    for state in ("ordered", "in_stock", "deployed", "in_maintenance", "deployed", "retired"):
        reply = api.post(path, {"to": state, "reason": f"now {state}"})
        assert reply.status == 200, reply.body
        assert reply.body["status"] == state
    disposed = api.post(path, {"to": "disposed", "disposal": {"method": "recycled", "date": "2026-11-27"}})

    assert disposed.status == 200
    # Without depreciation terms the disposal is recorded unvalued, and says why.
    assert disposed.body["disposal"] == {
        "method": "recycled",
        "date": "2026-11-27",
        "notes": None,
        "proceeds": None,
        "book_value": None,
        "gain_or_loss": None,
        "unvalued_reason": (
            "the asset has no depreciation terms of its own and no category to take a profile from"
        ),
    }
    assert disposed.headers["ETag"] == '"8"'
    final = api.post(path, {"to": "in_stock"})
    assert final.status == 409
    assert final.body["allowed"] == []


def test_illegal_transition_is_409_naming_allowed_states(api: Api) -> None:
    asset = create(api)

    reply = api.post(f"/v1/assets/{asset['id']}/transitions", {"to": "deployed"})

    assert reply.status == 409
    assert reply.body["type"] == "/problems/illegal-transition"
    assert reply.body["allowed"] == ["ordered", "cancelled"]
    assert "ordered" in reply.body["detail"]
    assert api.get(f"/v1/assets/{asset['id']}").body["status"] == "planned"


def test_disposal_needs_method_and_date(api: Api) -> None:
    asset = create(api, status="in_stock")
    path = f"/v1/assets/{asset['id']}/transitions"
    api.post(path, {"to": "retired"})

    assert api.post(path, {"to": "disposed"}).status == 422
    assert (
        api.post(path, {"to": "disposed", "disposal": {"method": "burned", "date": "2026-11-27"}}).status
        == 422
    )
    assert api.get(f"/v1/assets/{asset['id']}").body["status"] == "retired"


def test_transition_honours_if_match(api: Api) -> None:
    asset = create(api)
    path = f"/v1/assets/{asset['id']}/transitions"
    assert api.post(path, {"to": "ordered"}, headers={"if-match": '"5"'}).status == 412
    assert api.post(path, {"to": "ordered"}, headers={"if-match": '"1"'}).status == 200


# ---------------------------------------------------------------- check-out, check-in, maintenance


def test_checkout_and_checkin_keep_assignment_history(api: Api) -> None:
    asset = create(api, status="in_stock", location="Berlin")
    base = f"/v1/assets/{asset['id']}"

    out = api.post(
        f"{base}/checkout", {"assignee": "alice", "location": "Home office", "expected_return": "2027-01-31"}
    )
    twice = api.post(f"{base}/checkout", {"assignee": "bob"})
    back = api.post(f"{base}/checkin", {"location": "Berlin", "condition": "good", "note": "keyboard worn"})
    again = api.post(f"{base}/checkin", {})
    out2 = api.post(f"{base}/checkout", {"assignee": "bob"})

    assert out.status == 200
    assert (out.body["status"], out.body["assigned_to"], out.body["location"]) == (
        "deployed",
        "alice",
        "Home office",
    )
    assert out.body["expected_return"] == "2027-01-31"
    assert twice.status == 409
    assert back.status == 200
    assert (back.body["status"], back.body["assigned_to"], back.body["condition"]) == (
        "in_stock",
        None,
        "good",
    )
    assert again.status == 409
    assert out2.body["assigned_to"] == "bob"
    assignments = api.get(f"{base}/assignments").body["items"]
    assert [a["assignee"] for a in assignments] == ["alice", "bob"]
    assert assignments[0]["returned_at"] is not None
    assert assignments[0]["return_condition"] == "good"
    assert assignments[0]["return_note"] == "keyboard worn"
    assert assignments[1]["returned_at"] is None


def test_checkout_needs_a_stock_or_deployed_asset(api: Api) -> None:
    asset = create(api)
    reply = api.post(f"/v1/assets/{asset['id']}/checkout", {"assignee": "alice"})
    assert reply.status == 409
    assert reply.body["type"] == "/problems/invalid-state"


def test_retiring_a_checked_out_asset_is_refused(api: Api) -> None:
    asset = create(api, status="in_stock")
    api.post(f"/v1/assets/{asset['id']}/checkout", {"assignee": "alice"})
    reply = api.post(f"/v1/assets/{asset['id']}/transitions", {"to": "retired"})
    assert reply.status == 409
    assert "check it in" in reply.body["detail"]


def test_maintenance_records_are_logged_and_listed(api: Api) -> None:
    asset = create(api, status="in_stock")
    base = f"/v1/assets/{asset['id']}/maintenance"

    first = api.post(
        base,
        {
            "type": "repair",
            "title": "Replace battery",
            "vendor": "Apple",
            "cost": {"amount": "189.00", "currency": "EUR"},
            "start_date": "2026-11-20",
            "completion_date": "2026-11-22",
        },
    )
    second = api.post(base, {"type": "inspection", "title": "Annual check", "start_date": "2026-11-25"})
    bad = api.post(
        base, {"type": "repair", "title": "x", "start_date": "2026-11-20", "completion_date": "2026-11-01"}
    )

    assert first.status == 201
    assert first.body["cost"] == {"amount": "189.00", "currency": "EUR"}
    assert second.status == 201
    assert bad.status == 422
    listed = api.get(base).body["items"]
    assert [m["title"] for m in listed] == ["Replace battery", "Annual check"]


# ---------------------------------------------------------------- history


def test_history_records_every_change_with_actor_and_field_diff(api: Api) -> None:
    asset = create(api, **LAPTOP)
    base = f"/v1/assets/{asset['id']}"
    editor = api.as_("acme", "editor", user="u-2")
    editor.patch(base, {"location": "Paris", "tags": {"team": "sre"}}, etag='"1"')
    api.post(f"{base}/transitions", {"to": "ordered", "reason": "PO sent"})
    api.post(f"{base}/maintenance", {"type": "upgrade", "title": "RAM", "start_date": "2026-11-26"})

    events = api.as_("acme", "auditor").get(f"{base}/history").body["items"]

    assert [e["type"] for e in events] == ["created", "updated", "transitioned", "maintenance_logged"]
    assert [e["version"] for e in events] == [1, 2, 3, 4]
    assert events[1]["actor"]["user_id"] == "acme-u-2"
    assert events[1]["changes"] == [
        {"field": "location", "from": "Berlin", "to": "Paris"},
        {"field": "tags.team", "from": None, "to": "sre"},
    ]
    assert events[2]["changes"] == [{"field": "status", "from": "planned", "to": "ordered"}]
    assert events[2]["reason"] == "PO sent"
    assert events[3]["ref"] is not None


def test_history_is_paginated(api: Api) -> None:
    asset = create(api)
    for i in range(4):
        api.patch(f"/v1/assets/{asset['id']}", {"name": f"n{i}"}, etag=f'"{i + 1}"')
    first = api.get(f"/v1/assets/{asset['id']}/history", query={"limit": "3"}).body
    second = api.get(
        f"/v1/assets/{asset['id']}/history", query={"limit": "3", "cursor": first["next_cursor"]}
    ).body
    assert [e["version"] for e in first["items"] + second["items"]] == [1, 2, 3, 4, 5]
    assert second["next_cursor"] is None


def test_rejected_writes_leave_no_history(api: Api) -> None:
    asset = create(api)
    base = f"/v1/assets/{asset['id']}"
    api.patch(base, {"name": "x"}, etag='"9"')
    api.post(f"{base}/transitions", {"to": "disposed"})
    api.post(f"{base}/checkin", {})
    api.patch(base, {"status": "retired"}, etag='"1"')

    events = api.get(f"{base}/history").body["items"]
    assert [e["type"] for e in events] == ["created"]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/v1/assets/0123456789abcdef0123456789abcdef", "GET, PATCH"),
        ("PUT", "/v1/assets", "GET, POST"),
        ("TRACE", "/v1/health", "GET"),
        ("GET", "/v1/assets/0123456789abcdef0123456789abcdef/checkout", "POST"),
    ],
)
def test_a_method_a_route_does_not_serve_is_405_with_allow(
    api: Api, method: str, path: str, allow: str
) -> None:
    reply = api.call(method, path)
    assert reply.status == 405
    assert reply.headers["Allow"] == allow
    assert reply.body["type"] == "/problems/method-not-allowed"


@pytest.mark.parametrize("tag", ["a]b:x", "no-colon", "a:b:c" * 60, ":x", "a[0]:x"])
def test_malformed_tag_filters_are_422(api: Api, tag: str) -> None:
    reply = api.get("/v1/assets", query={"tag": tag})
    assert reply.status == 422, reply.body
    assert reply.body["errors"][0]["field"] == "tag"


def test_tag_keys_with_dots_and_slashes_filter_exactly(api: Api) -> None:
    tagged = create(api, tags={"cost.center": "42", "team/sub": "a"})
    create(api, tags={"cost": "42"})
    for tag in ("cost.center:42", "team/sub:a"):
        assert [a["id"] for a in api.get("/v1/assets", query={"tag": tag}).body["items"]] == [tagged["id"]]
