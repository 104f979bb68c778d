"""An asset out of service holds nothing in licensing: the services' rules, on in-memory fakes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest

from itam.assets.errors import KindHoldsInstallations
from itam.assets.models import (
    AssetCreate,
    AssetPatch,
    Disposal,
    EndReason,
    Holdings,
    Released,
    ReleaseRecord,
    Status,
    TransitionRequest,
)
from itam.assets.ports import AssetHoldings
from itam.assets.service import AssetService
from itam.errors import InvalidState
from itam.licenses.errors import NoSeatLeft
from itam.licenses.holdings import SETTLE, LicenseHoldings, leaving_assets
from itam.licenses.models import InstallationCreate, LicenseCreate, Metric, SeatCreate
from itam.licenses.position import InstallRow
from itam.licenses.service import AuditRunner, LicenseService
from itam.pagination import PageRequest
from itam.tenancy import Role, TenantContext
from tests.support.fakes import FakeAssetRepository, FixedClock, RecordingQueue, SequentialIds
from tests.support.license_fakes import FakeLicenseRepository
from tests.support.request_fakes import FakePublisher

ADMIN = TenantContext("acme", "u-admin", "admin@acme", frozenset({Role.ADMIN}))
EDITOR = TenantContext("acme", "u-editor", "editor@acme", frozenset({Role.EDITOR}))
DISPOSAL = Disposal(method="recycled", date=date(2026, 11, 30))


class FailingRelease:
    """Licensing's side of assets, whose release stops before it starts (a throttled table, a timeout)."""

    def __init__(self, real: LicenseHoldings) -> None:
        self.real = real
        self.failing = True

    def held_by(self, ctx: TenantContext, asset_id: str, reason: EndReason) -> Holdings:
        return self.real.held_by(ctx, asset_id, reason)

    def release(self, ctx: TenantContext, record: ReleaseRecord) -> Released:
        if self.failing:
            raise RuntimeError("throttled")
        return self.real.release(ctx, record)

    def counted_installations(self, ctx: TenantContext, asset_id: str) -> int:
        return self.real.counted_installations(ctx, asset_id)


class LaggingIndex(FakeLicenseRepository):
    """The license fake, whose installations index (where positions stream from) shows what it held
    when `freeze` was called, as a DynamoDB index that has not caught up with the latest writes."""

    frozen: list[InstallRow] | None = None

    def freeze(self) -> None:
        self.frozen = list(super().install_rows(ADMIN))

    def install_rows(self, ctx: TenantContext, product: str | None = None) -> Iterator[InstallRow]:
        return iter(self.frozen) if self.frozen is not None else super().install_rows(ctx, product)


@dataclass
class World:
    """The asset register and licensing on shared fakes, as the API wires them."""

    asset_repo: FakeAssetRepository = field(default_factory=FakeAssetRepository)
    events: FakePublisher = field(default_factory=FakePublisher)
    holdings_built: int = 0
    failing: FailingRelease | None = None

    def __post_init__(self) -> None:
        clock, ids = FixedClock(), SequentialIds()
        self.clock = clock
        self.license_repo = LaggingIndex(self.asset_repo.assets, self.asset_repo.releases)
        self.licenses = LicenseService(
            lambda ctx: self.license_repo, self.asset_repo, RecordingQueue(), clock, ids
        )
        self.assets = AssetService(
            self.asset_repo, clock, ids, sleep=lambda _: None, holdings=self._holdings, publisher=self.events
        )
        self.audits = AuditRunner(lambda ctx: self.license_repo, FakePublisher(), clock, ids, self.asset_repo)

    def _holdings(self) -> AssetHoldings:
        self.holdings_built += 1
        return self.failing or self.licenses.holdings

    def laptop(self, name: str = "Laptop", status: str = "deployed", **fields: Any) -> str:
        data = AssetCreate.model_validate({"name": name, "kind": "hardware", "status": status, **fields})
        return self.assets.register_asset(ADMIN, data).id

    def license(self, quantity: int = 1) -> str:
        data = LicenseCreate(product="Visio", metric=Metric.PER_DEVICE, quantity=quantity)
        return self.licenses.create_license(ADMIN, data).id

    def seat(self, license_id: str, asset_id: str) -> str:
        return self.licenses.assign_seat(ADMIN, license_id, SeatCreate(asset_id=asset_id)).id

    def install(self, asset_id: str, product: str = "Visio") -> str:
        return self.licenses.add_installation(ADMIN, asset_id, InstallationCreate(product=product)).id

    def move(self, asset_id: str, to: str, ctx: TenantContext = ADMIN, **body: Any) -> Any:
        return self.assets.transition_asset(
            ctx, asset_id, TransitionRequest.model_validate({"to": to, **body})
        )

    def consumed(self) -> int:
        [position] = self.licenses.compliance(ADMIN).items
        return position.consumed

    def pending(self) -> list[tuple[str, EndReason]]:
        """The assets whose release has not been done, and why they are released."""
        return [
            (r.asset_id, r.reason) for r in self.license_repo.release_records(ADMIN) if r.released_at is None
        ]


