"""The local stack keeps its state across Ctrl-C, crashes and restarts (infra/local/persistence.py):
users and their tokens, assets, licenses, webhook endpoints and their secrets, queued and in-flight
messages; a crash loses at most the last few seconds; a long poll does not hold snapshots up;
`--reset` (make dev-reset) starts empty; a snapshot that cannot be used is set aside and the stack
starts empty, saying so."""

from __future__ import annotations

import json
import logging
import pickle
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.sqs.models import sqs_backends

from infra.local.persistence import SNAPSHOT_NAME, Snapshots
from infra.local.token import issue_token
from tests.e2e.http import Client
from tests.e2e.test_procurement_over_http import signed
from tests.local.conftest import wait_for
from tests.support.stack_process import Stack, local_stack

TENANT = "keep"
# The crash test snapshots every 0.5 s (2 s by default); a snapshot of a small register takes well
# under a second, so a write 3 s old is in one.
INTERVAL_S = 0.5
CRASH_AFTER_S = 3.0


def api(stack: Stack, token: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    reply = Client(stack.gateway_url, token).call(method, path, json_body=body)
    return reply.status, reply.body


def sqs(stack: Stack) -> Any:
    return boto3.client(
        "sqs",
        endpoint_url=stack.state["moto_url"],
        region_name=stack.state["region"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def snapshot(workdir: Path) -> Path:
    return workdir / "state" / SNAPSHOT_NAME


def saved_at(workdir: Path) -> int:
    """When the last snapshot was written (0: none yet)."""
    try:
        return snapshot(workdir).stat().st_mtime_ns
    except FileNotFoundError:
        return 0


def test_a_restart_keeps_users_tokens_data_secrets_and_queued_messages(tmp_path: Path) -> None:
    with local_stack(tmp_path) as stack:
        token = issue_token(stack.state, TENANT, "admin")
        status, asset = api(stack, token, "POST", "/v1/assets", {"name": "Kept laptop", "kind": "hardware"})
        assert status == 201
        status, license_ = api(
            stack,
            token,
            "POST",
            "/v1/licenses",
            {"product": "Kept Office", "metric": "per_user", "quantity": 5},
        )
        assert status == 201, license_
        status, endpoint = api(stack, token, "POST", "/v1/webhook-endpoints", {"name": "erp"})
        assert status == 201, endpoint
        queue_url = next(iter(stack.state["event_taps"].values()))
        sqs(stack).send_message(QueueUrl=queue_url, MessageBody="in flight")
        in_flight = sqs(stack).receive_message(QueueUrl=queue_url, VisibilityTimeout=600)["Messages"][0]
        sqs(stack).send_message(QueueUrl=queue_url, MessageBody="kept message")
        old_urls = (stack.gateway_url, stack.state["moto_url"])

    with local_stack(tmp_path, ITAM_LOCAL_LOG_LEVEL="INFO") as stack:
        assert (stack.gateway_url, stack.state["moto_url"]) != old_urls  # other ports, same state
        # The token issued before the restart still verifies: same user pool, same keys.
        assert api(stack, token, "GET", f"/v1/assets/{asset['id']}")[1]["name"] == "Kept laptop"
        assert api(stack, token, "GET", f"/v1/licenses/{license_['id']}")[0] == 200
        assert api(stack, token, "GET", f"/v1/webhook-endpoints/{endpoint['id']}")[0] == 200
        # Its secret too: a delivery signed with the secret shown before the restart is taken.
        body = json.dumps({"type": "po.approved", "occurred_at": "2026-12-04T09:00:00Z", "data": {}})
        sender = Client(stack.gateway_url, None)
        reply = sender.call(
            "POST", endpoint["url_path"], data=body, headers=signed(endpoint["secret"], "m1", body)
        )
        assert reply.status == 202, reply.body
        queue = sqs(stack)
        messages = queue.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        assert [m["Body"] for m in messages] == ["kept message"]
        # The message received before the restart is still in flight, its receipt handle still good.
        queue.change_message_visibility(
            QueueUrl=queue_url, ReceiptHandle=in_flight["ReceiptHandle"], VisibilityTimeout=0
        )
        again = queue.receive_message(QueueUrl=queue_url, MessageSystemAttributeNames=["All"])["Messages"]
        assert [(m["Body"], m["Attributes"]["ApproximateReceiveCount"]) for m in again] == [
            ("in flight", "2")
        ]
        assert "state restored" in stack.log()


def test_a_crash_loses_at_most_the_last_seconds(tmp_path: Path) -> None:
    # The promise: a crash loses at most the writes of the last interval plus one snapshot's time.
    with local_stack(tmp_path, ITAM_STATE_INTERVAL=str(INTERVAL_S)) as stack:
        token = issue_token(stack.state, TENANT, "admin")
        body = {"name": "Before the crash", "kind": "hardware"}
        status, asset = api(stack, token, "POST", "/v1/assets", body)
        assert status == 201
        time.sleep(CRASH_AFTER_S)
        stack.crash()

    with local_stack(tmp_path) as stack:
        assert api(stack, token, "GET", f"/v1/assets/{asset['id']}")[1]["name"] == "Before the crash"


def test_a_long_poll_holds_up_neither_snapshots_nor_writes(tmp_path: Path) -> None:
    with local_stack(tmp_path, ITAM_STATE_INTERVAL=str(INTERVAL_S)) as stack:
        token = issue_token(stack.state, TENANT, "admin")
        wait_for(lambda: saved_at(tmp_path), what="the first snapshot")
        queue, queue_url = sqs(stack), next(iter(stack.state["event_taps"].values()))
        poll = threading.Thread(target=lambda: queue.receive_message(QueueUrl=queue_url, WaitTimeSeconds=20))
        poll.start()
        time.sleep(1)  # the poll is waiting in the emulator
        before = saved_at(tmp_path)

        # While the emulator holds the long poll, a write is answered and a snapshot keeps it.
        status, _ = api(stack, token, "POST", "/v1/assets", {"name": "Not held up", "kind": "hardware"})
        assert status == 201
        while saved_at(tmp_path) == before and poll.is_alive():
            time.sleep(0.1)
        assert poll.is_alive(), "the snapshot waited for the long poll to end"
        queue.send_message(QueueUrl=queue_url, MessageBody="end the poll")
        poll.join()


def test_reset_starts_empty(tmp_path: Path) -> None:
    with local_stack(tmp_path) as stack:
        token = issue_token(stack.state, TENANT, "admin")
        status, asset = api(stack, token, "POST", "/v1/assets", {"name": "Forgotten", "kind": "hardware"})
        assert status == 201
    assert snapshot(tmp_path).is_file()

    with local_stack(tmp_path, "--reset") as stack:
        fresh = issue_token(stack.state, TENANT, "admin")
        assert api(stack, fresh, "GET", f"/v1/assets/{asset['id']}")[0] == 404
        assert api(stack, fresh, "GET", "/v1/assets")[1]["items"] == []


def test_an_unusable_snapshot_is_set_aside_and_the_stack_starts_empty(tmp_path: Path) -> None:
    snapshot(tmp_path).parent.mkdir(parents=True)
    snapshot(tmp_path).write_bytes(b"not a snapshot")

    with local_stack(tmp_path, ITAM_LOCAL_LOG_LEVEL="INFO") as stack:
        token = issue_token(stack.state, TENANT, "admin")
        assert api(stack, token, "GET", "/v1/assets")[1]["items"] == []
        assert "the saved state cannot be used" in stack.log()
    aside = list(snapshot(tmp_path).parent.glob(f"{SNAPSHOT_NAME}.unusable-*"))
    assert [p.read_bytes() for p in aside] == [b"not a snapshot"]


def test_a_snapshot_of_another_emulator_version_is_set_aside(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    kept = Snapshots(tmp_path, identity="written by another moto")
    kept.path.write_bytes(pickle.dumps({"identity": "written by another moto", "backends": {}, "extra": 1}))

    with caplog.at_level(logging.WARNING, logger="infra.local.persistence"):
        assert Snapshots(tmp_path, identity="this one").restore() is None

    assert "another template, parameters or emulator version" in caplog.text
    assert not kept.path.exists()
    assert len(list(tmp_path.glob(f"{SNAPSHOT_NAME}.unusable-*"))) == 1


def test_a_snapshot_is_restored_whole_or_not_at_all(tmp_path: Path) -> None:
    sqs_backends["123456789012"]["us-east-1"]  # the live emulator holds something
    before = dict(sqs_backends)
    backends: dict[str, dict[str, Any]] = {"moto.sqs:sqs_backends": {}, "moto.sqs:no_such_backends": {}}
    Snapshots(tmp_path, "id").path.write_bytes(
        pickle.dumps({"identity": "id", "backends": backends, "extra": 1})
    )

    assert Snapshots(tmp_path, "id").restore() is None

    assert dict(sqs_backends) == before
