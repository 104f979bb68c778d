"""The local stack's fault injection (late DynamoDB answers) is off unless asked for, and matches the
keys a write touches."""

from __future__ import annotations

from infra.local.__main__ import Settings
from infra.local.faults import written_keys


def test_late_answers_are_off_by_default_and_read_from_the_environment() -> None:
    assert Settings.from_env({}).late_answers is None
    assert Settings.from_env({"ITAM_LATE_ANSWERS": ""}).late_answers is None
    on = Settings.from_env({"ITAM_LATE_ANSWERS": "T#late-", "ITAM_LATE_ANSWER_S": "4.5"})
    assert (on.late_answers, on.late_answer_s) == ("T#late-", 4.5)


def test_the_keys_a_write_touches() -> None:
    put = {"TableName": "t", "Item": {"PK": {"S": "T#a#ASSET#1"}, "SK": {"S": "META"}}}
    update = {"TableName": "t", "Key": {"PK": {"S": "T#a#TENANT"}, "SK": {"S": "META"}}}
    transaction = {"TransactItems": [{"Put": put}, {"Update": update}], "ClientRequestToken": "x"}

    assert list(written_keys(put)) == ["T#a#ASSET#1"]
    assert list(written_keys(update)) == ["T#a#TENANT"]
    assert list(written_keys(transaction)) == ["T#a#ASSET#1", "T#a#TENANT"]
