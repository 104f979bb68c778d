"""The local stack's kept state (`make dev`, infra/local/persistence.py): how long it takes to start
again with 10,000 assets in the register, and what a snapshot of them costs.

The stack runs as `python -m infra.local` in a process of its own, on free ports, with its state in a
temporary directory; the register is grown with BatchWriteItem straight into the emulator (copies of
the items one create over the API wrote, each with its own id, tag and serial), never through the API.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

from infra.local.persistence import SNAPSHOT_NAME
from infra.local.token import issue_token
from tests.bench import Figure, figure
from tests.bench.local_load import Seeder, call, new_asset
from tests.support.stack_process import Stack, local_stack

TENANT = "bench-load"  # the tenant whose items the seeder copies
ASSETS = 10_000
RESTART_TARGET_S = 10.0
SNAPSHOT_TIMEOUT_S = 60.0


def log_records(stack: Stack, message: str, after: int = 0) -> list[dict[str, Any]]:
    """The stack's JSON log records with this message, from character `after` of its output on."""
    records = []
    for line in stack.log()[after:].splitlines():
        if line.startswith("{") and f'"{message}"' in line:
            record = json.loads(line)
            if record.get("message") == message:
                records.append(record)
    return records


def next_snapshot(stack: Stack) -> dict[str, Any]:
    """The log record of the next periodic snapshot that finishes."""
    after = len(stack.log())
    deadline = time.monotonic() + SNAPSHOT_TIMEOUT_S
    while not (saved := log_records(stack, "state saved", after)):
        if time.monotonic() > deadline:
            raise RuntimeError(f"no snapshot within {SNAPSHOT_TIMEOUT_S:g} s:\n{stack.log()[after:]}")
        time.sleep(0.2)
    return saved[0]


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="itam-bench-state-") as tmp:
        workdir = Path(tmp)
        started = time.monotonic()
        with local_stack(workdir, ITAM_LOCAL_LOG_LEVEL="INFO") as stack:
            empty_start_s = time.monotonic() - started
            token = issue_token(stack.state, TENANT, "admin")
            seeder = Seeder(stack, token)
            seeder.seed(ASSETS - 1)
            next_snapshot(stack)
            # The next snapshot starts an interval after that one ended: it holds this create too.
            created = call(stack.gateway_url, token, "POST", "/v1/assets", new_asset(1))
            if created.status != 201:
                raise RuntimeError(f"create failed: {created.status} {created.body}")
            snapshot = next_snapshot(stack)
            stopping = time.monotonic()
        stop_s = time.monotonic() - stopping  # with a last snapshot if anything changed since that one
        snapshot_mb = (workdir / "state" / SNAPSHOT_NAME).stat().st_size / 2**20

        started = time.monotonic()
        with local_stack(workdir, ITAM_LOCAL_LOG_LEVEL="INFO") as stack:
            restart_s = time.monotonic() - started
            kept = call(stack.gateway_url, token, "GET", f"/v1/assets/{created.body['id']}")
            if kept.status != 200:
                raise RuntimeError(f"the restarted stack lost the register: {kept.status} {kept.body}")
            restored = log_records(stack, "state restored")[0]
    return [
        figure("local_restart_seconds_10k", restart_s, "s", RESTART_TARGET_S),
        figure("local_start_seconds_empty", empty_start_s, "s"),
        figure("local_restore_seconds_10k", float(restored["seconds"]), "s"),
        figure("local_snapshot_seconds_10k", float(snapshot["seconds"]), "s"),
        figure("local_snapshot_pause_ms_10k", float(snapshot["paused_ms"]), "ms"),
        figure("local_snapshot_mb_10k", snapshot_mb, "MB"),
        figure("local_stop_seconds_10k", stop_s, "s"),
    ]
