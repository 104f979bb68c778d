"""Edge cases of the register on moto: spelling of unique values, odd numbers, no-op writes, cursors."""

from __future__ import annotations

from typing import Any

import pytest

from itam.adapters import cursors
from itam.assets.models import AssetFilter
from tests.integration.conftest import Api


def create(api: Api, **fields: Any) -> dict[str, Any]:
    reply = api.post("/v1/assets", {"name": "Asset", "kind": "hardware", **fields})
    assert reply.status == 201, reply.body
    return reply.body


@pytest.mark.parametrize(
    ("field", "before", "after"), [("asset_tag", "LT-001", "lt-001"), ("serial_number", "SN1", "sn1")]
)
def test_changing_only_the_case_of_a_unique_value_keeps_its_guard(
    api: Api, field: str, before: str, after: str
) -> None:
    asset = create(api, **{field: before})

    reply = api.patch(f"/v1/assets/{asset['id']}", {field: after}, etag='"1"')

    assert reply.status == 200, reply.body
    assert reply.body[field] == after
    assert api.post("/v1/assets", {"name": "x", "kind": "hardware", field: before}).status == 409


def test_unique_values_are_compared_after_unicode_normalisation(api: Api) -> None:
    create(api, serial_number="\uff251-\u00e9")  # full-width E, composed é
    reply = api.post("/v1/assets", {"name": "x", "kind": "hardware", "serial_number": "e1-e\u0301"})
    assert reply.status == 409


def test_clearing_a_serial_frees_it(api: Api) -> None:
    asset = create(api, serial_number="SN-9")
    assert api.patch(f"/v1/assets/{asset['id']}", {"serial_number": None}, etag='"1"').status == 200
    assert api.post("/v1/assets", {"name": "x", "kind": "hardware", "serial_number": "sn-9"}).status == 201


@pytest.mark.parametrize(
    "raw",
    [
        '{"name": "x", "kind": "hardware", "custom_fields": {"n": NaN}}',
        '{"name": "x", "kind": "hardware", "custom_fields": {"n": Infinity}}',
    ],
)
def test_nan_and_infinity_are_not_json(api: Api, raw: str) -> None:
    assert api.call("POST", "/v1/assets", raw_body=raw).status == 400
    assert api.get("/v1/assets").body["items"] == []


def test_numbers_too_large_for_a_float_are_refused(api: Api) -> None:
    reply = api.call(
        "POST", "/v1/assets", raw_body='{"name": "x", "kind": "hardware", "custom_fields": {"n": 1e400}}'
    )
    assert reply.status == 422
    assert api.get("/v1/assets").body["items"] == []


def test_custom_text_values_are_bounded(api: Api) -> None:
    reply = api.post("/v1/assets", {"name": "x", "kind": "hardware", "custom_fields": {"blob": "x" * 1025}})
    assert reply.status == 422
    assert reply.body["errors"][0]["field"].startswith("custom_fields.blob")


def test_a_patch_that_changes_nothing_writes_nothing(api: Api) -> None:
    asset = create(api, location="Berlin", tags={"a": "1"})
    path = f"/v1/assets/{asset['id']}"

    for body in ({}, {"location": "Berlin"}, {"tags": {"a": "1"}}):
        reply = api.patch(path, body, etag='"1"')
        assert (reply.status, reply.etag) == (200, '"1"')

    assert [e["type"] for e in api.get(f"{path}/history").body["items"]] == ["created"]


def test_a_change_of_type_alone_is_a_change(api: Api) -> None:
    asset = create(api, custom_fields={"flag": 1})
    reply = api.patch(f"/v1/assets/{asset['id']}", {"custom_fields": {"flag": True}}, etag='"1"')

    assert (reply.status, reply.etag, reply.body["custom_fields"]) == (200, '"2"', {"flag": True})
    history = api.get(f"/v1/assets/{asset['id']}/history").body["items"]
    assert history[-1]["changes"] == [{"field": "custom_fields.flag", "from": 1, "to": True}]


def test_null_clears_a_whole_map(api: Api) -> None:
    asset = create(api, tags={"a": "1", "b": "2"}, custom_fields={"n": 1})
    reply = api.patch(f"/v1/assets/{asset['id']}", {"tags": None, "custom_fields": None}, etag='"1"')
    assert (reply.body["tags"], reply.body["custom_fields"]) == ({}, {})