@pytest.fixture
def world() -> World:
    return World()


def test_retiring_releases_the_seats_and_ends_the_installations_in_the_callers_name(world: World) -> None:
    lic = world.license(quantity=2)
    laptop, other = world.laptop("A"), world.laptop("B")
    seat = world.seat(lic, laptop)
    install = world.install(laptop)
    world.install(other)
    assert world.consumed() == 2

    moved = world.move(laptop, "retired", EDITOR, reason="replaced")

    assert moved.status is Status.RETIRED
    assert moved.released is not None and moved.released.complete
    assert [(s.license_id, s.assignment_id, s.product) for s in moved.released.seats] == [
        (lic, seat, "Visio")
    ]
    assert [(i.id, i.product) for i in moved.released.installations] == [(install, "Visio")]
    assert world.consumed() == 1
    assert world.licenses.get_license(ADMIN, lic).assigned == 0
    [released] = world.licenses.list_seats(ADMIN, lic, PageRequest(), released=True).items
    assert (released.id, released.released_by, released.release_reason) == (seat, "u-editor", "asset_retired")
    [kept] = world.licenses.list_installations(ADMIN, laptop, PageRequest()).items
    assert (kept.counted, kept.ended_by, kept.end_reason) == (False, "u-editor", "asset_retired")
    assert world.pending() == []


def test_the_history_event_and_the_published_event_say_what_was_released(world: World) -> None:
    lic = world.license()
    laptop = world.laptop()
    world.seat(lic, laptop)
    world.install(laptop)

    moved = world.move(laptop, "retired")

    last = world.asset_repo.events[("acme", laptop)][-1]
    assert last.type == "transitioned"
    assert last.released is not None
    assert last.released.model_dump() == moved.released.model_dump(exclude={"complete"})
    [(detail_type, detail)] = world.events.published
    assert detail_type == "asset.transitioned"
    assert (detail["tenant_id"], detail["from"], detail["to"]) == ("acme", "deployed", "retired")
    assert detail["asset"]["version"] == moved.version
    assert detail["released"]["complete"] is True
    assert [s["assignment_id"] for s in detail["released"]["seats"]] == [
        s.assignment_id for s in moved.released.seats
    ]


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        (["retired"], "asset_retired"),
        (["cancelled"], "asset_cancelled"),
    ],
)
def test_every_move_out_of_service_releases(world: World, path: list[str], reason: str) -> None:
    lic = world.license()
    laptop = world.laptop(status="in_stock" if path == ["retired"] else "ordered")
    world.seat(lic, laptop)

    for to in path:
        moved = world.move(laptop, to)

    assert moved.released.reason == reason
    assert len(moved.released.seats) == 1


def test_moves_within_service_release_nothing_and_do_not_load_licensing(world: World) -> None:
    lic = world.license()
    laptop = world.laptop(status="in_stock")
    world.seat(lic, laptop)

    moved = [
        world.move(laptop, "deployed"),
        world.move(laptop, "in_maintenance"),
        world.move(laptop, "deployed"),
    ]

    assert [m.released for m in moved] == [None, None, None]
    assert world.holdings_built == 0
    assert world.licenses.get_license(ADMIN, lic).assigned == 1
    assert [d["to"] for _, d in world.events.published] == ["deployed", "in_maintenance", "deployed"]


