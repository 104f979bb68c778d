"""Use cases of software licensing: entitlements, seats, installations, rules, compliance, audits."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from itam.assets.errors import AssetNotFound
from itam.assets.lifecycle import OUT_OF_SERVICE
from itam.assets.models import HOLDS_INSTALLATIONS, Actor, Asset, FieldChange, Kind, Money
from itam.assets.ports import AssetRepository
from itam.changes import field_changes, merged
from itam.clock import ID_PATTERN, SystemClock, TimeOrderedIds
from itam.errors import (
    ConcurrentModification,
    InvalidInput,
    InvalidState,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    StaleVersion,
    WriteConflict,
)
from itam.etags import etag_matches
from itam.idempotency import IdempotencyClaim, claim_of, create_once
from itam.licenses.audit import (
    AuditAccepted,
    AuditDetail,
    AuditReport,
    AuditStatus,
    Finding,
    FindingType,
    position_findings,
    scheduled_audit_id,
    warranty_findings,
)
from itam.licenses.errors import (
    AuditNotFound,
    InstallationNotFound,
    LicenseNotFound,
    NoSeatLeft,
    RuleNotFound,
    SeatNotFound,
)
from itam.licenses.holdings import LicenseHoldings, leaving_assets
from itam.licenses.models import (
    CompliancePage,
    Installation,
    InstallationCreate,
    License,
    LicenseCreate,
    LicenseFilter,
    LicenseHistoryEvent,
    LicensePatch,
    ProductCompliance,
    Rule,
    RuleCreate,
    Seat,
    SeatCreate,
    consumer_key,
    product_key,
)
from itam.licenses.normalization import Normalizer
from itam.licenses.ports import LicenseRepository
from itam.licenses.position import InstallRow, PositionCalculator, SaasUsage
from itam.pagination import Page, PageRequest
from itam.ports import Clock, EventPublisher, IdGenerator, JobQueue
from itam.tenancy import Permission, TenantContext

_NOT_DIFFED = frozenset(
    {"id", "version", "assigned", "peak_assigned", "created_at", "updated_at", "created_by", "updated_by"}
)
EVENT_SOURCE = "itam"
PUBLISHED_MARKER_TTL = timedelta(days=3)
FINDINGS_BATCH = 25
PUBLISH_BATCH = 100

logger = logging.getLogger(__name__)


RepositoryFor = Callable[[TenantContext], LicenseRepository]


class LicenseService:
    """Licensing use cases for the tenant of each call."""

    def __init__(
        self,
        repository_for: RepositoryFor,
        assets: AssetRepository,
        queue: JobQueue,
        clock: Clock | None = None,
        ids: IdGenerator | None = None,
        max_attempts: int = 3,
    ) -> None:
        self._repo_for = repository_for
        self._assets = assets
        self._queue = queue
        self._clock = clock or SystemClock()
        self._ids = ids or TimeOrderedIds()
        self._max_attempts = max_attempts
        self._holdings = LicenseHoldings(repository_for, assets, self._clock, max_attempts)

    def repository_for(self, ctx: TenantContext) -> LicenseRepository:
        return self._repo_for(ctx)

    @property
    def holdings(self) -> LicenseHoldings:
        """What assets hold in licensing, and its release when they go out of service."""
        return self._holdings

    # ------------------------------------------------------------------ licenses
    def create_license(
        self,
        ctx: TenantContext,
        data: LicenseCreate,
        license_id: str | None = None,
        reason: str | None = None,
        idempotency_key: str | None = None,
    ) -> License:
        """Record an entitlement. With a `license_id` chosen by the caller (a PO line), a license that
        exists already is returned as it is: the create happens once. With an Idempotency-Key, the
        same request sent again gets the license the first one created, as it is now."""
        ctx.require(Permission.WRITE)
        now = self._clock.now()
        repo = self._repo_for(ctx)
        lic = License(
            **data.model_dump(),
            id=license_id or self._ids.new_id(),
            version=1,
            created_at=now,
            updated_at=now,
            created_by=ctx.user_id,
            updated_by=ctx.user_id,
        )
        event = _event(ctx, lic, "created", _diff(None, lic), now, reason)
        claim = claim_of(idempotency_key, f"license|{data.model_dump_json()}", now)

        def create() -> License:
            try:
                repo.create_license(ctx, lic, event, claim)
            except StaleVersion:
                if license_id is None:
                    raise
                return self._license(ctx, license_id)
            return lic

        return create_once(ctx, repo, claim, now, create, lambda first: self._license(ctx, first))

    def get_license(self, ctx: TenantContext, license_id: str) -> License:
        ctx.require(Permission.READ)
        return self._license(ctx, license_id)

    def list_licenses(
        self,
        ctx: TenantContext,
        filters: LicenseFilter,
        page: PageRequest,
        expiring_within_days: int | None = None,
    ) -> Page[License]:
        ctx.require(Permission.READ)
        if expiring_within_days is not None:
            today = self._clock.now().date()
            before = today + timedelta(days=expiring_within_days)
            filters = filters.model_copy(update={"expiring_after": today, "expiring_before": before})
        return self._repo_for(ctx).list_licenses(ctx, filters, page)

    def update_license(
        self,
        ctx: TenantContext,
        license_id: str,
        patch: LicensePatch,
        if_match: str | None,
        reason: str | None = None,
    ) -> License:
        """Apply a merge patch under If-Match; a patch that changes nothing writes nothing."""
        ctx.require(Permission.WRITE)
        if if_match is None:
            raise PreconditionRequired()
        pinned = if_match.strip() != "*"
        repo = self._repo_for(ctx)
        for _ in range(self._max_attempts):
            previous = self._license(ctx, license_id)
            if not etag_matches(if_match, previous.version):
                raise PreconditionFailed("license")
            merged = _merge(previous, patch)
            changes = _diff(previous, merged)
            if not changes:
                return previous
            now = self._clock.now()
            current = merged.model_copy(
                update={"version": previous.version + 1, "updated_at": now, "updated_by": ctx.user_id}
            )
            try:
                event = _event(ctx, current, "updated", changes, now, reason)
                repo.update_license(ctx, previous, current, event)
            except (StaleVersion, WriteConflict):
                if pinned:
                    raise PreconditionFailed("license") from None
                continue
            stored = repo.get_license(ctx, license_id)
            return stored or current
        raise ConcurrentModification("the license kept changing while this request was applied; retry")

    def license_history(
        self, ctx: TenantContext, license_id: str, page: PageRequest
    ) -> Page[LicenseHistoryEvent]:
        ctx.require(Permission.READ_HISTORY)
        self._license(ctx, license_id)
        return self._repo_for(ctx).license_history(ctx, license_id, page)

    # ------------------------------------------------------------------ seats
    def assign_seat(
        self,
        ctx: TenantContext,
        license_id: str,
        request: SeatCreate,
        idempotency_key: str | None = None,
    ) -> Seat:
        """Give a user or an asset a seat; refused when the license is full (409) unless it allows
        over-allocation, when it has ended, or when the asset is out of service. A full license
        first gets back the seats of assets out of service whose release stopped part-way. With an
        Idempotency-Key, the same request sent again gets the seat the first one assigned."""
        ctx.require(Permission.WRITE)
        repo = self._repo_for(ctx)
        lic = self._license(ctx, license_id)
        today = self._clock.now().date()
        if not lic.active_on(today):
            raise InvalidState(
                f"license {lic.id} is not in its term on {today}; its seats cannot be assigned"
            )
        if request.asset_id is not None:
            self._check_seat_asset(ctx, request.asset_id)
        now = self._clock.now()
        seat = Seat(
            id=self._ids.new_id(),
            license_id=lic.id,
            user=request.user,
            asset_id=request.asset_id,
            note=request.note,
            assigned_at=now,
            assigned_by=ctx.user_id,
        )
        claim = claim_of(idempotency_key, f"seat|{lic.id}|{request.model_dump_json()}", now)

        def assign() -> Seat:
            self._store_seat(ctx, repo, lic, seat, claim)
            return seat

        return create_once(ctx, repo, claim, now, assign, lambda first: self._seat(ctx, lic.id, first))

    def _check_seat_asset(self, ctx: TenantContext, asset_id: str) -> None:
        asset = self._assets.get(ctx, asset_id)
        if asset is None:
            raise InvalidInput(f"asset {asset_id} does not exist", "asset_id")
        if asset.status in OUT_OF_SERVICE:
            raise InvalidState(f"a {asset.status} asset cannot take a license seat")

    def _store_seat(
        self,
        ctx: TenantContext,
        repo: LicenseRepository,
        lic: License,
        seat: Seat,
        claim: IdempotencyClaim | None,
    ) -> None:
        """Store the seat, retrying conflicts; a full license first finishes releases left part-way."""
        finished_pending = False
        for _ in range(self._max_attempts):
            try:
                repo.assign_seat(ctx, lic, seat, claim)
                break
            except WriteConflict:
                continue
            except StaleVersion:
                raise LicenseNotFound(lic.id) from None
            except NoSeatLeft:
                if finished_pending or not self._holdings.finish_pending(ctx):
                    raise
                finished_pending = True
        else:
            raise ConcurrentModification("the license was too busy to take this assignment; retry")
        repo.record_peak(ctx, lic.id)

    def get_seat(self, ctx: TenantContext, license_id: str, seat_id: str) -> Seat:
        """One current seat of the license (a released one is no longer found)."""
        ctx.require(Permission.READ)
        self._license(ctx, license_id)
        return self._seat(ctx, license_id, seat_id)

    def release_seat(self, ctx: TenantContext, license_id: str, seat_id: str) -> Seat:
        ctx.require(Permission.WRITE)
        repo = self._repo_for(ctx)
        self._license(ctx, license_id)
        seat = self._seat(ctx, license_id, seat_id)
        released = seat.model_copy(update={"released_at": self._clock.now(), "released_by": ctx.user_id})
        try:
            repo.release_seat(ctx, released)
        except (StaleVersion, WriteConflict):
            raise SeatNotFound(seat_id) from None  # released by a concurrent request
        return released

    def list_seats(
        self, ctx: TenantContext, license_id: str, page: PageRequest, released: bool
    ) -> Page[Seat]:
        ctx.require(Permission.READ)
        self._license(ctx, license_id)
        return self._repo_for(ctx).seats(ctx, license_id, page, released)

    # ------------------------------------------------------------------ installations
    def add_installation(
        self,
        ctx: TenantContext,
        asset_id: str,
        data: InstallationCreate,
        idempotency_key: str | None = None,
    ) -> Installation:
        """Record software found on an asset. With an Idempotency-Key, the same request sent again gets
        the installation the first one recorded."""
        ctx.require(Permission.WRITE)
        asset = self._asset(ctx, asset_id)
        if asset.kind not in HOLDS_INSTALLATIONS:
            raise InvalidState(
                f"software is installed on hardware and cloud assets; this one is {asset.kind}"
            )
        if asset.status in OUT_OF_SERVICE:
            raise InvalidState(f"a {asset.status} asset takes no more installations")
        repo = self._repo_for(ctx)
        now = self._clock.now()
        claim = claim_of(idempotency_key, f"installation|{asset_id}|{data.model_dump_json()}", now)

        def add() -> Installation:
            canonical = Normalizer(repo.rules(ctx)).canonical(data.product, data.vendor, data.version)
            inst = Installation(
                **data.model_dump(),
                id=self._ids.new_id(),
                asset_id=asset_id,
                recorded_at=now,
                recorded_by=ctx.user_id,
                canonical_product=canonical,
            )
            repo.add_installation(ctx, inst, consumer_key(inst.user, asset_id), claim)
            return inst

        return create_once(ctx, repo, claim, now, add, lambda first: self._installation(ctx, asset_id, first))

    def list_installations(self, ctx: TenantContext, asset_id: str, page: PageRequest) -> Page[Installation]:
        ctx.require(Permission.READ)
        self._asset(ctx, asset_id)
        return self._repo_for(ctx).installations(ctx, asset_id, page)

    def remove_installation(self, ctx: TenantContext, asset_id: str, install_id: str) -> None:
        ctx.require(Permission.WRITE)
        self._asset(ctx, asset_id)
        if not ID_PATTERN.fullmatch(install_id) or not self._repo_for(ctx).delete_installation(
            ctx, asset_id, install_id
        ):
            raise InstallationNotFound(install_id)

    # ------------------------------------------------------------------ normalization rules
    def create_rule(self, ctx: TenantContext, data: RuleCreate, idempotency_key: str | None = None) -> Rule:
        """Add a rule; installations already recorded are re-normalized in the background. With an
        Idempotency-Key, the same request sent again gets the rule the first one added."""
        ctx.require(Permission.WRITE)
        repo = self._repo_for(ctx)
        now = self._clock.now()
        rule = Rule(**data.model_dump(), id=self._ids.new_id(), created_at=now, created_by=ctx.user_id)
        claim = claim_of(idempotency_key, f"rule|{data.model_dump_json()}", now)

        def create() -> Rule:
            repo.create_rule(ctx, rule, claim)
            self._queue.send({"job": "normalize", "tenant_id": ctx.tenant_id})
            return rule

        return create_once(ctx, repo, claim, now, create, lambda first: self._rule(ctx, first))

    def list_rules(self, ctx: TenantContext, page: PageRequest) -> Page[Rule]:
        ctx.require(Permission.READ)
        return self._repo_for(ctx).rule_page(ctx, page)

    def delete_rule(self, ctx: TenantContext, rule_id: str) -> None:
        ctx.require(Permission.WRITE)
        if not ID_PATTERN.fullmatch(rule_id) or not self._repo_for(ctx).delete_rule(ctx, rule_id):
            raise RuleNotFound(rule_id)
        self._queue.send({"job": "normalize", "tenant_id": ctx.tenant_id})

    # ------------------------------------------------------------------ compliance
    def compliance(self, ctx: TenantContext) -> CompliancePage:
        """Every product's position now, computed from the register in one streaming pass."""
        ctx.require(Permission.READ)
        today = self._clock.now().date()
        repo = self._repo_for(ctx)
        leaving = leaving_assets(repo, ctx, self._clock.now())
        calculator, pending = _calculator(ctx, repo, today, excluded=leaving)
        items = list(calculator.positions(_counted(repo.install_rows(ctx), leaving)))
        return CompliancePage(items=items, normalization_pending=pending, as_of=today)

    def product_compliance(self, ctx: TenantContext, product: str) -> ProductCompliance:
        """One product's positions and the users and assets that make up its consumption."""
        ctx.require(Permission.READ)
        today = self._clock.now().date()
        repo = self._repo_for(ctx)
        key = product_key(product)
        leaving = leaving_assets(repo, ctx, self._clock.now())
        calculator, pending = _calculator(
            ctx, repo, today, only=key, collect_consumers=True, excluded=leaving
        )
        rows = _counted(repo.install_rows(ctx, key), leaving)
        positions = [p for p in calculator.positions(rows) if product_key(p.product) == key]
        if not positions:
            raise NotFound(f"no license, installation or subscription of {product!r}")
        return ProductCompliance(
            product=positions[0].product,
            positions=positions,
            consumers=calculator.consumers,
            consumers_truncated=calculator.consumers_truncated,
            normalization_pending=pending,
        )

    # ------------------------------------------------------------------ audits
    def request_audit(self, ctx: TenantContext, idempotency_key: str | None = None) -> AuditAccepted:
        """Queue an audit of the caller's tenant; the report completes asynchronously. With an
        Idempotency-Key, the same request sent again gets the audit the first one queued, as it is now."""
        ctx.require(Permission.RUN_AUDIT)
        now = self._clock.now()
        report = AuditReport(
            id=self._ids.new_id(),
            status=AuditStatus.QUEUED,
            trigger="on_demand",
            day=now.date(),
            requested_at=now,
            requested_by=ctx.user_id,
        )
        repo = self._repo_for(ctx)
        claim = claim_of(idempotency_key, "audit", now)

        def request() -> AuditAccepted:
            repo.create_report(ctx, report, claim)
            try:
                self._queue.send(audit_message(ctx.tenant_id, report.id, "on_demand", report.day))
            except Exception:
                # Not queued: say so on the report rather than leave it waiting forever.
                repo.save_report(
                    ctx, report.model_copy(update={"status": AuditStatus.FAILED, "error": "not queued"})
                )
                raise
            return AuditAccepted(id=report.id, status=report.status, day=report.day)

        def replay(first: str) -> AuditAccepted:
            queued = self._report(ctx, first)
            return AuditAccepted(id=queued.id, status=queued.status, day=queued.day)

        return create_once(ctx, repo, claim, now, request, replay)

    def list_audits(self, ctx: TenantContext, page: PageRequest) -> Page[AuditReport]:
        ctx.require(Permission.READ)
        return self._repo_for(ctx).list_reports(ctx, page)

    def get_audit(self, ctx: TenantContext, audit_id: str, page: PageRequest) -> AuditDetail:
        ctx.require(Permission.READ)
        repo = self._repo_for(ctx)
        report = self._report(ctx, audit_id)
        findings: Page[Finding] = Page(items=[])
        if report.status is AuditStatus.COMPLETE and report.run is not None:
            findings = repo.findings(ctx, audit_id, report.run, page)
        return AuditDetail(**report.model_dump(), findings=findings.items, next_cursor=findings.next_cursor)

    # ------------------------------------------------------------------ internals
    def _license(self, ctx: TenantContext, license_id: str) -> License:
        lic = self._repo_for(ctx).get_license(ctx, license_id) if ID_PATTERN.fullmatch(license_id) else None
        if lic is None:
            raise LicenseNotFound(license_id)
        return lic

    def _seat(self, ctx: TenantContext, license_id: str, seat_id: str) -> Seat:
        repo = self._repo_for(ctx)
        seat = repo.get_seat(ctx, license_id, seat_id) if ID_PATTERN.fullmatch(seat_id) else None
        if seat is None:
            raise SeatNotFound(seat_id)
        return seat

    def _installation(self, ctx: TenantContext, asset_id: str, install_id: str) -> Installation:
        inst = self._repo_for(ctx).get_installation(ctx, asset_id, install_id)
        if inst is None:
            raise InstallationNotFound(install_id)
        return inst

    def _rule(self, ctx: TenantContext, rule_id: str) -> Rule:
        rule = self._repo_for(ctx).get_rule(ctx, rule_id)
        if rule is None:
            raise RuleNotFound(rule_id)
        return rule

    def _report(self, ctx: TenantContext, audit_id: str) -> AuditReport:
        report = self._repo_for(ctx).get_report(ctx, audit_id) if ID_PATTERN.fullmatch(audit_id) else None
        if report is None:
            raise AuditNotFound(audit_id)
        return report

    def _asset(self, ctx: TenantContext, asset_id: str) -> Asset:
        asset = self._assets.get(ctx, asset_id) if ID_PATTERN.fullmatch(asset_id) else None
        if asset is None:
            raise AssetNotFound(asset_id)
        return asset


