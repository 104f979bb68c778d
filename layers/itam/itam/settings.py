"""Function settings, read from the environment once per process (never at import time)."""

from __future__ import annotations

import json
import os
from functools import lru_cache

from pydantic import BaseModel, Field


class Settings(BaseModel):
    table_name: str = Field(min_length=3)
    region: str = "us-east-1"
    # Set only off AWS (the local stack, tests); on Lambda the SDK's default endpoints are used.
    dynamodb_endpoint: str | None = None
    sts_endpoint: str | None = None
    # The role assumed per tenant for every data access (defense in depth); unset, the function's
    # own credentials are used.
    tenant_role_arn: str | None = None
    # Where audits and re-normalizations are queued, and where domain events go.
    audit_queue_url: str | None = None
    event_bus_name: str | None = None
    sqs_endpoint: str | None = None
    events_endpoint: str | None = None
    # Procurement intake: its queue, and where webhook signing secrets live in Secrets Manager.
    procurement_queue_url: str | None = None
    webhook_secret_prefix: str = "itam/webhooks"  # noqa: S105 - a name prefix, not a secret
    secrets_endpoint: str | None = None
    # Precoro's API; set only in tests, which serve a fake provider.
    precoro_api_url: str = "https://api.precoro.com"
    # Inventory sync: its queue, where connector credentials live in Secrets Manager.
    sync_queue_url: str | None = None
    connector_secret_prefix: str = "itam/connectors"  # noqa: S105 - a name prefix, not a secret
    # The Cognito user pool of the tenants' users: names in approval steps and requests are resolved
    # to user ids there.
    user_pool_id: str | None = None
    cognito_endpoint: str | None = None
    # Test configuration only (an emulated AWS, fake SaaS providers); unset, the providers' own hosts.
    inventory_aws_endpoint: str | None = None
    provider_endpoints: dict[str, str] = Field(default_factory=dict)
    # The secret pagination cursors are sealed with (Secrets Manager); off AWS, or in tests, the key
    # itself may be given instead.
    cursor_secret_arn: str | None = None
    cursor_key: str | None = None


@lru_cache(maxsize=1)
def load_settings() -> Settings:
    """The settings of this process, from TABLE_NAME, TENANT_ROLE_ARN, AUDIT_QUEUE_URL, EVENT_BUS_NAME,
    USER_POOL_ID, CURSOR_SECRET_ARN, AWS_REGION and AWS_ENDPOINT_URL*."""
    env = os.environ
    return Settings(
        table_name=env.get("TABLE_NAME", ""),
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        dynamodb_endpoint=env.get("AWS_ENDPOINT_URL_DYNAMODB") or env.get("AWS_ENDPOINT_URL") or None,
        sts_endpoint=env.get("AWS_ENDPOINT_URL_STS") or env.get("AWS_ENDPOINT_URL") or None,
        tenant_role_arn=env.get("TENANT_ROLE_ARN") or None,
        audit_queue_url=env.get("AUDIT_QUEUE_URL") or None,
        event_bus_name=env.get("EVENT_BUS_NAME") or None,
        sqs_endpoint=env.get("AWS_ENDPOINT_URL_SQS") or env.get("AWS_ENDPOINT_URL") or None,
        events_endpoint=env.get("AWS_ENDPOINT_URL_EVENTS") or env.get("AWS_ENDPOINT_URL") or None,
        procurement_queue_url=env.get("PROCUREMENT_QUEUE_URL") or None,
        webhook_secret_prefix=env.get("WEBHOOK_SECRET_PREFIX") or "itam/webhooks",
        secrets_endpoint=env.get("AWS_ENDPOINT_URL_SECRETSMANAGER") or env.get("AWS_ENDPOINT_URL") or None,
        precoro_api_url=env.get("PRECORO_API_URL") or "https://api.precoro.com",
        sync_queue_url=env.get("SYNC_QUEUE_URL") or None,
        connector_secret_prefix=env.get("CONNECTOR_SECRET_PREFIX") or "itam/connectors",
        user_pool_id=env.get("USER_POOL_ID") or None,
        cognito_endpoint=env.get("AWS_ENDPOINT_URL_COGNITO_IDP") or env.get("AWS_ENDPOINT_URL") or None,
        inventory_aws_endpoint=env.get("ITAM_INVENTORY_AWS_ENDPOINT") or None,
        provider_endpoints=json.loads(env.get("ITAM_PROVIDER_ENDPOINTS") or "{}"),
        cursor_secret_arn=env.get("CURSOR_SECRET_ARN") or None,
        cursor_key=env.get("ITAM_CURSOR_KEY") or None,
    )
