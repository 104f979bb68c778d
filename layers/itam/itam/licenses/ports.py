"""What the licensing services need from the outside world, as Protocols. Adapters implement them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from typing import Protocol

from itam.assets.models import Asset, ReleaseRecord
from itam.idempotency import IdempotencyClaim, IdempotencyRecord
from itam.licenses.audit import AuditReport, Finding
from itam.licenses.models import Installation, License, LicenseFilter, LicenseHistoryEvent, Rule, Seat
from itam.licenses.position import InstallRow
from itam.pagination import Page, PageRequest
from itam.tenancy import TenantContext


class LicenseRepository(Protocol):
    """Persistence of one tenant's licenses, seats, installations, rules and audit reports.

    A create that takes a `claim` binds its Idempotency-Key in the same write, and raises KeyAlreadyUsed
    (having written nothing) when the key is bound already."""

    def idempotency_record(self, ctx: TenantContext, key_digest: str, now: int) -> IdempotencyRecord | None:
        """What the key is bound to, unless nothing is or the binding expired before `now`."""

    def create_license(
        self,
        ctx: TenantContext,
        lic: License,
        event: LicenseHistoryEvent,
        claim: IdempotencyClaim | None = None,
    ) -> None: ...
    def update_license(
        self, ctx: TenantContext, previous: License, current: License, event: LicenseHistoryEvent
    ) -> None:
        """Raise StaleVersion if `previous.version` is no longer stored, QuantityBelowAssigned if the
        new quantity is below the seats assigned (and over-allocation is not allowed)."""

    def get_license(self, ctx: TenantContext, license_id: str) -> License | None: ...
    def list_licenses(
        self, ctx: TenantContext, filters: LicenseFilter, page: PageRequest
    ) -> Page[License]: ...
    def all_licenses(self, ctx: TenantContext) -> Iterator[License]: ...
    def license_history(
        self, ctx: TenantContext, license_id: str, page: PageRequest
    ) -> Page[LicenseHistoryEvent]: ...
    def assign_seat(
        self, ctx: TenantContext, lic: License, seat: Seat, claim: IdempotencyClaim | None = None
    ) -> None:
        """Raise SeatTaken, or NoSeatLeft when the license is full (never over its quantity), or
        InvalidState when the seat's asset is out of service."""

    def record_peak(self, ctx: TenantContext, license_id: str) -> None: ...
    def get_seat(self, ctx: TenantContext, license_id: str, seat_id: str) -> Seat | None: ...
    def release_seat(self, ctx: TenantContext, released: Seat) -> None:
        """Raise StaleVersion if the seat is not assigned (released already)."""

    def seats(self, ctx: TenantContext, license_id: str, page: PageRequest, released: bool) -> Page[Seat]: ...
    def all_seats(self, ctx: TenantContext) -> Iterator[Seat]: ...
    def add_installation(
        self, ctx: TenantContext, inst: Installation, consumer: str, claim: IdempotencyClaim | None = None
    ) -> None:
        """Raise InvalidState when the asset is out of service or of a kind software is not installed on."""

    def get_installation(self, ctx: TenantContext, asset_id: str, install_id: str) -> Installation | None: ...
    def delete_installation(self, ctx: TenantContext, asset_id: str, install_id: str) -> bool: ...
    def installations(self, ctx: TenantContext, asset_id: str, page: PageRequest) -> Page[Installation]: ...
    def install_rows(self, ctx: TenantContext, product: str | None = None) -> Iterator[InstallRow]:
        """The counted installations, in (product, consumer, asset) order."""

    def asset_seats(self, ctx: TenantContext, asset_id: str) -> list[tuple[Seat, str]]:
        """The seats the asset holds now, each with its license's product (strongly consistent)."""

    def asset_installations(self, ctx: TenantContext, asset_id: str) -> Iterator[Installation]:
        """Every installation on the asset, counted or not (strongly consistent)."""

    def end_installations(self, ctx: TenantContext, ended: Sequence[Installation]) -> list[str]:
        """Store the installations as given (ended) and stop counting them, skipping any ended or
        removed already; the ids of those ended now."""

    def release_records(self, ctx: TenantContext) -> list[ReleaseRecord]:
        """The tenant's release records not yet expired: pending ones, and those done lately."""

    def release_done(self, ctx: TenantContext, done: ReleaseRecord, expires_at: int) -> None:
        """Store the record as done (`done.released_at` set), if it is still the pending record stored
        for its asset (a later move may have replaced it); it expires at `expires_at` (epoch seconds)."""

    def installations_for_normalization(self, ctx: TenantContext) -> Iterator[tuple[Installation, str]]: ...
    def renormalize(self, ctx: TenantContext, inst: Installation, consumer: str) -> None: ...
    def assets_of_kind(self, ctx: TenantContext, kind: str) -> Iterator[Asset]: ...
    def create_rule(self, ctx: TenantContext, rule: Rule, claim: IdempotencyClaim | None = None) -> None: ...
    def get_rule(self, ctx: TenantContext, rule_id: str) -> Rule | None: ...
    def delete_rule(self, ctx: TenantContext, rule_id: str) -> bool: ...
    def rules(self, ctx: TenantContext) -> list[Rule]: ...
    def rule_page(self, ctx: TenantContext, page: PageRequest) -> Page[Rule]: ...
    def rule_versions(self, ctx: TenantContext) -> tuple[int, int]: ...
    def mark_normalized(self, ctx: TenantContext, version: int) -> None: ...
    def create_report(
        self, ctx: TenantContext, report: AuditReport, claim: IdempotencyClaim | None = None
    ) -> bool:
        """Store a new report; False if one with this id exists already."""

    def save_report(
        self, ctx: TenantContext, report: AuditReport, expected_run: str | None = None
    ) -> bool: ...
    def get_report(self, ctx: TenantContext, audit_id: str) -> AuditReport | None: ...
    def list_reports(self, ctx: TenantContext, page: PageRequest) -> Page[AuditReport]: ...
    def write_findings(
        self, ctx: TenantContext, audit_id: str, run: str, findings: Sequence[Finding]
    ) -> None: ...
    def findings(self, ctx: TenantContext, audit_id: str, run: str, page: PageRequest) -> Page[Finding]: ...
    def unpublished(self, ctx: TenantContext, day: date, fingerprints: Iterable[str]) -> set[str]: ...
    def mark_published(
        self, ctx: TenantContext, day: date, fingerprints: Iterable[str], expires_at: int
    ) -> None: ...
