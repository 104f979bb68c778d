"""The webhook endpoint routes (admins only): the secret is shown on create and rotation only."""

from __future__ import annotations

from typing import Any

from tests.unit.routes.conftest import Api, Services, assert_problem


def create(api: Api) -> dict[str, Any]:
    reply = api.post("/v1/webhook-endpoints", {"name": "Coupa", "description": "purchasing"})
    assert reply.status == 201, reply.body
    body: dict[str, Any] = reply.body
    return body


def test_create_shows_the_secret_once(api: Api, services: Services) -> None:
    reply = api.post("/v1/webhook-endpoints", {"name": "Coupa"})

    assert reply.status == 201
    assert reply.headers["Location"] == f"/v1/webhook-endpoints/{reply.body['id']}"
    assert reply.body["secret"].startswith("whsec_")
    read = api.get(reply.headers["Location"])
    assert read.status == 200 and "secret" not in read.body
    assert (
        services.secrets.secrets[f"itam-test/webhooks/acme/{reply.body['id']}"]["current"]
        == reply.body["secret"]
    )


def test_update_rotate_list_and_deliveries(api: Api) -> None:
    endpoint = create(api)
    path = f"/v1/webhook-endpoints/{endpoint['id']}"

    assert api.patch(path, {"name": "Coupa EU"}).body["name"] == "Coupa EU"
    rotated = api.post(f"{path}/rotate", {"overlap_hours": 1})
    assert rotated.status == 200
    assert rotated.body["secret"] != endpoint["secret"]
    assert rotated.body["previous_secret_expires_at"] is not None
    assert [e["id"] for e in api.get("/v1/webhook-endpoints").body["items"]] == [endpoint["id"]]
    assert api.get(f"{path}/deliveries").body == {"items": [], "next_cursor": None}


def test_delete_removes_the_endpoint_and_its_secret(api: Api, services: Services) -> None:
    endpoint = create(api)
    path = f"/v1/webhook-endpoints/{endpoint['id']}"

    assert api.delete(path).status == 204
    assert_problem(api.get(path), 404, "not-found")
    assert services.secrets.secrets == {}


def test_only_admins_manage_endpoints(api: Api) -> None:
    endpoint = create(api)

    assert_problem(api.as_(role="editor").post("/v1/webhook-endpoints", {"name": "x"}), 403, "forbidden")
    assert_problem(api.as_(role="viewer").get(f"/v1/webhook-endpoints/{endpoint['id']}"), 403, "forbidden")


def test_another_tenants_endpoint_is_not_found(api: Api) -> None:
    endpoint = create(api)
    globex = api.as_("globex")

    assert_problem(globex.get(f"/v1/webhook-endpoints/{endpoint['id']}"), 404, "not-found")
    assert_problem(globex.delete(f"/v1/webhook-endpoints/{endpoint['id']}"), 404, "not-found")
    assert globex.get("/v1/webhook-endpoints").body["items"] == []


def test_a_client_chosen_secret_is_refused(api: Api) -> None:
    reply = api.post("/v1/webhook-endpoints", {"name": "x", "secret": "mine"})

    assert_problem(reply, 422, "validation-error")
    assert reply.body["errors"][0]["field"] == "secret"
