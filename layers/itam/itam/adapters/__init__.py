"""Adapters: the only code that knows PynamoDB, botocore and boto3."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from itam.adapters.credentials import TenantCredentials
from itam.adapters.dynamodb import TENANT_DIRECTORY, DynamoAssetRepository, TableModels, table_models
from itam.assets.models import Asset, AssetFilter, Assignment, HistoryEvent, Maintenance
from itam.assets.ports import AssetRecord
from itam.pagination import Page, PageRequest
from itam.ports import IdempotencyClaim, IdempotencyRecord
from itam.settings import Settings
from itam.tenancy import TenantContext

if TYPE_CHECKING:
    from itam.adapters.licensing import DynamoLicenseRepository


class TenantScopedAssets:
    """AssetRepository whose every call runs on the table models of the caller's tenant: with a
    tenant role configured, those use credentials that can reach that tenant's keys only."""

    def __init__(self, models_for: Callable[[TenantContext], TableModels]) -> None:
        self._models_for = models_for

    def _repo(self, ctx: TenantContext) -> DynamoAssetRepository:
        return DynamoAssetRepository(self._models_for(ctx))

    def create(
        self,
        ctx: TenantContext,
        asset: Asset,
        event: HistoryEvent,
        records: Sequence[AssetRecord],
        claim: IdempotencyClaim | None = None,
    ) -> None:
        self._repo(ctx).create(ctx, asset, event, records, claim)

    def update(
        self,
        ctx: TenantContext,
        previous: Asset,
        current: Asset,
        event: HistoryEvent,
        records: Sequence[AssetRecord],
        claim: IdempotencyClaim | None = None,
    ) -> None:
        self._repo(ctx).update(ctx, previous, current, event, records, claim)

    def idempotency_record(self, ctx: TenantContext, key_digest: str, now: int) -> IdempotencyRecord | None:
        return self._repo(ctx).idempotency_record(ctx, key_digest, now)

    def get(self, ctx: TenantContext, asset_id: str) -> Asset | None:
        return self._repo(ctx).get(ctx, asset_id)

    def get_many(self, ctx: TenantContext, asset_ids: Sequence[str]) -> list[Asset]:
        return self._repo(ctx).get_many(ctx, asset_ids)

    def list(self, ctx: TenantContext, filters: AssetFilter, page: PageRequest) -> Page[Asset]:
        return self._repo(ctx).list(ctx, filters, page)

    def history(self, ctx: TenantContext, asset_id: str, page: PageRequest) -> Page[HistoryEvent]:
        return self._repo(ctx).history(ctx, asset_id, page)

    def maintenance(self, ctx: TenantContext, asset_id: str, page: PageRequest) -> Page[Maintenance]:
        return self._repo(ctx).maintenance(ctx, asset_id, page)

    def maintenance_record(self, ctx: TenantContext, asset_id: str, record_id: str) -> Maintenance | None:
        return self._repo(ctx).maintenance_record(ctx, asset_id, record_id)

    def assignments(self, ctx: TenantContext, asset_id: str, page: PageRequest) -> Page[Assignment]:
        return self._repo(ctx).assignments(ctx, asset_id, page)


def models_for_tenant(settings: Settings) -> Callable[[TenantContext], TableModels]:
    """Table models for the caller's tenant: with a tenant role configured, bound to credentials of
    that role assumed for the tenant, else to the function's own credentials. One per process and
    configuration, so that every repository of a function shares its tenants' credentials."""
    return _models_for(
        settings.table_name,
        settings.region,
        settings.dynamodb_endpoint,
        settings.tenant_role_arn,
        settings.sts_endpoint,
    )


@lru_cache(maxsize=4)
def _models_for(
    table: str, region: str, host: str | None, role_arn: str | None, sts_endpoint: str | None
) -> Callable[[TenantContext], TableModels]:
    if role_arn is None:
        return lambda ctx: table_models(table, region, host)
    credentials = TenantCredentials(role_arn, region, sts_endpoint)
    return lambda ctx: table_models(table, region, host, credentials.for_tenant(ctx.tenant_id))


def asset_repository(settings: Settings) -> TenantScopedAssets:
    """The asset repository for the table, endpoint and (optional) tenant role in `settings`."""
    return TenantScopedAssets(models_for_tenant(settings))


def license_repository_for(settings: Settings) -> Callable[[TenantContext], DynamoLicenseRepository]:
    """The license repository of the caller's tenant (tenant-scoped credentials as for assets)."""
    from itam.adapters.licensing import DynamoLicenseRepository

    models_for = models_for_tenant(settings)
    return lambda ctx: DynamoLicenseRepository(models_for(ctx))


def tenant_directory(settings: Settings) -> Iterator[str]:
    """Ids of every tenant, from the tenant directory (one GSI1 partition, read in 1 MB pages)."""
    models = table_models(settings.table_name, settings.region, settings.dynamodb_endpoint)
    for item in models.indexes["GSI1"].query(TENANT_DIRECTORY):
        yield str(item.GSI1SK)
