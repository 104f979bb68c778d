"""The real local stack (`python -m infra.local`) as a subprocess on free ports, for end-to-end tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.local.template import REPO_ROOT
from infra.local.token import issue_token
from tests.support.stack_process import free_port, healthy, stop

START_TIMEOUT_S = 60.0
LATE_ANSWER_TENANTS = "late-answer-"  # infra.local.faults: their writes' first answers come too late


@dataclass
class LocalStack:
    """A running local stack: its URLs, its state file's content, and a way to mint ID tokens."""

    gateway_url: str
    moto_url: str
    state: dict[str, Any]
    log_file: Path

    def token(self, tenant: str, role: str, user: str | None = None) -> str:
        """An ID token for <user or role>@<tenant>.example.com with that role."""
        return issue_token(self.state, tenant, role, user=user)

    def output(self) -> str:
        """Everything the stack wrote so far (banner and JSON log lines)."""
        return self.log_file.read_text(encoding="utf-8", errors="replace")


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """Start `python -m infra.local` and wait for GET /v1/health; stop it after the session."""
    workdir = tmp_path_factory.mktemp("local-stack")
    state_file = workdir / "stack.json"
    log_file = workdir / "stack.log"
    gateway_port, moto_port, runner_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "ITAM_MOTO_PORT": str(moto_port),
        "ITAM_GATEWAY_PORT": str(gateway_port),
        "ITAM_RUNNER_PORT": str(runner_port),
        "ITAM_STATE_FILE": str(state_file),
        # Writes of tenants named late-answer-* are answered after the functions' read timeout.
        "ITAM_LATE_ANSWERS": f"T#{LATE_ANSWER_TENANTS}",
    }
    gateway_url = f"http://127.0.0.1:{gateway_port}"
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "infra.local"],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not (state_file.is_file() and healthy(gateway_url)):
            if process.poll() is not None or time.monotonic() > deadline:
                stop(process)
                pytest.fail(
                    f"the local stack did not answer GET {gateway_url}/v1/health "
                    f"(exit status {process.returncode}):\n{log_file.read_text(errors='replace')}"
                )
            time.sleep(0.2)
        state = json.loads(state_file.read_text(encoding="utf-8"))
        yield LocalStack(gateway_url=gateway_url, moto_url=state["moto_url"], state=state, log_file=log_file)
    finally:
        stop(process)
