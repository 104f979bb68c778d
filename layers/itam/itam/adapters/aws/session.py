"""Reaching the tenant's accounts: AssumeRole with the tenant's ExternalId, credentials renewed
before they expire, the Organization's accounts, each account's enabled regions, and the botocore
clients. Every call after the first AssumeRole uses assumed credentials, never the process's own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from itam.adapters import sessions
from itam.adapters.aws.common import THROTTLED_OR_FAULT, as_datetime, as_map, as_text, client_error
from itam.adapters.aws.model import ACCOUNT_RE, REGION_RE, AwsConnectorSettings, Clients
from itam.inventory.errors import ConnectorAuthError, ConnectorError, InventoryLimitExceeded
from itam.ports import Clock

SESSION_NAME = "itam-inventory"
# Role chaining (the service's own role -> the tenant's role -> a member role) caps sessions at 1 hour.
SESSION_SECONDS = 3600
RENEW_BEFORE = timedelta(minutes=5)
CLIENT_CONFIG = Config(
    retries={"mode": "adaptive", "max_attempts": 8},
    connect_timeout=5,
    read_timeout=30,
    max_pool_connections=10,
    # Endpoints come only from an injected client factory, never from the environment or a profile
    # (a botocore option since 1.31 that botocore-stubs does not know yet).
    ignore_configured_endpoint_urls=True,  # type: ignore[call-arg]
    user_agent_extra="itam-inventory",
)


@dataclass(frozen=True, slots=True)
class AwsCredentials:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: datetime | None = None


class ClientFactory(Protocol):
    """Makes a botocore client for `service` in `region`: with `credentials`, or (only for the
    first AssumeRole) with the process's own when `credentials` is None."""

    def __call__(self, service: str, region: str, credentials: AwsCredentials | None) -> Any: ...


class BotocoreClientFactory:
    """The production factory: AWS's own endpoints, adaptive retries, timeouts. `endpoint_url` is
    for the local stack and tests only (wired in code, never from a tenant's configuration)."""

    def __init__(self, *, endpoint_url: str | None = None, config: Config = CLIENT_CONFIG) -> None:
        self._endpoint_url = endpoint_url
        self._config = config

    def __call__(self, service: str, region: str, credentials: AwsCredentials | None) -> Any:
        return sessions.client(
            service,
            region,
            self._endpoint_url,
            self._config,
            aws_access_key_id=credentials.access_key_id if credentials else None,
            aws_secret_access_key=credentials.secret_access_key if credentials else None,
            aws_session_token=credentials.session_token if credentials else None,
        )


class ClientCache:
    """Clients made once per service, region and credentials, for as long as the cache is kept (a
    region's walk: EC2 serves two resource types)."""

    def __init__(self, factory: ClientFactory) -> None:
        self._factory = factory
        self._made: dict[tuple[str, str, str], Any] = {}

    def signed(self, credentials: AwsCredentials) -> Clients:
        """The cache's clients for these credentials."""

        def client(service: str, region: str) -> Any:
            key = (service, region, credentials.access_key_id)
            if key not in self._made:
                self._made[key] = self._factory(service, region, credentials)
            return self._made[key]

        return client


class AccountSession:
    """Credentials for one account, assumed again shortly before they expire."""

    def __init__(self, assume: Callable[[], AwsCredentials], clock: Clock) -> None:
        self._assume = assume
        self._clock = clock
        self._credentials: AwsCredentials | None = None

    def credentials(self) -> AwsCredentials:
        """The current credentials, assumed first or again when they are about to expire."""
        current = self._credentials
        if current is None or (
            current.expiration is not None and current.expiration - RENEW_BEFORE <= self._clock.now()
        ):
            current = self._credentials = self._assume()
        return current


