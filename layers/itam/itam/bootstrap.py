"""Composition root: services wired to their adapters, built lazily once per process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import TYPE_CHECKING

from itam.adapters import asset_repository
from itam.assets.ports import AssetHoldings
from itam.assets.service import AssetService
from itam.settings import load_settings
from itam.tenancy import TenantContext

if TYPE_CHECKING:  # imported when first used: an asset request does not load the licensing code
    from itam.adapters.inventory_store import DynamoInventoryRepository
    from itam.assets.books import Books
    from itam.contracts.service import ContractService
    from itam.inventory.service import ConnectorService, SyncRunner
    from itam.licenses.service import AuditRunner, LicenseService
    from itam.ports import SecretStore
    from itam.procurement.ports import ProcurementRepository
    from itam.procurement.service import EndpointService, Intake, Processor
    from itam.requests.service import RequestService


@lru_cache(maxsize=1)
def asset_service() -> AssetService:
    """The asset service on the table this function is configured for; licensing's side of an asset
    is loaded by the first move out of service or change of kind, the event bus's client by the first
    transition."""
    from itam.adapters.messaging import EventBridgePublisher

    settings = load_settings()
    publisher = EventBridgePublisher(
        settings.event_bus_name or "default", settings.region, settings.events_endpoint
    )
    return AssetService(
        asset_repository(settings),
        connector_ids=_connector_ids,
        holdings=_asset_holdings,
        publisher=publisher,
        books=books,
    )


@lru_cache(maxsize=1)
def books() -> Books:
    """Depreciation profiles, book values and total costs, on the asset repository's table and tenant
    scoping (the contracts and licensing adapters are loaded with them: only these routes need them)."""
    from itam.adapters import models_for_tenant
    from itam.adapters.books_store import DynamoDepreciationProfiles
    from itam.adapters.cost_sources import TableCostSources
    from itam.assets.books import Books

    settings = load_settings()
    models_for = models_for_tenant(settings)
    return Books(
        asset_repository(settings),
        DynamoDepreciationProfiles(models_for),
        costs=TableCostSources(models_for),
    )


@lru_cache(maxsize=1)
def _asset_holdings() -> AssetHoldings:
    """What assets hold in licensing (seats, installations), on the same table and tenant scoping."""
    from itam.adapters import license_repository_for
    from itam.licenses.holdings import LicenseHoldings

    return LicenseHoldings(license_repository_for(load_settings()), asset_service().repository)


def _connector_ids(ctx: TenantContext) -> Iterator[str]:
    """The tenant's inventory connectors, for finding discovered assets by provider key."""
    return _inventory_repositories()(ctx).connector_ids(ctx)


@lru_cache(maxsize=1)
def license_service() -> LicenseService:
    """The licensing service: the same table and tenant scoping, the audit queue."""
    from itam.adapters import license_repository_for
    from itam.adapters.messaging import SqsJobQueue
    from itam.licenses.service import LicenseService

    settings = load_settings()
    queue = SqsJobQueue(settings.audit_queue_url or "", settings.region, settings.sqs_endpoint)
    return LicenseService(license_repository_for(settings), asset_service().repository, queue)


@lru_cache(maxsize=1)
def audit_runner() -> AuditRunner:
    """The audit worker's runner: tenant-scoped repositories and the event bus."""
    from itam.adapters import license_repository_for
    from itam.adapters.messaging import EventBridgePublisher
    from itam.licenses.service import AuditRunner

    settings = load_settings()
    publisher = EventBridgePublisher(
        settings.event_bus_name or "default", settings.region, settings.events_endpoint
    )
    return AuditRunner(license_repository_for(settings), publisher, assets=asset_repository(settings))


def _procurement_repositories() -> Callable[[TenantContext], ProcurementRepository]:
    """The procurement repository for a tenant, on the table with the tenant's credentials."""
    from itam.adapters import models_for_tenant
    from itam.adapters.webhooks import DynamoProcurementRepository

    models_for = models_for_tenant(load_settings())
    return lambda ctx: DynamoProcurementRepository(models_for(ctx))


def _secret_store() -> SecretStore:
    """Webhook secrets and connector credentials, in Secrets Manager, reached as the caller's tenant."""
    from itam.adapters import secret_store

    return secret_store(load_settings())


@lru_cache(maxsize=1)
def endpoint_service() -> EndpointService:
    """Webhook endpoints: their items on the table, their secrets in Secrets Manager."""
    from itam.procurement.service import EndpointService

    return EndpointService(
        _procurement_repositories(), _secret_store(), load_settings().webhook_secret_prefix
    )