def test_if_match_star_matches_any_version(api: Api) -> None:
    asset = create(api)
    api.patch(f"/v1/assets/{asset['id']}", {"name": "v2"}, etag='"1"')
    assert api.patch(f"/v1/assets/{asset['id']}", {"name": "v3"}, etag="*").etag == '"3"'


def test_a_viewer_is_told_it_may_not_write_before_anything_else(api: Api) -> None:
    asset = create(api)
    assert api.as_("acme", "viewer").patch(f"/v1/assets/{asset['id']}", {"name": "x"}).status == 403


def test_an_assignee_at_creation_needs_a_status_that_can_hold_one(api: Api) -> None:
    refused = api.post("/v1/assets", {"name": "x", "kind": "hardware", "assigned_to": "bob"})
    accepted = api.post(
        "/v1/assets", {"name": "x", "kind": "hardware", "assigned_to": "bob", "status": "deployed"}
    )
    assert refused.status == 422
    assert refused.body["errors"][0]["field"] == "assigned_to"
    assert accepted.status == 201


def test_a_disposed_asset_takes_no_maintenance(api: Api) -> None:
    asset = create(api, status="in_stock")
    path = f"/v1/assets/{asset['id']}"
    api.post(f"{path}/transitions", {"to": "retired"})
    api.post(f"{path}/transitions", {"to": "disposed", "disposal": {"method": "sold", "date": "2026-11-27"}})

    reply = api.post(f"{path}/maintenance", {"type": "inspection", "title": "x", "start_date": "2026-11-27"})

    assert reply.status == 409
    assert api.get(f"{path}/maintenance").body["items"] == []


@pytest.mark.parametrize("asset_id", ["0123456789ABCDEF0123456789ABCDEF", "é" * 32, "0" * 31])
def test_ids_that_cannot_be_asset_ids_are_404(api: Api, asset_id: str) -> None:
    assert api.get(f"/v1/assets/{asset_id}").status == 404


def test_filter_values_are_trimmed_like_stored_values(api: Api) -> None:
    asset = create(api, location=" Berlin ")
    assert asset["location"] == "Berlin"
    items = api.get("/v1/assets", query={"location": "Berlin "}).body["items"]
    assert [a["id"] for a in items] == [asset["id"]]


def _scope(tenant: str = "acme") -> str:
    return f"{tenant}|assets|{AssetFilter().model_dump_json()}"


def _forged_cursor(key: dict[str, str], tenant: str = "acme") -> str:
    """A cursor sealed with the deployment's own secret for acme's unfiltered listing, but a chosen
    key: what a leaked cursor secret would let someone forge. The key checks still hold."""
    return cursors.seal(key, _scope(tenant))


@pytest.mark.parametrize(
    "key",
    [
        {"GSI1PK": "T#acme#ASSETS"},
        {"GSI1PK": "T#acme#ASSETS", "GSI1SK": "x", "PK": "T#globex#ASSET#x", "SK": "META"},
        {"GSI1PK": "T#acme#ASSETS", "GSI1SK": "x", "PK": "T#acme#ASSET#x", "SK": "META", "extra": "y"},
    ],
)
def test_forged_cursors_are_400(api: Api, key: dict[str, str]) -> None:
    create(api)
    reply = api.get("/v1/assets", query={"cursor": _forged_cursor(key)})
    assert reply.status == 400
    assert reply.body["type"] == "/problems/invalid-cursor"


def test_the_forged_cursor_helper_matches_real_cursors(api: Api) -> None:
    """Guards the test above: a genuine key in a forged cursor is accepted, so the 400s are about the key."""
    for i in range(2):
        create(api, name=f"a{i}")
    real = api.get("/v1/assets", query={"limit": "1"}).body["next_cursor"]
    key = cursors.unseal(real, _scope())
    assert api.get("/v1/assets", query={"cursor": _forged_cursor(key)}).status == 200


def test_an_id_token_without_token_use_is_refused(api: Api) -> None:
    assert api.claims is not None
    del api.claims["token_use"]
    reply = api.get("/v1/assets")
    assert reply.status == 401
    assert reply.headers["WWW-Authenticate"].startswith("Bearer")
