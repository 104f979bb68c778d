"""Errors of inventory: why a sync run cannot go on (connectors raise these; the run ends `failed`
with the detail, and the register is left as it was), and those of connectors and their runs."""

from __future__ import annotations

from itam.errors import DomainError, InvalidState, NotFound


class ConnectorError(DomainError):
    """A sync cannot go on; the run ends failed and the register must be left as it was."""

    def __init__(self, detail: str, *, code: str | None = None, retryable: bool = False) -> None:
        super().__init__(detail)
        self.code = code
        self.retryable = retryable


class ConnectorAuthError(ConnectorError):
    """The provider refused the connector's identity (a role that cannot be assumed, a wrong
    ExternalId, a revoked token, missing permissions). `provider_message` is the provider's own
    words."""

    def __init__(self, detail: str, *, code: str | None, provider_message: str) -> None:
        super().__init__(detail, code=code)
        self.provider_message = provider_message


class InventoryLimitExceeded(ConnectorError):
    """More accounts, regions, resources or bytes than a run may hold: the run fails rather than
    leave part of the estate unseen (which reconcile would take for deletions)."""


class ConnectorNotFound(NotFound):
    def __init__(self, connector_id: str) -> None:
        super().__init__(f"connector {connector_id} does not exist")


class RunNotFound(NotFound):
    def __init__(self, run_id: str) -> None:
        super().__init__(f"sync run {run_id} does not exist")


class SyncInProgress(InvalidState):
    """The connector's last run is queued or running still."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"run {run_id} of this connector is not finished yet")
        self.run_id = run_id
