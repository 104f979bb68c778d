"""Licenses, seats, installations, normalization rules and audit reports on the single table.

Key layout (every key starts with the tenant prefix `T#<tenant>#`):

    license        PK T#<t>#LICENSE#<id>          SK META              GSI1 T#<t>#LICENSES / <id>
                                                                       GSI2 T#<t>#LICENSES#<product> / <id>
    its history    PK T#<t>#LICENSE#<id>          SK HIST#<version>
    seat           PK T#<t>#LICENSE#<id>          SK SEAT#<seat id>    GSI3 T#<t>#SEATS / <license>#<seat>
    seat guard     PK T#<t>#LICENSE#<id>          SK SEATBY#<consumer> (one seat per user or asset)
    released seat  PK T#<t>#LICENSE#<id>          SK SEATLOG#<seat id>
    installation   PK T#<t>#ASSET#<asset id>      SK SW#<id>
                   GSI2 T#<t>#INSTALLS / <product>#<consumer>#<asset id>#<id>  (the audit's sort order;
                   an installation that stopped counting, its asset out of service, leaves the index)
    rule           PK T#<t>#RULES                 SK RULE#<id>
    tenant         PK T#<t>#TENANT                SK META  (directory entry, rule versions)
    audit report   PK T#<t>#AUDIT#<id>            SK META              GSI1 T#<t>#AUDITS / <requested>#<id>
    its findings   PK T#<t>#AUDIT#<id>            SK FINDING#<fingerprint>
    published      PK T#<t>#PUBLISHED#<day>#<fp>  SK UNIQUE  (expires through the table's TTL)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from itam.adapters.schema import (
    TENANT_DIRECTORY,
    Item,
    LicenseItem,
    TableModels,
    asset_listing_pk,
    asset_pk,
    audit_listing_pk,
    audit_pk,
    installs_pk,
    license_listing_pk,
    license_pk,
    published_pk,
    releases_pk,
    rules_pk,
    seats_pk,
    tenant_pk,
)
from itam.adapters.table import (
    Transaction,
    bind_idempotency_key,
    children_page,
    conditional_check_failed,
    document,
    idempotency_record,
    listing_page,
    query_page,
    register_tenant,
)
from itam.assets.lifecycle import OUT_OF_SERVICE
from itam.assets.models import HOLDS_INSTALLATIONS, Asset, ReleaseRecord, Status
from itam.errors import InvalidState, StaleVersion, WriteConflict
from itam.idempotency import IdempotencyClaim, IdempotencyRecord
from itam.licenses.audit import AuditReport, Finding
from itam.licenses.errors import NoSeatLeft, QuantityBelowAssigned, SeatTaken
from itam.licenses.models import (
    Installation,
    License,
    LicenseFilter,
    LicenseHistoryEvent,
    Rule,
    Seat,
    consumer_key,
    product_key,
)
from itam.licenses.position import InstallRow
from itam.pagination import Page, PageRequest
from itam.tenancy import TenantContext

T = TypeVar("T")
# TransactWriteItems takes 100 actions.
TRANSACTION_LIMIT = 100
# What an asset may be in to take a seat or an installation.
IN_USE = tuple(status.value for status in Status if status not in OUT_OF_SERVICE)
INSTALLABLE = tuple(kind.value for kind in HOLDS_INSTALLATIONS)


def install_sort_key(inst: Installation, consumer: str) -> str:
    return f"{product_key(inst.canonical_product)}#{consumer}#{inst.asset_id}#{inst.id}"


class DynamoLicenseRepository:
    """LicenseRepository on one DynamoDB table."""

    def __init__(self, models: TableModels) -> None:
        self._m = models

    def idempotency_record(self, ctx: TenantContext, key_digest: str, now: int) -> IdempotencyRecord | None:
        return idempotency_record(self._m, ctx, key_digest, now)

    def _bind(
        self, ctx: TenantContext, tx: Transaction, claim: IdempotencyClaim | None, owner_id: str, at: datetime
    ) -> None:
        """The Idempotency-Key's guard, put first in `tx`: a replay is recognised as such before anything
        the first request wrote (a seat guard, a taken id) looks taken."""
        bind_idempotency_key(self._m, ctx, tx, claim, owner_id, int(at.timestamp()))

    # ------------------------------------------------------------------ licenses
    def create_license(
        self,
        ctx: TenantContext,
        lic: License,
        event: LicenseHistoryEvent,
        claim: IdempotencyClaim | None = None,
    ) -> None:
        tx = Transaction(self._m.connection)
        self._bind(ctx, tx, claim, lic.id, event.at)
        tx.save(self.license_item(ctx, lic), self._m.item.PK.does_not_exist(), StaleVersion)
        self._history(ctx, tx, event)
        register_tenant(self._m, ctx, tx)
        tx.commit()

    def update_license(
        self, ctx: TenantContext, previous: License, current: License, event: LicenseHistoryEvent
    ) -> None:
        """Update the document and version but never the seat counters, which seat transactions own."""
        m = self._m
        item = m.license(PK=license_pk(ctx, current.id), SK="META")
        fields = self._license_attributes(ctx, current)
        actions = [getattr(m.license, name).set(value) for name, value in fields.items() if value is not None]
        actions += [getattr(m.license, name).remove() for name, value in fields.items() if value is None]
        condition = m.license.version == previous.version
        if not current.allow_overallocation:
            condition &= m.license.assigned <= current.quantity
        tx = Transaction(m.connection)
        tx.update(item, actions, condition, StaleVersion)
        self._history(ctx, tx, event)
        try:
            tx.commit()
        except StaleVersion:
            stored = self.get_license(ctx, current.id)
            if stored is not None and stored.version == previous.version:
                raise QuantityBelowAssigned(stored.assigned) from None
            raise

    def get_license(self, ctx: TenantContext, license_id: str) -> License | None:
        try:
            item = self._m.license.get(license_pk(ctx, license_id), "META", consistent_read=True)
        except self._m.license.DoesNotExist:
            return None
        return self._to_license(item)

    def list_licenses(self, ctx: TenantContext, filters: LicenseFilter, page: PageRequest) -> Page[License]:
        m = self._m
        index, hash_key = "GSI1", license_listing_pk(ctx)
        if filters.product is not None:
            index, hash_key = "GSI2", license_listing_pk(ctx, product_key(filters.product))
        condition: Condition | None = None
        if filters.metric is not None:
            condition = m.license.metric == filters.metric.value
        if filters.vendor is not None:
            vendor = m.license.vendor_key == product_key(filters.vendor)
            condition = vendor if condition is None else condition & vendor
        if filters.expiring_before is not None and filters.expiring_after is not None:
            after, before = filters.expiring_after.isoformat(), filters.expiring_before.isoformat()
            ending = m.license.end_date.between(after, before)
            condition = ending if condition is None else condition & ending
        return query_page(
            m,
            m.indexes[index].query,
            hash_key,
            index,
            f"{ctx.tenant_id}|licenses|{filters.model_dump_json()}",
            page,
            self._to_license,
            pk_prefix=license_pk(ctx, ""),
            filter_condition=condition,
            scan_index_forward=False,
        )

    def all_licenses(self, ctx: TenantContext) -> Iterator[License]:
        """Every license of the tenant, page by page (1 MB pages)."""
        for item in self._m.indexes["GSI1"].query(license_listing_pk(ctx)):
            yield self._to_license(item)

    def license_history(
        self, ctx: TenantContext, license_id: str, page: PageRequest
    ) -> Page[LicenseHistoryEvent]:
        return self._children(
            ctx, license_pk(ctx, license_id), "HIST#", page, LicenseHistoryEvent.model_validate_json
        )

    # ------------------------------------------------------------------ seats
    def assign_seat(
        self, ctx: TenantContext, lic: License, seat: Seat, claim: IdempotencyClaim | None = None
    ) -> None:
        """Seat, guard and counter in one transaction: the counter's condition keeps concurrent
        assignments from going past the quantity (unless over-allocation is allowed)."""
        m = self._m
        pk = license_pk(ctx, lic.id)
        tx = Transaction(m.connection)
        self._bind(ctx, tx, claim, seat.id, seat.assigned_at)
        seat_item = m.record(
            PK=pk,
            SK=f"SEAT#{seat.id}",
            doc=seat.model_dump_json(),
            GSI3PK=seats_pk(ctx),
            GSI3SK=f"{lic.id}#{seat.id}",
        )
        tx.save(seat_item, m.item.PK.does_not_exist(), StaleVersion)
        guard = m.guard(PK=pk, SK=f"SEATBY#{seat.consumer}", owner_id=seat.id)
        tx.save(guard, m.item.PK.does_not_exist(), lambda: SeatTaken(seat.consumer))
        counter = m.license(PK=pk, SK="META")
        over_allowed = m.license.allow_over.__eq__(True)  # a condition expression, not a truth test
        room = m.license.PK.exists() & ((m.license.assigned < m.license.quantity) | over_allowed)
        tx.update(counter, [m.license.assigned.add(1)], room, lambda: NoSeatLeft(lic.quantity))
        if seat.asset_id is not None:
            # Assets are never deleted: one that does not exist is the service's to refuse.
            in_use = m.asset.PK.does_not_exist() | m.asset.status.is_in(*IN_USE)
            tx.check(m.asset, (asset_pk(ctx, seat.asset_id), "META"), in_use, _out_of_service)
        tx.commit()

    def record_peak(self, ctx: TenantContext, license_id: str) -> None:
        """Raise peak_assigned to assigned if it is lower: a race-free running maximum."""
        m = self._m
        item = m.license(PK=license_pk(ctx, license_id), SK="META")
        try:
            item.update(
                actions=[m.license.peak_assigned.set(m.license.assigned)],
                condition=m.license.peak_assigned.does_not_exist()
                | (m.license.peak_assigned < m.license.assigned),
            )
        except Exception as error:
            if not conditional_check_failed(error):
                raise

    def get_seat(self, ctx: TenantContext, license_id: str, seat_id: str) -> Seat | None:
        return document(
            self._m.record, license_pk(ctx, license_id), Seat.model_validate_json, f"SEAT#{seat_id}"
        )

    def release_seat(self, ctx: TenantContext, released: Seat) -> None:
        m = self._m
        pk = license_pk(ctx, released.license_id)
        tx = Transaction(m.connection)
        tx.delete(m.record(PK=pk, SK=f"SEAT#{released.id}"), m.item.PK.exists(), StaleVersion)
        guard = m.guard(PK=pk, SK=f"SEATBY#{released.consumer}", owner_id=released.id)
        tx.delete(guard, m.guard.owner_id == released.id, StaleVersion)
        counter = m.license(PK=pk, SK="META")
        tx.update(counter, [m.license.assigned.add(-1)], m.license.assigned > 0, StaleVersion)
        log = m.record(PK=pk, SK=f"SEATLOG#{released.id}", doc=released.model_dump_json())
        tx.save(log, m.item.PK.does_not_exist(), StaleVersion)
        tx.commit()

    def seats(self, ctx: TenantContext, license_id: str, page: PageRequest, released: bool) -> Page[Seat]:
        prefix = "SEATLOG#" if released else "SEAT#"
        return self._children(ctx, license_pk(ctx, license_id), prefix, page, Seat.model_validate_json)

    def all_seats(self, ctx: TenantContext) -> Iterator[Seat]:
        for item in self._m.indexes["GSI3"].query(seats_pk(ctx)):
            yield Seat.model_validate_json(item.doc)

    # ------------------------------------------------------------------ installations
    def add_installation(
        self, ctx: TenantContext, inst: Installation, consumer: str, claim: IdempotencyClaim | None = None
    ) -> None:
        """Store an installation, on condition that its asset is still in use and of a kind software is
        installed on (InvalidState otherwise: it changed since the service read it); with an
        Idempotency-Key, the key's guard in the same transaction."""
        m = self._m
        pk = asset_pk(ctx, inst.asset_id)
        item = m.record(
            PK=pk,
            SK=f"SW#{inst.id}",
            doc=inst.model_dump_json(),
            GSI2PK=installs_pk(ctx),
            GSI2SK=install_sort_key(inst, consumer),
        )
        tx = Transaction(m.connection)
        if claim is not None:
            self._bind(ctx, tx, claim, inst.id, inst.recorded_at)
        tx.save(item, m.item.PK.does_not_exist(), StaleVersion)
        takes = m.asset.status.is_in(*IN_USE) & m.asset.kind.is_in(*INSTALLABLE)
        tx.check(m.asset, (pk, "META"), m.asset.PK.does_not_exist() | takes, _out_of_service)
        tx.commit()

    def get_installation(self, ctx: TenantContext, asset_id: str, install_id: str) -> Installation | None:
        pk = asset_pk(ctx, asset_id)
        return document(self._m.record, pk, Installation.model_validate_json, f"SW#{install_id}")

    def delete_installation(self, ctx: TenantContext, asset_id: str, install_id: str) -> bool:
        """Delete the installation; False if there is none. A transaction of one delete, for its token:
        a retried DeleteItem whose first attempt landed would find nothing and answer 404."""
        m = self._m
        tx = Transaction(m.connection)
        tx.delete(
            m.record(PK=asset_pk(ctx, asset_id), SK=f"SW#{install_id}"), m.item.PK.exists(), StaleVersion
        )
        try:
            tx.commit()
        except StaleVersion:
            return False
        return True

    def installations(self, ctx: TenantContext, asset_id: str, page: PageRequest) -> Page[Installation]:
        return self._children(ctx, asset_pk(ctx, asset_id), "SW#", page, Installation.model_validate_json)

    # ------------------------------------------------------------------ what an asset holds
    def asset_seats(self, ctx: TenantContext, asset_id: str) -> list[tuple[Seat, str]]:
        """The seats the asset holds, each with its license's product: the holder guard of the asset
        on every license of the tenant, then their seats (BatchGetItem, 100 keys a call, strongly
        consistent), so that no index lags behind a seat assigned a moment ago."""
        m = self._m
        products = {license_pk(ctx, lic.id): lic.product for lic in self.all_licenses(ctx)}
        holder = f"SEATBY#{consumer_key(None, asset_id)}"
        guards = m.guard.batch_get([(pk, holder) for pk in products], consistent_read=True)
        seat_keys = [(guard.PK, f"SEAT#{guard.owner_id}") for guard in guards]
        seats = [
            (Seat.model_validate_json(item.doc), products[item.PK])
            for item in m.record.batch_get(seat_keys, consistent_read=True)
        ]
        return sorted(seats, key=lambda held: (held[0].license_id, held[0].id))

    def asset_installations(self, ctx: TenantContext, asset_id: str) -> Iterator[Installation]:
        """Every installation on the asset, counted or not, strongly consistent (1 MB pages)."""
        m = self._m
        query = m.item.query(asset_pk(ctx, asset_id), m.item.SK.startswith("SW#"), consistent_read=True)
        for item in query:
            yield Installation.model_validate_json(item.doc)

    def end_installations(self, ctx: TenantContext, ended: Sequence[Installation]) -> list[str]:
        """Store the installations as ended (their documents, as given) and take them out of the
        positions index, unless one was ended or removed already; the ids of those ended now. One
        transaction per 100; a transaction refused by one of them is redone one by one."""
        done: list[str] = []
        for start in range(0, len(ended), TRANSACTION_LIMIT):
            chunk = ended[start : start + TRANSACTION_LIMIT]
            tx = Transaction(self._m.connection)
            for inst in chunk:
                item, actions, condition = self._ending(ctx, inst)
                tx.update(item, actions, condition, StaleVersion)
            try:
                tx.commit()
            except (StaleVersion, WriteConflict):
                done.extend(inst.id for inst in chunk if self._end_one(ctx, inst))
            else:
                done.extend(inst.id for inst in chunk)
        return done

    def _ending(self, ctx: TenantContext, inst: Installation) -> tuple[Item, list[Action], Condition]:
        m = self._m
        item = m.record(PK=asset_pk(ctx, inst.asset_id), SK=f"SW#{inst.id}")
        actions: list[Action] = [
            m.record.doc.set(inst.model_dump_json()),
            m.record.GSI2PK.remove(),
            m.record.GSI2SK.remove(),
        ]
        return item, actions, m.item.PK.exists() & m.item.GSI2PK.exists()

    def _end_one(self, ctx: TenantContext, inst: Installation) -> bool:
        item, actions, condition = self._ending(ctx, inst)
        try:
            item.update(actions=actions, condition=condition)
        except Exception as error:
            if conditional_check_failed(error):
                return False
            raise
        return True

    def release_records(self, ctx: TenantContext) -> list[ReleaseRecord]:
        """The release records of assets that left service (one GSI1 partition: pending ones, and those
        done until the table's TTL takes them)."""
        query = self._m.indexes["GSI1"].query(releases_pk(ctx))
        return [ReleaseRecord.model_validate_json(item.doc) for item in query]

    def release_done(self, ctx: TenantContext, done: ReleaseRecord, expires_at: int) -> None:
        """Store the record as done, on condition that the pending one is still stored (same
        document): a later move's record is not touched."""
        m = self._m
        pending = done.model_copy(update={"released_at": None}).model_dump_json()
        item = m.record(PK=asset_pk(ctx, done.asset_id), SK="RELEASE")
        actions: list[Action] = [
            m.record.doc.set(done.model_dump_json()),
            m.record.expires_at.set(expires_at),
        ]
        try:
            item.update(actions=actions, condition=m.record.doc == pending)
        except Exception as error:
            if not conditional_check_failed(error):
                raise

    def install_rows(self, ctx: TenantContext, product: str | None = None) -> Iterator[InstallRow]:
        """The tenant's installations in (product, consumer, asset) order, streamed in 1 MB pages."""
        m = self._m
        condition = m.item.GSI2SK.startswith(f"{product_key(product)}#") if product else None
        for item in m.indexes["GSI2"].query(installs_pk(ctx), range_key_condition=condition):
            key, consumer, asset_id, _ = item.GSI2SK.rsplit("#", 3)
            doc = json.loads(item.doc)
            yield InstallRow(
                product=key,
                consumer=consumer,
                asset_id=asset_id,
                version=doc.get("version"),
                cores=doc.get("cores"),
                processors=doc.get("processors"),
                user=doc.get("user"),
                name=doc.get("canonical_product"),
            )

    def installations_for_normalization(self, ctx: TenantContext) -> Iterator[tuple[Installation, str]]:
        """Every installation with its stored sort key."""
        for item in self._m.indexes["GSI2"].query(installs_pk(ctx)):
            yield Installation.model_validate_json(item.doc), item.GSI2SK

    def renormalize(self, ctx: TenantContext, inst: Installation, consumer: str) -> None:
        """Store an installation's new canonical product (only if it still exists and counts)."""
        m = self._m
        item = m.record(PK=asset_pk(ctx, inst.asset_id), SK=f"SW#{inst.id}")
        actions: list[Action] = [
            m.record.doc.set(inst.model_dump_json()),
            m.record.GSI2SK.set(install_sort_key(inst, consumer)),
        ]
        try:
            item.update(actions=actions, condition=m.item.PK.exists() & m.item.GSI2PK.exists())
        except Exception as error:
            if not conditional_check_failed(error):
                raise

    # ------------------------------------------------------------------ assets the audit reads
    def assets_of_kind(self, ctx: TenantContext, kind: str) -> Iterator[Asset]:
        for item in self._m.indexes["GSI2"].query(asset_listing_pk(ctx, "kind", kind)):
            yield Asset.model_validate_json(item.doc)

    # ------------------------------------------------------------------ rules
    def create_rule(self, ctx: TenantContext, rule: Rule, claim: IdempotencyClaim | None = None) -> None:
        m = self._m
        tx = Transaction(m.connection)
        self._bind(ctx, tx, claim, rule.id, rule.created_at)
        item = m.record(PK=rules_pk(ctx), SK=f"RULE#{rule.id}", doc=rule.model_dump_json())
        tx.save(item, m.item.PK.does_not_exist(), StaleVersion)
        self._bump_rules(ctx, tx)
        tx.commit()

    def get_rule(self, ctx: TenantContext, rule_id: str) -> Rule | None:
        return document(self._m.record, rules_pk(ctx), Rule.model_validate_json, f"RULE#{rule_id}")

    def delete_rule(self, ctx: TenantContext, rule_id: str) -> bool:
        m = self._m
        tx = Transaction(m.connection)
        tx.delete(m.record(PK=rules_pk(ctx), SK=f"RULE#{rule_id}"), m.item.PK.exists(), StaleVersion)
        self._bump_rules(ctx, tx)
        try:
            tx.commit()
        except StaleVersion:
            return False
        return True

    def _bump_rules(self, ctx: TenantContext, tx: Transaction) -> None:
        m = self._m
        item = m.tenant(PK=tenant_pk(ctx), SK="META")
        actions: list[Action] = [
            m.tenant.entity.set(m.tenant),
            m.tenant.GSI1PK.set(TENANT_DIRECTORY),
            m.tenant.GSI1SK.set(ctx.tenant_id),
            m.tenant.rules_version.add(1),
        ]
        tx.update(item, actions, None, StaleVersion)

    def rules(self, ctx: TenantContext) -> list[Rule]:
        """All the tenant's rules, oldest first (a tenant has tens or hundreds: one or two pages)."""
        query = self._m.item.query(rules_pk(ctx), self._m.item.SK.startswith("RULE#"), consistent_read=True)
        return [Rule.model_validate_json(item.doc) for item in query]

    def rule_page(self, ctx: TenantContext, page: PageRequest) -> Page[Rule]:
        return self._children(ctx, rules_pk(ctx), "RULE#", page, Rule.model_validate_json)

    def rule_versions(self, ctx: TenantContext) -> tuple[int, int]:
        """(rules version, version the installations were last normalized with)."""
        try:
            item = self._m.tenant.get(tenant_pk(ctx), "META", consistent_read=True)
        except self._m.tenant.DoesNotExist:
            return 0, 0
        return int(item.rules_version or 0), int(item.normalized_version or 0)

    def mark_normalized(self, ctx: TenantContext, version: int) -> None:
        m = self._m
        item = m.tenant(PK=tenant_pk(ctx), SK="META")
        try:
            item.update(
                actions=[m.tenant.normalized_version.set(version)],
                condition=m.tenant.normalized_version.does_not_exist()
                | (m.tenant.normalized_version < version),
            )
        except Exception as error:
            if not conditional_check_failed(error):
                raise

    # ------------------------------------------------------------------ audit reports
    def create_report(
        self, ctx: TenantContext, report: AuditReport, claim: IdempotencyClaim | None = None
    ) -> bool:
        """Store a new report; False if one with this id exists already. One PutItem; with an
        Idempotency-Key, a transaction of the key's guard and the report."""
        m = self._m
        item = m.report(
            PK=audit_pk(ctx, report.id),
            SK="META",
            doc=report.model_dump_json(),
            status=report.status,
            run=report.run,
            GSI1PK=audit_listing_pk(ctx),
            GSI1SK=f"{report.requested_at.isoformat()}#{report.id}",
        )
        if claim is not None:
            tx = Transaction(m.connection)
            self._bind(ctx, tx, claim, report.id, report.requested_at)
            tx.save(item, m.item.PK.does_not_exist(), StaleVersion)
            try:
                tx.commit()
            except StaleVersion:
                return False
            return True
        try:
            item.save(condition=m.item.PK.does_not_exist())
        except Exception as error:
            if conditional_check_failed(error):
                return False
            raise
        return True

    def save_report(self, ctx: TenantContext, report: AuditReport, expected_run: str | None = None) -> bool:
        """Overwrite the report's document and status, if its run is still `expected_run` (when given)."""
        m = self._m
        item = m.report(PK=audit_pk(ctx, report.id), SK="META")
        actions: list[Action] = [
            m.report.doc.set(report.model_dump_json()),
            m.report.status.set(report.status),
            # A report without a run stores a NULL run (PynamoDB serializes a set to None so).
            m.report.run.set(report.run),  # type: ignore[arg-type]
        ]
        condition = m.item.PK.exists()
        if expected_run is not None:
            condition &= m.report.run == expected_run
        try:
            item.update(actions=actions, condition=condition)
        except Exception as error:
            if conditional_check_failed(error):
                return False
            raise
        return True

    def get_report(self, ctx: TenantContext, audit_id: str) -> AuditReport | None:
        return document(self._m.report, audit_pk(ctx, audit_id), AuditReport.model_validate_json)

    def list_reports(self, ctx: TenantContext, page: PageRequest) -> Page[AuditReport]:
        partition, scope = audit_listing_pk(ctx), f"{ctx.tenant_id}|audits"
        return listing_page(
            self._m, partition, scope, page, AuditReport.model_validate_json, audit_pk(ctx, "")
        )

    def write_findings(
        self, ctx: TenantContext, audit_id: str, run: str, findings: Sequence[Finding]
    ) -> None:
        """BatchWriteItem, 25 at a time; a finding's key is its fingerprint, so a rerun overwrites."""
        m = self._m
        with m.finding.batch_write() as batch:
            for finding in findings:
                batch.save(
                    m.finding(
                        PK=audit_pk(ctx, audit_id),
                        SK=f"FINDING#{finding.id}",
                        doc=finding.model_dump_json(),
                        run=run,
                    )
                )

    def findings(self, ctx: TenantContext, audit_id: str, run: str, page: PageRequest) -> Page[Finding]:
        m = self._m
        return query_page(
            m,
            m.item.query,
            audit_pk(ctx, audit_id),
            None,
            f"{ctx.tenant_id}|{audit_id}|{run}|findings",
            page,
            lambda item: Finding.model_validate_json(item.doc),
            range_key_condition=m.item.SK.startswith("FINDING#"),
            filter_condition=m.finding.run == run,
            scan_index_forward=True,
            consistent_read=True,
        )

    def unpublished(self, ctx: TenantContext, day: date, fingerprints: Iterable[str]) -> set[str]:
        """Which of the fingerprints have no publication marker for `day` (BatchGetItem, 100 a time)."""
        m = self._m
        wanted = {published_pk(ctx, day, fp): fp for fp in fingerprints}
        found = {item.PK for item in m.guard.batch_get([(pk, "UNIQUE") for pk in wanted])}
        return {fp for pk, fp in wanted.items() if pk not in found}

    def mark_published(
        self, ctx: TenantContext, day: date, fingerprints: Iterable[str], expires_at: int
    ) -> None:
        m = self._m
        with m.guard.batch_write() as batch:
            for fp in fingerprints:
                batch.save(
                    m.guard(
                        PK=published_pk(ctx, day, fp),
                        SK="UNIQUE",
                        owner_id=fp,
                        expires_at=expires_at,
                    )
                )

    # ------------------------------------------------------------------ internals
    def _history(self, ctx: TenantContext, tx: Transaction, event: LicenseHistoryEvent) -> None:
        m = self._m
        item = m.history(
            PK=license_pk(ctx, event.license_id),
            SK=f"HIST#{event.version:010d}",
            doc=event.model_dump_json(),
        )
        tx.save(item, m.item.PK.does_not_exist(), StaleVersion)

    def _license_attributes(self, ctx: TenantContext, lic: License) -> dict[str, Any]:
        return {
            "doc": lic.model_dump_json(exclude={"assigned", "peak_assigned"}),
            "version": lic.version,
            "quantity": lic.quantity,
            "allow_over": lic.allow_overallocation,
            "metric": lic.metric.value,
            "vendor_key": product_key(lic.vendor) if lic.vendor else None,
            "end_date": lic.end_date.isoformat() if lic.end_date else None,
            "GSI1PK": license_listing_pk(ctx),
            "GSI1SK": lic.id,
            "GSI2PK": license_listing_pk(ctx, product_key(lic.product)),
            "GSI2SK": lic.id,
        }

    def license_item(self, ctx: TenantContext, lic: License) -> LicenseItem:
        """A new license's item: its document, filter attributes, listing keys and zeroed counters."""
        attrs = self._license_attributes(ctx, lic)
        return self._m.license(PK=license_pk(ctx, lic.id), SK="META", assigned=0, peak_assigned=0, **attrs)

    @staticmethod
    def _to_license(item: Item) -> License:
        if not isinstance(item, LicenseItem):
            raise TypeError(f"{item.PK} {item.SK} is not a license item")
        data = json.loads(item.doc)
        data["assigned"] = int(item.assigned or 0)
        data["peak_assigned"] = int(item.peak_assigned or 0)
        return License.model_validate(data)

    def _children(
        self, ctx: TenantContext, pk: str, prefix: str, page: PageRequest, convert: Callable[[str], T]
    ) -> Page[T]:
        scope = f"{ctx.tenant_id}|{pk}|{prefix}"
        return children_page(self._m, scope, pk, prefix, page, lambda item: convert(item.doc))


def _out_of_service() -> InvalidState:
    return InvalidState("the asset went out of service or changed kind meanwhile")
