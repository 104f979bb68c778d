"""The emulator honours TransactWriteItems' ClientRequestToken as DynamoDB does (moto alone ignores it):
within 10 minutes, the same token and parameters are a success that writes nothing again, the same token
with other parameters is IdempotentParameterMismatchException, and a token is at most 36 characters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from infra.local.atomic import IdempotentParameterMismatch, TransactionTokens, make_dynamodb_writes_atomic

TABLE = "tokens"


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A client of in-process moto with the local stack's DynamoDB behaviour, and one table."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    make_dynamodb_writes_atomic()
    with mock_aws():
        # Without client-side validation, as PynamoDB's clients: the emulator checks the token's length.
        client = boto3.client("dynamodb", region_name="us-east-1", config=Config(parameter_validation=False))
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def count_up(client: Any, token: str | None = None, pk: str = "counter", by: int = 1) -> dict[str, Any]:
    """A transaction that is not idempotent by itself: add `by` to a counter."""
    update = {
        "Update": {
            "TableName": TABLE,
            "Key": {"PK": {"S": pk}},
            "UpdateExpression": "ADD n :by",
            "ExpressionAttributeValues": {":by": {"N": str(by)}},
        }
    }
    extra = {"ClientRequestToken": token} if token is not None else {}
    return dict(client.transact_write_items(TransactItems=[update], **extra))


def counter(client: Any, pk: str = "counter") -> int:
    item = client.get_item(TableName=TABLE, Key={"PK": {"S": pk}}, ConsistentRead=True).get("Item")
    return int(item["n"]["N"]) if item else 0


def test_the_same_token_and_parameters_again_succeed_without_writing_again(dynamodb: Any) -> None:
    first = count_up(dynamodb, "op-1")
    again = count_up(dynamodb, "op-1")

    assert first["ResponseMetadata"]["HTTPStatusCode"] == again["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert counter(dynamodb) == 1


def test_the_same_token_with_other_parameters_is_a_parameter_mismatch(dynamodb: Any) -> None:
    count_up(dynamodb, "op-1")

    with pytest.raises(ClientError) as refused:
        count_up(dynamodb, "op-1", by=5)

    assert refused.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert isinstance(refused.value, dynamodb.exceptions.IdempotentParameterMismatchException)
    assert counter(dynamodb) == 1


def test_other_tokens_or_no_token_are_other_transactions(dynamodb: Any) -> None:
    count_up(dynamodb, "op-1")
    count_up(dynamodb, "op-2")
    count_up(dynamodb)
    count_up(dynamodb)

    assert counter(dynamodb) == 4


def test_a_cancelled_transaction_leaves_no_token_behind(dynamodb: Any) -> None:
    guarded = {
        "Put": {
            "TableName": TABLE,
            "Item": {"PK": {"S": "guarded"}},
            "ConditionExpression": "attribute_exists(PK)",
        }
    }
    for _ in range(2):  # the same request sent again is evaluated again: still cancelled, not a success
        with pytest.raises(ClientError) as cancelled:
            dynamodb.transact_write_items(TransactItems=[guarded], ClientRequestToken="op-3")
        assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert "Item" not in dynamodb.get_item(TableName=TABLE, Key={"PK": {"S": "guarded"}})


@pytest.mark.parametrize("token", ["", "x" * 37])
def test_a_token_is_one_to_36_characters(dynamodb: Any, token: str) -> None:
    with pytest.raises(ClientError) as refused:
        count_up(dynamodb, token)

    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert counter(dynamodb) == 0


def test_a_36_character_token_is_taken(dynamodb: Any) -> None:
    count_up(dynamodb, "0" * 36)
    assert counter(dynamodb) == 1


def test_tokens_are_remembered_for_ten_minutes_after_the_commit() -> None:
    now = [1000.0]
    tokens = TransactionTokens(clock=lambda: now[0])
    tokens.committed("op-1", "digest-a")

    now[0] += 599.0
    assert tokens.replayed("op-1", "digest-a")
    with pytest.raises(IdempotentParameterMismatch):
        tokens.replayed("op-1", "digest-b")

    now[0] += 1.0
    assert not tokens.replayed("op-1", "digest-a")
    assert not tokens.replayed("op-1", "digest-b")
