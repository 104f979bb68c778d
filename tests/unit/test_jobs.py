"""The schedulers' fan-out, the scheduled job messages and the context workers act in."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from itam.inventory.service import scheduled_job, scheduled_run_id
from itam.jobs import fan_out
from itam.licenses.audit import scheduled_audit_id
from itam.licenses.service import scheduled_message
from itam.tenancy import Role, TenantContext
from tests.support.fakes import RecordingQueue


def test_fan_out_queues_ten_messages_a_call() -> None:
    queue = RecordingQueue()

    queued = fan_out(({"n": n} for n in range(23)), queue, "audit")

    assert queued == 23
    assert [len(batch) for batch in queue.batches] == [10, 10, 3]


def test_fan_out_queues_everything_before_it_reports_what_was_refused() -> None:
    queue = RecordingQueue(refuse=2)

    with pytest.raises(RuntimeError, match=r"^2 of 12 sync messages were not queued$"):
        fan_out(({"n": n} for n in range(12)), queue, "sync")
    assert [len(batch) for batch in queue.batches] == [10, 2]


def test_nothing_to_fan_out_sends_nothing() -> None:
    queue = RecordingQueue()

    assert fan_out(iter(()), queue, "audit") == 0
    assert queue.batches == []


def test_scheduled_jobs_are_fixed_for_their_period() -> None:
    day = date(2026, 6, 15)
    at = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)

    assert scheduled_message("acme", day) == {
        "job": "audit",
        "tenant_id": "acme",
        "audit_id": scheduled_audit_id("acme", day),
        "trigger": "schedule",
        "day": "2026-06-15",
    }
    job = scheduled_job("acme", "c" * 32, at)
    assert (job["tenant_id"], job["connector_id"], job["trigger"]) == ("acme", "c" * 32, "schedule")
    assert job["run_id"] is None and job["scheduled_at"].startswith("2026-06-15T09:00:00")
    assert scheduled_run_id("c" * 32, at) == scheduled_run_id("c" * 32, at.replace(minute=59))


def test_system_context_is_an_admin_named_after_the_worker() -> None:
    assert TenantContext.system("acme", "inventory", "inventory sync") == TenantContext(
        "acme", "system:inventory", "inventory sync", frozenset({Role.ADMIN})
    )
    assert TenantContext.system("acme", "procurement") == TenantContext(
        "acme", "system:procurement", "procurement", frozenset({Role.ADMIN})
    )
