"""One contract for both AssetRepository implementations: the DynamoDB adapter (on moto) and the
in-memory fake the unit tests use, so the fake cannot drift from what production does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from itam.adapters import asset_repository
from itam.assets.errors import DuplicateValue
from itam.assets.models import Actor, Asset, AssetFilter, HistoryEvent, Maintenance
from itam.assets.ports import AssetRepository
from itam.errors import KeyAlreadyUsed, StaleVersion
from itam.idempotency import IdempotencyClaim
from itam.pagination import PageRequest
from itam.settings import load_settings
from itam.tenancy import Role, TenantContext
from tests.support.fakes import FakeAssetRepository

ACME = TenantContext("acme", "u-1", "admin@acme", frozenset({Role.ADMIN}))
GLOBEX = TenantContext("globex", "u-2", "admin@globex", frozenset({Role.ADMIN}))
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["dynamodb", "fake"])
def repo(request: pytest.FixtureRequest) -> Iterator[AssetRepository]:
    if request.param == "fake":
        yield FakeAssetRepository()
    else:
        request.getfixturevalue("table")
        yield asset_repository(load_settings())


def asset(number: int, version: int = 1, **fields: object) -> Asset:
    return Asset.model_validate(
        {
            "name": f"asset {number}",
            "kind": "hardware",
            "status": "in_stock",
            "id": f"{number:032x}",
            "version": version,
            "created_at": NOW,
            "updated_at": NOW,
            "created_by": "u-1",
            "updated_by": "u-1",
            **fields,
        }
    )


def event(item: Asset, kind: str = "created") -> HistoryEvent:
    return HistoryEvent.model_validate(
        {
            "asset_id": item.id,
            "version": item.version,
            "type": kind,
            "at": NOW,
            "actor": Actor(user_id="u", username="u"),
        }
    )


def test_create_then_get_and_list_within_the_tenant_only(repo: AssetRepository) -> None:
    first = asset(1, asset_tag="LT-1")
    repo.create(ACME, first, event(first), [])

    assert repo.get(ACME, first.id) == first
    assert repo.get(GLOBEX, first.id) is None
    assert [a.id for a in repo.list(ACME, AssetFilter(), PageRequest()).items] == [first.id]
    assert repo.list(GLOBEX, AssetFilter(), PageRequest()).items == []


def test_unique_values_clash_ignoring_case_within_a_tenant_only(repo: AssetRepository) -> None:
    repo.create(ACME, asset(1, asset_tag="LT-1"), event(asset(1)), [])
    with pytest.raises(DuplicateValue) as caught:
        repo.create(ACME, asset(2, asset_tag="lt-1"), event(asset(2)), [])
    assert caught.value.field == "asset_tag"
    repo.create(GLOBEX, asset(3, asset_tag="LT-1"), event(asset(3)), [])


def test_an_update_based_on_an_old_version_is_stale(repo: AssetRepository) -> None:
    v1 = asset(1)
    repo.create(ACME, v1, event(v1), [])
    v2 = asset(1, version=2, name="renamed")
    repo.update(ACME, v1, v2, event(v2, "updated"), [])

    with pytest.raises(StaleVersion):
        repo.update(ACME, v1, asset(1, version=2, name="lost"), event(v2, "updated"), [])
    assert repo.get(ACME, v1.id) == v2
    assert [e.version for e in repo.history(ACME, v1.id, PageRequest()).items] == [1, 2]


def test_a_case_only_change_of_a_unique_value_keeps_it(repo: AssetRepository) -> None:
    v1 = asset(1, serial_number="SN-1")
    repo.create(ACME, v1, event(v1), [])
    v2 = asset(1, version=2, serial_number="sn-1")
    repo.update(ACME, v1, v2, event(v2, "updated"), [])
    with pytest.raises(DuplicateValue):
        repo.create(ACME, asset(2, serial_number="SN-1"), event(asset(2)), [])


def test_an_idempotency_key_binds_once_until_it_expires(repo: AssetRepository) -> None:
    claim = IdempotencyClaim("digest-of-key", "digest-of-request", int(NOW.timestamp()) + 60)
    repo.create(ACME, asset(1), event(asset(1)), [], claim)

    with pytest.raises(KeyAlreadyUsed):
        repo.create(ACME, asset(2), event(asset(2)), [], claim)
    record = repo.idempotency_record(ACME, "digest-of-key", int(NOW.timestamp()))
    assert record is not None and (record.resource_id, record.request_digest) == (
        asset(1).id,
        "digest-of-request",
    )
    assert repo.idempotency_record(ACME, "digest-of-key", int(NOW.timestamp()) + 61) is None
    assert repo.idempotency_record(GLOBEX, "digest-of-key", int(NOW.timestamp())) is None
    repo.create(GLOBEX, asset(3), event(asset(3)), [], claim)


def test_an_update_binds_an_idempotency_key_to_its_first_record(repo: AssetRepository) -> None:
    v1 = asset(1)
    repo.create(ACME, v1, event(v1), [])
    record = Maintenance.model_validate(
        {
            "type": "repair",
            "title": "fan",
            "start_date": "2026-11-27",
            "id": f"{9:032x}",
            "asset_id": v1.id,
            "created_at": NOW,
            "created_by": "u-1",
        }
    )
    claim = IdempotencyClaim("digest-m", "digest-r", int(NOW.timestamp()) + 60)
    v2 = asset(1, version=2)
    repo.update(ACME, v1, v2, event(v2, "maintenance_logged"), [record], claim)

    with pytest.raises(KeyAlreadyUsed):
        repo.update(
            ACME, v2, asset(1, version=3), event(asset(1, version=3), "maintenance_logged"), [record], claim
        )
    bound = repo.idempotency_record(ACME, "digest-m", int(NOW.timestamp()))
    assert bound is not None and bound.resource_id == record.id
    assert repo.maintenance_record(ACME, v1.id, record.id) == record
    assert repo.maintenance_record(GLOBEX, v1.id, record.id) is None


def test_discovered_assets_are_listed_by_connector_and_state(repo: AssetRepository) -> None:
    def discovered(number: int, connector: str, state: str) -> Asset:
        record = {
            "connector_id": connector,
            "provider": "aws",
            "external_key": f"arn:aws:s3:::b{number}",
            "state": state,
            "first_seen_at": NOW,
            "run_id": "r" * 32,
        }
        return asset(number, kind="cloud", status="deployed", discovery=record)

    c1, c2 = "1" * 32, "2" * 32
    items = [
        discovered(1, c1, "present"),
        discovered(2, c1, "missing"),
        discovered(3, c2, "missing"),
        asset(4),
    ]
    for item in items:
        repo.create(ACME, item, event(item), [])

    def listed(**filters: str) -> set[str]:
        return {a.id for a in repo.list(ACME, AssetFilter.model_validate(filters), PageRequest()).items}

    assert listed(connector_id=c1) == {items[0].id, items[1].id}
    assert listed(discovery_state="missing") == {items[1].id, items[2].id}
    assert listed(connector_id=c1, discovery_state="missing", kind="cloud") == {items[1].id}
    assert listed(connector_id=c1) & listed(kind="hardware") == set()
    assert repo.list(GLOBEX, AssetFilter(discovery_state="missing"), PageRequest()).items == []
