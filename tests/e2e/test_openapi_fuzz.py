"""Property-based requests generated from the served OpenAPI document, against the running stack.

Every generated request, valid or not, must get an answer the document describes: no server error,
a documented status with its documented media type and body schema. Requests the schema allows but
the domain refuses (a cursor not issued by the API, a stale If-Match) are expected 4xx answers, so
the "schema-valid data must be accepted" check is not run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import LocalStack

pytestmark = pytest.mark.e2e

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def test_every_generated_request_gets_a_documented_answer(local_stack: LocalStack, tmp_path: Path) -> None:
    token = local_stack.token("fuzzing", "admin")
    done = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{local_stack.gateway_url}/openapi.json",
            "--url",
            local_stack.gateway_url,
            "-H",
            f"Authorization: Bearer {token}",
            "--phases",
            "coverage,fuzzing",
            "--checks",
            "all",
            "--exclude-checks",
            "positive_data_acceptance",
            "--max-examples",
            "10",
            "--seed",
            "20261127",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,  # the tool keeps a cache of failures in its working directory
        check=False,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
