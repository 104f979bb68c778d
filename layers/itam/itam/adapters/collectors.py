"""Connectors as the sync engine sees them: settings checked per type, and each provider's records
turned into register fields (`Discovered`).

AWS resources become cloud assets: name, category (the resource type), vendor, model (the size),
location and custom fields from the configured tag keys, the account, region, type, size and state
as custom fields, and the resource's tags as asset tags (those a register tag can hold). SaaS
products become saas assets with their seat counts, which the compliance position reads.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from itam.adapters.aws.common import mapped_fields
from itam.adapters.aws.model import AwsConnectorSettings, CloudResource, ResourceType
from itam.adapters.aws.resources import RESOURCES
from itam.adapters.aws.session import BotocoreClientFactory, ClientFactory
from itam.adapters.aws.walk import AwsInventory
from itam.adapters.connector_settings import checked_model
from itam.assets.models import TAG_KEY, AssetCreate, Kind, SaasSeats
from itam.errors import InvalidInput
from itam.inventory.models import Connector, ConnectorType, Discovered, RunError
from itam.inventory.ports import Collector

if TYPE_CHECKING:
    from itam.adapters.saas import SaasCollector
    from itam.inventory.saas import Provider, SaasProduct

logger = logging.getLogger(__name__)
AWS_VENDOR = "Amazon Web Services"
MAX_ASSET_TAGS = 50
MAX_TAG_VALUE = 256
_REGISTER_TAG_KEY = re.compile(TAG_KEY)
AWS_CUSTOM_FIELDS = frozenset({"account_id", "region", "resource_type", "size", "state"})
SAAS_CUSTOM_FIELDS = frozenset(
    {"provider", "sku", "suspended", "activity_known", "reclaimable_seats", "reclaimable_assignees"}
)
MAX_CUSTOM_TEXT = 1024


class CollectorFactory:
    """The collector of a connector. `aws_endpoint` and `provider_endpoints` are test
    configuration (an emulated AWS, fake providers); production uses the providers' own hosts."""

    def __init__(
        self,
        aws_endpoint: str | None = None,
        provider_endpoints: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] | None = None,
        aws_clients: ClientFactory | None = None,
    ) -> None:
        self._aws_clients = aws_clients or BotocoreClientFactory(endpoint_url=aws_endpoint)
        self._aws_endpoint = aws_endpoint
        self._endpoints = dict(provider_endpoints) if provider_endpoints else None
        self._sleep = sleep

    def __call__(self, connector: Connector, credentials: Mapping[str, Any] | None) -> Collector:
        if connector.type is ConnectorType.AWS:
            settings = AwsConnectorSettings.model_validate(
                {**connector.settings, "external_id": connector.external_id}
            )
            inventory = AwsInventory(settings, client_factory=self._aws_clients)
            return AwsCollector(inventory)
        from itam.adapters.saas import saas_collector
        from itam.inventory.saas import CREDENTIALS, SETTINGS

        provider = cast("Provider", connector.type.value)
        settings_model = SETTINGS[provider].model_validate(connector.settings)
        if credentials is None:
            raise InvalidInput(f"the {provider} connector has no credentials", "credentials")
        secret = checked_model(CREDENTIALS[provider], credentials, "credentials")
        collector = saas_collector(
            provider,
            settings_model,
            secret,
            reclaim_after_days=connector.reclaim_after_days,
            now=datetime.now(UTC),
            endpoints=self._endpoints,
            sleep=self._sleep or time.sleep,
        )
        return SaasCollectorAdapter(provider, collector)


# ---------------------------------------------------------------------- AWS


def aws_scope(account_id: str, region: str | None, resource_type: str) -> str:
    return f"{account_id}/{region or '-'}/{resource_type}"


class AwsCollector:
    provider = "aws"

    def __init__(self, inventory: AwsInventory) -> None:
        self._inventory = inventory
        self._tag_keys = dict(inventory.settings.tag_keys)
        self._mapping = json.dumps(self._tag_keys, sort_keys=True)

    def collect(self) -> Iterator[Discovered]:
        for resource in self._inventory.collect():
            yield self.discovered(resource)

    def discovered(self, resource: CloudResource) -> Discovered:
        fields = cloud_asset(resource, self._tag_keys)
        owned = AWS_CUSTOM_FIELDS | set(resource.attributes) | set(self._tag_keys)
        digest = hashlib.sha256(f"{resource.content_hash()}|{self._mapping}".encode()).hexdigest()
        # A global type (S3) is listed once per account: its scope is the account, not a region.
        region = None if RESOURCES[resource.resource_type].is_global else resource.region
        return Discovered(
            external_key=resource.external_key,
            content_hash=digest,
            scope=aws_scope(resource.account_id, region, resource.resource_type.value),
            fields=fields,
            owned_custom_fields=frozenset(owned),
        )

    def was_skipped(self, scope: str) -> bool:
        account, region, type_ = scope.split("/", 2)
        return self._inventory.was_skipped(account, None if region == "-" else region, ResourceType(type_))

    def problems(self) -> list[RunError]:
        return [
            RunError(
                code=warning.code,
                message=warning.message,
                scope=aws_scope(
                    warning.account_id or "*",
                    warning.region or "*",
                    warning.resource_type.value if warning.resource_type else "*",
                ),
            )
            for warning in self._inventory.warnings
            if warning.skipped
        ]


