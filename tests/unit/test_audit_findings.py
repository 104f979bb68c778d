"""Audit findings from positions and hardware, their fingerprints, and the audit queue's message."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from itam.assets.models import Asset, Kind, Money, Status
from itam.licenses.audit import (
    AuditJob,
    Finding,
    FindingType,
    Severity,
    position_findings,
    scheduled_audit_id,
    warranty_findings,
)
from itam.licenses.models import Expiring, License, Metric, Position, consumer_key, product_key
from itam.licenses.position import InstallRow, PositionCalculator

TODAY = date(2026, 6, 15)
CREATED = datetime(2026, 1, 2, 9, 0, tzinfo=UTC)
HEX32 = set("0123456789abcdef")


def eur(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="EUR")


def days(n: int) -> date:
    return TODAY + timedelta(days=n)


def a_position(product: str = "Office", metric: Metric | None = Metric.PER_USER, **fields: Any) -> Position:
    """A balanced position (nothing to report) unless fields say otherwise."""
    values: dict[str, Any] = {
        "product": product,
        "metric": metric,
        "entitled": 10,
        "consumed": 10,
        "position": 0,
        "shortfall": 0,
        "exposure": None,
        "surplus": 0,
        "waste": None,
        "license_ids": ["L1"],
        "devices": 10,
        "users": 10,
        "unlicensed_installs": 0,
    }
    values.update(fields)
    return Position(**values)


def expiring(license_id: str, days_left: int) -> Expiring:
    return Expiring(
        license_id=license_id, end_date=days(days_left), days_left=days_left, quantity=5, auto_renew=False
    )


def findings(position: Position) -> list[Finding]:
    return list(position_findings(position, TODAY))


def is_fingerprint(value: str) -> bool:
    return len(value) == 32 and set(value) <= HEX32


# ---------------------------------------------------------------------- position findings


def test_a_balanced_position_gives_no_findings() -> None:
    assert findings(a_position()) == []


def test_under_licensed() -> None:
    # Given 13 consumed against 10 entitled at 120 EUR a unit
    position = a_position(consumed=13, position=-3, shortfall=3, exposure=eur("360"))

    # When the audit looks at it
    [finding] = findings(position)

    # Then one high-severity under_licensed finding carries the shortfall and the exposure
    assert (finding.type, finding.severity) == (FindingType.UNDER_LICENSED, Severity.HIGH)
    assert (finding.product, finding.metric) == ("Office", Metric.PER_USER)
    assert (finding.shortfall, finding.exposure) == (3, eur("360"))
    assert "13 consumed" in finding.summary
    assert "10 entitled" in finding.summary
    assert is_fingerprint(finding.id)


def test_over_licensed() -> None:
    position = a_position(consumed=6, position=4, surplus=4, waste=eur("50"))

    [finding] = findings(position)

    assert (finding.type, finding.severity) == (FindingType.OVER_LICENSED, Severity.LOW)
    assert (finding.surplus, finding.waste, finding.metric) == (4, eur("50"), Metric.PER_USER)
    assert "4 of 10 unused" in finding.summary


def test_a_product_without_an_entitlement_is_a_high_unlicensed_install() -> None:
    position = a_position(
        product="Visio",
        metric=None,
        entitled=0,
        consumed=3,
        position=None,
        license_ids=[],
        devices=3,
        unlicensed_installs=3,
    )

    [finding] = findings(position)

    assert (finding.type, finding.severity) == (FindingType.UNLICENSED_INSTALL, Severity.HIGH)
    assert (finding.product, finding.metric, finding.devices) == ("Visio", None, 3)


def test_a_saas_only_product_without_installations_gives_no_finding() -> None:
    position = a_position(
        product="Slack", metric=None, entitled=0, consumed=8, position=None, license_ids=[], saas_assigned=8
    )

    assert findings(position) == []


def test_installations_outside_every_version_range_are_a_medium_unlicensed_install() -> None:
    position = a_position(unlicensed_installs=2)

    [finding] = findings(position)

    assert (finding.type, finding.severity) == (FindingType.UNLICENSED_INSTALL, Severity.MEDIUM)
    assert (finding.metric, finding.devices) == (Metric.PER_USER, 2)


@pytest.mark.parametrize(
    ("days_left", "horizon", "severity"),
    [
        (0, 30, Severity.HIGH),
        (30, 30, Severity.HIGH),
        (31, 60, Severity.MEDIUM),
        (60, 60, Severity.MEDIUM),
        (61, 90, Severity.LOW),
        (90, 90, Severity.LOW),
    ],
)
def test_expiring_bucket_and_severity(days_left: int, horizon: int, severity: Severity) -> None:
    position = a_position(expiring=[expiring("L1", days_left)])

    [finding] = findings(position)

    assert (finding.type, finding.horizon_days, finding.severity) == (FindingType.EXPIRING, horizon, severity)
    assert (finding.license_id, finding.days_left, finding.end_date) == ("L1", days_left, days(days_left))


def test_expired_in_use() -> None:
    position = a_position(expired_in_use=["L-old"])

    [finding] = findings(position)

    assert (finding.type, finding.severity, finding.license_id) == (
        FindingType.EXPIRED_IN_USE,
        Severity.HIGH,
        "L-old",
    )


def test_one_position_can_give_several_findings() -> None:
    position = a_position(
        consumed=12,
        position=-2,
        shortfall=2,
        unlicensed_installs=1,
        expiring=[expiring("L1", 10), expiring("L2", 70)],
        expired_in_use=["L0"],
    )

    types = [f.type for f in findings(position)]

    assert types == [
        FindingType.UNDER_LICENSED,
        FindingType.UNLICENSED_INSTALL,
        FindingType.EXPIRING,
        FindingType.EXPIRING,
        FindingType.EXPIRED_IN_USE,
    ]


def test_findings_from_a_computed_position() -> None:
    # Given 2 per-device licenses at 100 EUR (one ending in 20 days) and 5 devices
    licenses = [
        License(
            id=f"L{i}",
            version=1,
            product="Office",
            metric=Metric.PER_DEVICE,
            quantity=1,
            unit_cost=eur("100"),
            end_date=end,
            created_at=CREATED,
            updated_at=CREATED,
            created_by="u-admin",
            updated_by="u-admin",
        )
        for i, end in ((1, days(20)), (2, None))
    ]
    installs = [
        InstallRow(product_key("Office"), consumer_key(None, f"d{i}"), f"d{i}", None, None, None)
        for i in range(5)
    ]
    [position] = PositionCalculator(TODAY, [(lic.product, lic) for lic in licenses], []).positions(installs)

    # When the audit looks at it
    result = {(f.type, f.license_id): f for f in findings(position)}

    # Then a shortfall of 3 (300 EUR) and an expiry within 30 days
    assert set(result) == {(FindingType.UNDER_LICENSED, None), (FindingType.EXPIRING, "L1")}
    under = result[(FindingType.UNDER_LICENSED, None)]
    assert (under.shortfall, under.exposure) == (3, eur("300"))
    assert result[(FindingType.EXPIRING, "L1")].horizon_days == 30


# ---------------------------------------------------------------------- fingerprints


def test_fingerprints_are_stable_across_calls() -> None:
    position = a_position(
        consumed=12,
        position=-2,
        shortfall=2,
        unlicensed_installs=1,
        expiring=[expiring("L1", 10)],
        expired_in_use=["L0"],
    )

    first = [f.id for f in findings(position)]
    second = [f.id for f in findings(position)]

    assert first == second
    assert all(is_fingerprint(i) for i in first)
    assert len(set(first)) == len(first)


def test_fingerprints_do_not_depend_on_amounts_or_the_day() -> None:
    # The same shortfall grown from 2 to 5 the next day is the same finding
    before = findings(a_position(consumed=12, position=-2, shortfall=2))
    after = list(
        position_findings(a_position(consumed=15, position=-5, shortfall=5), TODAY + timedelta(days=1))
    )

    assert [f.id for f in before] == [f.id for f in after]


def test_fingerprints_distinguish_products_metrics_and_types() -> None:
    short = {"consumed": 12, "position": -2, "shortfall": 2}
    ids = [
        findings(a_position("Office", Metric.PER_USER, **short))[0].id,
        findings(a_position("Visio", Metric.PER_USER, **short))[0].id,
        findings(a_position("Office", Metric.PER_DEVICE, **short))[0].id,
        findings(a_position("Office", Metric.PER_USER, consumed=8, position=2, surplus=2))[0].id,
        findings(a_position("Office", Metric.PER_USER, unlicensed_installs=1))[0].id,
        findings(
            a_position("Office", None, entitled=0, position=None, license_ids=[], unlicensed_installs=1)
        )[0].id,
    ]

    assert len(set(ids)) == len(ids)


def test_expiring_fingerprint_is_per_license_and_bucket() -> None:
    def expiry_id(license_id: str, days_left: int) -> str:
        [finding] = findings(a_position(expiring=[expiring(license_id, days_left)]))
        return finding.id

    # Same license and bucket on successive days: the same finding
    assert expiry_id("L1", 50) == expiry_id("L1", 49)
    # Moving into the next bucket, or another license: a new finding
    assert expiry_id("L1", 31) != expiry_id("L1", 30)
    assert expiry_id("L1", 50) != expiry_id("L2", 50)


def test_expired_in_use_fingerprint_is_per_license() -> None:
    one, two = findings(a_position(expired_in_use=["L1", "L2"]))

    assert one.id != two.id
    assert findings(a_position("Other", expired_in_use=["L1"]))[0].id == one.id


# ---------------------------------------------------------------------- warranty


def an_asset(
    asset_id: str,
    warranty_end: date | None,
    kind: Kind = Kind.HARDWARE,
    status: Status = Status.DEPLOYED,
) -> Asset:
    return Asset(
        id=asset_id,
        name=f"Laptop {asset_id}",
        kind=kind,
        status=status,
        warranty_end=warranty_end,
        version=1,
        created_at=CREATED,
        updated_at=CREATED,
        created_by="u-admin",
        updated_by="u-admin",
    )


def test_warranty_expiring_for_hardware_in_service_within_30_days() -> None:
    assets = [
        an_asset("today", TODAY),
        an_asset("in-10", days(10)),
        an_asset("in-30", days(30)),
        an_asset("in-31", days(31)),
        an_asset("ended", days(-1)),
        an_asset("none", None),
        an_asset("maintenance", days(5), status=Status.IN_MAINTENANCE),
        an_asset("retired", days(5), status=Status.RETIRED),
        an_asset("disposed", days(5), status=Status.DISPOSED),
        an_asset("software", days(5), kind=Kind.SOFTWARE),
        an_asset("saas", days(5), kind=Kind.SAAS),
        an_asset("cloud", days(5), kind=Kind.CLOUD),
    ]

    result = list(warranty_findings(assets, TODAY))

    assert [(f.asset_id, f.days_left) for f in result] == [
        ("today", 0),
        ("in-10", 10),
        ("in-30", 30),
        ("maintenance", 5),
    ]
    first = result[1]
    assert (first.type, first.severity, first.end_date) == (
        FindingType.WARRANTY_EXPIRING,
        Severity.MEDIUM,
        days(10),
    )
    assert (first.product, first.license_id) == (None, None)


@pytest.mark.parametrize(
    ("status", "found"),
    [
        (Status.PLANNED, False),
        (Status.ORDERED, False),
        (Status.CANCELLED, False),
        (Status.IN_STOCK, True),
        (Status.DEPLOYED, True),
        (Status.IN_MAINTENANCE, True),
        (Status.RETIRED, False),
        (Status.DISPOSED, False),
    ],
)
def test_warranty_expiring_only_for_hardware_in_service(status: Status, found: bool) -> None:
    # Hardware not yet received, never to arrive, or out of service has no warranty to act on.
    result = list(warranty_findings([an_asset("laptop", days(10), status=status)], TODAY))

    assert [f.asset_id for f in result] == (["laptop"] if found else [])


def test_warranty_fingerprint_is_stable_per_asset_and_end_date() -> None:
    def warranty_id(asset_id: str, end: date, today: date = TODAY) -> str:
        [finding] = warranty_findings([an_asset(asset_id, end)], today)
        return finding.id

    assert warranty_id("a1", days(10)) == warranty_id("a1", days(10), today=days(1))
    assert warranty_id("a1", days(10)) != warranty_id("a2", days(10))
    assert warranty_id("a1", days(10)) != warranty_id("a1", days(11))
    assert is_fingerprint(warranty_id("a1", days(10)))


# ---------------------------------------------------------------------- scheduled audits and jobs


def test_scheduled_audit_id_is_stable_per_tenant_and_day() -> None:
    first = scheduled_audit_id("acme", TODAY)

    assert scheduled_audit_id("acme", TODAY) == first
    assert is_fingerprint(first)
    assert scheduled_audit_id("acme", days(1)) != first
    assert scheduled_audit_id("globex", TODAY) != first


def test_audit_job_accepts_a_well_formed_message() -> None:
    job = AuditJob.model_validate(
        {
            "job": "audit",
            "tenant_id": "acme-2",
            "audit_id": "0" * 32,
            "trigger": "on_demand",
            "day": "2026-06-15",
        }
    )

    assert (job.job, job.tenant_id, job.trigger, job.day) == ("audit", "acme-2", "on_demand", TODAY)
    assert AuditJob.model_validate({"job": "normalize", "tenant_id": "ac"}).trigger == "schedule"


def test_audit_job_rejects_unknown_fields() -> None:
    with pytest.raises(ValidationError, match="extra"):
        AuditJob.model_validate({"job": "audit", "tenant_id": "acme", "priority": 1})


@pytest.mark.parametrize(
    "tenant_id",
    ["", "a", "Acme", "-acme", "acme_corp", "acme#1", "../acme", "a" * 64, "acme corp"],
)
def test_audit_job_rejects_bad_tenant_ids(tenant_id: str) -> None:
    with pytest.raises(ValidationError):
        AuditJob.model_validate({"job": "audit", "tenant_id": tenant_id})


@pytest.mark.parametrize(
    "message",
    [
        {"job": "delete", "tenant_id": "acme"},
        {"job": "audit", "tenant_id": "acme", "audit_id": "XYZ"},
        {"job": "audit", "tenant_id": "acme", "trigger": "manual"},
        {"job": "audit"},
    ],
)
def test_audit_job_rejects_other_malformed_messages(message: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        AuditJob.model_validate(message)
