"""Errors of procurement: webhook endpoints, their deliveries and the purchasing provider."""

from __future__ import annotations

from itam.errors import Conflict, NotFound, Unauthenticated


class EndpointNotFound(NotFound):
    def __init__(self, endpoint_id: str) -> None:
        super().__init__(f"webhook endpoint {endpoint_id} does not exist")


class SecretRotated(Conflict):
    """A webhook endpoint's create replayed after its secret was rotated: the first secret is gone."""

    slug = "secret-rotated"

    def __init__(self, endpoint_id: str) -> None:
        super().__init__(
            f"this Idempotency-Key created webhook endpoint {endpoint_id}, whose secret has been rotated "
            "since; the secret it was created with is no longer shown (rotate it again for a new one)"
        )


class SignatureRejected(Unauthenticated):
    """The delivery is not signed with the endpoint's secret, or not now."""


class ProviderError(Exception):
    """Precoro could not be asked, or answered something that cannot be used (retried, then failed)."""
