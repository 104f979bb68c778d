"""One contract for both ConnectorRepository implementations: the DynamoDB adapter (on moto) and the
in-memory fake the route tests use, for what the connector service relies on."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from itam.adapters import models_for_tenant
from itam.adapters.inventory_store import DynamoInventoryRepository
from itam.errors import KeyAlreadyUsed, StaleVersion
from itam.idempotency import IdempotencyClaim, IdempotencyRecord
from itam.inventory.models import Connector, SyncRun
from itam.pagination import PageRequest
from itam.settings import load_settings
from itam.tenancy import Role, TenantContext
from tests.support.inventory_fakes import FakeInventoryRepository

ACME = TenantContext("acme", "u-1", "admin@acme", frozenset({Role.ADMIN}))
GLOBEX = TenantContext("globex", "u-2", "admin@globex", frozenset({Role.ADMIN}))
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

# Both kinds: the connector service's ConnectorRepository, plus the connector ids the register reads.
Repository = FakeInventoryRepository | DynamoInventoryRepository
RepositoryFor = Callable[[TenantContext], Repository]


@pytest.fixture(params=["dynamodb", "fake"])
def repo_for(request: pytest.FixtureRequest) -> Iterator[RepositoryFor]:
    if request.param == "fake":
        fake = FakeInventoryRepository()
        yield lambda ctx: fake
    else:
        request.getfixturevalue("table")
        models_for = models_for_tenant(load_settings())
        yield lambda ctx: DynamoInventoryRepository(models_for(ctx))


def connector(number: int, version: int = 1, **fields: object) -> Connector:
    return Connector.model_validate(
        {
            "id": f"{number:032x}",
            "type": "aws",
            "name": "Org",
            "enabled": True,
            "settings": {"role_arn": "arn:aws:iam::123456789012:role/itam-reader"},
            "credentials_set": False,
            "retire_after": 3,
            "reclaim_after_days": 30,
            "version": version,
            "created_at": NOW,
            "created_by": "u-1",
            "updated_at": NOW,
            **fields,
        }
    )


def run(number: int, connector_id: str, minutes: int = 0) -> SyncRun:
    return SyncRun.model_validate(
        {
            "id": f"{number:032x}",
            "connector_id": connector_id,
            "connector_type": "aws",
            "trigger": "manual",
            "status": "queued",
            "queued_at": NOW + timedelta(minutes=minutes),
        }
    )


def test_create_then_get_and_list_within_the_tenant_only(repo_for: RepositoryFor) -> None:
    first = connector(1)
    repo_for(ACME).save_connector(ACME, first, None)

    assert repo_for(ACME).get_connector(ACME, first.id) == first
    assert repo_for(GLOBEX).get_connector(GLOBEX, first.id) is None
    assert repo_for(ACME).list_connectors(ACME, PageRequest()).items == [first]
    assert list(repo_for(ACME).connector_ids(ACME)) == [first.id]
    assert list(repo_for(GLOBEX).connector_ids(GLOBEX)) == []
    with pytest.raises(StaleVersion):
        repo_for(ACME).save_connector(ACME, first, None)


def test_a_save_based_on_an_old_version_is_stale(repo_for: RepositoryFor) -> None:
    repo = repo_for(ACME)
    repo.save_connector(ACME, connector(1), None)
    v2 = connector(1, version=2, name="Org 2")
    repo.save_connector(ACME, v2, 1)

    with pytest.raises(StaleVersion):
        repo.save_connector(ACME, connector(1, version=2, name="lost"), 1)
    assert repo.get_connector(ACME, v2.id) == v2
    repo.delete_connector(ACME, v2.id)
    assert repo.get_connector(ACME, v2.id) is None


def test_the_external_id_is_kept_once_chosen(repo_for: RepositoryFor) -> None:
    assert repo_for(ACME).external_id(ACME, "first") == "first"
    assert repo_for(ACME).external_id(ACME, "second") == "first"
    assert repo_for(GLOBEX).external_id(GLOBEX, "theirs") == "theirs"


def test_runs_are_created_once_and_listed_newest_first(repo_for: RepositoryFor) -> None:
    repo = repo_for(ACME)
    older, newer = run(2, f"{1:032x}"), run(3, f"{1:032x}", minutes=5)
    repo.save_run(ACME, older, create=True)
    repo.save_run(ACME, newer, create=True)
    repo.save_run(ACME, older.model_copy(update={"trigger": "schedule"}), create=True)

    assert repo.get_run(ACME, older.id) == older
    assert repo.list_runs(ACME, older.connector_id, PageRequest()).items == [newer, older]
    assert repo_for(GLOBEX).get_run(GLOBEX, older.id) is None


def test_the_lease_has_one_live_holder(repo_for: RepositoryFor) -> None:
    repo, connector_id, until = repo_for(ACME), f"{1:032x}", NOW + timedelta(minutes=15)

    assert repo.acquire_lease(ACME, connector_id, "run-a", NOW, until) is None
    assert repo.acquire_lease(ACME, connector_id, "run-b", NOW, until) == "run-a"
    assert repo.acquire_lease(ACME, connector_id, "run-a", NOW, until) is None
    assert repo.acquire_lease(ACME, connector_id, "run-b", until + timedelta(seconds=1), until) is None
    repo.release_lease(ACME, connector_id, "run-a")  # no longer the holder: leaves it
    assert repo.acquire_lease(ACME, connector_id, "run-c", NOW, until) == "run-b"


def test_a_keyed_create_binds_its_key_once_in_its_tenant(repo_for: RepositoryFor) -> None:
    claim = IdempotencyClaim("digest-of-key", "digest-of-request", int(NOW.timestamp()) + 60)
    repo_for(ACME).save_connector(ACME, connector(1), None, claim)

    with pytest.raises(KeyAlreadyUsed):
        repo_for(ACME).save_connector(ACME, connector(2), None, claim)
    assert repo_for(ACME).get_connector(ACME, connector(2).id) is None
    now = int(NOW.timestamp())
    bound = IdempotencyRecord(resource_id=connector(1).id, request_digest="digest-of-request")
    assert repo_for(ACME).idempotency_record(ACME, "digest-of-key", now) == bound
    assert repo_for(ACME).idempotency_record(ACME, "digest-of-key", now + 61) is None
    assert repo_for(GLOBEX).idempotency_record(GLOBEX, "digest-of-key", now) is None
    repo_for(GLOBEX).save_connector(GLOBEX, connector(2), None, claim)
    # An update takes no key: the one bound stays bound to the create.
    repo_for(ACME).save_connector(ACME, connector(1, version=2, name="Org 2"), 1, claim)
    assert repo_for(ACME).idempotency_record(ACME, "digest-of-key", now) == bound
