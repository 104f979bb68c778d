"""The webhook endpoint routes (admins change, auditors read): the secret is shown on create (and its
replays) and rotation only."""

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
    assert_problem(api.as_(role="editor").get("/v1/webhook-endpoints"), 403, "forbidden")


def test_an_auditor_reads_endpoints_without_secrets_and_changes_nothing(api: Api, services: Services) -> None:
    endpoint = create(api)
    path = f"/v1/webhook-endpoints/{endpoint['id']}"
    auditor = api.as_(role="auditor")

    read = auditor.get(path)
    assert read.status == 200 and "secret" not in read.body
    assert read.body == api.get(path).body
    assert [e["id"] for e in auditor.get("/v1/webhook-endpoints").body["items"]] == [endpoint["id"]]
    assert auditor.get(f"{path}/deliveries").status == 200
    assert_problem(auditor.post("/v1/webhook-endpoints", {"name": "x"}), 403, "forbidden")
    assert_problem(auditor.patch(path, {"name": "x"}), 403, "forbidden")
    assert_problem(auditor.post(f"{path}/rotate", {}), 403, "forbidden")
    assert_problem(auditor.delete(path), 403, "forbidden")
    assert services.secrets.secrets[f"itam-test/webhooks/acme/{endpoint['id']}"] == {
        "current": endpoint["secret"]
    }


def test_a_create_sent_again_with_its_key_gets_the_same_answer_and_secret(
    api: Api, services: Services
) -> None:
    key = {"idempotency-key": "coupa-setup"}

    first = api.post("/v1/webhook-endpoints", {"name": "Coupa"}, headers=key)
    again = api.post("/v1/webhook-endpoints", {"name": "Coupa"}, headers=key)

    assert (first.status, again.status) == (201, 201)
    assert (again.body, again.headers["Location"]) == (first.body, first.headers["Location"])
    assert [e["id"] for e in api.get("/v1/webhook-endpoints").body["items"]] == [first.body["id"]]
    assert list(services.secrets.secrets) == [f"itam-test/webhooks/acme/{first.body['id']}"]


def test_an_endpoint_key_replays_only_for_its_body_person_and_tenant(api: Api) -> None:
    key = {"idempotency-key": "coupa-setup"}
    first = api.post("/v1/webhook-endpoints", {"name": "Coupa"}, headers=key).body

    other_body = api.post("/v1/webhook-endpoints", {"name": "Ariba"}, headers=key)
    other_admin = api.as_(user="u-2").post("/v1/webhook-endpoints", {"name": "Coupa"}, headers=key)
    other_tenant = api.as_("globex").post("/v1/webhook-endpoints", {"name": "Coupa"}, headers=key)

    assert_problem(other_body, 422, "idempotency-key-reused")
    assert_problem(other_admin, 422, "idempotency-key-reused")
    assert other_tenant.status == 201 and other_tenant.body["secret"] != first["secret"]


def test_a_replay_after_a_rotation_is_409_and_shows_no_secret(api: Api) -> None:
    key = {"idempotency-key": "coupa-setup"}
    first = api.post("/v1/webhook-endpoints", {"name": "Coupa"}, headers=key).body
    api.post(f"/v1/webhook-endpoints/{first['id']}/rotate", {"overlap_hours": 0})

    replay = api.post("/v1/webhook-endpoints", {"name": "Coupa"}, headers=key)

    assert_problem(replay, 409, "secret-rotated")
    assert "secret" not in replay.body and first["id"] in replay.body["detail"]
    assert len(api.get("/v1/webhook-endpoints").body["items"]) == 1


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
