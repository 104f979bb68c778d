"""Errors of the asset register."""

from __future__ import annotations

from itam.errors import Conflict, NotFound


class AssetNotFound(NotFound):
    def __init__(self, asset_id: str) -> None:
        super().__init__(f"asset {asset_id} does not exist")


class DuplicateValue(Conflict):
    """A value that must be unique per tenant is already used."""

    def __init__(self, field: str, value: str) -> None:
        super().__init__(f"{field} {value!r} is already used by another asset")
        self.field = field
        self.value = value
