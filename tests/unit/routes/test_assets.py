"""The asset routes: register, list, read, change, lifecycle, check-out and check-in, maintenance and
history, through the real handler on the in-memory asset register."""

from __future__ import annotations

from typing import Any

from tests.unit.routes.conftest import Api, Services, assert_problem

LAPTOP = {"name": "Laptop 14", "kind": "hardware", "category": "laptop", "status": "in_stock"}


def register(api: Api, **fields: Any) -> dict[str, Any]:
    reply = api.post("/v1/assets", {**LAPTOP, **fields})
    assert reply.status == 201, reply.body
    body: dict[str, Any] = reply.body
    return body


def test_register_answers_201_with_location_and_etag_and_reads_back(api: Api, services: Services) -> None:
    reply = api.post("/v1/assets", LAPTOP)

    assert reply.status == 201
    assert reply.headers["Location"] == f"/v1/assets/{reply.body['id']}"
    assert reply.etag == '"1"'
    assert api.get(reply.headers["Location"]).body == reply.body
    assert list(services.asset_repo.assets) == [("acme", reply.body["id"])]


def test_register_with_an_idempotency_key_returns_the_first_asset_on_retry(api: Api) -> None:
    first = api.post("/v1/assets", LAPTOP, headers={"idempotency-key": "k-1"})
    again = api.post("/v1/assets", LAPTOP, headers={"idempotency-key": "k-1"})

    assert again.body["id"] == first.body["id"]
    assert len(api.get("/v1/assets").body["items"]) == 1


def test_list_filters_by_query_and_pages(api: Api) -> None:
    laptop = register(api)
    register(api, name="Phone", category="phone")

    reply = api.get("/v1/assets", query={"category": "laptop", "limit": "10"})

    assert reply.status == 200
    assert [a["id"] for a in reply.body["items"]] == [laptop["id"]]
    assert reply.body["next_cursor"] is None


def test_update_needs_the_current_etag(api: Api) -> None:
    path = f"/v1/assets/{register(api)['id']}"

    assert_problem(api.patch(path, {"name": "renamed"}), 428, "precondition-required")
    reply = api.patch(path, {"name": "renamed"}, headers={"if-match": '"1"'})
    assert (reply.status, reply.body["name"], reply.etag) == (200, "renamed", '"2"')
    assert_problem(api.patch(path, {"name": "lost"}, headers={"if-match": '"1"'}), 412)


def test_lifecycle_transition_and_an_illegal_one(api: Api) -> None:
    path = f"/v1/assets/{register(api, status='planned')['id']}/transitions"

    assert api.post(path, {"to": "ordered"}).body["status"] == "ordered"
    illegal = api.post(path, {"to": "deployed"})
    assert_problem(illegal, 409, "illegal-transition")
    assert illegal.body["allowed"] == ["in_stock", "cancelled"]


def test_a_move_out_of_service_answers_what_it_released(api: Api, services: Services) -> None:
    laptop = register(api)
    lic = api.post("/v1/licenses", {"product": "Visio", "metric": "per_device", "quantity": 1}).body
    seat = api.post(f"/v1/licenses/{lic['id']}/assignments", {"asset_id": laptop["id"]}).body
    install = api.post(f"/v1/assets/{laptop['id']}/software", {"product": "Visio", "version": "16"}).body

    reply = api.post(f"/v1/assets/{laptop['id']}/transitions", {"to": "retired", "reason": "broken"})

    assert (reply.status, reply.etag, reply.body["status"]) == (200, '"2"', "retired")
    assert reply.body["released"] == {
        "reason": "asset_retired",
        "seats": [{"license_id": lic["id"], "assignment_id": seat["id"], "product": "Visio"}],
        "installations": [{"id": install["id"], "product": "Visio", "version": "16"}],
        "complete": True,
    }
    assert api.get(f"/v1/assets/{laptop['id']}").body == {
        k: v for k, v in reply.body.items() if k != "released"
    }
    assert api.get(f"/v1/licenses/{lic['id']}").body["assigned"] == 0
    [event] = [e for _, e in services.asset_events.published]
    assert event["released"] == reply.body["released"]
    # a move within service answers released: null
    other = register(api)
    assert api.post(f"/v1/assets/{other['id']}/transitions", {"to": "deployed"}).body["released"] is None


def test_a_patch_to_a_kind_without_installations_is_409_while_some_count(api: Api) -> None:
    laptop = register(api)
    api.post(f"/v1/assets/{laptop['id']}/software", {"product": "Visio"})

    refused = api.patch(f"/v1/assets/{laptop['id']}", {"kind": "saas"}, headers={"if-match": '"1"'})

    assert_problem(refused, 409, "kind-holds-installations")
    assert "1 counted software installation" in refused.body["detail"]
    assert api.get(f"/v1/assets/{laptop['id']}").etag == '"1"'


def test_checkout_checkin_and_the_assignments(api: Api) -> None:
    asset = register(api)
    base = f"/v1/assets/{asset['id']}"

    out = api.post(f"{base}/checkout", {"assignee": "alice@acme.example.com"})
    assert (out.status, out.body["assigned_to"]) == (200, "alice@acme.example.com")
    back = api.post(f"{base}/checkin", {"condition": "good"})
    assert back.status == 200 and back.body["assigned_to"] is None

    [assignment] = api.get(f"{base}/assignments").body["items"]
    assert assignment["assignee"] == "alice@acme.example.com"
    assert assignment["returned_at"] is not None


def test_maintenance_is_logged_and_listed(api: Api) -> None:
    base = f"/v1/assets/{register(api)['id']}"
    record = {"type": "repair", "title": "New battery", "start_date": "2026-11-20"}

    logged = api.post(f"{base}/maintenance", record)

    assert logged.status == 201
    assert [m["id"] for m in api.get(f"{base}/maintenance").body["items"]] == [logged.body["id"]]


def test_history_lists_every_change(api: Api) -> None:
    asset = register(api)
    api.patch(f"/v1/assets/{asset['id']}", {"name": "renamed"}, headers={"if-match": asset_etag(asset)})

    reply = api.get(f"/v1/assets/{asset['id']}/history")

    assert [e["type"] for e in reply.body["items"]] == ["created", "updated"]


def asset_etag(asset: dict[str, Any]) -> str:
    return f'"{asset["version"]}"'


def test_a_viewer_reads_but_may_not_write(api: Api) -> None:
    asset = register(api)
    viewer = api.as_(role="viewer")

    assert viewer.get(f"/v1/assets/{asset['id']}").status == 200
    assert_problem(viewer.post("/v1/assets", LAPTOP), 403, "forbidden")
    assert_problem(viewer.post(f"/v1/assets/{asset['id']}/checkout", {"assignee": "bob"}), 403)


def test_another_tenants_asset_is_not_found(api: Api) -> None:
    asset = register(api)
    globex = api.as_("globex")

    assert_problem(globex.get(f"/v1/assets/{asset['id']}"), 404, "not-found")
    assert_problem(globex.get(f"/v1/assets/{asset['id']}/history"), 404, "not-found")
    assert globex.get("/v1/assets").body["items"] == []


def test_invalid_bodies_and_queries_answer_422(api: Api) -> None:
    unknown = api.post("/v1/assets", {**LAPTOP, "colour": "red"})
    assert_problem(unknown, 422, "validation-error")
    assert unknown.body["errors"][0]["field"] == "colour"
    assert_problem(api.get("/v1/assets", query={"limit": "0"}), 422, "validation-error")
    assert_problem(api.get("/v1/assets", query={"kind": "spaceship"}), 422, "validation-error")
