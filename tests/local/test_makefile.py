"""`make help` lists every target a developer can run, each with what it does."""

from __future__ import annotations

import re
import subprocess

from infra.local.template import REPO_ROOT


def phony_targets() -> set[str]:
    text = (REPO_ROOT / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    (declared,) = re.findall(r"^\.PHONY:(.*)$", text, flags=re.MULTILINE)
    return set(declared.split())


def test_make_help_describes_every_target() -> None:
    shown = subprocess.run(["make", "-s", "help"], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    described = {line.split()[0]: line for line in shown.stdout.splitlines() if line.strip()}
    targets = phony_targets()
    assert {"dev", "dev-reset", "test", "test-unit", "test-e2e", "test-local", "clean"} <= targets
    assert targets - described.keys() == set()
    assert all(len(line.split()) > 1 for line in described.values())
