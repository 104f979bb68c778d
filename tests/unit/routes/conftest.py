"""Route tests: real HTTP API v2 events through the real handler, with every service built on the
in-memory fakes and injected through the resolver's dependency overrides (no moto, no network)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from itam import bootstrap
from itam.assets.books import Books
from itam.assets.service import AssetService
from itam.contracts.service import ContractService
from itam.inventory.service import ConnectorService
from itam.licenses.service import LicenseService
from itam.procurement.service import EndpointService
from itam.requests.service import RequestService
from tests.support.contract_fakes import FakeContractRepository, FakeCostSources, FakeRegister
from tests.support.events import claims_for, http_event
from tests.support.fakes import (
    FakeAssetRepository,
    FakeDepreciationProfiles,
    FixedClock,
    RecordingQueue,
    SequentialIds,
)
from tests.support.inventory_fakes import FakeInventoryRepository, accept_settings
from tests.support.lambda_api import Reply, invoke
from tests.support.license_fakes import FakeLicenseRepository
from tests.support.procurement_fakes import FakeProcurementRepository, FakeSecretStore
from tests.support.request_fakes import FakeDirectory, FakePublisher, FakeRequestRepository

PEOPLE = ("u-1", "alice", "bob", "carol", "controller", "ed")


class Services:
    """Every service the API serves, on fakes sharing one clock, one id sequence and one register."""

    def __init__(self) -> None:
        clock, ids = FixedClock(), SequentialIds()
        self.asset_repo = FakeAssetRepository()
        self.inventory_repo = FakeInventoryRepository()
        self.procurement_repo = FakeProcurementRepository()
        self.request_repo = FakeRequestRepository()
        self.secrets = FakeSecretStore()
        self.audit_queue = RecordingQueue()
        self.sync_queue = RecordingQueue()
        self.publisher = FakePublisher()
        # The users Api calls as (see tests.support.events.claims_for), in acme and globex.
        self.people = FakeDirectory(
            *((t, f"{t}-{u}", f"{u}@{t}.example.com") for t in ("acme", "globex") for u in PEOPLE)
        )
        self.asset_events = FakePublisher()
        self.profiles = FakeDepreciationProfiles()
        self.license_repo = FakeLicenseRepository(self.asset_repo.assets, self.asset_repo.releases)
        self.contract_repo = FakeContractRepository()
        self.books = Books(
            self.asset_repo, self.profiles, clock, FakeCostSources(self.contract_repo, self.license_repo)
        )
        self.assets = AssetService(
            self.asset_repo,
            clock,
            ids,
            sleep=lambda _: None,
            connector_ids=self.inventory_repo.connector_ids,
            holdings=lambda: self.licenses.holdings,
            publisher=self.asset_events,
            books=lambda: self.books,
        )
        self.licenses = LicenseService(
            lambda ctx: self.license_repo, self.asset_repo, self.audit_queue, clock, ids
        )
        self.endpoints = EndpointService(
            lambda ctx: self.procurement_repo, self.secrets, "itam-test/webhooks", clock, ids
        )
        self.connectors = ConnectorService(
            lambda ctx: self.inventory_repo,
            self.secrets,
            accept_settings,
            self.sync_queue,
            "itam-test/connectors",
            clock,
            ids,
        )
        self.contracts = ContractService(
            self.contract_repo,
            FakeRegister(self.asset_repo.assets, self.license_repo.licenses),
            clock,
            ids,
        )
        self.requests = RequestService(
            self.request_repo,
            self.assets,
            lambda: self.licenses,
            self.publisher,
            clock,
            ids,
            sleep=lambda _: None,
            people=self.people,
        )


@pytest.fixture
def services() -> Iterator[Services]:
    """The services on fakes, injected into the API for the test's length."""
    from functions.api.handler import app

    built = Services()
    app.dependency_overrides.update(
        {
            bootstrap.asset_service: lambda: built.assets,
            bootstrap.books: lambda: built.books,
            bootstrap.license_service: lambda: built.licenses,
            bootstrap.endpoint_service: lambda: built.endpoints,
            bootstrap.connector_service: lambda: built.connectors,
            bootstrap.request_service: lambda: built.requests,
            bootstrap.contract_service: lambda: built.contracts,
        }
    )
    yield built
    app.dependency_overrides.clear()


class Api:
    """Calls the API function's lambda_handler with HTTP API v2 events, as a given tenant and role."""

    def __init__(self, tenant: str = "acme", role: str = "admin", user: str = "u-1") -> None:
        self.claims = claims_for(tenant, role, user)

    def as_(self, tenant: str = "acme", role: str = "admin", user: str = "u-1") -> Api:
        """The same API, called by someone else."""
        return Api(tenant, role, user)

    def call(self, method: str, path: str, **kwargs: Any) -> Reply:
        """One request; `kwargs` as tests.support.events.http_event takes them."""
        return invoke(http_event(method, path, claims=self.claims, **kwargs))

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Reply:
        return self.call("POST", path, body=body, **kwargs)

    def put(self, path: str, body: Any, **kwargs: Any) -> Reply:
        return self.call("PUT", path, body=body, **kwargs)

    def patch(self, path: str, body: Any, **kwargs: Any) -> Reply:
        return self.call("PATCH", path, body=body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Reply:
        return self.call("DELETE", path, **kwargs)


@pytest.fixture
def api(services: Services) -> Api:
    """An admin of tenant acme, on the faked services."""
    return Api()


def assert_problem(reply: Reply, status: int, kind: str | None = None) -> None:
    """The reply is a problem document with `status` (and type /problems/<kind>)."""
    assert reply.status == status, reply.body
    assert reply.headers["Content-Type"] == "application/problem+json"
    assert reply.body["status"] == status
    if kind is not None:
        assert reply.body["type"] == f"/problems/{kind}"
