"""One contract for what an asset holds in licensing — its seats, its installations, the pending release
a move out of service writes — for both pairs of repositories: the DynamoDB adapters (on moto) and the
in-memory fakes the unit tests use."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from itam.adapters import asset_repository, license_repository_for
from itam.assets.models import Actor, Asset, EndReason, HistoryEvent, ReleaseRecord, Status
from itam.assets.ports import AssetRepository
from itam.errors import InvalidState
from itam.licenses.models import Installation, License, LicenseHistoryEvent, Seat
from itam.licenses.ports import LicenseRepository
from itam.settings import load_settings
from itam.tenancy import Role, TenantContext
from tests.support.fakes import FakeAssetRepository
from tests.support.license_fakes import FakeLicenseRepository

ACME = TenantContext("acme", "u-1", "admin@acme", frozenset({Role.ADMIN}))
GLOBEX = TenantContext("globex", "u-2", "admin@globex", frozenset({Role.ADMIN}))
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
LAPTOP = f"{1:032x}"
LATER = NOW + timedelta(minutes=1)
EXPIRES = int((NOW + timedelta(days=1)).timestamp())


@dataclass
class Register:
    assets: AssetRepository
    licenses: Callable[[TenantContext], LicenseRepository]


@pytest.fixture(params=["dynamodb", "fake"])
def register(request: pytest.FixtureRequest) -> Iterator[Register]:
    if request.param == "fake":
        assets = FakeAssetRepository()
        licenses = FakeLicenseRepository(assets.assets, assets.releases)
        yield Register(assets, lambda ctx: licenses)
    else:
        request.getfixturevalue("table")
        settings = load_settings()
        yield Register(asset_repository(settings), license_repository_for(settings))


def an_asset(number: int = 1, version: int = 1, **fields: object) -> Asset:
    return Asset.model_validate(
        {
            "name": f"laptop {number}",
            "kind": "hardware",
            "status": "deployed",
            "id": f"{number:032x}",
            "version": version,
            "created_at": NOW,
            "updated_at": NOW,
            "created_by": "u-1",
            "updated_by": "u-1",
            **fields,
        }
    )


def history(item: Asset, kind: str = "created") -> HistoryEvent:
    return HistoryEvent.model_validate(
        {
            "asset_id": item.id,
            "version": item.version,
            "type": kind,
            "at": NOW,
            "actor": Actor(user_id="u", username="u"),
        }
    )


def a_license(number: int, product: str, quantity: int = 5) -> tuple[License, LicenseHistoryEvent]:
    lic = License.model_validate(
        {
            "product": product,
            "metric": "per_device",
            "quantity": quantity,
            "id": f"{number:032x}",
            "version": 1,
            "created_at": NOW,
            "updated_at": NOW,
            "created_by": "u-1",
            "updated_by": "u-1",
        }
    )
    event = LicenseHistoryEvent(
        license_id=lic.id,
        version=1,
        type="created",
        at=NOW,
        actor=Actor(user_id="u", username="u"),
        changes=[],
    )
    return lic, event


def a_seat(number: int, lic: License, asset_id: str | None = None, user: str | None = None) -> Seat:
    return Seat(
        id=f"{number:032x}",
        license_id=lic.id,
        asset_id=asset_id,
        user=user,
        assigned_at=NOW,
        assigned_by="u-1",
    )


def an_installation(number: int, asset_id: str = LAPTOP, product: str = "Visio") -> Installation:
    return Installation(
        id=f"{number:032x}",
        asset_id=asset_id,
        product=product,
        recorded_at=NOW,
        recorded_by="u-1",
        canonical_product=product,
    )


def ended(inst: Installation) -> Installation:
    update = {"counted": False, "ended_at": NOW, "ended_by": "u-1", "end_reason": EndReason.ASSET_DISPOSED}
    return inst.model_copy(update=update)


def move(register: Register, ctx: TenantContext, before: Asset, **update: object) -> Asset:
    after = Asset.model_validate({**before.model_dump(), "version": before.version + 1, **update})
    register.assets.update(ctx, before, after, history(after, "transitioned"), [])
    return after


def test_the_seats_an_asset_holds_with_their_products_in_its_tenant_only(register: Register) -> None:
    repo = register.licenses(ACME)
    register.assets.create(ACME, an_asset(), history(an_asset()), [])
    visio, visio_event = a_license(10, "Visio")
    project, project_event = a_license(11, "Project")
    repo.create_license(ACME, visio, visio_event)
    repo.create_license(ACME, project, project_event)
    held = [a_seat(20, visio, asset_id=LAPTOP), a_seat(21, project, asset_id=LAPTOP)]
    for seat in held:
        repo.assign_seat(ACME, visio if seat.license_id == visio.id else project, seat)
    repo.assign_seat(ACME, visio, a_seat(22, visio, user="alice"))
    repo.assign_seat(ACME, visio, a_seat(23, visio, asset_id=f"{2:032x}"))

    assert repo.asset_seats(ACME, LAPTOP) == [(held[0], "Visio"), (held[1], "Project")]
    assert register.licenses(GLOBEX).asset_seats(GLOBEX, LAPTOP) == []
    repo.release_seat(ACME, held[0].model_copy(update={"released_at": NOW, "released_by": "u-1"}))
    assert repo.asset_seats(ACME, LAPTOP) == [(held[1], "Project")]


def test_installations_end_once_are_kept_and_leave_the_positions(register: Register) -> None:
    repo = register.licenses(ACME)
    register.assets.create(ACME, an_asset(), history(an_asset()), [])
    first, second = an_installation(30), an_installation(31, product="Project")
    repo.add_installation(ACME, first, f"asset:{LAPTOP}")
    repo.add_installation(ACME, second, f"asset:{LAPTOP}")

    assert repo.end_installations(ACME, [ended(first)]) == [first.id]
    assert repo.end_installations(ACME, [ended(first), ended(second)]) == [second.id]  # once each

    assert list(repo.asset_installations(ACME, LAPTOP)) == [ended(first), ended(second)]
    assert repo.get_installation(ACME, LAPTOP, first.id) == ended(first)
    assert list(repo.install_rows(ACME)) == []
    assert list(repo.installations_for_normalization(ACME)) == []
    # a re-normalization that read it before it ended does not bring it back
    repo.renormalize(ACME, first.model_copy(update={"canonical_product": "Visio Pro"}), f"asset:{LAPTOP}")
    assert repo.get_installation(ACME, LAPTOP, first.id) == ended(first)
    assert list(repo.install_rows(ACME)) == []
    # another tenant's ids end nothing
    assert register.licenses(GLOBEX).end_installations(GLOBEX, [ended(an_installation(32))]) == []


def test_installations_beyond_one_transaction_end_together(register: Register) -> None:
    repo = register.licenses(ACME)
    register.assets.create(ACME, an_asset(), history(an_asset()), [])
    installs = [an_installation(100 + n, product=f"Tool {n}") for n in range(130)]
    for inst in installs:
        repo.add_installation(ACME, inst, f"asset:{LAPTOP}")
    repo.end_installations(ACME, [ended(installs[5])])  # one ended already, in the first hundred

    done = repo.end_installations(ACME, [ended(inst) for inst in installs])

    assert done == [inst.id for n, inst in enumerate(installs) if n != 5]
    assert list(repo.install_rows(ACME)) == []
    assert all(not inst.counted for inst in repo.asset_installations(ACME, LAPTOP))


@pytest.mark.parametrize("status", ["retired", "disposed", "cancelled"])
def test_an_asset_out_of_service_takes_no_seat_and_no_installation(register: Register, status: str) -> None:
    repo = register.licenses(ACME)
    laptop = an_asset(status="planned" if status == "cancelled" else "in_stock")
    register.assets.create(ACME, laptop, history(laptop), [])
    move(register, ACME, laptop, status=status)
    lic, event = a_license(10, "Visio")
    repo.create_license(ACME, lic, event)

    with pytest.raises(InvalidState):
        repo.assign_seat(ACME, lic, a_seat(20, lic, asset_id=LAPTOP))
    with pytest.raises(InvalidState):
        repo.add_installation(ACME, an_installation(30), f"asset:{LAPTOP}")
    stored = repo.get_license(ACME, lic.id)
    assert stored is not None and stored.assigned == 0
    assert list(repo.asset_installations(ACME, LAPTOP)) == []


def test_software_goes_on_hardware_and_cloud_assets_only(register: Register) -> None:
    repo = register.licenses(ACME)
    subscription = an_asset(kind="saas")
    register.assets.create(ACME, subscription, history(subscription), [])

    with pytest.raises(InvalidState):
        repo.add_installation(ACME, an_installation(30), f"asset:{LAPTOP}")


def test_a_move_out_of_service_writes_a_release_record_that_is_done_once(register: Register) -> None:
    repo = register.licenses(ACME)
    laptop = an_asset()
    register.assets.create(ACME, laptop, history(laptop), [])
    retired = laptop.model_copy(update={"version": 2, "status": Status.RETIRED})
    pending = ReleaseRecord(asset_id=LAPTOP, reason=EndReason.ASSET_RETIRED, at=NOW, by="u-1")
    register.assets.update(ACME, laptop, retired, history(retired, "transitioned"), [pending])

    assert repo.release_records(ACME) == [pending]
    assert register.licenses(GLOBEX).release_records(GLOBEX) == []
    # another tenant cannot complete it
    done = pending.model_copy(update={"released_at": LATER})
    register.licenses(GLOBEX).release_done(GLOBEX, done, EXPIRES)
    assert repo.release_records(ACME) == [pending]
    repo.release_done(ACME, done, EXPIRES)
    assert repo.release_records(ACME) == [done]


def test_a_later_move_replaces_the_record_and_an_earlier_release_leaves_it_pending(
    register: Register,
) -> None:
    repo = register.licenses(ACME)
    laptop = an_asset()
    register.assets.create(ACME, laptop, history(laptop), [])
    retired = laptop.model_copy(update={"version": 2, "status": Status.RETIRED})
    first = ReleaseRecord(asset_id=LAPTOP, reason=EndReason.ASSET_RETIRED, at=NOW, by="u-1")
    register.assets.update(ACME, laptop, retired, history(retired, "transitioned"), [first])
    repo.release_done(ACME, first.model_copy(update={"released_at": NOW}), EXPIRES)

    disposed = retired.model_copy(update={"version": 3, "status": Status.DISPOSED})
    later = ReleaseRecord(asset_id=LAPTOP, reason=EndReason.ASSET_DISPOSED, at=LATER, by="u-2")
    register.assets.update(ACME, retired, disposed, history(disposed, "transitioned"), [later])
    assert repo.release_records(ACME) == [later]

    # the first move's release, finishing late, does not mark the later one done
    repo.release_done(ACME, first.model_copy(update={"released_at": LATER}), EXPIRES)
    assert repo.release_records(ACME) == [later]
    assert register.assets.get(ACME, LAPTOP) == disposed


def test_a_done_record_expires_through_the_ttl_and_a_pending_one_never_does(table: str) -> None:
    settings = load_settings()
    assets, repo = asset_repository(settings), license_repository_for(settings)(ACME)
    laptop = an_asset()
    assets.create(ACME, laptop, history(laptop), [])
    retired = laptop.model_copy(update={"version": 2, "status": Status.RETIRED})
    first = ReleaseRecord(asset_id=LAPTOP, reason=EndReason.ASSET_RETIRED, at=NOW, by="u-1")
    assets.update(ACME, laptop, retired, history(retired, "transitioned"), [first])

    def expires_at() -> str | None:
        key = {"PK": {"S": f"{ACME.key_prefix}ASSET#{LAPTOP}"}, "SK": {"S": "RELEASE"}}
        item = boto3.client("dynamodb").get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
        return item.get("expires_at", {}).get("N")

    assert expires_at() is None
    repo.release_done(ACME, first.model_copy(update={"released_at": NOW}), EXPIRES)
    assert expires_at() == str(EXPIRES)
    disposed = retired.model_copy(update={"version": 3, "status": Status.DISPOSED})
    later = ReleaseRecord(asset_id=LAPTOP, reason=EndReason.ASSET_DISPOSED, at=LATER, by="u-1")
    assets.update(ACME, retired, disposed, history(disposed, "transitioned"), [later])
    assert expires_at() is None
