"""One contract for both LicenseRepository implementations: the DynamoDB adapter (on moto) and the
in-memory fake the route tests use, for what the licensing service relies on."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from itam.adapters import license_repository_for
from itam.assets.models import Actor
from itam.errors import KeyAlreadyUsed, StaleVersion
from itam.idempotency import IdempotencyClaim, IdempotencyRecord
from itam.licenses.audit import AuditReport, AuditStatus
from itam.licenses.errors import NoSeatLeft, QuantityBelowAssigned, SeatTaken
from itam.licenses.models import Installation, License, LicenseFilter, LicenseHistoryEvent, Rule, Seat
from itam.licenses.ports import LicenseRepository
from itam.pagination import PageRequest
from itam.settings import load_settings
from itam.tenancy import Role, TenantContext
from tests.support.license_fakes import FakeLicenseRepository

ACME = TenantContext("acme", "u-1", "admin@acme", frozenset({Role.ADMIN}))
GLOBEX = TenantContext("globex", "u-2", "admin@globex", frozenset({Role.ADMIN}))
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

RepositoryFor = Callable[[TenantContext], LicenseRepository]


@pytest.fixture(params=["dynamodb", "fake"])
def repo_for(request: pytest.FixtureRequest) -> Iterator[RepositoryFor]:
    if request.param == "fake":
        fake = FakeLicenseRepository()
        yield lambda ctx: fake
    else:
        request.getfixturevalue("table")
        yield license_repository_for(load_settings())


def lic(number: int, version: int = 1, **fields: object) -> License:
    return License.model_validate(
        {
            "product": "Visio",
            "metric": "per_user",
            "quantity": 1,
            "id": f"{number:032x}",
            "version": version,
            "created_at": NOW,
            "updated_at": NOW,
            "created_by": "u-1",
            "updated_by": "u-1",
            **fields,
        }
    )


def event(item: License, kind: str = "created") -> LicenseHistoryEvent:
    return LicenseHistoryEvent.model_validate(
        {
            "license_id": item.id,
            "version": item.version,
            "type": kind,
            "at": NOW,
            "actor": Actor(user_id="u", username="u"),
            "changes": [],
        }
    )


def seat(number: int, item: License, user: str) -> Seat:
    return Seat(id=f"{number:032x}", license_id=item.id, user=user, assigned_at=NOW, assigned_by="u-1")


def test_create_then_get_and_list_within_the_tenant_only(repo_for: RepositoryFor) -> None:
    first = lic(1, vendor="Microsoft")
    repo_for(ACME).create_license(ACME, first, event(first))

    assert repo_for(ACME).get_license(ACME, first.id) == first
    assert repo_for(GLOBEX).get_license(GLOBEX, first.id) is None
    listed = repo_for(ACME).list_licenses(ACME, LicenseFilter(product="visio"), PageRequest())
    assert [item.id for item in listed.items] == [first.id]
    assert repo_for(GLOBEX).list_licenses(GLOBEX, LicenseFilter(), PageRequest()).items == []
    with pytest.raises(StaleVersion):
        repo_for(ACME).create_license(ACME, first, event(first))


def test_an_update_based_on_an_old_version_is_stale(repo_for: RepositoryFor) -> None:
    repo = repo_for(ACME)
    v1 = lic(1)
    repo.create_license(ACME, v1, event(v1))
    v2 = lic(1, version=2, quantity=5)
    repo.update_license(ACME, v1, v2, event(v2, "updated"))

    with pytest.raises(StaleVersion):
        repo.update_license(ACME, v1, lic(1, version=2, quantity=9), event(v2, "updated"))
    assert repo.get_license(ACME, v1.id) == v2
    assert [e.version for e in repo.license_history(ACME, v1.id, PageRequest()).items] == [1, 2]


def test_seats_are_counted_one_per_consumer_never_past_the_quantity(repo_for: RepositoryFor) -> None:
    repo = repo_for(ACME)
    v1 = lic(1, quantity=1)
    repo.create_license(ACME, v1, event(v1))
    first = seat(2, v1, "alice")
    repo.assign_seat(ACME, v1, first)

    with pytest.raises(SeatTaken):
        repo.assign_seat(ACME, v1, seat(3, v1, "alice"))
    with pytest.raises(NoSeatLeft):
        repo.assign_seat(ACME, v1, seat(4, v1, "bob"))
    with pytest.raises(QuantityBelowAssigned):
        repo.update_license(ACME, v1, lic(1, version=2, quantity=0), event(lic(1, version=2), "updated"))
    repo.record_peak(ACME, v1.id)
    stored = repo.get_license(ACME, v1.id)
    assert stored is not None and (stored.assigned, stored.peak_assigned) == (1, 1)
    assert repo.get_seat(ACME, v1.id, first.id) == first
    assert repo_for(GLOBEX).get_seat(GLOBEX, v1.id, first.id) is None


def test_a_released_seat_moves_to_the_released_list(repo_for: RepositoryFor) -> None:
    repo = repo_for(ACME)
    v1 = lic(1, quantity=2)
    repo.create_license(ACME, v1, event(v1))
    taken = seat(2, v1, "alice")
    repo.assign_seat(ACME, v1, taken)

    released = taken.model_copy(update={"released_at": NOW, "released_by": "u-1"})
    repo.release_seat(ACME, released)

    assert repo.seats(ACME, v1.id, PageRequest(), released=False).items == []
    assert repo.seats(ACME, v1.id, PageRequest(), released=True).items == [released]
    stored = repo.get_license(ACME, v1.id)
    assert stored is not None and stored.assigned == 0
    with pytest.raises(StaleVersion):
        repo.release_seat(ACME, released)
    repo.assign_seat(ACME, v1, seat(3, v1, "alice"))  # the consumer may take a seat again


def test_installations_within_the_tenant_only(repo_for: RepositoryFor) -> None:
    inst = Installation(
        id=f"{2:032x}",
        asset_id=f"{1:032x}",
        product="visio pro",
        recorded_at=NOW,
        recorded_by="u-1",
        canonical_product="Visio",
    )
    repo_for(ACME).add_installation(ACME, inst, "asset:1")

    assert repo_for(ACME).get_installation(ACME, inst.asset_id, inst.id) == inst
    assert repo_for(ACME).installations(ACME, inst.asset_id, PageRequest()).items == [inst]
    assert [row.product for row in repo_for(ACME).install_rows(ACME)] == ["visio"]
    assert repo_for(GLOBEX).get_installation(GLOBEX, inst.asset_id, inst.id) is None
    assert repo_for(GLOBEX).delete_installation(GLOBEX, inst.asset_id, inst.id) is False
    assert repo_for(ACME).delete_installation(ACME, inst.asset_id, inst.id) is True
    assert repo_for(ACME).installations(ACME, inst.asset_id, PageRequest()).items == []


def test_rules_bump_the_rules_version_of_their_tenant(repo_for: RepositoryFor) -> None:
    rule = Rule(id=f"{1:032x}", match_product="visio*", product="Visio", created_at=NOW, created_by="u-1")
    repo_for(ACME).create_rule(ACME, rule)

    assert repo_for(ACME).rules(ACME) == [rule]
    assert repo_for(ACME).get_rule(ACME, rule.id) == rule
    assert repo_for(GLOBEX).get_rule(GLOBEX, rule.id) is None
    assert repo_for(GLOBEX).rules(GLOBEX) == []
    assert repo_for(GLOBEX).delete_rule(GLOBEX, rule.id) is False
    assert repo_for(ACME).delete_rule(ACME, rule.id) is True
    assert repo_for(ACME).rule_versions(ACME) == (2, 0)
    repo_for(ACME).mark_normalized(ACME, 2)
    assert repo_for(ACME).rule_versions(ACME) == (2, 2)


def claim(name: str = "digest-of-key") -> IdempotencyClaim:
    return IdempotencyClaim(name, f"request-{name}", int(NOW.timestamp()) + 60)


def test_a_keyed_create_binds_its_key_in_the_tenant_until_it_expires(repo_for: RepositoryFor) -> None:
    first, second = lic(1), lic(2)
    repo_for(ACME).create_license(ACME, first, event(first), claim())

    with pytest.raises(KeyAlreadyUsed):
        repo_for(ACME).create_license(ACME, second, event(second), claim())
    assert repo_for(ACME).get_license(ACME, second.id) is None
    now = int(NOW.timestamp())
    bound = IdempotencyRecord(resource_id=first.id, request_digest="request-digest-of-key")
    assert repo_for(ACME).idempotency_record(ACME, "digest-of-key", now) == bound
    assert repo_for(ACME).idempotency_record(ACME, "digest-of-key", now + 61) is None
    assert repo_for(GLOBEX).idempotency_record(GLOBEX, "digest-of-key", now) is None
    repo_for(GLOBEX).create_license(GLOBEX, second, event(second), claim())  # another tenant's key


def test_a_bound_key_wins_over_the_other_conditions_of_a_seat(repo_for: RepositoryFor) -> None:
    repo = repo_for(ACME)
    full = lic(1, quantity=1)
    repo.create_license(ACME, full, event(full))
    first = seat(2, full, "alice")
    repo.assign_seat(ACME, full, first, claim())

    # The replay would also take alice's seat again and pass the quantity: the key is what it is told.
    with pytest.raises(KeyAlreadyUsed):
        repo.assign_seat(ACME, full, seat(3, full, "alice"), claim())
    with pytest.raises(SeatTaken):  # without the key, the seat is simply taken
        repo.assign_seat(ACME, full, seat(4, full, "alice"), claim("another-key"))
    assert repo.idempotency_record(ACME, "another-key", int(NOW.timestamp())) is None
    stored = repo.get_license(ACME, full.id)
    assert stored is not None and stored.assigned == 1
    record = repo.idempotency_record(ACME, "digest-of-key", int(NOW.timestamp()))
    assert record is not None and record.resource_id == first.id


def test_keyed_installations_rules_and_reports_are_written_once(repo_for: RepositoryFor) -> None:
    repo = repo_for(ACME)
    inst = Installation(
        id=f"{2:032x}",
        asset_id=f"{1:032x}",
        product="visio",
        recorded_at=NOW,
        recorded_by="u-1",
        canonical_product="Visio",
    )
    rule = Rule(id=f"{3:032x}", match_product="visio*", product="Visio", created_at=NOW, created_by="u-1")
    report = AuditReport(
        id=f"{4:032x}", status=AuditStatus.QUEUED, trigger="on_demand", day=NOW.date(), requested_at=NOW
    )
    repo.add_installation(ACME, inst, "asset:1", claim("install"))
    repo.create_rule(ACME, rule, claim("rule"))
    assert repo.create_report(ACME, report, claim("audit")) is True

    again = f"{9:032x}"
    with pytest.raises(KeyAlreadyUsed):
        repo.add_installation(ACME, inst.model_copy(update={"id": again}), "asset:1", claim("install"))
    with pytest.raises(KeyAlreadyUsed):
        repo.create_rule(ACME, rule.model_copy(update={"id": again}), claim("rule"))
    with pytest.raises(KeyAlreadyUsed):
        repo.create_report(ACME, report.model_copy(update={"id": again}), claim("audit"))
    assert [i.id for i in repo.installations(ACME, inst.asset_id, PageRequest()).items] == [inst.id]
    assert repo.rules(ACME) == [rule]
    assert repo.get_report(ACME, again) is None
    now = int(NOW.timestamp())
    owners = [repo.idempotency_record(ACME, name, now) for name in ("install", "rule", "audit")]
    assert [o.resource_id if o else None for o in owners] == [inst.id, rule.id, report.id]
    assert repo.rule_versions(ACME) == (1, 0)  # the refused rule did not bump the version
