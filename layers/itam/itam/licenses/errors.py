"""Errors of licensing: licenses, their seats, installations, normalization rules and audits."""

from __future__ import annotations

from itam.errors import Conflict, NotFound


class LicenseNotFound(NotFound):
    def __init__(self, license_id: str) -> None:
        super().__init__(f"license {license_id} does not exist")


class SeatNotFound(NotFound):
    def __init__(self, seat_id: str) -> None:
        super().__init__(f"assignment {seat_id} does not exist on this license")


class InstallationNotFound(NotFound):
    def __init__(self, install_id: str) -> None:
        super().__init__(f"installation {install_id} does not exist on this asset")


class RuleNotFound(NotFound):
    def __init__(self, rule_id: str) -> None:
        super().__init__(f"normalization rule {rule_id} does not exist")


class AuditNotFound(NotFound):
    def __init__(self, audit_id: str) -> None:
        super().__init__(f"audit {audit_id} does not exist")


class SeatTaken(Conflict):
    """The user or asset holds a seat of this license already."""

    slug = "seat-taken"

    def __init__(self, consumer: str) -> None:
        super().__init__(f"{consumer} already holds a seat of this license")


class NoSeatLeft(Conflict):
    """Every seat of the license is assigned and over-allocation is not allowed."""

    slug = "no-seat-left"

    def __init__(self, quantity: int) -> None:
        super().__init__(
            f"all {quantity} seats of this license are assigned; release one, raise the quantity "
            "or allow over-allocation"
        )


class QuantityBelowAssigned(Conflict):
    """A quantity lower than the seats already assigned."""

    slug = "quantity-below-assigned"

    def __init__(self, assigned: int) -> None:
        super().__init__(
            f"{assigned} seats are assigned: the quantity cannot go below that unless over-allocation "
            "is allowed"
        )
