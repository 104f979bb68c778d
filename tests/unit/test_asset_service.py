"""The asset service's rules, on in-memory fakes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from itam.assets.errors import AssetNotFound
from itam.assets.models import (
    AssetCreate,
    AssetFilter,
    AssetPatch,
    CheckinRequest,
    CheckoutRequest,
    TransitionRequest,
)
from itam.assets.service import AssetService, diff, merge_patch
from itam.errors import ConcurrentModification, Forbidden, InvalidState, PreconditionFailed
from itam.pagination import PageRequest
from itam.tenancy import Role, TenantContext
from tests.support.fakes import FakeAssetRepository, FixedClock, SequentialIds

ADMIN = TenantContext("acme", "u-admin", "admin@acme", frozenset({Role.ADMIN}))
VIEWER = TenantContext("acme", "u-viewer", "viewer@acme", frozenset({Role.VIEWER}))


@pytest.fixture
def repo() -> FakeAssetRepository:
    return FakeAssetRepository()


@pytest.fixture
def pauses() -> list[float]:
    return []


@pytest.fixture
def service(repo: FakeAssetRepository, pauses: list[float]) -> AssetService:
    return AssetService(repo, FixedClock(), SequentialIds(), sleep=pauses.append)


def test_register_writes_version_1_and_a_created_event(
    service: AssetService, repo: FakeAssetRepository
) -> None:
    asset = service.register_asset(ADMIN, AssetCreate(name="Laptop", kind="hardware", tags={"a": "b"}))

    assert asset.version == 1
    [event] = repo.events[("acme", asset.id)]
    assert (event.type, event.version, event.actor.user_id) == ("created", 1, "u-admin")
    assert {c.field for c in event.changes} == {"name", "kind", "status", "tags.a"}


def test_register_with_assignee_opens_an_assignment(service: AssetService) -> None:
    asset = service.register_asset(
        ADMIN, AssetCreate(name="Laptop", kind="hardware", status="deployed", assigned_to="alice")
    )
    [assignment] = service.list_assignments(ADMIN, asset.id, PageRequest()).items
    assert asset.assignment_id == assignment.id
    assert assignment.assignee == "alice"


def test_unpinned_writes_retry_a_lost_race(service: AssetService, repo: FakeAssetRepository) -> None:
    asset = service.register_asset(ADMIN, AssetCreate(name="x", kind="hardware"))
    repo.fail_updates = 2

    moved = service.transition_asset(ADMIN, asset.id, TransitionRequest(to="ordered"))

    assert moved.status == "ordered"
    assert repo.update_calls == 3


def test_unpinned_writes_give_up_after_three_attempts(
    service: AssetService, repo: FakeAssetRepository
) -> None:
    asset = service.register_asset(ADMIN, AssetCreate(name="x", kind="hardware"))
    repo.fail_updates = 3
    with pytest.raises(ConcurrentModification):
        service.transition_asset(ADMIN, asset.id, TransitionRequest(to="ordered"))


def test_pinned_write_that_loses_a_race_is_a_failed_precondition(
    service: AssetService, repo: FakeAssetRepository
) -> None:
    asset = service.register_asset(ADMIN, AssetCreate(name="x", kind="hardware"))
    repo.fail_updates = 1
    with pytest.raises(PreconditionFailed):
        service.update_asset(ADMIN, asset.id, AssetPatch(name="y"), '"1"')
    assert repo.update_calls == 1


def test_viewer_cannot_write_and_nothing_is_read_for_it(
    service: AssetService, repo: FakeAssetRepository
) -> None:
    with pytest.raises(Forbidden):
        service.register_asset(VIEWER, AssetCreate(name="x", kind="hardware"))
    assert repo.assets == {}


def test_other_tenant_sees_nothing(service: AssetService) -> None:
    asset = service.register_asset(ADMIN, AssetCreate(name="x", kind="hardware"))
    other = TenantContext("globex", "u", "u", frozenset({Role.ADMIN}))
    with pytest.raises(AssetNotFound):
        service.get_asset(other, asset.id)
    assert service.list_assets(other, AssetFilter(), PageRequest()).items == []


def test_checkin_of_an_asset_that_is_not_out_is_refused(service: AssetService) -> None:
    asset = service.register_asset(ADMIN, AssetCreate(name="x", kind="hardware", status="in_stock"))
    with pytest.raises(InvalidState):
        service.checkin_asset(ADMIN, asset.id, CheckinRequest())
    out = service.checkout_asset(ADMIN, asset.id, CheckoutRequest(assignee="bob"))
    back = service.checkin_asset(ADMIN, asset.id, CheckinRequest())
    assert (out.status, back.status, back.assignment_id) == ("deployed", "in_stock", None)


def test_merge_patch_and_diff_work_key_by_key(service: AssetService) -> None:
    asset = service.register_asset(
        ADMIN, AssetCreate(name="x", kind="hardware", tags={"a": "1", "b": "2"}, custom_fields={"n": 1})
    )
    patched = merge_patch(
        asset, AssetPatch(tags={"a": None, "c": "3"}, custom_fields={"n": 2}, vendor="Dell")
    )

    assert patched.tags == {"b": "2", "c": "3"}
    assert [(c.field, c.old, c.new) for c in diff(asset, patched)] == [
        ("vendor", None, "Dell"),
        ("tags.a", "1", None),
        ("tags.c", None, "3"),
        ("custom_fields.n", 1, 2),
    ]


def test_a_write_that_meets_another_transaction_waits_a_little_and_retries(
    service: AssetService, repo: FakeAssetRepository, pauses: list[float]
) -> None:
    asset = service.register_asset(ADMIN, AssetCreate(name="x", kind="hardware"))
    repo.conflicts = 2

    moved = service.transition_asset(ADMIN, asset.id, TransitionRequest(to="ordered"))

    assert moved.version == 2
    assert len(pauses) == 2
    assert 0 <= pauses[0] <= 0.025 and 0 <= pauses[1] <= 0.05


def test_a_pinned_write_that_met_a_conflict_succeeds_if_its_version_still_holds(
    service: AssetService, repo: FakeAssetRepository
) -> None:
    asset = service.register_asset(ADMIN, AssetCreate(name="x", kind="hardware"))
    repo.conflicts = 1
    assert service.update_asset(ADMIN, asset.id, AssetPatch(name="y"), '"1"').version == 2


def test_a_create_that_meets_a_conflict_is_retried_and_gives_up_after_three(
    service: AssetService, repo: FakeAssetRepository
) -> None:
    repo.conflicts = 1
    assert service.register_asset(ADMIN, AssetCreate(name="x", kind="hardware")).version == 1
    repo.conflicts = 3
    with pytest.raises(ConcurrentModification):
        service.register_asset(ADMIN, AssetCreate(name="y", kind="hardware"))


def test_an_idempotency_key_is_free_again_after_a_day(repo: FakeAssetRepository) -> None:
    clock = FixedClock()
    service = AssetService(repo, clock, SequentialIds())
    body = AssetCreate(name="x", kind="hardware")

    first = service.register_asset(ADMIN, body, "key-1")
    replay = service.register_asset(ADMIN, body, "key-1")
    clock.current += timedelta(hours=25)
    later = service.register_asset(ADMIN, body, "key-1")

    assert replay.id == first.id
    assert later.id != first.id
