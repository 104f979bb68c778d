"""Retiring, disposing of or cancelling an asset ends what it holds in licensing: through the real
handler on moto."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import Api, Jobs

VISIO = {
    "product": "Visio",
    "vendor": "Microsoft",
    "metric": "per_device",
    "quantity": 1,
    "unit_cost": {"amount": "250.00", "currency": "EUR"},
}
DISPOSAL = {"method": "recycled", "date": "2026-11-30"}


def created(api: Api, path: str, body: dict[str, Any]) -> dict[str, Any]:
    reply = api.post(path, body)
    assert reply.status == 201, reply.body
    return reply.body


def laptop(api: Api, name: str, **fields: Any) -> dict[str, Any]:
    return created(api, "/v1/assets", {"name": name, "kind": "hardware", "status": "in_stock", **fields})


def transition(api: Api, asset_id: str, to: str, **body: Any) -> dict[str, Any]:
    reply = api.post(f"/v1/assets/{asset_id}/transitions", {"to": to, **body})
    assert reply.status == 200, reply.body
    return reply.body


def visio_position(api: Api) -> dict[str, Any]:
    [position] = [p for p in api.get("/v1/compliance").body["items"] if p["product"] == "Visio"]
    return position


def test_disposing_of_a_laptop_stops_its_installation_counting_and_frees_its_seat(
    api: Api, jobs: Jobs
) -> None:
    # Given one Visio license of one device, held by laptop A, and Visio installed on A and B
    lic = created(api, "/v1/licenses", VISIO)
    a, b = laptop(api, "Laptop A"), laptop(api, "Laptop B")
    seat = created(api, f"/v1/licenses/{lic['id']}/assignments", {"asset_id": a["id"]})
    install_a = created(api, f"/v1/assets/{a['id']}/software", {"product": "Visio", "version": "16.0"})
    created(api, f"/v1/assets/{b['id']}/software", {"product": "Visio", "version": "16.0"})
    before = visio_position(api)
    assert (before["consumed"], before["shortfall"], before["exposure"]) == (
        2,
        1,
        {"amount": "250.00", "currency": "EUR"},
    )
    full = api.post(f"/v1/licenses/{lic['id']}/assignments", {"asset_id": b["id"]})
    assert (full.status, full.body["type"]) == (409, "/problems/no-seat-left")
    jobs.events()

    # When A is retired and then disposed of
    retired = transition(api, a["id"], "retired", reason="replaced")
    disposed = transition(api, a["id"], "disposed", disposal=DISPOSAL)

    # Then the retirement says what it released, and the disposal found nothing left
    assert retired["status"] == "retired"
    assert retired["released"] == {
        "reason": "asset_retired",
        "seats": [{"license_id": lic["id"], "assignment_id": seat["id"], "product": "Visio"}],
        "installations": [{"id": install_a["id"], "product": "Visio", "version": "16.0"}],
        "complete": True,
    }
    assert disposed["released"] == {
        "reason": "asset_disposed",
        "seats": [],
        "installations": [],
        "complete": True,
    }
    # the position right after counts B alone: no shortfall, no exposure
    after = visio_position(api)
    assert (after["consumed"], after["shortfall"], after["exposure"]) == (
        1,
        0,
        {"amount": "0.00", "currency": "EUR"},
    )
    # the seat is free, and the next device gets it
    assert api.get(f"/v1/licenses/{lic['id']}").body["assigned"] == 0
    assert api.post(f"/v1/licenses/{lic['id']}/assignments", {"asset_id": b["id"]}).status == 201
    # A's seat is kept as a released assignment that says why
    released_seats = api.get(f"/v1/licenses/{lic['id']}/assignments", query={"released": "true"})
    [released_seat] = released_seats.body["items"]
    assert (released_seat["id"], released_seat["release_reason"]) == (seat["id"], "asset_retired")
    assert released_seat["released_by"] == "acme-u-1"
    # A's installation is kept, marked as no longer counted
    [kept] = api.get(f"/v1/assets/{a['id']}/software").body["items"]
    assert (kept["id"], kept["counted"], kept["end_reason"]) == (install_a["id"], False, "asset_retired")
    assert kept["ended_at"] is not None
    # the asset's history says what the retirement ended
    history = api.get(f"/v1/assets/{a['id']}/history").body["items"]
    assert history[-2]["type"] == "transitioned"
    assert history[-2]["released"]["seats"] == retired["released"]["seats"]
    assert history[-2]["released"]["installations"] == retired["released"]["installations"]
    # and the events say it too
    moves = [e["detail"] for e in jobs.events() if e["detail-type"] == "asset.transitioned"]
    assert [(m["from"], m["to"]) for m in moves] == [("in_stock", "retired"), ("retired", "disposed")]
    assert moves[0]["released"] == retired["released"]
    assert moves[0]["asset"]["id"] == a["id"]
    assert moves[0]["tenant_id"] == "acme"


def test_cancelling_a_planned_laptop_releases_the_seat_reserved_for_it(api: Api) -> None:
    lic = created(api, "/v1/licenses", VISIO)
    planned = created(api, "/v1/assets", {"name": "New hire laptop", "kind": "hardware"})
    seat = created(api, f"/v1/licenses/{lic['id']}/assignments", {"asset_id": planned["id"]})

    cancelled = transition(api, planned["id"], "cancelled", reason="offer declined")

    assert cancelled["released"]["reason"] == "asset_cancelled"
    assert [s["assignment_id"] for s in cancelled["released"]["seats"]] == [seat["id"]]
    assert api.get(f"/v1/licenses/{lic['id']}").body["assigned"] == 0


@pytest.mark.parametrize("to", ["deployed", "in_stock"])
def test_transitions_within_service_release_nothing(api: Api, to: str) -> None:
    lic = created(api, "/v1/licenses", VISIO)
    device = laptop(api, "Laptop", status="deployed" if to == "in_stock" else "in_stock")
    created(api, f"/v1/licenses/{lic['id']}/assignments", {"asset_id": device["id"]})

    moved = transition(api, device["id"], to)

    assert moved["released"] is None
    assert api.get(f"/v1/licenses/{lic['id']}").body["assigned"] == 1


def test_an_asset_out_of_service_takes_no_seat_and_no_installation(api: Api) -> None:
    lic = created(api, "/v1/licenses", VISIO)
    device = laptop(api, "Laptop")
    transition(api, device["id"], "retired")

    seat = api.post(f"/v1/licenses/{lic['id']}/assignments", {"asset_id": device["id"]})
    install = api.post(f"/v1/assets/{device['id']}/software", {"product": "Visio"})

    assert (seat.status, seat.body["type"]) == (409, "/problems/invalid-state")
    assert (install.status, install.body["type"]) == (409, "/problems/invalid-state")


def test_changing_kind_away_from_one_that_holds_installations_is_409_while_it_has_some(api: Api) -> None:
    device = laptop(api, "Laptop")
    install = created(api, f"/v1/assets/{device['id']}/software", {"product": "Visio"})

    refused = api.patch(f"/v1/assets/{device['id']}", {"kind": "software"}, etag='"1"')

    assert refused.status == 409
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.body["type"] == "/problems/kind-holds-installations"
    assert "has 1 counted software installation" in refused.body["detail"]
    assert api.get(f"/v1/assets/{device['id']}").body["kind"] == "hardware"
    # hardware -> cloud keeps them countable; without installations any kind goes
    assert api.patch(f"/v1/assets/{device['id']}", {"kind": "cloud"}, etag='"1"').status == 200
    assert api.delete(f"/v1/assets/{device['id']}/software/{install['id']}").status == 204
    assert api.patch(f"/v1/assets/{device['id']}", {"kind": "software"}, etag='"2"').status == 200
