"""The secret store on AWS Secrets Manager: webhook signing secrets and connector credentials.

Every call acts for the caller's tenant. With a tenant role configured (deployed), it signs with that
tenant's credentials (the ones its table access uses), whose policy reaches only secrets tagged
`tenant_id=<that tenant>` under the tenant's own name prefix; a secret is created with that tag. So a
name built for another tenant, by whatever bug, is refused by IAM rather than read.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from itam.adapters import sessions
from itam.adapters.credentials import MAX_TENANTS, TENANT_TAG, Credentials, TenantCredentials
from itam.tenancy import TenantContext

# A read is served from the cache for a minute: a warm webhook intake makes no Secrets Manager call.
CACHE_SECONDS = 60.0
MAX_CACHED = 1024


@lru_cache(maxsize=MAX_TENANTS)
def secrets_client(region: str, endpoint: str | None, credentials: Credentials | None) -> Any:
    """A Secrets Manager client signing with `credentials` (the function's own when None); renewed
    credentials make a new client."""
    if credentials is None:
        return sessions.client("secretsmanager", region, endpoint)
    return sessions.client(
        "secretsmanager",
        region,
        endpoint,
        aws_access_key_id=credentials.access_key,
        aws_secret_access_key=credentials.secret_key,
        aws_session_token=credentials.session_token,
    )


class SecretsManagerStore:
    """SecretStore on AWS Secrets Manager, as the caller's tenant; reads are cached for a minute
    per tenant and name."""

    def __init__(
        self, region: str, endpoint: str | None = None, credentials: TenantCredentials | None = None
    ) -> None:
        self._region = region
        self._endpoint = endpoint
        self._credentials = credentials
        self._cache: OrderedDict[tuple[str, str], tuple[float, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def _client_for(self, ctx: TenantContext) -> Any:
        issued = self._credentials.for_tenant(ctx.tenant_id) if self._credentials is not None else None
        return secrets_client(self._region, self._endpoint, issued)

    def create(self, ctx: TenantContext, name: str, value: Mapping[str, Any]) -> None:
        self._client_for(ctx).create_secret(
            Name=name,
            SecretString=json.dumps(dict(value)),
            Tags=[{"Key": TENANT_TAG, "Value": ctx.tenant_id}],
        )

    def put(self, ctx: TenantContext, name: str, value: Mapping[str, Any]) -> None:
        self._client_for(ctx).put_secret_value(SecretId=name, SecretString=json.dumps(dict(value)))
        self._forget(ctx, name)

    def read(self, ctx: TenantContext, name: str, fresh: bool = False) -> dict[str, Any]:
        key = (ctx.tenant_id, name)
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and not fresh and cached[0] > now:
            return dict(cached[1])
        value = json.loads(self._client_for(ctx).get_secret_value(SecretId=name)["SecretString"])
        with self._lock:
            self._cache[key] = (now + CACHE_SECONDS, value)
            self._cache.move_to_end(key)
            while len(self._cache) > MAX_CACHED:
                self._cache.popitem(last=False)
        return dict(value)

    def delete(self, ctx: TenantContext, name: str) -> None:
        self._client_for(ctx).delete_secret(SecretId=name, RecoveryWindowInDays=7)
        self._forget(ctx, name)

    def _forget(self, ctx: TenantContext, name: str) -> None:
        with self._lock:
            self._cache.pop((ctx.tenant_id, name), None)
