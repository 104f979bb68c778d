"""The schedule CLI (`make schedule`) against `python -m infra.local` running the jobs template."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.local.schedule import main as schedule_main
from infra.local.template import REPO_ROOT
from tests.local.conftest import JOBS_TEMPLATE, REGION, free_port, wait_for


@dataclass
class RunningStack:
    """The stack subprocess's state file and state, and clients on its emulator."""

    state_file: Path
    state: dict[str, Any]
    log_file: Path

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.state["moto_url"],
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def pending(self, logical_id: str) -> int:
        attributes = self.client("sqs").get_queue_attributes(
            QueueUrl=self.state["queues"][logical_id], AttributeNames=["All"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )

    def take_tap(self) -> list[dict[str, Any]]:
        """Every event on the bus's tap so far (removed from it)."""
        sqs = self.client("sqs")
        url = self.state["event_taps"]["Bus"]
        taken: list[dict[str, Any]] = []
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                taken.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return taken

    def cli(self, *args: str) -> list[str]:
        return [*args, "--state-file", str(self.state_file)]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    workdir = tmp_path_factory.mktemp("jobs-stack")
    state_file, log_file = workdir / "stack.json", workdir / "stack.log"
    env = {
        **os.environ,
        "ITAM_TEMPLATE": str(JOBS_TEMPLATE),
        "ITAM_STAGE": "cli",
        "ITAM_MOTO_PORT": str(free_port()),
        "ITAM_GATEWAY_PORT": str(free_port()),
        "ITAM_RUNNER_PORT": str(free_port()),
        "ITAM_STATE_FILE": str(state_file),
    }
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "infra.local"],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: state_file.is_file() or process.poll() is not None, 30, what="the stack to start")
        assert process.poll() is None, log_file.read_text()
        yield RunningStack(state_file, json.loads(state_file.read_text()), log_file)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    assert process.returncode == 0, log_file.read_text()


def test_the_state_file_lists_queues_buses_and_taps(stack: RunningStack) -> None:
    state = stack.state
    assert set(state["queues"]) == {"JobsQueue", "JobsDeadLetterQueue", "PlainQueue"}
    assert state["event_buses"] == {"Bus": "jobs-cli"}
    assert state["event_taps"]["Bus"].endswith("/itam-local-Bus-tap")
    assert state["runner_url"].startswith("http://127.0.0.1:")


def test_a_schedule_fires_and_the_cli_waits_until_the_queues_drain(
    stack: RunningStack, capsys: pytest.CaptureFixture[str]
) -> None:
    stack.take_tap()
    assert schedule_main(stack.cli("FanOutFunction", "--wait")) == 0
    out, err = capsys.readouterr()
    (answer,) = json.loads(out)
    assert (answer["function"], answer["event"], answer["result"]) == (
        "FanOutFunction",
        "Daily",
        {"queued": 3},
    )
    assert answer["payload"]["source"] == "aws.scheduler"
    assert "firing FanOutFunction.Daily" in err
    assert "done: every queue a function reads is empty" in err
    # Waiting meant the worker had run for every job: nothing left, and its three events published.
    assert stack.pending("JobsQueue") == 0
    assert sorted(e["detail"]["tenant_id"] for e in stack.take_tap()) == ["acme", "globex", "initech"]


def test_without_a_name_every_enabled_schedule_fires(
    stack: RunningStack, capsys: pytest.CaptureFixture[str]
) -> None:
    assert schedule_main(stack.cli("--wait")) == 0
    fired = {f"{a['function']}.{a['event']}" for a in json.loads(capsys.readouterr().out)}
    assert fired == {
        "ClockFunction.Nightly",
        "ClockFunction.Hourly",
        "ClockFunction.Classic",
        "FanOutFunction.Daily",
    }
    assert len(stack.take_tap()) == 3


def test_a_failing_handler_or_an_unknown_schedule_exits_1(
    stack: RunningStack, capsys: pytest.CaptureFixture[str]
) -> None:
    assert schedule_main(stack.cli("ClockFunction.Broken")) == 1
    out, err = capsys.readouterr()
    (answer,) = json.loads(out)
    assert (answer["status"], answer["errorMessage"]) == (502, "the clock is broken")
    assert "the clock is broken" in err
    assert schedule_main(stack.cli("ClockFunction.Nope")) == 1
    assert "no schedule 'ClockFunction.Nope'" in capsys.readouterr().err


def test_wait_gives_up_after_the_timeout(stack: RunningStack, capsys: pytest.CaptureFixture[str]) -> None:
    sqs = stack.client("sqs")
    sqs.send_message(QueueUrl=stack.state["queues"]["JobsQueue"], MessageBody=json.dumps({"sleep": 2}))
    assert schedule_main(stack.cli("ClockFunction.Nightly", "--wait", "--timeout", "0.5")) == 1
    err = capsys.readouterr().err
    # While it waits it says for what: which queue holds how many messages, and the time left.
    assert "waiting for the workers to drain" in err
    assert "1 message" in err and "s left of 0.5" in err
    assert "did not drain within 0.5 s" in err
    wait_for(lambda: stack.pending("JobsQueue") == 0, 10, what="the slow job to finish")


def test_the_module_runs_as_a_script_and_reads_itam_state_file(stack: RunningStack) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "infra.local.schedule", "ClockFunction.Hourly", "--wait"],
        cwd=REPO_ROOT,
        env={**os.environ, "ITAM_STATE_FILE": str(stack.state_file)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (answer,) = json.loads(done.stdout)
    assert answer["result"]["event"]["stage"] == "cli"


def test_without_a_running_stack_the_cli_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert schedule_main(["--state-file", str(tmp_path / "none.json")]) == 1
    assert "make dev" in capsys.readouterr().err
    stale = tmp_path / "old.json"
    stale.write_text(json.dumps({"pid": os.getpid(), "moto_url": "http://127.0.0.1:1"}))
    assert schedule_main(["--state-file", str(stale)]) == 1
    assert "has no runner" in capsys.readouterr().err