def audit_message(tenant_id: str, audit_id: str, trigger: str, day: date) -> dict[str, Any]:
    return {
        "job": "audit",
        "tenant_id": tenant_id,
        "audit_id": audit_id,
        "trigger": trigger,
        "day": day.isoformat(),
    }


def _calculator(
    ctx: TenantContext,
    repo: LicenseRepository,
    today: date,
    only: str | None = None,
    collect_consumers: bool = False,
    versions: tuple[int, int] | None = None,
    excluded: frozenset[str] = frozenset(),
) -> tuple[PositionCalculator, bool]:
    """A position calculator loaded with the tenant's licenses, seats and SaaS subscriptions
    (`versions`: the rule versions, when the caller has read them already; `excluded`: assets whose
    seats do not count, out of service with their release not finished)."""
    rules = repo.rules(ctx)
    rules_version, normalized = versions or repo.rule_versions(ctx)
    normalizer = Normalizer(rules)
    licenses = []
    for lic in repo.all_licenses(ctx):
        name = normalizer.canonical(lic.product, lic.vendor)
        if only is None or product_key(name) == only:
            licenses.append((name, lic))
    saas: dict[str, SaasUsage] = {}
    for asset in repo.assets_of_kind(ctx, Kind.SAAS.value):
        if asset.saas is None or asset.status in OUT_OF_SERVICE:
            continue
        key = product_key(normalizer.canonical(asset.saas.product, asset.saas.vendor))
        if only is not None and key != only:
            continue
        usage = saas.setdefault(key, SaasUsage())
        usage.purchased += asset.saas.purchased
        usage.assigned += asset.saas.assigned
        usage.active += asset.saas.active
    seats = repo.all_seats(ctx)
    if excluded:
        seats = (seat for seat in seats if seat.asset_id not in excluded)
    calculator = PositionCalculator(today, licenses, seats, saas, collect_consumers)
    return calculator, rules_version > normalized


