"""In-memory implementations of the licensing service's ports, for unit tests. Type-checked against the
Protocols below; tests/integration/test_license_repository_contract.py holds them to the DynamoDB adapter."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from typing import Any

from itam.assets.lifecycle import OUT_OF_SERVICE
from itam.assets.models import HOLDS_INSTALLATIONS, Asset, ReleaseRecord
from itam.errors import InvalidState, StaleVersion
from itam.idempotency import IdempotencyClaim
from itam.licenses.audit import AuditReport, Finding
from itam.licenses.errors import NoSeatLeft, QuantityBelowAssigned, SeatTaken
from itam.licenses.models import (
    Installation,
    License,
    LicenseFilter,
    LicenseHistoryEvent,
    Rule,
    Seat,
    product_key,
)
from itam.licenses.ports import LicenseRepository
from itam.licenses.position import InstallRow
from itam.pagination import Page, PageRequest
from itam.tenancy import TenantContext
from tests.support.fakes import IdempotencyKeys


def _page(items: Sequence[Any], page: PageRequest) -> Page[Any]:
    return Page(items=list(items[: page.limit]))


def _install_key(inst: Installation, consumer: str) -> str:
    return f"{product_key(inst.canonical_product)}#{consumer}#{inst.asset_id}#{inst.id}"


class FakeLicenseRepository(IdempotencyKeys):
    """Licenses, seats, installations, rules and audits per tenant, in dicts. `assets` is the asset
    register the audit reads assets of a kind from, and seats and installations check their asset in
    (the fake asset repository's dict, when shared); `releases` its release records, likewise."""

    def __init__(
        self,
        assets: Mapping[tuple[str, str], Asset] | None = None,
        releases: dict[tuple[str, str], ReleaseRecord] | None = None,
    ) -> None:
        super().__init__()
        self.licenses: dict[tuple[str, str], License] = {}
        self.history: dict[tuple[str, str], list[LicenseHistoryEvent]] = {}
        self.seats_by_license: dict[tuple[str, str], dict[str, Seat]] = {}
        self.released: dict[tuple[str, str], list[Seat]] = {}
        self.installs: dict[tuple[str, str], dict[str, tuple[Installation, str]]] = {}
        self.rule_items: dict[str, dict[str, Rule]] = {}
        self.versions: dict[str, tuple[int, int]] = {}
        self.reports: dict[tuple[str, str], AuditReport] = {}
        self.finding_items: dict[tuple[str, str], dict[str, tuple[Finding, str]]] = {}
        self.published: set[tuple[str, date, str]] = set()
        self.assets = assets if assets is not None else {}
        self.releases = releases if releases is not None else {}

    # ------------------------------------------------------------------ licenses
    def create_license(
        self,
        ctx: TenantContext,
        lic: License,
        event: LicenseHistoryEvent,
        claim: IdempotencyClaim | None = None,
    ) -> None:
        key = (ctx.tenant_id, lic.id)
        self._check_key(ctx, claim, event.at)
        if key in self.licenses:
            raise StaleVersion()
        self._keep_key(ctx, claim, lic.id)
        self.licenses[key] = lic.model_copy(update={"assigned": 0, "peak_assigned": 0})
        self.history[key] = [event]

    def update_license(
        self, ctx: TenantContext, previous: License, current: License, event: LicenseHistoryEvent
    ) -> None:
        key = (ctx.tenant_id, current.id)
        stored = self.licenses.get(key)
        if stored is None or stored.version != previous.version:
            raise StaleVersion()
        if not current.allow_overallocation and stored.assigned > current.quantity:
            raise QuantityBelowAssigned(stored.assigned)
        # The seat counters belong to the seat writes, never to an update of the license.
        counters = {"assigned": stored.assigned, "peak_assigned": stored.peak_assigned}
        self.licenses[key] = current.model_copy(update=counters)
        self.history[key].append(event)

    def get_license(self, ctx: TenantContext, license_id: str) -> License | None:
        return self.licenses.get((ctx.tenant_id, license_id))

    def list_licenses(self, ctx: TenantContext, filters: LicenseFilter, page: PageRequest) -> Page[License]:
        def matches(lic: License) -> bool:
            if filters.product is not None and product_key(lic.product) != product_key(filters.product):
                return False
            if filters.vendor is not None and product_key(lic.vendor or "") != product_key(filters.vendor):
                return False
            if filters.metric is not None and lic.metric is not filters.metric:
                return False
            if filters.expiring_before is not None and filters.expiring_after is not None:
                ending = lic.end_date
                return ending is not None and filters.expiring_after <= ending <= filters.expiring_before
            return True

        found = [lic for lic in self.all_licenses(ctx) if matches(lic)]
        return _page(sorted(found, key=lambda lic: lic.id, reverse=True), page)

    def all_licenses(self, ctx: TenantContext) -> Iterator[License]:
        return iter([lic for (t, _), lic in self.licenses.items() if t == ctx.tenant_id])

    def license_history(
        self, ctx: TenantContext, license_id: str, page: PageRequest
    ) -> Page[LicenseHistoryEvent]:
        return _page(self.history.get((ctx.tenant_id, license_id), []), page)

    # ------------------------------------------------------------------ seats
    def assign_seat(
        self, ctx: TenantContext, lic: License, seat: Seat, claim: IdempotencyClaim | None = None
    ) -> None:
        if seat.asset_id is not None:
            self._check_asset(ctx, seat.asset_id, installs=False)
        key = (ctx.tenant_id, lic.id)
        self._check_key(ctx, claim, seat.assigned_at)
        seats = self.seats_by_license.setdefault(key, {})
        if any(s.consumer == seat.consumer for s in seats.values()):
            raise SeatTaken(seat.consumer)
        stored = self.licenses.get(key)
        if stored is None or (stored.assigned >= stored.quantity and not stored.allow_overallocation):
            raise NoSeatLeft(lic.quantity)
        seats[seat.id] = seat
        self.licenses[key] = stored.model_copy(update={"assigned": stored.assigned + 1})
        self._keep_key(ctx, claim, seat.id)

    def record_peak(self, ctx: TenantContext, license_id: str) -> None:
        key = (ctx.tenant_id, license_id)
        stored = self.licenses.get(key)
        if stored is not None and stored.peak_assigned < stored.assigned:
            self.licenses[key] = stored.model_copy(update={"peak_assigned": stored.assigned})

    def get_seat(self, ctx: TenantContext, license_id: str, seat_id: str) -> Seat | None:
        return self.seats_by_license.get((ctx.tenant_id, license_id), {}).get(seat_id)

    def release_seat(self, ctx: TenantContext, released: Seat) -> None:
        key = (ctx.tenant_id, released.license_id)
        if self.seats_by_license.get(key, {}).pop(released.id, None) is None:
            raise StaleVersion()
        stored = self.licenses[key]
        self.licenses[key] = stored.model_copy(update={"assigned": stored.assigned - 1})
        self.released.setdefault(key, []).append(released)

    def seats(self, ctx: TenantContext, license_id: str, page: PageRequest, released: bool) -> Page[Seat]:
        key = (ctx.tenant_id, license_id)
        found = self.released.get(key, []) if released else list(self.seats_by_license.get(key, {}).values())
        return _page(sorted(found, key=lambda s: s.id), page)

    def all_seats(self, ctx: TenantContext) -> Iterator[Seat]:
        return iter(
            [
                s
                for (t, _), seats in self.seats_by_license.items()
                if t == ctx.tenant_id
                for s in seats.values()
            ]
        )

    # ------------------------------------------------------------------ installations
    def add_installation(
        self, ctx: TenantContext, inst: Installation, consumer: str, claim: IdempotencyClaim | None = None
    ) -> None:
        self._check_key(ctx, claim, inst.recorded_at)
        self._check_asset(ctx, inst.asset_id, installs=True)
        installs = self.installs.setdefault((ctx.tenant_id, inst.asset_id), {})
        if inst.id in installs:
            raise StaleVersion()
        installs[inst.id] = (inst, consumer)
        self._keep_key(ctx, claim, inst.id)

    def get_installation(self, ctx: TenantContext, asset_id: str, install_id: str) -> Installation | None:
        found = self.installs.get((ctx.tenant_id, asset_id), {}).get(install_id)
        return found[0] if found is not None else None

    def delete_installation(self, ctx: TenantContext, asset_id: str, install_id: str) -> bool:
        return self.installs.get((ctx.tenant_id, asset_id), {}).pop(install_id, None) is not None

    def installations(self, ctx: TenantContext, asset_id: str, page: PageRequest) -> Page[Installation]:
        installs = self.installs.get((ctx.tenant_id, asset_id), {})
        return _page([inst for _, (inst, _) in sorted(installs.items())], page)

    def install_rows(self, ctx: TenantContext, product: str | None = None) -> Iterator[InstallRow]:
        for inst, consumer in self._tenant_installs(ctx):
            if product is not None and product_key(inst.canonical_product) != product_key(product):
                continue
            yield InstallRow(
                product=product_key(inst.canonical_product),
                consumer=consumer,
                asset_id=inst.asset_id,
                version=inst.version,
                cores=inst.cores,
                processors=inst.processors,
                user=inst.user,
                name=inst.canonical_product,
            )

    def installations_for_normalization(self, ctx: TenantContext) -> Iterator[tuple[Installation, str]]:
        return iter([(inst, _install_key(inst, consumer)) for inst, consumer in self._tenant_installs(ctx)])

    def renormalize(self, ctx: TenantContext, inst: Installation, consumer: str) -> None:
        installs = self.installs.get((ctx.tenant_id, inst.asset_id), {})
        if inst.id in installs and installs[inst.id][0].counted:
            installs[inst.id] = (inst, consumer)

    def _tenant_installs(self, ctx: TenantContext) -> list[tuple[Installation, str]]:
        """The tenant's counted installations, in the positions index's order."""
        rows = [
            row
            for (t, _), installs in self.installs.items()
            if t == ctx.tenant_id
            for row in installs.values()
            if row[0].counted
        ]
        return sorted(rows, key=lambda row: _install_key(*row))

    def _check_asset(self, ctx: TenantContext, asset_id: str, installs: bool) -> None:
        asset = self.assets.get((ctx.tenant_id, asset_id))
        if asset is None:
            return  # as the adapter: a missing asset is the service's to refuse
        if asset.status in OUT_OF_SERVICE or (installs and asset.kind not in HOLDS_INSTALLATIONS):
            raise InvalidState("the asset went out of service or changed kind meanwhile")

    # ------------------------------------------------------------------ what an asset holds
    def asset_seats(self, ctx: TenantContext, asset_id: str) -> list[tuple[Seat, str]]:
        held = [
            (seat, self.licenses[(t, license_id)].product)
            for (t, license_id), seats in self.seats_by_license.items()
            if t == ctx.tenant_id
            for seat in seats.values()
            if seat.asset_id == asset_id
        ]
        return sorted(held, key=lambda pair: (pair[0].license_id, pair[0].id))

    def asset_installations(self, ctx: TenantContext, asset_id: str) -> Iterator[Installation]:
        installs = self.installs.get((ctx.tenant_id, asset_id), {})
        return iter([inst for _, (inst, _) in sorted(installs.items())])

    def end_installations(self, ctx: TenantContext, ended: Sequence[Installation]) -> list[str]:
        done = []
        for inst in ended:
            installs = self.installs.get((ctx.tenant_id, inst.asset_id), {})
            stored = installs.get(inst.id)
            if stored is not None and stored[0].counted:
                installs[inst.id] = (inst, stored[1])
                done.append(inst.id)
        return done

    def release_records(self, ctx: TenantContext) -> list[ReleaseRecord]:
        return [p for (t, _), p in sorted(self.releases.items()) if t == ctx.tenant_id]

    def release_done(self, ctx: TenantContext, done: ReleaseRecord, expires_at: int) -> None:
        key = (ctx.tenant_id, done.asset_id)
        stored = self.releases.get(key)
        if stored is not None and stored == done.model_copy(update={"released_at": None}):
            self.releases[key] = done

    # ------------------------------------------------------------------ assets the audit reads
    def assets_of_kind(self, ctx: TenantContext, kind: str) -> Iterator[Asset]:
        return iter([a for (t, _), a in self.assets.items() if t == ctx.tenant_id and a.kind.value == kind])

    # ------------------------------------------------------------------ rules
    def create_rule(self, ctx: TenantContext, rule: Rule, claim: IdempotencyClaim | None = None) -> None:
        self._check_key(ctx, claim, rule.created_at)
        rules = self.rule_items.setdefault(ctx.tenant_id, {})
        if rule.id in rules:
            raise StaleVersion()
        rules[rule.id] = rule
        self._bump_rules(ctx)
        self._keep_key(ctx, claim, rule.id)

    def get_rule(self, ctx: TenantContext, rule_id: str) -> Rule | None:
        return self.rule_items.get(ctx.tenant_id, {}).get(rule_id)

    def delete_rule(self, ctx: TenantContext, rule_id: str) -> bool:
        if self.rule_items.get(ctx.tenant_id, {}).pop(rule_id, None) is None:
            return False
        self._bump_rules(ctx)
        return True

    def _bump_rules(self, ctx: TenantContext) -> None:
        rules, normalized = self.versions.get(ctx.tenant_id, (0, 0))
        self.versions[ctx.tenant_id] = (rules + 1, normalized)

    def rules(self, ctx: TenantContext) -> list[Rule]:
        return [rule for _, rule in sorted(self.rule_items.get(ctx.tenant_id, {}).items())]

    def rule_page(self, ctx: TenantContext, page: PageRequest) -> Page[Rule]:
        return _page(self.rules(ctx), page)

    def rule_versions(self, ctx: TenantContext) -> tuple[int, int]:
        return self.versions.get(ctx.tenant_id, (0, 0))

    def mark_normalized(self, ctx: TenantContext, version: int) -> None:
        rules, normalized = self.versions.get(ctx.tenant_id, (0, 0))
        self.versions[ctx.tenant_id] = (rules, max(normalized, version))

    # ------------------------------------------------------------------ audit reports
    def create_report(
        self, ctx: TenantContext, report: AuditReport, claim: IdempotencyClaim | None = None
    ) -> bool:
        self._check_key(ctx, claim, report.requested_at)
        key = (ctx.tenant_id, report.id)
        if key in self.reports:
            return False
        self.reports[key] = report
        self._keep_key(ctx, claim, report.id)
        return True

    def save_report(self, ctx: TenantContext, report: AuditReport, expected_run: str | None = None) -> bool:
        key = (ctx.tenant_id, report.id)
        stored = self.reports.get(key)
        if stored is None or (expected_run is not None and stored.run != expected_run):
            return False
        self.reports[key] = report
        return True

    def get_report(self, ctx: TenantContext, audit_id: str) -> AuditReport | None:
        return self.reports.get((ctx.tenant_id, audit_id))

    def list_reports(self, ctx: TenantContext, page: PageRequest) -> Page[AuditReport]:
        found = [r for (t, _), r in self.reports.items() if t == ctx.tenant_id]
        return _page(sorted(found, key=lambda r: (r.requested_at, r.id), reverse=True), page)

    def write_findings(
        self, ctx: TenantContext, audit_id: str, run: str, findings: Sequence[Finding]
    ) -> None:
        stored = self.finding_items.setdefault((ctx.tenant_id, audit_id), {})
        stored.update({finding.id: (finding, run) for finding in findings})

    def findings(self, ctx: TenantContext, audit_id: str, run: str, page: PageRequest) -> Page[Finding]:
        stored = self.finding_items.get((ctx.tenant_id, audit_id), {})
        return _page([f for _, (f, r) in sorted(stored.items()) if r == run], page)

    def unpublished(self, ctx: TenantContext, day: date, fingerprints: Iterable[str]) -> set[str]:
        return {fp for fp in fingerprints if (ctx.tenant_id, day, fp) not in self.published}

    def mark_published(
        self, ctx: TenantContext, day: date, fingerprints: Iterable[str], expires_at: int
    ) -> None:
        self.published.update((ctx.tenant_id, day, fp) for fp in fingerprints)


# The fakes must satisfy the ports: mypy checks these assignments.
_repository: LicenseRepository = FakeLicenseRepository()
