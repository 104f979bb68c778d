"""Errors of procurement: webhook endpoints, their deliveries and the purchasing provider."""

from __future__ import annotations

from itam.errors import NotFound, Unauthenticated


class EndpointNotFound(NotFound):
    def __init__(self, endpoint_id: str) -> None:
        super().__init__(f"webhook endpoint {endpoint_id} does not exist")


class SignatureRejected(Unauthenticated):
    """The delivery is not signed with the endpoint's secret, or not now."""


class ProviderError(Exception):
    """Precoro could not be asked, or answered something that cannot be used (retried, then failed)."""
