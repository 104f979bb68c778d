"""The license audit on moto: schedule -> fan-out -> SQS -> worker -> report -> events, and its faults."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.audit_support import drain, fire_schedule, run_worker
from tests.integration.conftest import Api, Jobs
from tests.support import metrics

DAY = "2026-11-27"


@pytest.fixture
def estate(api: Api) -> dict[str, Any]:
    """acme: an under-licensed product, an expiring license, an unlicensed install, a warranty ending."""
    lic = api.post(
        "/v1/licenses",
        {
            "product": "Visio",
            "metric": "per_device",
            "quantity": 1,
            "unit_cost": {"amount": "250", "currency": "EUR"},
            "end_date": "2026-12-15",
        },
    ).body
    laptops = [
        api.post(
            "/v1/assets",
            {
                "name": f"L{n}",
                "kind": "hardware",
                "status": "deployed",
                "purchase_date": "2024-01-01",
                "warranty_end": "2026-12-05",
            },
        ).body
        for n in range(2)
    ]
    for laptop in laptops:
        assert api.post(f"/v1/assets/{laptop['id']}/software", {"product": "Visio"}).status == 201
    assert api.post(f"/v1/assets/{laptops[0]['id']}/software", {"product": "WinRAR"}).status == 201
    return {"license": lic, "laptops": laptops}


def audit_of(api: Api, audit_id: str) -> dict[str, Any]:
    reply = api.get(f"/v1/audits/{audit_id}")
    assert reply.status == 200, reply.body
    body: dict[str, Any] = reply.body
    return body


def test_schedule_fans_out_and_the_worker_reports_and_publishes(
    api: Api, jobs: Jobs, estate: dict[str, Any]
) -> None:
    globex = api.as_("globex")
    globex.post("/v1/assets", {"name": "G", "kind": "hardware"})

    # When the schedule fires: one message per tenant, nothing else
    assert fire_schedule(f"{DAY}T05:00:00Z") == {"day": DAY, "queued": 2}
    messages = drain(jobs.queue_url)
    assert sorted(m["tenant_id"] for m in messages) == ["acme", "globex"]
    assert api.get("/v1/audits").body["items"] == []

    # And the worker takes the batch
    assert run_worker(messages) == {"batchItemFailures": []}

    [report] = api.get("/v1/audits").body["items"]
    assert (report["status"], report["trigger"], report["day"]) == ("complete", "schedule", DAY)
    detail = audit_of(api, report["id"])
    found = {(f["type"], f.get("product") or f.get("asset_id")) for f in detail["findings"]}
    laptops = [laptop["id"] for laptop in estate["laptops"]]
    assert found == {
        ("under_licensed", "Visio"),
        ("expiring", "Visio"),
        ("unlicensed_install", "WinRAR"),
        ("warranty_expiring", laptops[0]),
        ("warranty_expiring", laptops[1]),
    }
    [position] = [p for p in api.get("/v1/compliance").body["items"] if p["product"] == "Visio"]
    assert (position["expiring_30"], position["expiring_60"], position["expiring_90"]) == (1, 1, 1)
    under = next(f for f in detail["findings"] if f["type"] == "under_licensed")
    assert (under["shortfall"], under["exposure"]) == (1, {"amount": "250", "currency": "EUR"})
    assert detail["counts"] == {
        "under_licensed": 1,
        "expiring": 1,
        "unlicensed_install": 1,
        "warranty_expiring": 2,
    }
    assert detail["exposure"] == [{"amount": "250", "currency": "EUR"}]

    # And every finding went to the bus, plus one audit.completed per tenant
    events = jobs.events()
    kinds = sorted(e["detail-type"] for e in events)
    assert kinds == sorted(
        [
            "license.under_licensed",
            "license.expiring",
            "license.unlicensed_install",
            "asset.warranty_expiring",
            "asset.warranty_expiring",
            "audit.completed",
            "audit.completed",
        ]
    )
    assert all(e["source"] == "itam" for e in events)
    acme_findings = {e["detail"]["finding"]["id"] for e in events if e["detail-type"] != "audit.completed"}
    assert acme_findings == {f["id"] for f in detail["findings"]}
    # globex sees its own report only
    [theirs] = globex.get("/v1/audits").body["items"]
    assert theirs["id"] != report["id"]


def test_an_audit_is_counted_as_metrics_with_its_findings_by_type(
    api: Api, jobs: Jobs, estate: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    fire_schedule(f"{DAY}T05:00:00Z")
    acme = [m for m in drain(jobs.queue_url) if m["tenant_id"] == "acme"]
    capsys.readouterr()
    assert run_worker(acme) == {"batchItemFailures": []}

    [doc] = metrics.documents(capsys.readouterr().out, "Audits")
    [report] = api.get("/v1/audits").body["items"]
    assert metrics.definition(doc)[:2] == ("ITAM", [["status", "service"]])
    assert (doc["status"], doc["Audits"], doc["AuditFindings"]) == ("complete", [1.0], [5.0])
    assert (doc["FindingsUnderLicensed"], doc["FindingsWarrantyExpiring"]) == ([1.0], [2.0])
    assert (doc["tenant_id"], doc["audit_id"]) == ("acme", report["id"])


def test_a_repeated_schedule_or_delivery_duplicates_nothing(
    api: Api, jobs: Jobs, estate: dict[str, Any]
) -> None:
    fire_schedule()
    first = drain(jobs.queue_url)
    run_worker(first)
    published = len(jobs.events())
    fire_schedule()
    again = drain(jobs.queue_url)
    assert again == first  # the same audit id for the same tenant and day
    run_worker(again + again)

    [report] = api.get("/v1/audits").body["items"]
    assert report["findings_total"] == 5
    assert len(audit_of(api, report["id"])["findings"]) == 5
    assert jobs.events() == []
    assert published == 6


def test_on_demand_audit_is_202_then_completes(api: Api, jobs: Jobs, estate: dict[str, Any]) -> None:
    reply = api.post("/v1/audits")
    assert reply.status == 202
    assert reply.headers["Location"] == f"/v1/audits/{reply.body['id']}"
    assert audit_of(api, reply.body["id"])["status"] == "queued"
    [message] = drain(jobs.queue_url)
    assert message["tenant_id"] == "acme"
    assert message["audit_id"] == reply.body["id"]
    run_worker([message])
    detail = audit_of(api, reply.body["id"])
    assert detail["status"] == "complete"
    assert detail["trigger"] == "on_demand"
    assert detail["requested_by"] == "acme-u-1"
    assert detail["findings_total"] == 5
    # A second audit the same day publishes nothing already published that day
    jobs.events()
    second = api.post("/v1/audits").body
    run_worker(drain(jobs.queue_url))
    assert audit_of(api, second["id"])["findings_total"] == 5
    assert [e["detail-type"] for e in jobs.events()] == ["audit.completed"]


def test_findings_page_with_a_cursor(api: Api, jobs: Jobs, estate: dict[str, Any]) -> None:
    audit_id = api.post("/v1/audits").body["id"]
    run_worker(drain(jobs.queue_url))
    seen, cursor = [], None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = api.get(f"/v1/audits/{audit_id}", query=query).body
        seen += [f["id"] for f in page["findings"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 5


def test_one_tenants_failure_does_not_block_anothers(
    api: Api, jobs: Jobs, estate: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from itam.licenses import service

    broken = "globex"
    api.as_(broken).post("/v1/assets", {"name": "G", "kind": "hardware"})
    real = service._calculator

    def failing(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        if ctx.tenant_id == broken:
            raise RuntimeError("corrupt data")
        return real(ctx, *args, **kwargs)

    monkeypatch.setattr(service, "_calculator", failing)
    fire_schedule()
    messages = drain(jobs.queue_url)
    result = run_worker(messages)
    failed_ids = [f["itemIdentifier"] for f in result["batchItemFailures"]]
    assert len(failed_ids) == 1
    failed_index = int(failed_ids[0].rsplit("-", 1)[1])
    assert messages[failed_index]["tenant_id"] == broken
    [report] = api.get("/v1/audits").body["items"]
    assert report["status"] == "complete"
    [theirs] = api.as_(broken).get("/v1/audits").body["items"]
    assert theirs["status"] == "running"

    # On the last delivery the report says failed; nothing looks complete
    run_worker([messages[failed_index]], receive_count=3)
    failed = audit_of(api.as_(broken), theirs["id"])
    assert (failed["status"], failed["findings"], failed["error"]) == ("failed", [], "RuntimeError")


def test_a_run_killed_midway_leaves_no_report_that_looks_complete(
    api: Api, jobs: Jobs, estate: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from itam.adapters.messaging import EventBridgePublisher

    real = EventBridgePublisher.publish

    def dies(self: Any, detail_type: str, details: Any) -> None:
        raise TimeoutError("the function timed out")

    audit_id = api.post("/v1/audits").body["id"]
    [message] = drain(jobs.queue_url)
    monkeypatch.setattr(EventBridgePublisher, "publish", dies)
    result = run_worker([message])
    assert len(result["batchItemFailures"]) == 1
    interrupted = audit_of(api, audit_id)
    # Findings were written before it died, but the report is not complete and shows none of them
    assert (interrupted["status"], interrupted["findings"], interrupted["findings_total"]) == (
        "running",
        [],
        0,
    )

    # The redelivery completes it, with each finding once
    monkeypatch.setattr(EventBridgePublisher, "publish", real)
    run_worker([message], receive_count=2)
    done = audit_of(api, audit_id)
    assert done["status"] == "complete"
    assert done["attempts"] == 2
    assert len(done["findings"]) == done["findings_total"] == 5


def test_a_malformed_message_fails_alone(api: Api, jobs: Jobs, estate: dict[str, Any]) -> None:
    good = {"job": "audit", "tenant_id": "acme", "audit_id": None, "trigger": "schedule", "day": DAY}
    result = run_worker([{"tenant_id": "../etc"}, good])
    assert [f["itemIdentifier"] for f in result["batchItemFailures"]] == [
        "00000000-0000-4000-8000-000000000000"
    ]
    assert api.get("/v1/audits").body["items"][0]["status"] == "complete"


def test_an_audit_that_cannot_be_queued_is_not_left_waiting(
    api: Api, jobs: Jobs, monkeypatch: pytest.MonkeyPatch
) -> None:
    from itam.adapters.messaging import SqsJobQueue

    def unavailable(self: Any, message: Any) -> None:
        raise ConnectionError("SQS is unreachable")

    monkeypatch.setattr(SqsJobQueue, "send", unavailable)
    reply = api.post("/v1/audits")
    assert reply.status == 500
    [report] = api.get("/v1/audits").body["items"]
    assert (report["status"], report["error"]) == ("failed", "not queued")
