"""Per-tenant credentials: the tenant-data role assumed with the tenant as a session tag.

The role's policy lets a session reach only items whose partition key starts with
T#<its tenant_id tag>#, and only secrets tagged with its tenant, so even a bug that built another
tenant's key or secret name could not read or write it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from itam.adapters import sessions

# Sessions last an hour; a cached one is renewed five minutes before it ends.
SESSION_SECONDS = 3600
RENEW_BEFORE = timedelta(minutes=5)
# Credentials kept per execution environment, least recently used dropped first.
MAX_TENANTS = 256
# The session tag (and the tag of every tenant's secret) that the tenant-data role's policy matches.
TENANT_TAG = "tenant_id"


@dataclass(frozen=True, slots=True)
class Credentials:
    access_key: str
    secret_key: str
    session_token: str
    expires_at: datetime


class TenantCredentials:
    """Assumes `role_arn` once per tenant and keeps the credentials until shortly before they end."""

    def __init__(self, role_arn: str, region: str, endpoint: str | None = None) -> None:
        self._role_arn = role_arn
        self._region = region
        self._endpoint = endpoint
        self._cache: OrderedDict[str, Credentials] = OrderedDict()
        self._lock = threading.Lock()
        self._client: Any = None

    def for_tenant(self, tenant_id: str) -> Credentials:
        """Valid credentials for `tenant_id`, assumed now or taken from the cache."""
        with self._lock:
            cached = self._cache.get(tenant_id)
            if cached is not None and cached.expires_at - RENEW_BEFORE > datetime.now(UTC):
                self._cache.move_to_end(tenant_id)
                return cached
            issued = self._sts().assume_role(
                RoleArn=self._role_arn,
                RoleSessionName=f"itam-{tenant_id}"[:64],
                DurationSeconds=SESSION_SECONDS,
                Tags=[{"Key": TENANT_TAG, "Value": tenant_id}],
            )["Credentials"]
            fresh = Credentials(
                issued["AccessKeyId"], issued["SecretAccessKey"], issued["SessionToken"], issued["Expiration"]
            )
            self._cache[tenant_id] = fresh
            self._cache.move_to_end(tenant_id)
            while len(self._cache) > MAX_TENANTS:
                self._cache.popitem(last=False)
            return fresh

    def _sts(self) -> Any:
        if self._client is None:
            self._client = sessions.client("sts", self._region, self._endpoint)
        return self._client
