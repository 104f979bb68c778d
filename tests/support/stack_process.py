"""The real local stack (`python -m infra.local`) in a process of its own, on free ports, with its state
file and kept state under a directory of the caller's: for benchmarks and for tests that restart it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.local.template import REPO_ROOT

START_TIMEOUT_S = 120.0


def free_port() -> int:
    """A port free on 127.0.0.1 now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Stack:
    """A running local stack process: its state file's content and pid."""

    process: subprocess.Popen[bytes]
    state: dict[str, Any]
    log_file: Path

    @property
    def gateway_url(self) -> str:
        return str(self.state["gateway_url"])

    def crash(self) -> None:
        """Kill the stack as a crash or a power cut would: no chance to save anything."""
        self.process.kill()
        self.process.wait()

    def log(self) -> str:
        """What the stack wrote so far (banner and JSON log lines)."""
        return self.log_file.read_text(encoding="utf-8", errors="replace")

    def rss_bytes(self) -> int:
        """The stack process's resident set size, from /proc."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS in /proc status")


def healthy(url: str) -> bool:
    """Whether the gateway at `url` answers GET /v1/health with 200."""
    try:
        with urllib.request.urlopen(f"{url}/v1/health", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def stop(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """Stop the stack as Ctrl-C does (it writes its last snapshot), or kill it if it hangs."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@contextmanager
def local_stack(workdir: Path, *args: str, **extra_env: str) -> Iterator[Stack]:
    """`python -m infra.local [args]` on free ports with its state file and kept state under `workdir`;
    stopped with SIGINT (as Ctrl-C) unless it was stopped already (e.g. killed, as in a crash)."""
    state_file = workdir / "stack.json"
    env = {
        **os.environ,
        "ITAM_MOTO_PORT": str(free_port()),
        "ITAM_GATEWAY_PORT": str(free_port()),
        "ITAM_RUNNER_PORT": str(free_port()),
        "ITAM_STATE_FILE": str(state_file),
        "ITAM_LOCAL_LOG_LEVEL": "WARNING",
        "ITAM_LOG_LEVEL": "WARNING",
        **extra_env,
    }
    with (workdir / "stack.log").open("wb") as log:
        command = [sys.executable, "-m", "infra.local", *args]
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if state_file.is_file():
                state = json.loads(state_file.read_text(encoding="utf-8"))
                if healthy(state["gateway_url"]):
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the local stack did not start:\n{(workdir / 'stack.log').read_text()}")
            time.sleep(0.2)
        yield Stack(process, state, workdir / "stack.log")
    finally:
        stop(process, timeout=60)
