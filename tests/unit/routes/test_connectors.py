"""The inventory connector routes (admins change, auditors read): connectors, manual syncs and runs."""

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
    assert_problem(api.as_(role="editor").get("/v1/connectors"), 403, "forbidden")


def test_an_auditor_reads_connectors_and_runs_but_changes_nothing(api: Api, services: Services) -> None:
    connector = create(api)
    path = f"/v1/connectors/{connector['id']}"
    run = api.post(f"{path}/sync").body
    auditor = api.as_(role="auditor")

    assert auditor.get(path).body == api.get(path).body
    assert [c["id"] for c in auditor.get("/v1/connectors").body["items"]] == [connector["id"]]
    assert [r["id"] for r in auditor.get(f"{path}/runs").body["items"]] == [run["id"]]
    assert auditor.get(f"/v1/sync-runs/{run['id']}").status == 200
    assert_problem(auditor.post("/v1/connectors", AWS), 403, "forbidden")
    assert_problem(auditor.patch(path, {"name": "x"}), 403, "forbidden")
    assert_problem(auditor.post(f"{path}/sync"), 403, "forbidden")
    assert_problem(auditor.delete(path), 403, "forbidden")
    assert len(services.sync_queue.sent) == 1
    assert api.get(path).body["name"] == "Org"


def test_a_connectors_type_is_not_patchable(api: Api) -> None:
    path = f"/v1/connectors/{create(api)['id']}"

    reply = api.patch(path, {"type": "okta"})

    assert_problem(reply, 422, "validation-error")
    [error] = reply.body["errors"]
    assert error["field"] == "type"
    assert "cannot be changed" in error["message"]
    assert api.get(path).body["type"] == "aws"


def test_a_create_sent_again_with_its_key_makes_one_connector(api: Api, services: Services) -> None:
    okta = {"type": "okta", "name": "Okta", "settings": {"org": "acme"}, "credentials": {"token": "t"}}
    key = {"idempotency-key": "setup-okta"}

    first = api.post("/v1/connectors", okta, headers=key)
    again = api.post("/v1/connectors", okta, headers=key)

    assert (first.status, again.status) == (201, 201)
    assert (again.body, again.headers["Location"], again.etag) == (
        first.body,
        first.headers["Location"],
        first.etag,
    )
    assert [c["id"] for c in api.get("/v1/connectors").body["items"]] == [first.body["id"]]
    assert list(services.secrets.secrets) == [f"itam-test/connectors/acme/{first.body['id']}"]
    changed = api.post("/v1/connectors", {**okta, "name": "Okta 2"}, headers=key)
    assert_problem(changed, 422, "idempotency-key-reused")
    assert api.as_("globex").post("/v1/connectors", okta, headers=key).status == 201
    assert len(services.secrets.secrets) == 2


def test_a_replay_of_a_deleted_connector_is_not_found_and_creates_nothing(api: Api) -> None:
    key = {"idempotency-key": "k"}
    first = api.post("/v1/connectors", AWS, headers=key)
    api.delete(first.headers["Location"])

    assert_problem(api.post("/v1/connectors", AWS, headers=key), 404, "not-found")
    assert api.get("/v1/connectors").body["items"] == []


def test_another_tenants_connector_and_runs_are_not_found(api: Api) -> None:
    connector = create(api)
    run = api.post(f"/v1/connectors/{connector['id']}/sync").body
    globex = api.as_("globex")

    assert_problem(globex.get(f"/v1/connectors/{connector['id']}"), 404, "not-found")
    assert_problem(globex.post(f"/v1/connectors/{connector['id']}/sync"), 404, "not-found")
    assert_problem(globex.get(f"/v1/sync-runs/{run['id']}"), 404, "not-found")


def test_an_unknown_connector_type_is_422(api: Api) -> None:
    assert_problem(api.post("/v1/connectors", {"type": "ftp", "name": "x"}), 422, "validation-error")
