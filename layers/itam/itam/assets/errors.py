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


class KindHoldsInstallations(Conflict):
    """A change of kind to one software is not installed on, while installations count on the asset."""

    slug = "kind-holds-installations"

    def __init__(self, kind: str, count: int) -> None:
        plural = "installation" if count == 1 else "installations"
        super().__init__(
            f"the asset has {count} counted software {plural}, and software is not installed on "
            f"{kind} assets: remove them, or retire the asset, before changing its kind"
        )
        self.count = count


class ProfileNotFound(NotFound):
    def __init__(self, category: str) -> None:
        super().__init__(f"no depreciation profile for category {category!r}")


class DepreciationUnavailable(Conflict):
    """The asset's depreciation cannot be computed from what the register knows (the reason says what
    is missing)."""

    slug = "depreciation-unavailable"
