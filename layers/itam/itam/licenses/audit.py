"""The license audit: findings from positions and hardware, the report, and the run that stores both.

Annotations are evaluated as each class is made (no `from __future__ import annotations`): pydantic
would otherwise compile every field's annotation from a string, a sixth of the models' share of a cold start.
"""

import hashlib
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import ConfigDict, Field

from itam.assets.lifecycle import IN_SERVICE
from itam.assets.models import Asset, Kind, Model, Money
from itam.licenses.models import Metric, Position

WARRANTY_HORIZON_DAYS = 30
EXPIRY_BUCKETS = (30, 60, 90)


class FindingType(StrEnum):
    UNDER_LICENSED = "under_licensed"
    OVER_LICENSED = "over_licensed"
    EXPIRING = "expiring"
    EXPIRED_IN_USE = "expired_in_use"
    UNLICENSED_INSTALL = "unlicensed_install"
    WARRANTY_EXPIRING = "warranty_expiring"


class Severity(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Finding(Model):
    """One thing the audit found. `id` is a fingerprint of what it is about, the same on every run."""

    id: str
    type: FindingType
    severity: Severity
    summary: str
    product: str | None = None
    metric: Metric | None = None
    license_id: str | None = None
    asset_id: str | None = None
    shortfall: int | None = None
    exposure: Money | None = None
    surplus: int | None = None
    waste: Money | None = None
    devices: int | None = None
    end_date: date | None = None
    days_left: int | None = None
    horizon_days: int | None = Field(default=None, description="30, 60 or 90: the expiry bucket")


class AuditStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETE = "complete"
    FAILED = "failed"


class AuditReport(Model):
    """An audit of one tenant. Its findings count only once `status` is complete."""

    id: str
    status: AuditStatus
    trigger: Literal["schedule", "on_demand"]
    day: date
    requested_at: datetime
    requested_by: str | None = None
    run: str | None = Field(default=None, description="The attempt whose findings the report holds")
    attempts: int = 0
    started_at: datetime | None = None
    completed_at: datetime | None = None
    products: int = 0
    findings_total: int = 0
    counts: dict[FindingType, int] = Field(default_factory=dict)
    exposure: list[Money] = Field(default_factory=list, description="True-up exposure, per currency")
    waste: list[Money] = Field(default_factory=list, description="Waste in surplus, per currency")
    error: str | None = None


class AuditDetail(AuditReport):
    """GET /v1/audits/{id}: the report and one page of its findings."""

    findings: list[Finding]
    next_cursor: str | None = None


class AuditPage(Model):
    items: list[AuditReport]
    next_cursor: str | None = None


class AuditAccepted(Model):
    id: str
    status: AuditStatus
    day: date


class AuditJob(Model):
    """A message on the audit queue: audit a tenant, or re-apply its normalization rules."""

    model_config = ConfigDict(extra="forbid")

    job: Literal["audit", "normalize"] = "audit"
    tenant_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
    audit_id: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$")
    trigger: Literal["schedule", "on_demand"] = "schedule"
    day: date | None = None


def scheduled_audit_id(tenant_id: str, day: date) -> str:
    """The scheduled audit of a tenant on a day has one id, so a repeated delivery finds its report."""
    return hashlib.sha256(f"schedule|{tenant_id}|{day.isoformat()}".encode()).hexdigest()[:32]


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256("|".join("" if p is None else str(p) for p in parts).encode()).hexdigest()[:32]


def position_findings(position: Position, today: date) -> Iterator[Finding]:
    """The findings one product position gives."""
    product, metric = position.product, position.metric
    if metric is None:
        if position.unlicensed_installs:
            yield Finding(
                id=_fingerprint(FindingType.UNLICENSED_INSTALL, product),
                type=FindingType.UNLICENSED_INSTALL,
                severity=Severity.HIGH,
                summary=f"{product} is on {position.unlicensed_installs} devices without any entitlement",
                product=product,
                devices=position.unlicensed_installs,
            )
        return
    if position.shortfall > 0:
        yield Finding(
            id=_fingerprint(FindingType.UNDER_LICENSED, product, metric),
            type=FindingType.UNDER_LICENSED,
            severity=Severity.HIGH,
            summary=f"{product} ({metric}): {position.consumed} consumed, {position.entitled} entitled",
            product=product,
            metric=metric,
            shortfall=position.shortfall,
            exposure=position.exposure,
        )
    if position.surplus > 0:
        yield Finding(
            id=_fingerprint(FindingType.OVER_LICENSED, product, metric),
            type=FindingType.OVER_LICENSED,
            severity=Severity.LOW,
            summary=f"{product} ({metric}): {position.surplus} of {position.entitled} unused",
            product=product,
            metric=metric,
            surplus=position.surplus,
            waste=position.waste,
        )
    if position.unlicensed_installs:
        yield Finding(
            id=_fingerprint(FindingType.UNLICENSED_INSTALL, product, metric),
            type=FindingType.UNLICENSED_INSTALL,
            severity=Severity.MEDIUM,
            summary=f"{product}: {position.unlicensed_installs} devices run a version no license covers",
            product=product,
            metric=metric,
            devices=position.unlicensed_installs,
        )
    for soon in position.expiring:
        horizon = next(b for b in EXPIRY_BUCKETS if soon.days_left <= b)
        yield Finding(
            id=_fingerprint(FindingType.EXPIRING, soon.license_id, horizon),
            type=FindingType.EXPIRING,
            severity=Severity.HIGH if horizon == 30 else Severity.MEDIUM if horizon == 60 else Severity.LOW,
            summary=f"a {product} license ends on {soon.end_date} ({soon.days_left} days)",
            product=product,
            metric=metric,
            license_id=soon.license_id,
            end_date=soon.end_date,
            days_left=soon.days_left,
            horizon_days=horizon,
        )
    for license_id in position.expired_in_use:
        yield Finding(
            id=_fingerprint(FindingType.EXPIRED_IN_USE, license_id),
            type=FindingType.EXPIRED_IN_USE,
            severity=Severity.HIGH,
            summary=f"a {product} license has ended but {product} is still in use",
            product=product,
            metric=metric,
            license_id=license_id,
        )


def warranty_findings(assets: Iterable[Asset], today: date) -> Iterator[Finding]:
    """Hardware in service (in stock, deployed or in maintenance: not planned, ordered, cancelled,
    retired or disposed of) whose warranty ends within WARRANTY_HORIZON_DAYS."""
    horizon = today + timedelta(days=WARRANTY_HORIZON_DAYS)
    for asset in assets:
        if asset.kind is not Kind.HARDWARE or asset.status not in IN_SERVICE:
            continue
        if asset.warranty_end is None or not today <= asset.warranty_end <= horizon:
            continue
        days = (asset.warranty_end - today).days
        yield Finding(
            id=_fingerprint(FindingType.WARRANTY_EXPIRING, asset.id, asset.warranty_end),
            type=FindingType.WARRANTY_EXPIRING,
            severity=Severity.MEDIUM,
            summary=f"the warranty of {asset.name} ends on {asset.warranty_end} ({days} days)",
            asset_id=asset.id,
            end_date=asset.warranty_end,
            days_left=days,
        )