def test_disposing_of_a_retired_asset_finds_nothing_left(world: World) -> None:
    laptop = world.laptop()
    world.install(laptop)
    world.move(laptop, "retired")

    disposed = world.move(laptop, "disposed", disposal=DISPOSAL)

    assert disposed.released == Released(reason=EndReason.ASSET_DISPOSED, complete=True)


def test_a_release_that_fails_leaves_the_move_and_positions_already_leave_the_asset_out(world: World) -> None:
    lic = world.license()
    laptop, other = world.laptop("A"), world.laptop("B")
    seat = world.seat(lic, laptop)
    world.install(laptop)
    world.install(other)
    world.failing = FailingRelease(world.licenses.holdings)

    moved = world.move(laptop, "retired")

    # the move stands, and says what it is releasing
    assert world.assets.get_asset(ADMIN, laptop).status is Status.RETIRED
    assert moved.released is not None and not moved.released.complete
    assert [s.assignment_id for s in moved.released.seats] == [seat]
    assert world.pending() == [(laptop, EndReason.ASSET_RETIRED)]
    # the position right after counts the other laptop alone
    assert world.consumed() == 1
    product = world.licenses.product_compliance(ADMIN, "Visio")
    assert [c.asset_ids for c in product.consumers] == [[other]]
    # the seat is still taken; the next assignment on the full license finishes the release first
    assert world.licenses.get_license(ADMIN, lic).assigned == 1
    world.seat(lic, other)
    [released] = world.licenses.list_seats(ADMIN, lic, PageRequest(), released=True).items
    assert (released.id, released.released_by, released.release_reason) == (seat, "u-admin", "asset_retired")
    assert world.pending() == []
    [kept] = world.licenses.list_installations(ADMIN, laptop, PageRequest()).items
    assert not kept.counted


def test_positions_leave_a_released_asset_out_while_the_index_catches_up(world: World) -> None:
    lic = world.license()
    laptop, other = world.laptop("A"), world.laptop("B")
    world.seat(lic, laptop)
    world.install(laptop)
    world.install(other)
    world.license_repo.freeze()  # the index still shows A's installation after the release

    world.move(laptop, "retired")

    assert world.pending() == []
    assert world.consumed() == 1
    assert leaving_assets(world.license_repo, ADMIN, world.clock.now()) == {laptop}
    # once the settling time is over, the index is trusted again
    world.clock.current += SETTLE + timedelta(seconds=1)
    assert leaving_assets(world.license_repo, ADMIN, world.clock.now()) == frozenset()
    assert world.consumed() == 2  # what the (frozen) index says


def test_a_full_license_without_pending_releases_is_still_409(world: World) -> None:
    lic = world.license()
    world.seat(lic, world.laptop("A"))

    with pytest.raises(NoSeatLeft):
        world.seat(lic, world.laptop("B"))


def test_a_later_move_finishes_a_release_that_stopped(world: World) -> None:
    lic = world.license()
    laptop = world.laptop()
    world.seat(lic, laptop)
    world.failing = FailingRelease(world.licenses.holdings)
    world.move(laptop, "retired")
    world.failing.failing = False

    disposed = world.move(laptop, "disposed", disposal=DISPOSAL)

    assert [s.product for s in disposed.released.seats] == ["Visio"]
    assert disposed.released.reason == "asset_disposed"
    assert world.licenses.get_license(ADMIN, lic).assigned == 0
    assert world.pending() == []


def test_the_audit_finishes_pending_releases_first(world: World) -> None:
    lic = world.license()
    laptop = world.laptop()
    world.seat(lic, laptop)
    world.install(laptop)
    world.failing = FailingRelease(world.licenses.holdings)
    world.move(laptop, "retired")

    report = world.audits.audit(
        TenantContext.system("acme", "audit"), "a" * 32, "on_demand", date(2026, 11, 27)
    )

    assert report.status == "complete"
    assert world.pending() == []
    assert world.licenses.get_license(ADMIN, lic).assigned == 0
    [released] = world.licenses.list_seats(ADMIN, lic, PageRequest(), released=True).items
    assert released.released_by == "u-admin"  # who moved the asset out of service


