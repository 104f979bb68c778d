"""Composition root: services wired to their adapters, built lazily once per process."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from itam.adapters import asset_repository
from itam.assets.service import AssetService
from itam.settings import load_settings

if TYPE_CHECKING:  # imported when first used: an asset request does not load the licensing code
    from itam.licenses.service import AuditRunner, LicenseService


@lru_cache(maxsize=1)
def asset_service() -> AssetService:
    """The asset service on the table this function is configured for."""
    return AssetService(asset_repository(load_settings()))


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
    return AuditRunner(license_repository_for(settings), publisher)
