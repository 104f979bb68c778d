"""One contract for both ProcurementRepository implementations: the DynamoDB adapter (on moto) and
the in-memory fake the route tests use, for what the endpoint service and the intake rely on."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from itam.adapters import models_for_tenant
from itam.adapters.webhooks import DynamoProcurementRepository
from itam.errors import KeyAlreadyUsed, StaleVersion
from itam.idempotency import IdempotencyClaim, IdempotencyRecord
from itam.pagination import PageRequest
from itam.procurement.models import Delivery, WebhookEndpoint
from itam.procurement.ports import ProcurementRepository
from itam.settings import load_settings
from itam.tenancy import Role, TenantContext
from tests.support.procurement_fakes import FakeProcurementRepository

ACME = TenantContext("acme", "u-1", "admin@acme", frozenset({Role.ADMIN}))
GLOBEX = TenantContext("globex", "u-2", "admin@globex", frozenset({Role.ADMIN}))
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

RepositoryFor = Callable[[TenantContext], ProcurementRepository]


@pytest.fixture(params=["dynamodb", "fake"])
def repo_for(request: pytest.FixtureRequest) -> Iterator[RepositoryFor]:
    if request.param == "fake":
        fake = FakeProcurementRepository()
        yield lambda ctx: fake
    else:
        request.getfixturevalue("table")
        models_for = models_for_tenant(load_settings())
        yield lambda ctx: DynamoProcurementRepository(models_for(ctx))


def endpoint(ctx: TenantContext, number: int, version: int = 1, **fields: object) -> WebhookEndpoint:
    endpoint_id = f"{ctx.tenant_id}.{number:032x}"
    return WebhookEndpoint.model_validate(
        {
            "name": "Coupa",
            "provider": "generic",
            "id": endpoint_id,
            "url_path": f"/v1/webhooks/{endpoint_id}",
            "version": version,
            "created_at": NOW,
            "created_by": "u-1",
            "updated_at": NOW,
            **fields,
        }
    )


def test_create_then_get_and_list_within_the_tenant_only(repo_for: RepositoryFor) -> None:
    first = endpoint(ACME, 1)
    repo_for(ACME).save_endpoint(ACME, first, None)

    assert repo_for(ACME).get_endpoint(ACME, first.id) == first
    assert repo_for(GLOBEX).get_endpoint(GLOBEX, first.id) is None
    assert repo_for(ACME).list_endpoints(ACME, PageRequest()).items == [first]
    assert repo_for(GLOBEX).list_endpoints(GLOBEX, PageRequest()).items == []
    with pytest.raises(StaleVersion):
        repo_for(ACME).save_endpoint(ACME, first, None)


def test_a_save_based_on_an_old_version_is_stale(repo_for: RepositoryFor) -> None:
    repo = repo_for(ACME)
    repo.save_endpoint(ACME, endpoint(ACME, 1), None)
    v2 = endpoint(ACME, 1, version=2, name="Coupa EU")
    repo.save_endpoint(ACME, v2, 1)

    with pytest.raises(StaleVersion):
        repo.save_endpoint(ACME, endpoint(ACME, 1, version=2, name="lost"), 1)
    assert repo.get_endpoint(ACME, v2.id) == v2
    repo.delete_endpoint(ACME, v2.id)
    assert repo.get_endpoint(ACME, v2.id) is None


def test_a_delivery_is_recorded_once_with_its_body(repo_for: RepositoryFor) -> None:
    repo = repo_for(ACME)
    first = Delivery.model_validate(
        {"id": "msg_1", "endpoint_id": endpoint(ACME, 1).id, "received_at": NOW, "status": "queued"}
    )

    assert repo.record_delivery(ACME, first, '{"a": 1}') is None
    assert repo.record_delivery(ACME, first.model_copy(update={"status": "processed"}), "{}") == first
    assert repo.delivery(ACME, first.endpoint_id, first.id) == (first, '{"a": 1}')
    assert repo.deliveries(ACME, first.endpoint_id, PageRequest()).items == [first]
    assert repo_for(GLOBEX).delivery(GLOBEX, first.endpoint_id, first.id) is None


def test_a_keyed_create_binds_its_key_once_in_its_tenant(repo_for: RepositoryFor) -> None:
    claim = IdempotencyClaim("digest-of-key", "digest-of-request", int(NOW.timestamp()) + 60)
    first = endpoint(ACME, 1)
    repo_for(ACME).save_endpoint(ACME, first, None, claim)

    with pytest.raises(KeyAlreadyUsed):
        repo_for(ACME).save_endpoint(ACME, endpoint(ACME, 2), None, claim)
    assert repo_for(ACME).get_endpoint(ACME, endpoint(ACME, 2).id) is None
    now = int(NOW.timestamp())
    bound = IdempotencyRecord(resource_id=first.id, request_digest="digest-of-request")
    assert repo_for(ACME).idempotency_record(ACME, "digest-of-key", now) == bound
    assert repo_for(ACME).idempotency_record(ACME, "digest-of-key", now + 61) is None
    assert repo_for(GLOBEX).idempotency_record(GLOBEX, "digest-of-key", now) is None
    repo_for(GLOBEX).save_endpoint(GLOBEX, endpoint(GLOBEX, 2), None, claim)