def asset_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """The provider's tags a register tag can hold (keys without ":" or spaces, at most 64
    characters; values capped), at most 50, in key order. `aws:` tags are left out."""
    kept: dict[str, str] = {}
    for key in sorted(tags):
        if len(kept) == MAX_ASSET_TAGS:
            break
        if _REGISTER_TAG_KEY.fullmatch(key):
            kept[key] = tags[key][:MAX_TAG_VALUE]
    return kept


def cloud_asset(resource: CloudResource, tag_keys: Mapping[str, str]) -> AssetCreate:
    mapped = mapped_fields(resource, tag_keys)
    custom: dict[str, Any] = {
        "account_id": resource.account_id,
        "resource_type": resource.resource_type.value,
    }
    for name, value in (("region", resource.region), ("size", resource.size), ("state", resource.state)):
        if value is not None:
            custom[name] = value
    for name, value in sorted(resource.attributes.items()):
        if name.isidentifier() and name[0].isalpha() and len(name) <= 64 and name not in custom:
            custom[name] = value[:MAX_CUSTOM_TEXT]
    custom.update(mapped.get("custom_fields", {}))
    return AssetCreate(
        name=resource.name[:200],
        kind=Kind.CLOUD,
        status="deployed",
        category=resource.resource_type.value,
        manufacturer=AWS_VENDOR,
        vendor=AWS_VENDOR,
        model=resource.size[:128] if resource.size else None,
        location=mapped.get("location"),
        tags=asset_tags(resource.tags),
        custom_fields=dict(list(custom.items())[:MAX_ASSET_TAGS]),
    )


# ---------------------------------------------------------------------- SaaS


class SaasCollectorAdapter:
    def __init__(self, provider: str, collector: SaasCollector) -> None:
        self.provider = provider
        self._collector = collector

    def collect(self) -> Iterator[Discovered]:
        for product in self._collector.collect():
            yield saas_discovered(product)

    def was_skipped(self, scope: str) -> bool:
        # A record the provider sent malformed was skipped: absences prove nothing in that run.
        return bool(self._skipped())

    def problems(self) -> list[RunError]:
        for notice in self._collector.warnings:
            if notice not in self._skipped():
                logger.info("provider notice", extra={"provider": self.provider, "notice": notice})
        return [
            RunError(code="SkippedRecord", message=text[:500], scope=self.provider)
            for text in self._skipped()
        ]

    def _skipped(self) -> list[str]:
        return [str(text) for text in self._collector.warnings if "skipped" in str(text)]


def saas_discovered(product: SaasProduct) -> Discovered:
    reclaimable = ", ".join(seat.assignee for seat in product.reclaimable)
    if len(reclaimable) > MAX_CUSTOM_TEXT:
        reclaimable = reclaimable[: MAX_CUSTOM_TEXT - 1].rsplit(", ", 1)[0] + "…"
    custom: dict[str, Any] = {
        "provider": product.provider,
        "suspended": product.suspended,
        "activity_known": product.activity_known,
        "reclaimable_seats": product.reclaimable_total,
    }
    if product.sku:
        custom["sku"] = product.sku[:MAX_CUSTOM_TEXT]
    if reclaimable:
        custom["reclaimable_assignees"] = reclaimable
    fields = AssetCreate(
        name=product.product,
        kind=Kind.SAAS,
        status="deployed",
        category="saas_subscription",
        manufacturer=product.vendor,
        vendor=product.vendor,
        model=product.sku[:128] if product.sku else None,
        custom_fields=custom,
        saas=SaasSeats(
            product=product.product,
            vendor=product.vendor,
            purchased=product.purchased,
            assigned=product.assigned,
            active=product.active,
            observed_at=product.observed_at,
        ),
    )
    return Discovered(
        external_key=product.external_key,
        content_hash=product.content_hash(),
        scope=product.provider,
        fields=fields,
        owned_custom_fields=SAAS_CUSTOM_FIELDS,
    )
