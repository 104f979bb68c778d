"""The kinds of typed domain error, and the errors several bounded contexts raise alike. A context's
own errors live in its `errors` module (itam.assets.errors, itam.licenses.errors...) and subclass
these kinds. All are mapped to HTTP responses in exactly one place (itam.web.problems)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""

    # The problem type a context's error names itself by ("seat-taken"); its status is that of the
    # kind it subclasses (itam.web.problems), so the web layer needs no import of the context.
    slug: ClassVar[str | None] = None

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    """The object does not exist for this tenant (another tenant's object is indistinguishable)."""


class Conflict(DomainError):
    """The request conflicts with the current state of the object."""


class IllegalTransition(Conflict):
    """A move a state machine does not allow (an asset's lifecycle, a request's workflow)."""

    def __init__(self, current: str, target: str, allowed: Sequence[str]) -> None:
        allowed_text = ", ".join(allowed) if allowed else "none (terminal state)"
        super().__init__(f"cannot move from {current} to {target}; allowed next states: {allowed_text}")
        self.current = current
        self.target = target
        self.allowed = list(allowed)


class InvalidState(Conflict):
    """The object is not in a state where the operation applies (e.g. checking in an unassigned asset)."""


class ConcurrentModification(Conflict):
    """Another writer changed the object between our read and our write, and retries ran out."""


class IdempotencyKeyReused(DomainError):
    """An Idempotency-Key came back with a different request."""

    def __init__(self) -> None:
        super().__init__("this Idempotency-Key was used for a different request; use a new key")


class PreconditionFailed(DomainError):
    """The If-Match version is not the current one."""

    def __init__(self, noun: str = "asset") -> None:
        super().__init__(
            f"the {noun} was changed since it was read: fetch it again and retry with its new ETag"
        )


class PreconditionRequired(DomainError):
    """A write that needs If-Match came without it."""

    def __init__(self) -> None:
        super().__init__("this write needs an If-Match header with the ETag of the version it changes")


class InvalidInput(DomainError):
    """Semantically invalid input that passed schema validation."""

    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.field = field


class MalformedInput(DomainError):
    """Input that cannot be read at all: not UTF-8, not JSON, or JSON this API does not take."""


class InvalidCursor(DomainError):
    """A pagination cursor that was not issued for this query."""

    def __init__(self) -> None:
        super().__init__("the cursor is not valid for this query; start again without one")


class Unauthenticated(DomainError):
    """No usable identity on the request."""


class Forbidden(DomainError):
    """The caller's role does not allow this operation."""


# Signals from a repository to the services, never shown to a client as such.


class StaleVersion(Exception):
    """The stored version is not the one the write was based on; nothing was written."""


class WriteConflict(Exception):
    """Another write to the same items was in flight; nothing was written, and a retry may succeed."""


class KeyAlreadyUsed(Exception):
    """The Idempotency-Key of a create is bound already; nothing was written."""
