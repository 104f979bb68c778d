"""The local stack keeps its state across Ctrl-C, crashes and restarts (infra/local/persistence.py):
users and their tokens, assets, licenses, webhook endpoints and their secrets, queued messages; a
crash loses at most the last few seconds; `--reset` (make dev-reset) starts empty; a snapshot that
cannot be used is set aside and the stack starts empty, saying so."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import boto3

from infra.local.persistence import SNAPSHOT_NAME
from infra.local.token import issue_token
from tests.e2e.http import Client
from tests.e2e.test_procurement_over_http import signed
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
        messages = sqs(stack).receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages", [])
        assert [m["Body"] for m in messages] == ["kept message"]
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
