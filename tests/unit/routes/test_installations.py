"""The installation routes: software recorded on an asset, on the in-memory fakes."""

from __future__ import annotations

from typing import Any

from tests.unit.routes.conftest import Api, assert_problem


def laptop(api: Api) -> dict[str, Any]:
    body: dict[str, Any] = api.post("/v1/assets", {"name": "Laptop", "kind": "hardware"}).body
    return body


def test_installations_are_added_listed_and_removed(api: Api) -> None:
    base = f"/v1/assets/{laptop(api)['id']}/software"

    added = api.post(base, {"product": "Visio", "vendor": "Microsoft"})
    assert added.status == 201
    assert added.headers["Location"] == f"{base}/{added.body['id']}"
    assert [i["canonical_product"] for i in api.get(base).body["items"]] == ["Visio"]

    removed = api.delete(f"{base}/{added.body['id']}")
    assert (removed.status, removed.body) == (204, "")
    assert api.get(base).body["items"] == []
    assert_problem(api.delete(f"{base}/{added.body['id']}"), 404, "not-found")


def test_a_viewer_may_not_record_software(api: Api) -> None:
    base = f"/v1/assets/{laptop(api)['id']}/software"

    assert api.as_(role="viewer").get(base).status == 200
    assert_problem(api.as_(role="viewer").post(base, {"product": "Visio"}), 403, "forbidden")


def test_another_tenants_asset_is_not_found(api: Api) -> None:
    base = f"/v1/assets/{laptop(api)['id']}/software"

    assert_problem(api.as_("globex").post(base, {"product": "Visio"}), 404, "not-found")
    assert_problem(api.as_("globex").get(base), 404, "not-found")


def test_an_installation_needs_a_product(api: Api) -> None:
    reply = api.post(f"/v1/assets/{laptop(api)['id']}/software", {"vendor": "Microsoft"})

    assert_problem(reply, 422, "validation-error")
    assert reply.body["errors"][0]["field"] == "product"


def test_an_installation_recorded_again_with_its_key_is_recorded_once(api: Api) -> None:
    asset = laptop(api)
    base = f"/v1/assets/{asset['id']}/software"
    key = {"idempotency-key": "scan-42"}

    first = api.post(base, {"product": "Visio"}, headers=key)
    again = api.post(base, {"product": "Visio"}, headers=key)

    assert (first.status, again.status) == (201, 201)
    assert (again.body, again.headers["Location"]) == (first.body, first.headers["Location"])
    assert len(api.get(base).body["items"]) == 1
    assert_problem(api.post(base, {"product": "Project"}, headers=key), 422, "idempotency-key-reused")
    other = f"/v1/assets/{laptop(api)['id']}/software"
    assert_problem(api.post(other, {"product": "Visio"}, headers=key), 422, "idempotency-key-reused")
    assert (
        api.as_("globex")
        .post(f"/v1/assets/{laptop(api.as_('globex'))['id']}/software", {"product": "Visio"}, headers=key)
        .status
        == 201
    )