def assume_role(
    factory: ClientFactory,
    settings: AwsConnectorSettings,
    role_arn: str,
    credentials: AwsCredentials | None,
) -> AwsCredentials:
    """AssumeRole with the tenant's ExternalId, signed with `credentials` (None: the process's own)."""
    sts = factory("sts", settings.home_region, credentials)
    response = sts.assume_role(
        RoleArn=role_arn,
        RoleSessionName=SESSION_NAME,
        ExternalId=settings.external_id,
        DurationSeconds=SESSION_SECONDS,
    )
    issued = as_map(as_map(response).get("Credentials"))
    keys = [as_text(issued.get(k), 4096) for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")]
    if any(k is None for k in keys):
        raise ConnectorError(f"AssumeRole for {role_arn} returned no usable credentials")
    access, secret, token = (str(k) for k in keys)
    return AwsCredentials(access, secret, token, as_datetime(issued.get("Expiration")))


def tenant_session(factory: ClientFactory, settings: AwsConnectorSettings, clock: Clock) -> AccountSession:
    """The session of the tenant's own role: a refusal is ConnectorAuthError, throttling or a
    provider fault a retryable ConnectorError."""

    def assume() -> AwsCredentials:
        arn = settings.role_arn
        try:
            return assume_role(factory, settings, arn, None)
        except ClientError as exc:
            code, message = client_error(exc)
            if code in THROTTLED_OR_FAULT:
                raise ConnectorError(
                    f"AssumeRole {arn}: {code}: {message}", code=code, retryable=True
                ) from None
            raise ConnectorAuthError(
                f"cannot assume {arn}: {code}: {message}", code=code, provider_message=message
            ) from None
        except BotoCoreError as exc:
            raise ConnectorError(f"AssumeRole {arn}: {exc}", retryable=True) from None

    return AccountSession(assume, clock)


def member_session(
    factory: ClientFactory,
    settings: AwsConnectorSettings,
    root: AccountSession,
    account_id: str,
    clock: Clock,
) -> AccountSession:
    """The session of the member role in another account of the Organization, assumed from the
    tenant's role."""
    arn = f"arn:{settings.partition}:iam::{account_id}:role/{settings.member_role_name}"
    return AccountSession(lambda: assume_role(factory, settings, arn, root.credentials()), clock)


class NotInOrganization(Exception):
    """The tenant's account belongs to no Organization (AWSOrganizationsNotInUseException)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def organization_accounts(orgs: Any, own: str, max_accounts: int) -> list[str]:
    """The tenant's account first, then the Organization's other ACTIVE accounts in order. A
    refusal is ConnectorAuthError, throttling or a fault a retryable ConnectorError."""
    found: dict[str, None] = {own: None}
    try:
        for page in orgs.get_paginator("list_accounts").paginate():
            for account in as_map(page).get("Accounts") or []:
                account = as_map(account)
                account_id = as_text(account.get("Id"), 12)
                state = account.get("State") or account.get("Status")
                if account_id and ACCOUNT_RE.match(account_id) and state == "ACTIVE":
                    found[account_id] = None
            if len(found) > max_accounts:
                raise InventoryLimitExceeded(f"more than {max_accounts} accounts")
    except ClientError as exc:
        code, message = client_error(exc)
        if code == "AWSOrganizationsNotInUseException":
            raise NotInOrganization(code, message) from None
        detail = f"cannot list the Organization's accounts: {code}: {message}"
        if code in THROTTLED_OR_FAULT:
            raise ConnectorError(detail, code=code, retryable=True) from None
        raise ConnectorAuthError(detail, code=code, provider_message=message) from None
    except BotoCoreError as exc:
        raise ConnectorError(f"cannot list the Organization's accounts: {exc}", retryable=True) from None
    return [own, *sorted(a for a in found if a != own)]


def enabled_regions(ec2: Any) -> list[str]:
    """The regions DescribeRegions lists as enabled for the account (opt-in ones not opted in are
    left out), sorted."""
    listed = as_map(ec2.describe_regions(AllRegions=False)).get("Regions") or []
    return sorted(
        {
            name
            for region in listed
            if (name := as_text(as_map(region).get("RegionName"), 64))
            and REGION_RE.match(name)
            and as_map(region).get("OptInStatus", "opted-in") != "not-opted-in"
        }
    )