def test_a_pending_release_of_an_asset_back_in_service_is_dropped(world: World) -> None:
    lic = world.license()
    laptop = world.laptop()
    world.seat(lic, laptop)
    world.failing = FailingRelease(world.licenses.holdings)
    world.move(laptop, "retired")
    # the inventory sync brings a retired resource it sees again back into service
    world.assets.reconcile_asset(
        ADMIN,
        laptop,
        lambda asset, now: (asset.model_copy(update={"status": Status.DEPLOYED}), "restored", None),
    )

    assert world.licenses.holdings.finish_pending(ADMIN) != []

    assert world.pending() == []
    assert world.licenses.get_license(ADMIN, lic).assigned == 1


def test_releasing_twice_releases_once(world: World) -> None:
    lic = world.license()
    laptop = world.laptop()
    world.seat(lic, laptop)
    world.install(laptop)
    world.move(laptop, "retired")

    [record] = world.license_repo.release_records(ADMIN)
    again = world.licenses.holdings.release(ADMIN, record)

    assert again == Released(reason=EndReason.ASSET_RETIRED, complete=True)
    assert len(world.licenses.list_seats(ADMIN, lic, PageRequest(), released=True).items) == 1


def test_an_asset_out_of_service_takes_no_seat_and_no_installation(world: World) -> None:
    lic = world.license()
    laptop = world.laptop(status="ordered")
    world.move(laptop, "cancelled")

    with pytest.raises(InvalidState, match="cancelled asset cannot take a license seat"):
        world.seat(lic, laptop)
    with pytest.raises(InvalidState, match="cancelled asset takes no more installations"):
        world.install(laptop)


def test_the_sync_retiring_a_resource_releases_too(world: World) -> None:
    lic = world.license()
    instance = world.assets.register_asset(
        ADMIN, AssetCreate(name="i-123", kind="cloud", status="deployed")
    ).id
    world.seat(lic, instance)

    world.assets.reconcile_asset(
        ADMIN,
        instance,
        lambda asset, now: (asset.model_copy(update={"status": Status.RETIRED}), "transitioned", "not seen"),
    )

    assert world.licenses.get_license(ADMIN, lic).assigned == 0
    [(_, detail)] = world.events.published
    assert detail["released"]["reason"] == "asset_retired"


def test_a_bus_that_refuses_the_event_does_not_undo_the_move(world: World) -> None:
    world.events.failing = True
    laptop = world.laptop()

    moved = world.move(laptop, "retired")

    assert moved.status is Status.RETIRED
    assert world.assets.get_asset(ADMIN, laptop).status is Status.RETIRED


# ---------------------------------------------------------------------- kind


@pytest.mark.parametrize("kind", ["software", "saas"])
def test_a_kind_without_installations_is_refused_while_some_count(world: World, kind: str) -> None:
    laptop = world.laptop()
    world.install(laptop)
    world.install(laptop, "Project")

    with pytest.raises(KindHoldsInstallations, match="has 2 counted software installations") as refused:
        world.assets.update_asset(ADMIN, laptop, AssetPatch.model_validate({"kind": kind}), "*")

    assert refused.value.slug == "kind-holds-installations"
    assert world.assets.get_asset(ADMIN, laptop).kind == "hardware"


def test_a_kind_that_holds_installations_or_an_asset_without_them_may_change(world: World) -> None:
    laptop, bare = world.laptop("A"), world.laptop("B")
    world.install(laptop)

    assert world.assets.update_asset(ADMIN, laptop, AssetPatch(kind="cloud"), "*").kind == "cloud"
    assert world.assets.update_asset(ADMIN, bare, AssetPatch(kind="software"), "*").kind == "software"


def test_installations_that_stopped_counting_do_not_hold_the_kind(world: World) -> None:
    laptop = world.laptop()
    world.install(laptop)
    world.move(laptop, "retired")

    assert world.assets.update_asset(ADMIN, laptop, AssetPatch(kind="software"), "*").kind == "software"


def test_other_patches_do_not_load_licensing(world: World) -> None:
    laptop = world.laptop()

    world.assets.update_asset(ADMIN, laptop, AssetPatch(name="Renamed", location="Berlin"), "*")

    assert world.holdings_built == 0
