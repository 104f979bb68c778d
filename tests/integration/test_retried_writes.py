"""A write whose answer is lost after DynamoDB applied it is sent again by botocore: the retry must be
answered as the success it was, and must not apply the write twice.

Each test loses the answer of one write (a read timeout in its place, after moto applied it) and checks
the one answer the client gets and what is stored."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.handlers import generate_idempotent_uuid
from pynamodb.exceptions import PutError

from itam.adapters import sessions
from itam.adapters.schema import table_models
from itam.adapters.table import put_new
from tests.integration.conftest import Api, Jobs
from tests.support.faults import LostAnswers
from tests.support.lambda_api import Reply

LAPTOP = {"name": "Laptop", "kind": "hardware", "category": "laptop", "model": "X1 Carbon"}


@pytest.fixture
def lost(table: str) -> Iterator[LostAnswers]:
    """Lost answers on every DynamoDB client the handlers build from now on (the table fixture has
    forgotten the clients built before)."""
    faults = LostAnswers()
    session = sessions.base_session()
    # After moto's own before-send handler, which applies the request: the write lands, its answer not.
    session.register("before-send", faults)
    yield faults
    session.unregister("before-send", faults)


def asset(api: Api, **fields: Any) -> dict[str, Any]:
    reply = api.post("/v1/assets", {**LAPTOP, **fields})
    assert reply.status == 201, reply.body
    return reply.body


def history(api: Api, asset_id: str) -> list[str]:
    return [event["type"] for event in api.get(f"/v1/assets/{asset_id}/history").body["items"]]


def retried_once(lost: LostAnswers, operation: str, reply: Reply) -> None:
    """The write's first answer was lost and botocore sent it once more."""
    assert lost.lost == [operation], reply.body


# ---------------------------------------------------------------------- assets
def test_a_create_whose_answer_was_lost_is_one_201_and_one_asset(api: Api, lost: LostAnswers) -> None:
    lost.lose_next({"TransactWriteItems"})

    reply = api.post("/v1/assets", {**LAPTOP, "asset_tag": "LT-1", "serial_number": "SN-1"})

    retried_once(lost, "TransactWriteItems", reply)
    assert lost.attempts["TransactWriteItems"] == 2
    assert reply.status == 201, reply.body
    assert [a["id"] for a in api.get("/v1/assets").body["items"]] == [reply.body["id"]]
    assert history(api, reply.body["id"]) == ["created"]


def test_the_token_is_the_transactions_own_not_one_botocore_makes_up(api: Api, lost: LostAnswers) -> None:
    # botocore fills in a random ClientRequestToken when a TransactWriteItems call has none (the
    # parameter is modelled as an idempotency token): the guarantee must not rest on that detail.
    sessions.base_session().unregister("before-parameter-build", generate_idempotent_uuid)
    lost.lose_next({"TransactWriteItems"})

    reply = api.post("/v1/assets", LAPTOP)

    retried_once(lost, "TransactWriteItems", reply)
    assert reply.status == 201, reply.body
    assert [a["id"] for a in api.get("/v1/assets").body["items"]] == [reply.body["id"]]


def test_a_create_with_an_idempotency_key_whose_answer_was_lost_is_one_201(
    api: Api, lost: LostAnswers
) -> None:
    lost.lose_next({"TransactWriteItems"})

    reply = api.post("/v1/assets", LAPTOP, headers={"idempotency-key": "order-1"})
    again = api.post("/v1/assets", LAPTOP, headers={"idempotency-key": "order-1"})

    retried_once(lost, "TransactWriteItems", reply)
    assert (reply.status, again.status, again.body["id"]) == (201, 201, reply.body["id"])
    assert len(api.get("/v1/assets").body["items"]) == 1


def test_a_patch_whose_answer_was_lost_is_one_200_and_one_version(api: Api, lost: LostAnswers) -> None:
    made = asset(api)
    lost.lose_next({"TransactWriteItems"})

    reply = api.patch(f"/v1/assets/{made['id']}", {"location": "Lyon"}, etag='"1"')

    retried_once(lost, "TransactWriteItems", reply)
    assert reply.status == 200, reply.body
    assert (reply.body["version"], reply.etag) == (2, '"2"')
    stored = api.get(f"/v1/assets/{made['id']}")
    assert (stored.body["location"], stored.etag) == ("Lyon", '"2"')
    assert history(api, made["id"]) == ["created", "updated"]


def test_a_transition_whose_answer_was_lost_is_one_200(api: Api, lost: LostAnswers) -> None:
    made = asset(api, status="planned")
    lost.lose_next({"TransactWriteItems"})

    reply = api.post(f"/v1/assets/{made['id']}/transitions", {"to": "ordered"}, headers={"if-match": '"1"'})

    retried_once(lost, "TransactWriteItems", reply)
    assert (reply.status, reply.body["status"], reply.body["version"]) == (200, "ordered", 2)
    assert history(api, made["id"]) == ["created", "transitioned"]


