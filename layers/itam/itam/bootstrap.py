"""Composition root: services wired to their adapters, built lazily once per process."""

from __future__ import annotations

from functools import lru_cache

from itam.adapters import asset_repository
from itam.assets.service import AssetService
from itam.settings import load_settings


@lru_cache(maxsize=1)
def asset_service() -> AssetService:
    """The asset service on the table this function is configured for."""
    return AssetService(asset_repository(load_settings()))
