"""End to end: depreciation profiles, an asset's schedule and book value, and a disposal's gain or loss,
over real HTTP on the local stack (tenant-scoped credentials, the template's routes)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.e2e.conftest import LocalStack
from tests.e2e.http import Client

pytestmark = pytest.mark.e2e

SALVAGE = {"amount": "1000.00", "currency": "EUR"}


def client(stack: LocalStack, tenant_id: str, role: str = "admin") -> Client:
    return Client(stack.gateway_url, stack.token(tenant_id, role))


def put_profile(api: Client, category: str, terms: dict[str, Any], etag: str | None = None) -> Any:
    headers = {"If-Match": etag} if etag else None
    return api.call("PUT", f"/v1/depreciation-profiles/{category}", json_body=terms, headers=headers)


def test_the_worked_example_over_http(local_stack: LocalStack) -> None:
    tenant = f"t-{uuid.uuid4().hex[:10]}"
    api = client(local_stack, tenant)
    created = put_profile(
        api, "Laptops", {"method": "sum_of_years_digits", "useful_life_months": 60, "salvage_value": SALVAGE}
    )
    assert created.status == 201, created.body
    assert created.headers["Location"] == "/v1/depreciation-profiles/Laptops"

    asset = api.post(
        "/v1/assets",
        {
            "name": "Workstation",
            "kind": "hardware",
            "category": "laptops",
            "cost": {"amount": "10000.00", "currency": "EUR"},
            "status": "deployed",
            "in_service_date": "2024-01-01",
        },
    ).body
    path = f"/v1/assets/{asset['id']}"
    schedule = api.get(f"{path}/depreciation", params={"as_of": "2026-01-01"})
    assert schedule.status == 200, schedule.body
    assert [p["depreciation"]["amount"] for p in schedule.body["periods"]] == [
        "3000.00",
        "2400.00",
        "1800.00",
        "1200.00",
        "600.00",
    ]
    assert schedule.body["book_value"] == {"amount": "4600.00", "currency": "EUR"}

    # The asset's own terms win over its category's.
    own = {"method": "double_declining_balance", "useful_life_months": 60, "salvage_value": SALVAGE}
    patched = api.patch(path, {"depreciation": own}, api.get(path).etag)
    assert patched.status == 200, patched.body
    yearly = api.get(f"{path}/depreciation").body
    assert yearly["source"] == "asset"
    assert [p["book_value"]["amount"] for p in yearly["periods"]] == [
        "6000.00",
        "3600.00",
        "2160.00",
        "1296.00",
        "1000.00",
    ]

    assert api.post(f"{path}/transitions", {"to": "retired"}).status == 200
    disposal = {"method": "sold", "date": "2026-01-01", "proceeds": {"amount": "4000", "currency": "EUR"}}
    disposed = api.post(f"{path}/transitions", {"to": "disposed", "disposal": disposal})
    assert disposed.status == 200, disposed.body
    assert disposed.body["disposal"]["book_value"] == {"amount": "3600.00", "currency": "EUR"}
    assert disposed.body["disposal"]["gain_or_loss"] == {"amount": "400.00", "currency": "EUR"}

    # Another tenant sees neither the profile nor the asset's depreciation.
    other = client(local_stack, f"t-{uuid.uuid4().hex[:10]}")
    assert other.get("/v1/depreciation-profiles/Laptops").status == 404
    assert other.get(f"{path}/depreciation").status == 404
    assert other.get("/v1/depreciation-profiles").body["items"] == []
    # Editors read profiles; only admins change them.
    editor = client(local_stack, tenant, "editor")
    assert editor.get("/v1/depreciation-profiles").status == 200
    assert put_profile(editor, "Servers", own).status == 403


def test_a_category_with_spaces_and_percent_signs_travels_percent_encoded(local_stack: LocalStack) -> None:
    api = client(local_stack, f"t-{uuid.uuid4().hex[:10]}")
    terms = {"method": "straight_line", "useful_life_months": 36}
    for category, encoded in (
        ("Mobile phones", "Mobile%20phones"),
        ("100% cotton", "100%25%20cotton"),
        ("Écrans", "%C3%89crans"),
    ):
        created = put_profile(api, encoded, terms)
        assert created.status == 201, created.body
        assert created.body["category"] == category
        assert api.get(f"/v1/depreciation-profiles/{encoded}").body["category"] == category
    assert put_profile(api, "%ff", terms).status == 422
    listed = [p["category"] for p in api.get("/v1/depreciation-profiles").body["items"]]
    assert sorted(listed) == sorted(["Mobile phones", "100% cotton", "Écrans"])