def _counted(rows: Iterator[InstallRow], excluded: frozenset[str]) -> Iterator[InstallRow]:
    """The installation rows without those of `excluded` assets (out of service, release pending)."""
    return (row for row in rows if row.asset_id not in excluded) if excluded else rows


class _FindingSink:
    """Stores findings 25 at a time and publishes them 100 at a time, keeping the report's totals."""

    def __init__(
        self, store: Callable[[list[Finding]], None], publish: Callable[[list[Finding]], None]
    ) -> None:
        self._store, self._publish = store, publish
        self.counts: dict[str, int] = {}
        self.exposure: dict[str, Decimal] = {}
        self.waste: dict[str, Decimal] = {}
        self._batch: list[Finding] = []
        self._stored: list[Finding] = []

    def add(self, findings: Iterable[Finding]) -> None:
        for finding in findings:
            self.counts[finding.type] = self.counts.get(finding.type, 0) + 1
            for money, totals in ((finding.exposure, self.exposure), (finding.waste, self.waste)):
                if money is not None:
                    totals[money.currency] = totals.get(money.currency, Decimal(0)) + money.amount
            self._batch.append(finding)
            self.flush()

    def flush(self, final: bool = False) -> None:
        if self._batch and (final or len(self._batch) >= FINDINGS_BATCH):
            self._store(list(self._batch))
            self._stored.extend(self._batch)
            self._batch.clear()
        if self._stored and (final or len(self._stored) >= PUBLISH_BATCH):
            self._publish(list(self._stored))
            self._stored.clear()


