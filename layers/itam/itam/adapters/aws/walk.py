"""The walk of a tenant's AWS estate: `AwsInventory.collect()` assumes the tenant's role,
optionally walks the Organization's ACTIVE accounts through a member role, lists each account's
enabled regions (or uses a configured list) and, for every resource type in `RESOURCES`, calls its
get then its transform: the regional types per account x region, the global ones (S3) once per
account.

Provider data is untrusted input: missing or mistyped keys never crash (optional ones become None,
a record without its identifier is a `MalformedRecord` warning), strings and maps are capped.
What could not be collected is recorded in `AwsInventory.warnings` and skipped; `was_skipped()`
tells the reconcile step which scopes it must not mark missing. A role that cannot be assumed ends
the run with `ConnectorAuthError` before anything is yielded.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from itam.adapters.aws.common import REGION_UNAVAILABLE, client_error
from itam.adapters.aws.model import (
    AwsConnectorSettings,
    AwsResource,
    CloudResource,
    InventoryLimits,
    InventoryWarning,
    MalformedRecord,
    ResourceType,
    Scope,
)
from itam.adapters.aws.resources import RESOURCES
from itam.adapters.aws.session import (
    AccountSession,
    BotocoreClientFactory,
    ClientCache,
    ClientFactory,
    NotInOrganization,
    enabled_regions,
    member_session,
    organization_accounts,
    tenant_session,
)
from itam.clock import SystemClock
from itam.inventory.errors import ConnectorError, InventoryLimitExceeded
from itam.ports import Clock

MAX_WARNINGS = 500


class _Skip(Exception):
    """A region that could not be used, already recorded as a warning."""


class AwsInventory:
    """Collects a tenant's AWS resources. Iterate `collect()` to the end, then read `warnings`."""

    def __init__(
        self,
        settings: AwsConnectorSettings,
        *,
        client_factory: ClientFactory | None = None,
        clock: Clock | None = None,
        limits: InventoryLimits | None = None,
    ) -> None:
        self.settings = settings
        self.warnings: list[InventoryWarning] = []
        self.accounts: list[str] = []
        self._factory: ClientFactory = client_factory or BotocoreClientFactory()
        self._clock: Clock = clock or SystemClock()
        self._limits = limits or InventoryLimits()
        self._skipped: set[tuple[str | None, str | None, ResourceType | None]] = set()
        self._yielded = 0

    # -- public ---------------------------------------------------------------------------------

    def collect(self) -> Iterator[CloudResource]:
        """Every resource of every covered account and region, each once. Raises ConnectorAuthError
        (before yielding anything) when the tenant's role cannot be assumed or the Organization
        cannot be listed, InventoryLimitExceeded past the limits."""
        self.warnings.clear()
        self.accounts.clear()
        self._skipped.clear()
        self._yielded = 0
        root = tenant_session(self._factory, self.settings, self._clock)
        root.credentials()
        for account_id in self._accounts(root):
            session = (
                root
                if account_id == self.settings.account_id
                else member_session(self._factory, self.settings, root, account_id, self._clock)
            )
            self.accounts.append(account_id)
            yield from self._account(account_id, session)

    def was_skipped(self, account_id: str, region: str | None, resource_type: ResourceType) -> bool:
        """Whether a warning covers this scope: reconcile must not mark its resources missing."""
        return any(
            (account_id if a else None, region if r else None, resource_type if t else None) in self._skipped
            for a in (True, False)
            for r in (True, False)
            for t in (True, False)
        )

    # -- accounts and regions -------------------------------------------------------------------

    def _accounts(self, root: AccountSession) -> list[str]:
        own = self.settings.account_id
        if not self.settings.member_role_name:
            return [own]
        orgs = self._factory("organizations", self.settings.home_region, root.credentials())
        try:
            return organization_accounts(orgs, own, self._limits.max_accounts)
        except NotInOrganization as exc:
            notice = f"not in an Organization; collecting account {own} only: {exc.message}"
            self._warn(exc.code, notice, own, skipped=False)
            return [own]

    def _account(self, account_id: str, session: AccountSession) -> Iterator[CloudResource]:
        try:
            session.credentials()
        except (ClientError, BotoCoreError, ConnectorError) as exc:
            self._warn_exc(exc, f"cannot assume the member role in {account_id}", account_id)
            return
        for region in self._regions(account_id, session):
            yield from self._region(account_id, region, session)
        for resource_type, resource in RESOURCES.items():
            if resource.is_global:
                clients = ClientCache(self._factory)
                yield from self._scope(account_id, None, resource_type, resource, session, clients)

    def _regions(self, account_id: str, session: AccountSession) -> list[str]:
        if self.settings.regions is not None:
            return list(self.settings.regions)
        try:
            ec2 = self._factory("ec2", self.settings.home_region, session.credentials())
            regions = enabled_regions(ec2)
        except (ClientError, BotoCoreError) as exc:
            self._warn_exc(exc, f"cannot list the regions of {account_id}", account_id)
            return []
        if len(regions) > self._limits.max_regions:
            raise InventoryLimitExceeded(f"more than {self._limits.max_regions} regions in {account_id}")
        return regions

    def _region(self, account_id: str, region: str, session: AccountSession) -> Iterator[CloudResource]:
        clients = ClientCache(self._factory)  # the region's clients, shared by its resource types
        try:
            for resource_type, resource in RESOURCES.items():
                if not resource.is_global:
                    yield from self._scope(account_id, region, resource_type, resource, session, clients)
        except _Skip:
            return

    # -- one resource type in one account and region ---------------------------------------------

    def _scope(
        self,
        account_id: str,
        region: str | None,
        resource_type: ResourceType,
        resource: AwsResource[Any],
        session: AccountSession,
        clients: ClientCache,
    ) -> Iterator[CloudResource]:
        """One resource type in one account and region (None: a global type); a failure becomes a
        warning. A region the credentials cannot use raises _Skip so its other types are not tried."""
        scope = Scope(account_id, region or self.settings.home_region, self.settings.partition)
        observed_at = self._clock.now()
        try:
            records = resource.get(clients.signed(session.credentials()), scope)
            for found in self._transformed(records, resource, scope, region, resource_type, observed_at):
                self._yielded += 1
                if self._yielded > self._limits.max_resources:
                    raise InventoryLimitExceeded(f"more than {self._limits.max_resources} resources")
                yield found
        except ClientError as exc:
            code, _ = client_error(exc)
            if region is not None and code in REGION_UNAVAILABLE:
                self._warn_exc(exc, f"region {region} skipped", account_id, region)
                raise _Skip from None
            self._warn_exc(exc, f"{resource_type} skipped", account_id, region, resource_type)
        except BotoCoreError as exc:
            self._warn_exc(exc, f"{resource_type} skipped", account_id, region, resource_type)
        except ConnectorError as exc:
            if isinstance(exc, InventoryLimitExceeded):
                raise
            self._warn_exc(exc, f"{resource_type} skipped", account_id, region, resource_type)

    def _transformed(
        self,
        records: Iterable[Any],
        resource: AwsResource[Any],
        scope: Scope,
        region: str | None,
        resource_type: ResourceType,
        observed_at: datetime,
    ) -> Iterator[CloudResource]:
        """Each record through the type's transform; a malformed one is recorded (its scope then
        counts as skipped) and the walk goes on."""
        for record in records:
            found = _transform(resource, record, scope)
            if isinstance(found, MalformedRecord):
                self._warn("MalformedRecord", str(found), scope.account, region, resource_type)
            elif found is not None:
                yield found.model_copy(update={"observed_at": observed_at})

    # -- warnings -------------------------------------------------------------------------------

    def _warn(
        self,
        code: str,
        message: str,
        account_id: str | None = None,
        region: str | None = None,
        resource_type: ResourceType | None = None,
        *,
        skipped: bool = True,
    ) -> None:
        if skipped:
            self._skipped.add((account_id, region, resource_type))
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(
                InventoryWarning(code, message[:1000], account_id, region, resource_type, skipped)
            )

    def _warn_exc(
        self,
        exc: Exception,
        context: str,
        account_id: str | None = None,
        region: str | None = None,
        resource_type: ResourceType | None = None,
    ) -> None:
        if isinstance(exc, ClientError):
            code, message = client_error(exc)
        elif isinstance(exc, ConnectorError):
            code, message = exc.code or type(exc).__name__, exc.detail
        else:
            code, message = type(exc).__name__, str(exc)
        self._warn(code, f"{context}: {message}", account_id, region, resource_type)


def _transform(
    resource: AwsResource[Any], record: Any, scope: Scope
) -> CloudResource | MalformedRecord | None:
    """The record's resource, None when it is not one, or why it cannot be read."""
    if isinstance(record, MalformedRecord):
        return record
    try:
        return resource.transform(record, scope)
    except MalformedRecord as exc:
        return exc
