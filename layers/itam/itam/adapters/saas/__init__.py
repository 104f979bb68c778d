"""SaaS license connectors (adapters: the code that calls the providers), get and transform steps.

`saas_collector(provider, settings, credentials)` makes the collector of one provider account;
iterate `collect()` to the end, then read `warnings`. Each provider module documents what it
collects and the permissions it needs: microsoft365, google_workspace, okta, github, slack. All of
them share `http` (retries, throttling, pagination host check, size and page caps).

Base URLs are fixed per provider (Okta: the org's own domain from its validated settings);
`endpoints` exists for tests only, to point the logical hosts at a local fake.
"""

from __future__ import annotations

import importlib
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import ClassVar, Generic, Protocol, TypedDict, TypeVar, Unpack

from pydantic import BaseModel

from itam.adapters.saas.http import ProviderSession, SaasLimits, resolve_bases
from itam.inventory.saas import (
    CREDENTIALS,
    SETTINGS,
    Provider,
    SaasProduct,
    UsageWindow,
)

MAX_RECLAIM_DAYS = 3650

ModelT = TypeVar("ModelT", bound=BaseModel)
SettingsT = TypeVar("SettingsT", bound=BaseModel)
CredentialsT = TypeVar("CredentialsT", bound=BaseModel)


class SaasCollector(Protocol):
    """Collects one provider account's licensed products."""

    warnings: list[str]

    def collect(self) -> Iterator[SaasProduct]: ...


class CollectorOptions(TypedDict, total=False):
    """How a collector runs (the same for every provider)."""

    reclaim_after_days: int
    now: datetime | None
    endpoints: Mapping[str, str] | None
    sleep: Callable[[float], None]
    rng: random.Random | None
    limits: SaasLimits | None


class SaasConnector(ABC, Generic[SettingsT, CredentialsT]):
    """Base of the provider collectors: one `ProviderSession` per `collect()` run, the usage window,
    and the run's warnings (notices only, never secrets)."""

    provider: ClassVar[Provider]

    def __init__(
        self, settings: SettingsT, credentials: CredentialsT, **options: Unpack[CollectorOptions]
    ) -> None:
        self.settings = settings
        self._credentials = credentials
        reclaim_after_days = options.get("reclaim_after_days", 30)
        if not 1 <= reclaim_after_days <= MAX_RECLAIM_DAYS:
            raise ValueError(f"reclaim_after_days must be between 1 and {MAX_RECLAIM_DAYS}")
        endpoints = options.get("endpoints")
        self.warnings: list[str] = []
        self._reclaim_after_days = reclaim_after_days
        self._now = options.get("now")
        self._endpoints = dict(endpoints) if endpoints is not None else None
        self._sleep = options.get("sleep", time.sleep)
        self._rng = options.get("rng") or random.Random()  # noqa: S311 - retry jitter, not a secret
        self._limits = options.get("limits") or SaasLimits()

    def collect(self) -> Iterator[SaasProduct]:
        """Every licensed product of the account, each once. Raises ConnectorAuthError when the
        provider refuses the credentials, ConnectorError when the run cannot go on."""
        self.warnings.clear()
        window = UsageWindow(self._now or datetime.now(UTC), self._reclaim_after_days)
        session = ProviderSession(
            self.provider,
            resolve_bases(self._hosts(), self._endpoints),
            limits=self._limits,
            sleep=self._sleep,
            rng=self._rng,
            secrets=self._secrets(),
            warnings=self.warnings,
        )
        try:
            yield from self._collect(session, window)
        finally:
            session.close()

    @abstractmethod
    def _hosts(self) -> Mapping[str, str]:
        """Logical host name -> the provider's base URL."""

    @abstractmethod
    def _secrets(self) -> Sequence[str]:
        """Credential values to scrub from every message."""

    @abstractmethod
    def _collect(self, session: ProviderSession, window: UsageWindow) -> Iterator[SaasProduct]:
        """The get and transform steps of one run."""


# Each provider's collector, imported when first used: (module in this package, class).
COLLECTORS: dict[Provider, tuple[str, str]] = {
    "microsoft365": ("microsoft365", "Microsoft365Collector"),
    "google_workspace": ("google_workspace", "GoogleWorkspaceCollector"),
    "okta": ("okta", "OktaCollector"),
    "github": ("github", "GitHubCopilotCollector"),
    "slack": ("slack", "SlackCollector"),
}


def _expect(value: BaseModel, model: type[ModelT], provider: Provider) -> ModelT:
    if not isinstance(value, model):
        raise TypeError(f"{provider} needs {model.__name__}, not {type(value).__name__}")
    return value


def saas_collector(
    provider: Provider,
    settings: BaseModel,
    credentials: BaseModel,
    *,
    reclaim_after_days: int = 30,
    now: datetime | None = None,
    endpoints: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> SaasCollector:
    """The collector of one provider account, from its validated settings and credentials."""
    options: CollectorOptions = {
        "reclaim_after_days": reclaim_after_days,
        "now": now,
        "endpoints": endpoints,
        "sleep": sleep,
        "rng": rng,
    }
    if provider not in COLLECTORS:
        raise ValueError(f"unknown provider {provider!r}")
    module, name = COLLECTORS[provider]
    collector_class = getattr(importlib.import_module(f"itam.adapters.saas.{module}"), name)
    collector: SaasCollector = collector_class(
        _expect(settings, SETTINGS[provider], provider),
        _expect(credentials, CREDENTIALS[provider], provider),
        **options,
    )
    return collector
