"""Adapters: the only code that knows PynamoDB, botocore and boto3."""

from __future__ import annotations

from itam.adapters.dynamodb import DynamoAssetRepository, table_models
from itam.settings import Settings


def asset_repository(settings: Settings) -> DynamoAssetRepository:
    """The asset repository for the table and endpoint in `settings` (model classes cached per table)."""
    return DynamoAssetRepository(
        table_models(settings.table_name, settings.region, settings.dynamodb_endpoint)
    )