def test_a_checkout_whose_answer_was_lost_is_one_200_and_one_assignment(api: Api, lost: LostAnswers) -> None:
    made = asset(api, status="in_stock")
    lost.lose_next({"TransactWriteItems"})

    reply = api.post(f"/v1/assets/{made['id']}/checkout", {"assignee": "alice"})

    retried_once(lost, "TransactWriteItems", reply)
    assert (reply.status, reply.body["assigned_to"], reply.body["version"]) == (200, "alice", 2)
    assert [a["assignee"] for a in api.get(f"/v1/assets/{made['id']}/assignments").body["items"]] == ["alice"]
    assert history(api, made["id"]) == ["created", "checked_out"]


def test_an_identical_second_operation_is_applied_not_taken_for_a_retry(api: Api, lost: LostAnswers) -> None:
    made = asset(api, status="in_stock")
    base = f"/v1/assets/{made['id']}"
    lost.lose_next({"TransactWriteItems"})

    first = api.post(f"{base}/checkout", {"assignee": "alice"})
    api.post(f"{base}/checkin", {})
    second = api.post(f"{base}/checkout", {"assignee": "alice"})

    assert (first.status, second.status, second.body["version"]) == (200, 200, 4)
    assert [a["assignee"] for a in api.get(f"{base}/assignments").body["items"]] == ["alice", "alice"]


# ---------------------------------------------------------------------- licenses
def test_a_seat_whose_answer_was_lost_is_counted_once(api: Api, lost: LostAnswers) -> None:
    lic = api.post(
        "/v1/licenses", {"product": "Visio", "vendor": "Microsoft", "metric": "per_user", "quantity": 3}
    ).body
    path = f"/v1/licenses/{lic['id']}/assignments"
    lost.lose_next({"TransactWriteItems"})

    reply = api.post(path, {"user": "alice"})

    retried_once(lost, "TransactWriteItems", reply)
    assert reply.status == 201, reply.body
    assert api.get(f"/v1/licenses/{lic['id']}").body["assigned"] == 1
    assert [s["id"] for s in api.get(path).body["items"]] == [reply.body["id"]]


def test_an_installation_whose_answer_was_lost_is_one_201(api: Api, lost: LostAnswers) -> None:
    path = f"/v1/assets/{asset(api)['id']}/software"
    lost.lose_next()

    reply = api.post(path, {"product": "Visio", "version": "16.0"})

    assert lost.lost, "no write lost its answer"
    assert reply.status == 201, reply.body
    assert [i["id"] for i in api.get(path).body["items"]] == [reply.body["id"]]


def test_an_installation_delete_whose_answer_was_lost_is_204(api: Api, lost: LostAnswers) -> None:
    path = f"/v1/assets/{asset(api)['id']}/software"
    made = api.post(path, {"product": "Visio"}).body
    lost.lose_next()

    reply = api.delete(f"{path}/{made['id']}")

    assert lost.lost, "no write lost its answer"
    assert reply.status == 204, reply.body
    assert api.get(path).body["items"] == []
    assert api.delete(f"{path}/{made['id']}").status == 404


def test_a_new_item_put_again_is_its_own_write_and_another_item_is_refused(table: str) -> None:
    m = table_models(table, "us-east-1", None)
    item = m.record(PK="T#acme#ASSET#1", SK="SW#1", doc='{"product": "Visio"}')

    put_new(item)
    put_new(m.record(PK="T#acme#ASSET#1", SK="SW#1", doc='{"product": "Visio"}'))  # as a retry sends it

    with pytest.raises(PutError):
        put_new(m.record(PK="T#acme#ASSET#1", SK="SW#1", doc='{"product": "Word"}'))
    assert m.record.get("T#acme#ASSET#1", "SW#1").doc == '{"product": "Visio"}'


# ---------------------------------------------------------------------- requests
def test_a_fulfilment_whose_lease_answer_was_lost_fulfils(api: Api, jobs: Jobs, lost: LostAnswers) -> None:
    laptops = [asset(api, status="in_stock") for _ in range(2)]
    alice = api.as_("acme", "viewer", "alice")
    made = alice.post(
        "/v1/requests",
        {"kind": "hardware", "category": "laptop", "model": "X1 Carbon", "justification": "new hire"},
    ).body
    lost.lose_next({"UpdateItem"})  # the first single-item update of the approval: the fulfilment's lease

    reply = api.post(f"/v1/requests/{made['id']}/approve", {}, headers={"if-match": f'"{made["version"]}"'})

    retried_once(lost, "UpdateItem", reply)
    assert reply.status == 200, reply.body
    assert (reply.body["status"], reply.body["assets"]) == ("fulfilled", [reply.body["assets"][0]])
    assert reply.body["assets"][0] in {a["id"] for a in laptops}
