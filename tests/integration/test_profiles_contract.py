"""One contract for both DepreciationProfiles implementations: the DynamoDB adapter (on moto) and the
in-memory fake the route tests use."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from itam.adapters import models_for_tenant
from itam.adapters.books_store import DynamoDepreciationProfiles
from itam.assets.book_models import DepreciationProfile
from itam.assets.ports import DepreciationProfiles
from itam.errors import StaleVersion
from itam.pagination import PageRequest
from itam.settings import load_settings
from itam.tenancy import Role, TenantContext
from tests.support.fakes import FakeDepreciationProfiles

ACME = TenantContext("acme", "u-1", "admin@acme", frozenset({Role.ADMIN}))
GLOBEX = TenantContext("globex", "u-2", "admin@globex", frozenset({Role.ADMIN}))
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["dynamodb", "fake"])
def profiles(request: pytest.FixtureRequest) -> Iterator[DepreciationProfiles]:
    if request.param == "fake":
        yield FakeDepreciationProfiles()
    else:
        request.getfixturevalue("table")
        yield DynamoDepreciationProfiles(models_for_tenant(load_settings()))


def profile(category: str, version: int = 1, months: int = 60) -> DepreciationProfile:
    return DepreciationProfile.model_validate(
        {
            "method": "straight_line",
            "useful_life_months": months,
            "salvage_value": {"amount": "100.00", "currency": "EUR"},
            "category": category,
            "version": version,
            "updated_at": NOW,
            "updated_by": "u-1",
        }
    )


def test_a_profile_is_stored_read_and_replaced_on_its_version(profiles: DepreciationProfiles) -> None:
    assert profiles.get_profile(ACME, "Laptops") is None
    profiles.put_profile(ACME, profile("Laptops"), None)
    assert profiles.get_profile(ACME, "Laptops") == profile("Laptops")
    assert profiles.get_profile(ACME, " LAPTOPS ") == profile("Laptops")  # one category, folded

    with pytest.raises(StaleVersion):
        profiles.put_profile(ACME, profile("laptops"), None)  # exists already
    with pytest.raises(StaleVersion):
        profiles.put_profile(ACME, profile("Laptops", 2, 48), 7)
    profiles.put_profile(ACME, profile("Laptops", 2, 48), 1)
    assert profiles.get_profile(ACME, "Laptops") == profile("Laptops", 2, 48)


def test_a_profile_is_removed_on_its_version(profiles: DepreciationProfiles) -> None:
    profiles.put_profile(ACME, profile("Laptops"), None)
    with pytest.raises(StaleVersion):
        profiles.delete_profile(ACME, "Laptops", 2)
    profiles.delete_profile(ACME, "laptops", 1)
    assert profiles.get_profile(ACME, "Laptops") is None
    with pytest.raises(StaleVersion):
        profiles.delete_profile(ACME, "Laptops", 1)


def test_profiles_are_listed_by_category_and_per_tenant(profiles: DepreciationProfiles) -> None:
    for category in ("Servers", "laptops", "Monitors"):
        profiles.put_profile(ACME, profile(category), None)
    profiles.put_profile(GLOBEX, profile("Phones"), None)

    page = profiles.list_profiles(ACME, PageRequest(10))
    assert [p.category for p in page.items] == ["laptops", "Monitors", "Servers"]
    assert [p.category for p in profiles.list_profiles(GLOBEX, PageRequest(10)).items] == ["Phones"]
    assert profiles.get_profile(GLOBEX, "Servers") is None
