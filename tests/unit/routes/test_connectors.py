"""The inventory connector routes (admins only): connectors, manual syncs and their runs."""

from __future__ import annotations

from typing import Any

from tests.unit.routes.conftest import Api, Services, assert_problem

AWS = {"type": "aws", "name": "Org", "settings": {"role_arn": "arn:aws:iam::123456789012:role/itam-reader"}}


def create(api: Api) -> dict[str, Any]:
    reply = api.post("/v1/connectors", AWS)
    assert reply.status == 201, reply.body
    body: dict[str, Any] = reply.body
    return body


def test_create_read_update_and_delete(api: Api) -> None:
    created = api.post("/v1/connectors", AWS)
    path = created.headers["Location"]

    assert (created.status, created.etag, path) == (201, '"1"', f"/v1/connectors/{created.body['id']}")
    assert created.body["external_id"].startswith("itam-acme-")
    assert api.get(path).body == created.body
    assert [c["id"] for c in api.get("/v1/connectors").body["items"]] == [created.body["id"]]
    assert_problem(api.patch(path, {"name": "Org 2"}, headers={"if-match": '"9"'}), 412)
    updated = api.patch(path, {"name": "Org 2"}, headers={"if-match": '"1"'})
    assert (updated.status, updated.etag) == (200, '"2"')
    assert api.delete(path).status == 204
    assert_problem(api.get(path), 404, "not-found")


def test_a_manual_sync_is_queued_and_its_run_is_read(api: Api, services: Services) -> None:
    connector = create(api)

    run = api.post(f"/v1/connectors/{connector['id']}/sync")

    assert run.status == 202
    assert run.headers["Location"] == f"/v1/sync-runs/{run.body['id']}"
    assert len(services.sync_queue.sent) == 1
    assert api.get(run.headers["Location"]).body["status"] == "queued"
    assert [r["id"] for r in api.get(f"/v1/connectors/{connector['id']}/runs").body["items"]] == [
        run.body["id"]
    ]


def test_only_admins_manage_connectors(api: Api) -> None:
    connector = create(api)

    assert_problem(api.as_(role="editor").post("/v1/connectors", AWS), 403, "forbidden")
    assert_problem(api.as_(role="viewer").get(f"/v1/connectors/{connector['id']}"), 403, "forbidden")


def test_another_tenants_connector_and_runs_are_not_found(api: Api) -> None:
    connector = create(api)
    run = api.post(f"/v1/connectors/{connector['id']}/sync").body
    globex = api.as_("globex")

    assert_problem(globex.get(f"/v1/connectors/{connector['id']}"), 404, "not-found")
    assert_problem(globex.post(f"/v1/connectors/{connector['id']}/sync"), 404, "not-found")
    assert_problem(globex.get(f"/v1/sync-runs/{run['id']}"), 404, "not-found")


def test_an_unknown_connector_type_is_422(api: Api) -> None:
    assert_problem(api.post("/v1/connectors", {"type": "ftp", "name": "x"}), 422, "validation-error")
