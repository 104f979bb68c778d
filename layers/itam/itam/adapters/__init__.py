"""Adapters: the only code that knows PynamoDB, botocore and boto3.

The repositories of a function are composed here, on table models bound per tenant."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import TYPE_CHECKING

from itam.adapters.asset_store import TenantScopedAssets
from itam.adapters.credentials import TenantCredentials
from itam.adapters.schema import TENANT_DIRECTORY, TableModels, table_models
from itam.settings import Settings
from itam.tenancy import TenantContext

if TYPE_CHECKING:
    from itam.adapters.licensing import DynamoLicenseRepository
    from itam.adapters.secrets import SecretsManagerStore
    from itam.procurement.ports import EndpointDirectory


def models_for_tenant(settings: Settings) -> Callable[[TenantContext], TableModels]:
    """Table models for the caller's tenant: with a tenant role configured, bound to credentials of
    that role assumed for the tenant, else to the function's own credentials. One per process and
    configuration, so that every repository of a function shares its tenants' credentials."""
    return tenant_bindings(
        settings.table_name,
        settings.region,
        settings.dynamodb_endpoint,
        settings.tenant_role_arn,
        settings.sts_endpoint,
    )


@lru_cache(maxsize=4)
def tenant_bindings(
    table: str, region: str, host: str | None, role_arn: str | None, sts_endpoint: str | None
) -> Callable[[TenantContext], TableModels]:
    """The table models of each tenant on this table, with credentials of `role_arn` if given."""
    if role_arn is None:
        return lambda ctx: table_models(table, region, host)
    credentials = tenant_credentials(role_arn, region, sts_endpoint)
    return lambda ctx: table_models(table, region, host, credentials.for_tenant(ctx.tenant_id))


@lru_cache(maxsize=4)
def tenant_credentials(role_arn: str, region: str, sts_endpoint: str | None) -> TenantCredentials:
    """The process's credentials of `role_arn` per tenant, shared by the table and the secret store:
    one AssumeRole per tenant serves both."""
    return TenantCredentials(role_arn, region, sts_endpoint)


def secret_store(settings: Settings) -> SecretsManagerStore:
    """Secrets Manager as the caller's tenant (credentials of the tenant role, if one is configured)."""
    from itam.adapters.secrets import SecretsManagerStore

    role = settings.tenant_role_arn
    credentials = tenant_credentials(role, settings.region, settings.sts_endpoint) if role else None
    return SecretsManagerStore(settings.region, settings.secrets_endpoint, credentials)


def asset_repository(settings: Settings) -> TenantScopedAssets:
    """The asset repository for the table, endpoint and (optional) tenant role in `settings`."""
    return TenantScopedAssets(models_for_tenant(settings))


def license_repository_for(settings: Settings) -> Callable[[TenantContext], DynamoLicenseRepository]:
    """The license repository of the caller's tenant (tenant-scoped credentials as for assets)."""
    from itam.adapters.licensing import DynamoLicenseRepository

    models_for = models_for_tenant(settings)
    return lambda ctx: DynamoLicenseRepository(models_for(ctx))


def webhook_endpoint_directory(settings: Settings) -> EndpointDirectory:
    """Webhook endpoints, read on the function's own credentials: the intake finds an endpoint before
    it knows whether a delivery is authentic, and assumes the tenant's role only for one that is. In
    AWS that role may read endpoint partitions and nothing else (template.yaml, FindWebhookEndpoints)."""
    from itam.adapters.webhooks import DynamoProcurementRepository

    return DynamoProcurementRepository(
        table_models(settings.table_name, settings.region, settings.dynamodb_endpoint)
    )


def tenant_directory(settings: Settings) -> Iterator[str]:
    """Ids of every tenant, from the tenant directory (one GSI1 partition, read in 1 MB pages)."""
    models = table_models(settings.table_name, settings.region, settings.dynamodb_endpoint)
    for item in models.indexes["GSI1"].query(TENANT_DIRECTORY):
        yield str(item.GSI1SK)