@lru_cache(maxsize=1)
def webhook_intake() -> Intake:
    """The intake: endpoint lookup (on the function's own credentials), delivery records (on the
    tenant's), secrets, the procurement queue."""
    from itam.adapters import webhook_endpoint_directory
    from itam.adapters.messaging import SqsJobQueue
    from itam.procurement.service import Intake

    settings = load_settings()
    queue = SqsJobQueue(settings.procurement_queue_url or "", settings.region, settings.sqs_endpoint)
    return Intake(
        _procurement_repositories(),
        webhook_endpoint_directory(settings),
        _secret_store(),
        queue,
        settings.webhook_secret_prefix,
    )


@lru_cache(maxsize=1)
def procurement_processor() -> Processor:
    """Applies deliveries to the register through the asset and license services."""
    from itam.procurement.service import Processor

    settings = load_settings()
    return Processor(
        _procurement_repositories(),
        asset_service(),
        license_service(),
        _secret_store(),
        settings.webhook_secret_prefix,
        settings.precoro_api_url,
        request_service(),
    )


@lru_cache(maxsize=1)
def request_service() -> RequestService:
    """Requests and approvals: their items on the table, the asset register and licensing to fulfil
    them (licensing loaded by the first license request), domain events on the bus, the tenants'
    users in the Cognito user pool."""
    from itam.adapters import models_for_tenant
    from itam.adapters.directory import CognitoDirectory
    from itam.adapters.messaging import EventBridgePublisher
    from itam.adapters.request_store import DynamoRequestRepository
    from itam.requests.service import RequestService

    settings = load_settings()
    publisher = EventBridgePublisher(
        settings.event_bus_name or "default", settings.region, settings.events_endpoint
    )
    repository = DynamoRequestRepository(models_for_tenant(settings))
    people = CognitoDirectory(settings.user_pool_id, settings.region, settings.cognito_endpoint)
    return RequestService(repository, asset_service(), license_service, publisher, people=people)


def _inventory_repositories() -> Callable[[TenantContext], DynamoInventoryRepository]:
    """The inventory repository for a tenant: connectors and runs (ConnectorRepository), the sync's
    links (LinkStore) and the connector ids the asset register looks discovered assets up by."""
    from itam.adapters import models_for_tenant
    from itam.adapters.inventory_store import DynamoInventoryRepository

    models_for = models_for_tenant(load_settings())
    return lambda ctx: DynamoInventoryRepository(models_for(ctx))


@lru_cache(maxsize=1)
def connector_service() -> ConnectorService:
    """Inventory connectors: their items on the table, credentials in Secrets Manager, runs queued."""
    from itam.adapters.connector_settings import validate_settings
    from itam.adapters.messaging import SqsJobQueue
    from itam.inventory.service import ConnectorService

    settings = load_settings()
    queue = SqsJobQueue(settings.sync_queue_url or "", settings.region, settings.sqs_endpoint)
    return ConnectorService(
        _inventory_repositories(),
        _secret_store(),
        validate_settings,
        queue,
        settings.connector_secret_prefix,
    )


@lru_cache(maxsize=1)
def sync_runner() -> SyncRunner:
    """The sync worker's runner: connectors and links on the table, the collectors, the event bus."""
    from itam.adapters.collectors import CollectorFactory
    from itam.adapters.messaging import EventBridgePublisher
    from itam.inventory.service import SyncRunner
    from itam.inventory.sync import Reconciler

    settings = load_settings()
    repositories = _inventory_repositories()
    publisher = EventBridgePublisher(
        settings.event_bus_name or "default", settings.region, settings.events_endpoint
    )
    collectors = CollectorFactory(settings.inventory_aws_endpoint, settings.provider_endpoints)
    return SyncRunner(
        repositories,
        _secret_store(),
        collectors,
        lambda ctx: Reconciler(asset_service(), repositories(ctx)),
        publisher,
        settings.connector_secret_prefix,
    )


@lru_cache(maxsize=1)
def contract_service() -> ContractService:
    """Contracts: their items on the table, covering the tenant's assets and licenses."""
    from itam.adapters import models_for_tenant
    from itam.adapters.contract_store import DynamoContractRepository, TenantRegister
    from itam.contracts.service import ContractService

    models_for = models_for_tenant(load_settings())
    return ContractService(DynamoContractRepository(models_for), TenantRegister(models_for))
