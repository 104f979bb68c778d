"""Errors of asset requests and their approvals."""

from __future__ import annotations

from itam.errors import Conflict, Forbidden, InvalidInput, NotFound


class RequestNotFound(NotFound):
    def __init__(self, request_id: str) -> None:
        super().__init__(f"request {request_id} does not exist")


class SelfApproval(Forbidden):
    """The person who made a request, or the person it is for, tried to approve it."""

    slug = "self-approval"

    def __init__(self) -> None:
        super().__init__(
            "a request cannot be approved by the person who made it or the person it is for; "
            "another approver of this step must decide"
        )


class SelfRejection(Forbidden):
    """The person who made a request, or the person it is for, tried to reject it."""

    slug = "self-rejection"

    def __init__(self) -> None:
        super().__init__(
            "a request cannot be rejected by the person who made it or the person it is for; "
            "its requester withdraws it with POST /v1/requests/{id}/cancel"
        )


class UnknownUser(InvalidInput):
    """A name that should name a user of the caller's tenant names nobody there."""

    slug = "unknown-user"

    def __init__(self, name: str, field: str) -> None:
        super().__init__(f"{name!r} is not a user of this tenant", field)


class NotApprover(Forbidden):
    """The caller is not the approver the request waits for."""

    slug = "not-approver"


class FulfilmentInProgress(Conflict):
    """Another fulfilment of the same request is running; nothing was changed."""

    slug = "fulfilment-in-progress"

    def __init__(self) -> None:
        super().__init__("this request is being fulfilled right now; read it again in a few seconds")
