"""End to end: disposing of a laptop over real HTTP ends what it held in licensing, at once."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import LocalStack
from tests.e2e.http import Client
from tests.e2e.test_licenses_over_http import client, tap_events, tenant, wait_for

pytestmark = pytest.mark.e2e


def created(api: Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    reply = api.post(path, body)
    assert reply.status == 201, reply.body
    created_body: dict[str, Any] = reply.body
    return created_body


def visio(api: Client) -> dict[str, Any]:
    [position] = [p for p in api.get("/v1/compliance").body["items"] if p["product"] == "Visio"]
    return position


def test_a_disposed_laptop_stops_counting_and_its_seat_goes_to_the_next_device(
    local_stack: LocalStack,
) -> None:
    tenant_id = tenant()
    api = client(local_stack, tenant_id)
    lic = created(
        api,
        "/v1/licenses",
        {
            "product": "Visio",
            "metric": "per_device",
            "quantity": 1,
            "unit_cost": {"amount": "250", "currency": "EUR"},
        },
    )
    old, new = (
        created(api, "/v1/assets", {"name": name, "kind": "hardware", "status": "deployed"})
        for name in ("Old laptop", "New laptop")
    )
    seat = created(api, f"/v1/licenses/{lic['id']}/assignments", {"asset_id": old["id"]})
    for laptop in (old, new):
        created(api, f"/v1/assets/{laptop['id']}/software", {"product": "Visio"})
    before = visio(api)
    assert (before["consumed"], before["shortfall"], before["exposure"]["amount"]) == (2, 1, "250")
    assert api.post(f"/v1/licenses/{lic['id']}/assignments", {"asset_id": new["id"]}).status == 409

    retired = api.post(f"/v1/assets/{old['id']}/transitions", {"to": "retired"})
    disposed = api.post(
        f"/v1/assets/{old['id']}/transitions",
        {"to": "disposed", "disposal": {"method": "recycled", "date": "2026-11-30"}},
        headers={"if-match": retired.etag},
    )

    assert (retired.status, disposed.status) == (200, 200)
    assert [s["assignment_id"] for s in retired.body["released"]["seats"]] == [seat["id"]]
    assert len(retired.body["released"]["installations"]) == 1
    assert retired.body["released"]["complete"] is True
    assert disposed.body["released"] == {
        "reason": "asset_disposed",
        "seats": [],
        "installations": [],
        "complete": True,
    }
    # right after: the disposed laptop no longer counts, and its seat is free for the next device
    after = visio(api)
    assert (after["consumed"], after["shortfall"], after["exposure"]["amount"]) == (1, 0, "0")
    assert api.post(f"/v1/licenses/{lic['id']}/assignments", {"asset_id": new["id"]}).status == 201
    [kept] = api.get(f"/v1/assets/{old['id']}/software").body["items"]
    assert (kept["counted"], kept["end_reason"]) == (False, "asset_retired")
    # and the bus carried both moves, the first with what it released
    moves: list[dict[str, Any]] = []

    def both_moves() -> bool:
        moves.extend(
            e["detail"]
            for e in tap_events(local_stack)
            if e["detail-type"] == "asset.transitioned" and e["detail"]["tenant_id"] == tenant_id
        )
        return len(moves) >= 2

    wait_for(both_moves)
    assert [(m["from"], m["to"]) for m in moves] == [("deployed", "retired"), ("retired", "disposed")]
    assert moves[0]["released"] == retired.body["released"]
