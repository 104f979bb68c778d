"""The emulated table's calls cost what they touch (infra/local/table_cost.py) and answer exactly as
before: a Query starts from its partition (or its index partition, kept in step with every write), and
a cancelled transaction puts back exactly the items it touched."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models.table import Table

from infra.local import table_cost
from infra.local.atomic import make_dynamodb_writes_atomic

TABLE = "register"


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A client of in-process moto with the local stack's DynamoDB behaviour; a table with a GSI."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    make_dynamodb_writes_atomic()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "PK", "KeyType": "HASH"},
                {"AttributeName": "SK", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": name, "AttributeType": "S"} for name in ("PK", "SK", "GSI1PK", "GSI1SK")
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "GSI1",
                    "KeySchema": [
                        {"AttributeName": "GSI1PK", "KeyType": "HASH"},
                        {"AttributeName": "GSI1SK", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def item(pk: str, sk: str, status: str | None = None, n: int = 0) -> dict[str, Any]:
    stored: dict[str, Any] = {"PK": {"S": pk}, "SK": {"S": sk}, "n": {"N": str(n)}}
    if status is not None:
        stored |= {"GSI1PK": {"S": f"STATUS#{status}"}, "GSI1SK": {"S": pk}}
    return stored


def everything(client: Any) -> list[dict[str, Any]]:
    return sorted(client.scan(TableName=TABLE)["Items"], key=lambda i: (i["PK"]["S"], i["SK"]["S"]))


def query_all(client: Any, **query: Any) -> list[dict[str, Any]]:
    """Every page of a Query, two items a page (so that paging through the narrowed query is tried)."""
    found: list[dict[str, Any]] = []
    start: dict[str, Any] = {}
    while True:
        page = client.query(TableName=TABLE, Limit=2, **query, **start)
        found += page["Items"]
        if "LastEvaluatedKey" not in page:
            return found
        start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}


def by_status(status: str, forward: bool = True) -> dict[str, Any]:
    return {
        "IndexName": "GSI1",
        "KeyConditionExpression": "GSI1PK = :s",
        "ExpressionAttributeValues": {":s": {"S": f"STATUS#{status}"}},
        "ScanIndexForward": forward,
    }


def of_partition(pk: str, forward: bool = True) -> dict[str, Any]:
    return {
        "KeyConditionExpression": "PK = :pk AND begins_with(SK, :h)",
        "ExpressionAttributeValues": {":pk": {"S": pk}, ":h": {"S": "H"}},
        "ScanIndexForward": forward,
    }


def unnarrowed(client: Any, monkeypatch: pytest.MonkeyPatch, **query: Any) -> list[dict[str, Any]]:
    """The same query answered by the emulator's own walk over every item of the table."""
    with monkeypatch.context() as patched:
        patched.setattr(table_cost, "candidates", lambda table, arguments: None)
        for name, method in table_cost.EMULATOR.items():
            patched.setattr(Table, name, method)
        return query_all(client, **query)