class AuditRunner:
    """Runs one tenant's audit (or re-normalization) from a queue message."""

    def __init__(
        self,
        repository_for: RepositoryFor,
        publisher: EventPublisher,
        clock: Clock | None = None,
        ids: IdGenerator | None = None,
        assets: AssetRepository | None = None,
    ) -> None:
        self._repo_for = repository_for
        self._publisher = publisher
        self._clock = clock or SystemClock()
        self._ids = ids or TimeOrderedIds()
        self._holdings = LicenseHoldings(repository_for, assets, self._clock)

    def normalize(self, ctx: TenantContext) -> int:
        """Re-apply the tenant's rules to stored installations; write only those that change."""
        repo = self._repo_for(ctx)
        version, _ = repo.rule_versions(ctx)
        normalizer = Normalizer(repo.rules(ctx))
        changed = 0
        for inst, sort_key in repo.installations_for_normalization(ctx):
            canonical = normalizer.canonical(inst.product, inst.vendor, inst.version)
            if canonical == inst.canonical_product and sort_key.startswith(f"{product_key(canonical)}#"):
                continue
            repo.renormalize(
                ctx,
                inst.model_copy(update={"canonical_product": canonical}),
                consumer_key(inst.user, inst.asset_id),
            )
            changed += 1
        repo.mark_normalized(ctx, version)
        return changed

    def audit(
        self, ctx: TenantContext, audit_id: str, trigger: str, day: date, last_attempt: bool = False
    ) -> AuditReport:
        """Audit the tenant into report `audit_id`. The report says complete only after every finding
        of this run is stored; a run that dies leaves it running (or failed on the last attempt), and
        the next run replaces its findings."""
        repo = self._repo_for(ctx)
        now = self._clock.now()
        report = repo.get_report(ctx, audit_id)
        if report is None:
            report = AuditReport(
                id=audit_id, status=AuditStatus.QUEUED, trigger=trigger, day=day, requested_at=now
            )
            if not repo.create_report(ctx, report):
                report = repo.get_report(ctx, audit_id) or report
        if report.status is AuditStatus.COMPLETE:
            return report  # a repeated delivery of a finished audit
        run = self._ids.new_id()
        report = report.model_copy(
            update={
                "status": AuditStatus.RUNNING,
                "run": run,
                "attempts": report.attempts + 1,
                "started_at": now,
                "error": None,
            }
        )
        repo.save_report(ctx, report)
        try:
            return self._run(ctx, repo, report, run)
        except Exception as error:
            if last_attempt:
                failed = report.model_copy(
                    update={"status": AuditStatus.FAILED, "error": type(error).__name__}
                )
                repo.save_report(ctx, failed, expected_run=run)
            raise

    def _run(self, ctx: TenantContext, repo: LicenseRepository, report: AuditReport, run: str) -> AuditReport:
        version, normalized = repo.rule_versions(ctx)
        if version > normalized:
            self.normalize(ctx)
        try:
            self._holdings.finish_pending(ctx)
        except Exception:  # the audit goes on: positions leave what is still pending out
            logger.exception("pending releases not finished", extra={"tenant_id": ctx.tenant_id})
        leaving = leaving_assets(repo, ctx, self._clock.now())
        today = report.day
        calculator, _ = _calculator(ctx, repo, today, versions=(version, version), excluded=leaving)
        sink = _FindingSink(
            lambda batch: repo.write_findings(ctx, report.id, run, batch),
            lambda found: self._publish(ctx, repo, report, found),
        )
        products = 0
        for position in calculator.positions(_counted(repo.install_rows(ctx), leaving)):
            products += 1
            sink.add(position_findings(position, today))
        sink.add(warranty_findings(repo.assets_of_kind(ctx, Kind.HARDWARE.value), today))
        sink.flush(final=True)
        counts, exposure, waste = sink.counts, sink.exposure, sink.waste
        complete = report.model_copy(
            update={
                "status": AuditStatus.COMPLETE,
                "completed_at": self._clock.now(),
                "products": products,
                "findings_total": sum(counts.values()),
                "counts": counts,
                "exposure": [Money(amount=a, currency=c) for c, a in sorted(exposure.items())],
                "waste": [Money(amount=a, currency=c) for c, a in sorted(waste.items())],
            }
        )
        if not repo.save_report(ctx, complete, expected_run=run):
            raise ConcurrentModification("another run of this audit took over")
        self._publisher.publish(
            "audit.completed",
            [{"tenant_id": ctx.tenant_id, "audit": json.loads(complete.model_dump_json())}],
        )
        return complete

    def _publish(
        self, ctx: TenantContext, repo: LicenseRepository, report: AuditReport, findings: list[Finding]
    ) -> None:
        """Publish the findings not yet published for this tenant and day, then mark them published.
        At least once: a run that dies between the two publishes again; events carry the finding id."""
        fresh = repo.unpublished(ctx, report.day, [f.id for f in findings])
        by_type: dict[str, list[dict[str, Any]]] = {}
        for finding in findings:
            if finding.id in fresh:
                detail = {
                    "tenant_id": ctx.tenant_id,
                    "audit_id": report.id,
                    "day": report.day.isoformat(),
                    "finding": json.loads(finding.model_dump_json()),
                }
                by_type.setdefault(event_type(finding), []).append(detail)
        for detail_type, details in by_type.items():
            self._publisher.publish(detail_type, details)
        expires = int((self._clock.now() + PUBLISHED_MARKER_TTL).timestamp())
        repo.mark_published(ctx, report.day, fresh, expires)


