"""The license routes: licenses, their history and their seat assignments, on the in-memory fakes."""

from __future__ import annotations

from typing import Any

from tests.unit.routes.conftest import Api, assert_problem

OFFICE = {"product": "Microsoft 365 Apps", "vendor": "Microsoft", "metric": "per_user", "quantity": 2}


def create(api: Api, **fields: Any) -> dict[str, Any]:
    reply = api.post("/v1/licenses", {**OFFICE, **fields})
    assert reply.status == 201, reply.body
    body: dict[str, Any] = reply.body
    return body


def test_create_answers_201_with_location_and_etag(api: Api) -> None:
    reply = api.post("/v1/licenses", OFFICE)

    assert reply.status == 201
    assert reply.headers["Location"] == f"/v1/licenses/{reply.body['id']}"
    assert reply.etag == '"1"'
    assert api.get(reply.headers["Location"]).body == reply.body


def test_list_filters_by_product(api: Api) -> None:
    office = create(api)
    create(api, product="Visio", metric="per_device")

    reply = api.get("/v1/licenses", query={"product": "microsoft 365 apps"})

    assert [lic["id"] for lic in reply.body["items"]] == [office["id"]]


def test_update_needs_the_current_etag_and_is_in_the_history(api: Api) -> None:
    path = f"/v1/licenses/{create(api)['id']}"

    assert_problem(api.patch(path, {"quantity": 5}), 428, "precondition-required")
    updated = api.patch(path, {"quantity": 5}, headers={"if-match": '"1"'})
    assert (updated.status, updated.body["quantity"], updated.etag) == (200, 5, '"2"')
    assert [e["type"] for e in api.get(f"{path}/history").body["items"]] == ["created", "updated"]


def test_seats_are_assigned_listed_and_released(api: Api) -> None:
    lic = create(api)
    base = f"/v1/licenses/{lic['id']}/assignments"

    seat = api.post(base, {"user": "alice"})
    assert seat.status == 201
    assert seat.headers["Location"] == f"{base}/{seat.body['id']}"
    assert_problem(api.post(base, {"user": "alice"}), 409, "seat-taken")
    assert [s["id"] for s in api.get(base).body["items"]] == [seat.body["id"]]

    released = api.delete(f"{base}/{seat.body['id']}")
    assert released.status == 200 and released.body["released_at"] is not None
    assert api.get(base).body["items"] == []
    assert [s["id"] for s in api.get(base, query={"released": "true"}).body["items"]] == [seat.body["id"]]


def test_a_full_license_has_no_seat_left(api: Api) -> None:
    base = f"/v1/licenses/{create(api, quantity=1)['id']}/assignments"
    api.post(base, {"user": "alice"})

    assert_problem(api.post(base, {"user": "bob"}), 409, "no-seat-left")


def test_a_viewer_reads_but_may_not_write(api: Api) -> None:
    lic = create(api)
    viewer = api.as_(role="viewer")

    assert viewer.get(f"/v1/licenses/{lic['id']}").status == 200
    assert_problem(viewer.post("/v1/licenses", OFFICE), 403, "forbidden")
    assert_problem(viewer.post(f"/v1/licenses/{lic['id']}/assignments", {"user": "v"}), 403, "forbidden")


def test_another_tenants_license_is_not_found(api: Api) -> None:
    lic = create(api)
    globex = api.as_("globex")

    assert_problem(globex.get(f"/v1/licenses/{lic['id']}"), 404, "not-found")
    assert_problem(globex.post(f"/v1/licenses/{lic['id']}/assignments", {"user": "x"}), 404, "not-found")
    assert globex.get("/v1/licenses").body["items"] == []


def test_invalid_bodies_and_queries_answer_422(api: Api) -> None:
    assert_problem(api.post("/v1/licenses", {**OFFICE, "quantity": -1}), 422, "validation-error")
    assert_problem(api.post("/v1/licenses", {**OFFICE, "metric": "per_galaxy"}), 422, "validation-error")
    query = {"expiring_within_days": "4000"}
    assert_problem(api.get("/v1/licenses", query=query), 422, "validation-error")


def test_a_create_sent_again_with_its_key_makes_one_license(api: Api) -> None:
    key = {"idempotency-key": "po-77-line-1"}

    first = api.post("/v1/licenses", OFFICE, headers=key)
    again = api.post("/v1/licenses", OFFICE, headers=key)

    assert (first.status, again.status) == (201, 201)
    assert (again.body, again.headers["Location"], again.etag) == (
        first.body,
        first.headers["Location"],
        first.etag,
    )
    assert [lic["id"] for lic in api.get("/v1/licenses").body["items"]] == [first.body["id"]]
    assert_problem(
        api.post("/v1/licenses", {**OFFICE, "quantity": 3}, headers=key), 422, "idempotency-key-reused"
    )


def test_license_keys_are_per_tenant(api: Api) -> None:
    key = {"idempotency-key": "shared"}
    mine = api.post("/v1/licenses", OFFICE, headers=key).body

    theirs = api.as_("globex").post("/v1/licenses", OFFICE, headers=key)

    assert theirs.status == 201 and theirs.body["id"] != mine["id"]
    assert [lic["id"] for lic in api.get("/v1/licenses").body["items"]] == [mine["id"]]


def test_a_seat_assigned_again_with_its_key_is_assigned_once(api: Api) -> None:
    lic = create(api)
    base = f"/v1/licenses/{lic['id']}/assignments"
    key = {"idempotency-key": "ticket-5"}

    first = api.post(base, {"user": "alice"}, headers=key)
    again = api.post(base, {"user": "alice"}, headers=key)

    assert (first.status, again.status) == (201, 201)
    assert (again.body, again.headers["Location"]) == (first.body, first.headers["Location"])
    assert api.get(f"/v1/licenses/{lic['id']}").body["assigned"] == 1
    assert_problem(api.post(base, {"user": "bob"}, headers=key), 422, "idempotency-key-reused")
    other = f"/v1/licenses/{create(api)['id']}/assignments"
    assert_problem(api.post(other, {"user": "alice"}, headers=key), 422, "idempotency-key-reused")


def test_a_seat_is_read_at_its_location(api: Api) -> None:
    lic = create(api)
    seat = api.post(f"/v1/licenses/{lic['id']}/assignments", {"user": "alice"})

    reply = api.as_(role="viewer").get(seat.headers["Location"])

    assert (reply.status, reply.body) == (200, seat.body)
    assert "ETag" not in reply.headers  # a seat has no version: it is assigned, then released


def test_an_unknown_released_or_foreign_seat_is_not_found(api: Api) -> None:
    lic = create(api)
    base = f"/v1/licenses/{lic['id']}/assignments"
    seat = api.post(base, {"user": "alice"}).body

    assert_problem(api.as_("globex").get(f"{base}/{seat['id']}"), 404, "not-found")
    assert_problem(api.get(f"{base}/{'0' * 32}"), 404, "not-found")
    assert_problem(api.get(f"{base}/not-an-id"), 404, "not-found")
    assert_problem(api.get(f"/v1/licenses/{create(api)['id']}/assignments/{seat['id']}"), 404, "not-found")
    api.delete(f"{base}/{seat['id']}")
    assert_problem(api.get(f"{base}/{seat['id']}"), 404, "not-found")
