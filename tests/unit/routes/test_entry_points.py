"""One Lambda entry point per bounded context: each serves its own routes and imports no other
context's code (checked in a fresh interpreter, as a cold Lambda environment starts)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
CONTEXT_PACKAGES = ("itam.licenses", "itam.inventory", "itam.procurement", "itam.requests")

# Serves one request through an entry point (the asset service on the fake register, when asked for),
# then reports the status and which context packages were imported.
SCRIPT = """
import json, sys
from functions.api import handler
from tests.support.events import claims_for, http_event
from tests.support.lambda_api import LambdaContext

entry_point, path, signed_in, packages = sys.argv[1], sys.argv[2], sys.argv[3] == "yes", sys.argv[4:]
if signed_in:
    from itam import bootstrap
    from itam.assets.service import AssetService
    from tests.support.fakes import FakeAssetRepository

    handler.app.dependency_overrides[bootstrap.asset_service] = lambda: AssetService(FakeAssetRepository())
event = http_event("GET", path, claims=claims_for("acme", "admin") if signed_in else None)
status = getattr(handler, entry_point)(event, LambdaContext())["statusCode"]
loaded = sorted({".".join(m.split(".")[:2]) for m in sys.modules if m.startswith(tuple(packages))})
print(json.dumps({"status": status, "loaded": loaded}))
"""


def serve_in_a_fresh_interpreter(entry_point: str, path: str, signed_in: bool = False) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "functions" / "api")])}
    env.update({"POWERTOOLS_LOG_LEVEL": "ERROR", "AWS_DEFAULT_REGION": "us-east-1"})
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, entry_point, path, "yes" if signed_in else "no", *CONTEXT_PACKAGES],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    outcome: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return outcome


def test_an_asset_read_imports_no_other_context() -> None:
    outcome = serve_in_a_fresh_interpreter(
        "assets_handler", "/v1/assets/0123456789abcdef0123456789abcdef", True
    )

    assert outcome == {"status": 404, "loaded": []}


def test_the_asset_function_does_not_serve_another_contexts_routes() -> None:
    assert serve_in_a_fresh_interpreter("assets_handler", "/v1/licenses") == {"status": 404, "loaded": []}


@pytest.mark.parametrize(
    ("entry_point", "path", "loaded"),
    [
        ("licenses_handler", "/v1/compliance", ["itam.licenses"]),
        ("inventory_handler", "/v1/connectors", ["itam.inventory"]),
        # The procurement service turns deliveries into licenses: its module imports licensing.
        ("procurement_handler", "/v1/webhook-endpoints", ["itam.licenses", "itam.procurement"]),
        ("requests_handler", "/v1/approval-policy", ["itam.requests"]),
    ],
)
def test_each_context_function_serves_its_routes_and_imports_its_own_context(
    entry_point: str, path: str, loaded: list[str]
) -> None:
    # Unauthenticated: the route is matched (401, not 404) and the caller is refused before any
    # service is built, so no configuration is needed.
    assert serve_in_a_fresh_interpreter(entry_point, path) == {"status": 401, "loaded": loaded}


def test_the_whole_api_function_serves_every_context() -> None:
    outcome = serve_in_a_fresh_interpreter("lambda_handler", "/v1/connectors")

    assert outcome == {"status": 401, "loaded": sorted(CONTEXT_PACKAGES)}