def event_type(finding: Finding) -> str:
    """The detail-type of a finding's event: asset.<type> for hardware, license.<type> otherwise."""
    prefix = "asset" if finding.type is FindingType.WARRANTY_EXPIRING else "license"
    return f"{prefix}.{finding.type}"


def scheduled_message(tenant_id: str, day: date) -> dict[str, Any]:
    """The job message of the tenant's scheduled audit of `day`; its audit id is fixed for the day."""
    return audit_message(tenant_id, scheduled_audit_id(tenant_id, day), "schedule", day)


# ---------------------------------------------------------------------- helpers


def _merge(lic: License, patch: LicensePatch) -> License:
    return merged(lic, patch, maps=())


def _diff(before: License | None, after: License) -> list[FieldChange]:
    return field_changes(before, after, _NOT_DIFFED)


def _event(
    ctx: TenantContext,
    lic: License,
    type_: str,
    changes: list[FieldChange],
    now: datetime,
    reason: str | None = None,
) -> LicenseHistoryEvent:
    return LicenseHistoryEvent.model_validate(
        {
            "license_id": lic.id,
            "version": lic.version,
            "type": type_,
            "at": now,
            "actor": Actor(user_id=ctx.user_id, username=ctx.username),
            "changes": changes,
            "reason": reason,
        }
    )