def test_queries_answer_as_the_emulator_did_through_writes_that_move_items(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(7)
    statuses = ["deployed", "in_stock", "retired"]
    for step in range(300):
        pk, sk = f"A#{rng.randrange(40):02d}", rng.choice(["META", "H1", "H2", "H3"])
        action = rng.choice(["put", "put", "update", "delete", "transact"])
        status = rng.choice([*statuses, None])
        if action == "put":
            dynamodb.put_item(TableName=TABLE, Item=item(pk, sk, status, step))
        elif action == "update":
            dynamodb.update_item(
                TableName=TABLE,
                Key={"PK": {"S": pk}, "SK": {"S": sk}},
                UpdateExpression="SET GSI1PK = :s, GSI1SK = :pk ADD n :one",
                ExpressionAttributeValues={
                    ":s": {"S": f"STATUS#{status}"},
                    ":pk": {"S": pk},
                    ":one": {"N": "1"},
                },
            )
        elif action == "delete":
            dynamodb.delete_item(TableName=TABLE, Key={"PK": {"S": pk}, "SK": {"S": sk}})
        else:
            other = f"A#{rng.randrange(40, 50)}"
            writes = [{"Put": {"TableName": TABLE, "Item": item(other, "META", status, step)}}]
            writes.append({"Delete": {"TableName": TABLE, "Key": {"PK": {"S": pk}, "SK": {"S": sk}}}})
            dynamodb.transact_write_items(TransactItems=writes)
        if step % 50 == 49:
            for status in statuses:
                for forward in (True, False):
                    wanted = unnarrowed(dynamodb, monkeypatch, **by_status(status, forward))
                    assert query_all(dynamodb, **by_status(status, forward)) == wanted
            for pk in ("A#03", "A#17", "A#99"):
                for forward in (True, False):
                    wanted = unnarrowed(dynamodb, monkeypatch, **of_partition(pk, forward))
                    assert query_all(dynamodb, **of_partition(pk, forward)) == wanted


def test_a_cancelled_transaction_puts_back_exactly_what_it_touched(dynamodb: Any) -> None:
    dynamodb.put_item(TableName=TABLE, Item=item("A#1", "META", "deployed", 1))
    dynamodb.put_item(TableName=TABLE, Item=item("A#2", "META", "in_stock", 2))
    dynamodb.put_item(TableName=TABLE, Item=item("A#3", "META", "in_stock", 3))
    before = everything(dynamodb)
    writes = [
        {"Put": {"TableName": TABLE, "Item": item("A#9", "META", "deployed", 9)}},  # new
        {"Delete": {"TableName": TABLE, "Key": {"PK": {"S": "A#1"}, "SK": {"S": "META"}}}},  # deleted
        {
            "Update": {  # changed, and moved to another index partition
                "TableName": TABLE,
                "Key": {"PK": {"S": "A#2"}, "SK": {"S": "META"}},
                "UpdateExpression": "SET GSI1PK = :s ADD n :one",
                "ExpressionAttributeValues": {":s": {"S": "STATUS#retired"}, ":one": {"N": "1"}},
            }
        },
        {
            "ConditionCheck": {  # fails: the whole transaction is cancelled
                "TableName": TABLE,
                "Key": {"PK": {"S": "A#3"}, "SK": {"S": "META"}},
                "ConditionExpression": "n = :zero",
                "ExpressionAttributeValues": {":zero": {"N": "0"}},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        },
    ]
    with pytest.raises(ClientError) as raised:
        dynamodb.transact_write_items(TransactItems=writes)
    reasons = raised.value.response["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["None", "None", "None", "ConditionalCheckFailed"]
    assert reasons[3]["Item"]["n"] == {"N": "3"}
    assert everything(dynamodb) == before
    assert [i["PK"]["S"] for i in query_all(dynamodb, **by_status("deployed"))] == ["A#1"]
    assert [i["PK"]["S"] for i in query_all(dynamodb, **by_status("in_stock"))] == ["A#2", "A#3"]
    assert query_all(dynamodb, **by_status("retired")) == []


def test_a_transaction_naming_one_item_twice_changes_nothing(dynamodb: Any) -> None:
    dynamodb.put_item(TableName=TABLE, Item=item("A#1", "META", "deployed", 1))
    before = everything(dynamodb)
    writes = [
        {"Put": {"TableName": TABLE, "Item": item("A#2", "META", "deployed", 2)}},
        {"Delete": {"TableName": TABLE, "Key": {"PK": {"S": "A#1"}, "SK": {"S": "META"}}}},
        {"Put": {"TableName": TABLE, "Item": item("A#1", "META", "retired", 3)}},
    ]
    with pytest.raises(ClientError, match="ValidationException"):
        dynamodb.transact_write_items(TransactItems=writes)
    assert everything(dynamodb) == before
    assert [i["PK"]["S"] for i in query_all(dynamodb, **by_status("deployed"))] == ["A#1"]


def test_a_committed_transaction_writes_every_item(dynamodb: Any) -> None:
    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": TABLE, "Item": item(f"A#{n}", "META", "in_stock", n)}} for n in range(5)
        ]
    )
    found = query_all(dynamodb, **by_status("in_stock"))
    assert [i["PK"]["S"] for i in found] == [f"A#{n}" for n in range(5)]
