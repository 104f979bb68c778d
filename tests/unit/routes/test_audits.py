"""The audit routes: an audit is queued for the worker and read back, on the in-memory fakes."""

from __future__ import annotations

from tests.unit.routes.conftest import Api, Services, assert_problem


def test_an_audit_is_accepted_queued_listed_and_read(api: Api, services: Services) -> None:
    accepted = api.post("/v1/audits")

    assert accepted.status == 202
    assert accepted.headers["Location"] == f"/v1/audits/{accepted.body['id']}"
    assert len(services.audit_queue.sent) == 1
    assert [a["id"] for a in api.get("/v1/audits").body["items"]] == [accepted.body["id"]]
    detail = api.get(accepted.headers["Location"])
    assert (detail.status, detail.body["id"]) == (200, accepted.body["id"])


def test_a_viewer_may_not_run_an_audit(api: Api, services: Services) -> None:
    assert_problem(api.as_(role="viewer").post("/v1/audits"), 403, "forbidden")
    assert services.audit_queue.sent == []


def test_another_tenants_audit_is_not_found(api: Api) -> None:
    audit = api.post("/v1/audits").body

    assert_problem(api.as_("globex").get(f"/v1/audits/{audit['id']}"), 404, "not-found")


def test_the_page_size_is_validated(api: Api) -> None:
    assert_problem(api.get("/v1/audits", query={"limit": "1001"}), 422, "validation-error")


def test_an_audit_requested_again_with_its_key_is_queued_once(api: Api, services: Services) -> None:
    key = {"idempotency-key": "monthly-review"}

    first = api.post("/v1/audits", headers=key)
    again = api.post("/v1/audits", headers=key)

    assert (first.status, again.status) == (202, 202)
    assert (again.body, again.headers["Location"]) == (first.body, first.headers["Location"])
    assert len(services.audit_queue.sent) == 1
    assert len(api.get("/v1/audits").body["items"]) == 1
    assert api.as_("globex").post("/v1/audits", headers=key).body["id"] != first.body["id"]
    assert_problem(
        api.post("/v1/licenses", {"product": "X", "metric": "site", "quantity": 1}, headers=key),
        422,
        "idempotency-key-reused",
    )
