"""One contract for both ContractRepository implementations: the DynamoDB adapter (on moto) and the
in-memory fake the route tests use; and the register's lookups on the table."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from itam.adapters import models_for_tenant
from itam.adapters.contract_store import DynamoContractRepository, TenantRegister
from itam.contracts.models import Contract, ContractFilter, ContractHistoryEvent, ContractType
from itam.contracts.ports import ContractRepository
from itam.errors import KeyAlreadyUsed, StaleVersion
from itam.idempotency import IdempotencyClaim
from itam.pagination import PageRequest
from itam.settings import load_settings
from itam.tenancy import Role, TenantContext
from tests.support.contract_fakes import FakeContractRepository

ACME = TenantContext("acme", "u-1", "admin@acme", frozenset({Role.ADMIN}))
GLOBEX = TenantContext("globex", "u-2", "admin@globex", frozenset({Role.ADMIN}))
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
A1, A2, A3 = ("a" * 31 + "1", "a" * 31 + "2", "a" * 31 + "3")


@pytest.fixture(params=["dynamodb", "fake"])
def repo(request: pytest.FixtureRequest) -> Iterator[ContractRepository]:
    if request.param == "fake":
        yield FakeContractRepository()
    else:
        request.getfixturevalue("table")
        yield DynamoContractRepository(models_for_tenant(load_settings()))


def contract(number: int, version: int = 1, **fields: Any) -> Contract:
    return Contract.model_validate(
        {
            "type": "support",
            "vendor": "Dell",
            "start_date": "2026-01-01",
            "id": f"{number:032x}",
            "version": version,
            "created_at": NOW,
            "updated_at": NOW,
            "created_by": "u-1",
            "updated_by": "u-1",
            **fields,
        }
    )


def event(item: Contract, kind: str = "created") -> ContractHistoryEvent:
    return ContractHistoryEvent.model_validate(
        {
            "contract_id": item.id,
            "version": item.version,
            "type": kind,
            "at": NOW,
            "actor": {"user_id": "u-1", "username": "admin@acme"},
            "changes": [],
        }
    )


def test_a_contract_is_stored_and_replaced_on_its_version(repo: ContractRepository) -> None:
    first = contract(1, asset_ids=[A1, A2])
    repo.create(ACME, first, event(first), None)
    assert repo.get(ACME, first.id) == first
    assert repo.get(GLOBEX, first.id) is None

    moved = contract(1, 2, asset_ids=[A2, A3], vendor="HP")
    with pytest.raises(StaleVersion):
        repo.update(ACME, contract(1, 5), moved, event(moved, "updated"))
    repo.update(ACME, first, moved, event(moved, "updated"))
    assert repo.get(ACME, first.id) == moved
    assert [e.version for e in repo.history(ACME, first.id, PageRequest(10)).items] == [1, 2]


def test_what_a_contract_covers_follows_it(repo: ContractRepository) -> None:
    first = contract(1, asset_ids=[A1, A2])
    second = contract(2, asset_ids=[A2])
    repo.create(ACME, first, event(first), None)
    repo.create(ACME, second, event(second), None)
    assert [c.id for c in repo.covering(ACME, A2)] == [first.id, second.id]

    moved = contract(1, 2, asset_ids=[A3])
    repo.update(ACME, first, moved, event(moved, "updated"))
    assert repo.covering(ACME, A1) == []
    assert [c.id for c in repo.covering(ACME, A2)] == [second.id]
    assert [c.id for c in repo.covering(ACME, A3)] == [first.id]
    assert repo.covering(GLOBEX, A3) == []


def test_contracts_are_listed_newest_first_and_filtered(repo: ContractRepository) -> None:
    items = [
        contract(1, end_date="2026-06-30"),
        contract(2, type="lease", vendor="Leasy", end_date="2027-01-31"),
        contract(3),
    ]
    for item in items:
        repo.create(ACME, item, event(item), None)
    other = contract(4)
    repo.create(GLOBEX, other, event(other), None)

    def ids(filters: ContractFilter) -> list[int]:
        return [int(c.id, 16) for c in repo.listing(ACME, filters, PageRequest(10)).items]

    assert ids(ContractFilter()) == [3, 2, 1]
    assert ids(ContractFilter(type=ContractType.LEASE)) == [2]
    assert ids(ContractFilter(vendor=" DELL ")) == [3, 1]
    assert ids(ContractFilter(ending_after=date(2026, 6, 1), ending_before=date(2026, 12, 31))) == [1]


def test_an_idempotency_key_binds_once(repo: ContractRepository) -> None:
    claim = IdempotencyClaim.of("key-1", "contract|{}", NOW)
    first = contract(1)
    repo.create(ACME, first, event(first), claim)
    with pytest.raises(KeyAlreadyUsed):
        second = contract(2)
        repo.create(ACME, second, event(second), claim)
    assert repo.get(ACME, contract(2).id) is None
    record = repo.idempotency_record(ACME, claim.key_digest, int(NOW.timestamp()))
    assert record is not None and record.resource_id == first.id


def test_the_register_knows_the_tenants_assets_and_licenses(table: Any) -> None:
    from itam.assets.models import AssetCreate
    from itam.bootstrap import asset_service, license_service
    from itam.licenses.models import LicenseCreate

    mine = asset_service().register_asset(ACME, AssetCreate(name="Server", kind="hardware"))
    theirs = asset_service().register_asset(GLOBEX, AssetCreate(name="Server", kind="hardware"))
    lic = license_service().create_license(
        ACME, LicenseCreate(product="Visio", metric="per_user", quantity=1)
    )
    register = TenantRegister(models_for_tenant(load_settings()))
    assert register.missing_assets(ACME, [mine.id, theirs.id, A1]) == [theirs.id, A1]
    assert register.missing_licenses(ACME, [lic.id, mine.id]) == [mine.id]
    assert register.missing_licenses(GLOBEX, [lic.id]) == [lic.id]
