"""The effective license position: each metric's consumption rule, entitlements, money, expiry,
version coverage and the streaming order, as the module docstring of itam.licenses.position states."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from itam.assets.models import Money
from itam.licenses.models import (
    License,
    Metric,
    Position,
    Rule,
    Seat,
    VersionRange,
    consumer_key,
    product_key,
    version_key,
)
from itam.licenses.normalization import Normalizer
from itam.licenses.position import InstallRow, PositionCalculator, SaasUsage

TODAY = date(2026, 6, 15)
CREATED = datetime(2026, 1, 2, 9, 0, tzinfo=UTC)


# ---------------------------------------------------------------------- builders


def eur(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="EUR")


def a_license(
    license_id: str = "L1",
    metric: Metric = Metric.PER_USER,
    quantity: int = 10,
    product: str = "Office",
    **fields: Any,
) -> License:
    return License(
        id=license_id,
        version=1,
        product=product,
        metric=metric,
        quantity=quantity,
        created_at=fields.pop("created_at", CREATED),
        updated_at=CREATED,
        created_by="u-admin",
        updated_by="u-admin",
        **fields,
    )


def a_seat(license_id: str = "L1", user: str | None = None, asset: str | None = None, **fields: Any) -> Seat:
    return Seat(
        id=f"S-{license_id}-{user or asset}",
        license_id=license_id,
        user=user,
        asset_id=asset,
        assigned_at=CREATED,
        assigned_by="u-admin",
        **fields,
    )


def install(
    asset: str,
    user: str | None = None,
    version: str | None = None,
    cores: int | None = None,
    processors: int | None = None,
    product: str = "Office",
) -> InstallRow:
    return InstallRow(
        product=product_key(product),
        consumer=consumer_key(user, asset),
        asset_id=asset,
        version=version,
        cores=cores,
        processors=processors,
        user=user,
    )


def in_index_order(rows: Iterable[InstallRow]) -> list[InstallRow]:
    """The order of the installations index: (product, consumer, asset)."""
    return sorted(rows, key=lambda r: (r.product, r.consumer, r.asset_id))


def compute(
    licenses: Iterable[License] = (),
    installs: Iterable[InstallRow] = (),
    seats: Iterable[Seat] = (),
    saas: dict[str, SaasUsage] | None = None,
    names: dict[str, str] | None = None,
    today: date = TODAY,
) -> list[Position]:
    calculator = PositionCalculator(today, [(lic.product, lic) for lic in licenses], seats, saas)
    return list(calculator.positions(in_index_order(installs), names))


def only_position(**inputs: Any) -> Position:
    [position] = compute(**inputs)
    return position


def days(n: int) -> date:
    return TODAY + timedelta(days=n)


# ---------------------------------------------------------------------- per_user


def test_per_user_counts_distinct_users_across_devices() -> None:
    # Given alice on two devices (one of them twice) and bob on a third
    installs = [
        install("d1", user="alice"),
        install("d1", user="alice", version="16.1"),
        install("d2", user="alice"),
        install("d3", user="bob"),
    ]

    # When the position is computed against 10 per-user licenses
    position = only_position(licenses=[a_license(quantity=10)], installs=installs)

    # Then the same user on two devices counts once: 2 users
    assert (position.metric, position.consumed, position.users) == (Metric.PER_USER, 2, 2)
    assert (position.entitled, position.position, position.surplus, position.shortfall) == (10, 8, 8, 0)


def test_per_user_is_case_and_space_insensitive_about_the_user() -> None:
    installs = [install("d1", user="Alice  Smith"), install("d2", user="alice smith")]

    position = only_position(licenses=[a_license()], installs=installs)

    assert position.consumed == 1


def test_per_user_installation_without_a_user_counts_its_device_as_one_user() -> None:
    # Given two devices with no known user and one device of alice's
    installs = [install("d1"), install("d1", version="2"), install("d2"), install("d3", user="alice")]

    position = only_position(licenses=[a_license()], installs=installs)

    # Then each userless device is one user: 3
    assert position.consumed == 3
    assert position.users == 3


def test_per_user_seats_to_users_count_without_installations() -> None:
    # Given seats to carol and dave (who have nothing installed) and alice with an installation
    seats = [a_seat(user="carol"), a_seat(user="dave")]

    position = only_position(licenses=[a_license()], installs=[install("d1", user="alice")], seats=seats)

    assert position.consumed == 3
    assert position.users == 3


def test_per_user_a_user_with_a_seat_and_installations_counts_once() -> None:
    seats = [a_seat(user="alice")]
    installs = [install("d1", user="alice"), install("d2", user="Alice")]

    position = only_position(licenses=[a_license()], installs=installs, seats=seats)

    assert position.consumed == 1
    assert position.users == 1


def test_per_user_a_seat_to_an_asset_and_its_userless_installation_count_once() -> None:
    # Given a seat to device d1 and an installation on d1 with no known user, plus a seat to d9
    seats = [a_seat(asset="d1"), a_seat(asset="d9")]

    position = only_position(licenses=[a_license()], installs=[install("d1")], seats=seats)

    # Then d1 is one consumer, d9 another
    assert position.consumed == 2


def test_released_seats_do_not_count() -> None:
    seats = [a_seat(user="alice"), a_seat(user="bob", released_at=CREATED, released_by="u-admin")]

    position = only_position(licenses=[a_license()], seats=seats)

    assert position.consumed == 1


def test_seats_of_another_products_license_do_not_count() -> None:
    licenses = [a_license("L1", product="Office"), a_license("L2", product="Visio")]
    seats = [a_seat("L2", user="alice"), a_seat("L2", user="bob")]

    office, visio = compute(licenses=licenses, seats=seats)

    assert (office.product, office.consumed) == ("Office", 0)
    assert (visio.product, visio.consumed) == ("Visio", 2)


def test_per_user_adds_seats_assigned_in_saas_subscriptions_of_the_product() -> None:
    # Given alice with an installation, and a SaaS subscription of the product with 5 assigned seats, 2 active
    saas = {"office": SaasUsage(purchased=20, assigned=5, active=2)}

    position = only_position(licenses=[a_license()], installs=[install("d1", user="alice")], saas=saas)

    assert position.consumed == 6
    assert (position.saas_assigned, position.saas_inactive) == (5, 3)


# ---------------------------------------------------------------------- per_device


def test_per_device_counts_distinct_devices() -> None:
    # Given two installations on d1, alice's second device d2 and bob's d3
    installs = [
        install("d1", user="alice", version="16.0"),
        install("d1", user="alice", version="16.0.1"),
        install("d2", user="alice"),
        install("d3", user="bob"),
        install("d4"),
    ]

    position = only_position(licenses=[a_license(metric=Metric.PER_DEVICE, quantity=3)], installs=installs)

    # Then two installations on one device count once: 4 devices against 3 licenses
    assert (position.metric, position.consumed, position.devices) == (Metric.PER_DEVICE, 4, 4)
    assert (position.position, position.shortfall, position.surplus) == (-1, 1, 0)


def test_per_device_adds_seats_one_device_each() -> None:
    # Given a seat to d1 (which has an installation) and a seat to d9 (which has none), and d2 unseated
    seats = [a_seat(asset="d1"), a_seat(asset="d9")]
    installs = [install("d1"), install("d2")]

    position = only_position(licenses=[a_license(metric=Metric.PER_DEVICE)], installs=installs, seats=seats)

    # Then d1 counts once, d2 and d9 once each
    assert position.consumed == 3


def test_position_devices_include_seated_devices_without_installations() -> None:
    # Position.devices: "Distinct devices with an installation or a seat"
    seats = [a_seat(asset="d1"), a_seat(asset="d9")]
    installs = [install("d1"), install("d2")]

    position = only_position(licenses=[a_license(metric=Metric.PER_DEVICE)], installs=installs, seats=seats)

    assert position.devices == 3  # d1, d2 and d9


def test_per_device_a_device_reported_with_two_users_counts_once_per_user() -> None:
    # Given d1 where one discovery source reports alice as the user and another reports no user
    installs = [install("d1", user="alice", version="16.0"), install("d1", version="16.0.1"), install("d2")]

    position = only_position(licenses=[a_license(metric=Metric.PER_DEVICE)], installs=installs)

    # Then, as documented, d1 counts once per reported user (erring towards exposure): 3 in all
    assert (position.consumed, position.devices) == (3, 3)


# ---------------------------------------------------------------------- per_core


def core_license(quantity: int = 100, factor: str | None = None, **fields: Any) -> License:
    core_factor = Decimal(factor) if factor is not None else None
    return a_license(metric=Metric.PER_CORE, quantity=quantity, core_factor=core_factor, **fields)


def test_per_core_rounds_up_per_device_not_in_total() -> None:
    # Given devices of 6, 3 and 3 cores and a core factor of 0.5
    installs = [install("d1", cores=6), install("d2", cores=3), install("d3", cores=3)]

    position = only_position(licenses=[core_license(factor="0.5")], installs=installs)

    # Then 3 + ceil(1.5) + ceil(1.5) = 7 (not ceil(6) = 6)
    assert (position.metric, position.consumed, position.unknown_hardware) == (Metric.PER_CORE, 7, 0)


def test_per_core_without_a_factor_counts_cores() -> None:
    installs = [install("d1", cores=8), install("d2", user="bob", cores=4)]

    position = only_position(licenses=[core_license(quantity=10)], installs=installs)

    assert (position.consumed, position.position, position.shortfall) == (12, -2, 2)


def test_per_core_takes_the_most_cores_any_installation_on_a_device_reports() -> None:
    # Given three installations on d1 reporting 4, 16 and unknown cores
    installs = [
        install("d1", version="1", cores=4),
        install("d1", version="2", cores=16),
        install("d1", version="3", cores=None),
    ]

    position = only_position(licenses=[core_license()], installs=installs)

    assert (position.consumed, position.unknown_hardware) == (16, 0)


def test_per_core_a_device_without_core_data_counts_one_and_is_reported() -> None:
    # Given d1 with 8 cores and d2, d3 without core data
    installs = [install("d1", cores=8), install("d2"), install("d3", user="bob")]

    position = only_position(licenses=[core_license()], installs=installs)

    assert (position.consumed, position.unknown_hardware) == (10, 2)


def test_per_core_unknown_device_counts_one_core_before_a_small_factor() -> None:
    # ceil(1 x 0.25) = 1 whichever way "counts 1" is read
    installs = [install("d1", cores=8), install("d2")]

    position = only_position(licenses=[core_license(factor="0.25")], installs=installs)

    assert (position.consumed, position.unknown_hardware) == (3, 1)


def test_per_core_seats_to_assets_without_installations_count_one_each() -> None:
    # Given a seat to d1 (an installation reports 8 cores) and seats to d8 and d9 (no installations)
    seats = [a_seat(asset="d1"), a_seat(asset="d8"), a_seat(asset="d9")]
    installs = [install("d1", cores=8), install("d2", cores=4)]

    position = only_position(licenses=[core_license()], installs=installs, seats=seats)

    # Then d1 counts its 8 cores once, d2 its 4, d8 and d9 one each, shown as unknown hardware
    assert (position.consumed, position.unknown_hardware) == (14, 2)


def test_per_core_a_seat_to_a_user_is_not_a_device() -> None:
    # Given alice seated on the per-core license and her one device with 8 cores
    seats = [a_seat(user="alice")]

    position = only_position(
        licenses=[core_license()], installs=[install("d1", user="alice", cores=8)], seats=seats
    )

    # Then the consumption is the device's 8 cores; no device without hardware data is invented
    assert (position.consumed, position.unknown_hardware) == (8, 0)


# ---------------------------------------------------------------------- per_processor


def test_per_processor_counts_processors_per_device() -> None:
    # Given d1 with 2 processors (two installations: 2 and 1), d2 with 4, d3 without data
    installs = [
        install("d1", version="1", processors=2),
        install("d1", version="2", processors=1),
        install("d2", user="bob", processors=4),
        install("d3"),
    ]
    seats = [a_seat(asset="d9")]

    position = only_position(
        licenses=[a_license(metric=Metric.PER_PROCESSOR, quantity=4)], installs=installs, seats=seats
    )

    # Then 2 + 4 + 1 (unknown) + 1 (seated device without installation)
    assert (position.metric, position.consumed, position.unknown_hardware) == (Metric.PER_PROCESSOR, 8, 2)
    assert (position.position, position.shortfall) == (-4, 4)


# ---------------------------------------------------------------------- concurrent, site, subscription


def test_concurrent_consumption_is_the_sum_of_peak_assigned() -> None:
    licenses = [
        a_license("L1", metric=Metric.CONCURRENT, quantity=10, peak_assigned=7, assigned=3),
        a_license("L2", metric=Metric.CONCURRENT, quantity=5, peak_assigned=5, assigned=5),
    ]
    # Installations are not concurrent use
    installs = [install(f"d{i}", user=f"user{i}") for i in range(30)]

    position = only_position(licenses=licenses, installs=installs)

    assert (position.metric, position.entitled, position.consumed) == (Metric.CONCURRENT, 15, 12)
    assert (position.position, position.surplus) == (3, 3)


def test_site_license_is_unlimited() -> None:
    # Given an active site license for 1 "unit", 3 devices and a seat to another device
    lic = a_license(metric=Metric.SITE, quantity=1, scope="HQ", unit_cost=eur("1000"))
    installs = [install("d1"), install("d2"), install("d3", user="bob")]

    position = only_position(licenses=[lic], installs=installs, seats=[a_seat(asset="d9")])

    assert (position.metric, position.entitled, position.position) == (Metric.SITE, None, None)
    assert position.consumed == 4
    assert (position.shortfall, position.surplus) == (0, 0)
    assert (position.exposure, position.waste) == (eur("0"), eur("0"))


def test_a_site_license_out_of_term_entitles_nothing() -> None:
    lic = a_license(metric=Metric.SITE, quantity=1, end_date=days(-1))

    position = only_position(licenses=[lic], installs=[install("d1"), install("d2")])

    assert (position.entitled, position.consumed, position.position, position.shortfall) == (0, 2, -2, 2)


def test_subscription_counts_like_per_user_plus_saas_assigned_seats() -> None:
    # Given alice (two devices), a userless device, a seat to carol, and 4 SaaS seats assigned (1 active)
    installs = [install("d1", user="alice"), install("d2", user="alice"), install("d3")]
    saas = {"office": SaasUsage(purchased=10, assigned=4, active=1)}

    position = only_position(
        licenses=[a_license(metric=Metric.SUBSCRIPTION, quantity=5)],
        installs=installs,
        seats=[a_seat(user="carol")],
        saas=saas,
    )

    assert (position.metric, position.consumed) == (Metric.SUBSCRIPTION, 7)
    assert (position.saas_assigned, position.saas_inactive) == (4, 3)
    assert (position.position, position.shortfall) == (-2, 2)


def test_subscription_entitlement_counts_only_subscriptions_in_term() -> None:
    licenses = [
        a_license("S1", metric=Metric.SUBSCRIPTION, quantity=5, start_date=days(-200), end_date=days(165)),
        a_license("S2", metric=Metric.SUBSCRIPTION, quantity=10, start_date=days(-400), end_date=days(-35)),
        a_license("S3", metric=Metric.SUBSCRIPTION, quantity=20, start_date=days(30), end_date=days(395)),
    ]

    position = only_position(licenses=licenses)

    assert position.entitled == 5
    assert position.license_ids == ["S1", "S2", "S3"]


# ---------------------------------------------------------------------- entitlements and money


def test_entitled_counts_only_active_licenses() -> None:
    licenses = [
        a_license("in-term", quantity=1, start_date=days(-10), end_date=days(10)),
        a_license("open-ended", quantity=2),
        a_license("starts-today", quantity=4, start_date=TODAY),
        a_license("ends-today", quantity=8, end_date=TODAY),
        a_license("future", quantity=16, start_date=days(1)),
        a_license("ended", quantity=32, start_date=days(-400), end_date=days(-1)),
        a_license("auto-renewed", quantity=64, end_date=days(-30), auto_renew=True),
        a_license("future-auto", quantity=128, start_date=days(5), auto_renew=True),
    ]

    position = only_position(licenses=licenses)

    assert position.entitled == 1 + 2 + 4 + 8 + 64


def test_shortfall_exposure_uses_the_most_recently_started_priced_license() -> None:
    # Given 2 + 1 active per-device licenses priced 100 (2024) and 120 (2026), a later one without a price,
    # and 6 devices
    licenses = [
        a_license(
            "old", metric=Metric.PER_DEVICE, quantity=2, start_date=date(2024, 1, 1), unit_cost=eur("100")
        ),
        a_license(
            "new", metric=Metric.PER_DEVICE, quantity=1, start_date=date(2026, 1, 1), unit_cost=eur("120")
        ),
        a_license("unpriced", metric=Metric.PER_DEVICE, quantity=0, start_date=date(2026, 3, 1)),
    ]
    installs = [install(f"d{i}") for i in range(6)]

    position = only_position(licenses=licenses, installs=installs)

    assert (position.entitled, position.consumed, position.position) == (3, 6, -3)
    assert (position.shortfall, position.surplus) == (3, 0)
    assert position.exposure == eur("360")
    assert position.waste == eur("0")


def test_surplus_waste_uses_the_unit_price() -> None:
    licenses = [a_license(quantity=10, unit_cost=eur("12.50"))]

    position = only_position(licenses=licenses, installs=[install("d1", user="alice")])

    assert (position.position, position.surplus, position.shortfall) == (9, 9, 0)
    assert position.waste == eur("112.50")
    assert position.exposure == eur("0")


def test_without_a_unit_cost_there_is_no_money() -> None:
    position = only_position(licenses=[a_license(quantity=0)], installs=[install("d1")])

    assert (position.shortfall, position.exposure, position.waste) == (1, None, None)


def test_expiring_lists_licenses_ending_within_90_days_soonest_first() -> None:
    licenses = [
        a_license("L-90", quantity=1, end_date=days(90)),
        a_license("L-91", quantity=2, end_date=days(91)),
        a_license("L-10", quantity=3, end_date=days(10)),
        a_license("L-45", quantity=4, end_date=days(45)),
        a_license("L-0", quantity=5, end_date=TODAY),
        a_license("L-renews", quantity=6, end_date=days(20), auto_renew=True),
        a_license("L-ended", quantity=7, end_date=days(-1)),
    ]

    position = only_position(licenses=licenses)

    assert [(e.license_id, e.days_left, e.quantity) for e in position.expiring] == [
        ("L-0", 0, 5),
        ("L-10", 10, 3),
        ("L-45", 45, 4),
        ("L-90", 90, 1),
    ]
    assert position.expiring[2].end_date == days(45)
    assert not any(e.auto_renew for e in position.expiring)


def test_expired_in_use_lists_ended_licenses_still_consumed() -> None:
    licenses = [
        a_license("ended", quantity=5, end_date=days(-1)),
        a_license("renews", quantity=5, end_date=days(-1), auto_renew=True),
        a_license("current", quantity=5, end_date=days(100)),
    ]

    position = only_position(licenses=licenses, installs=[install("d1", user="alice")])

    assert position.expired_in_use == ["ended"]
    assert position.entitled == 10


def test_an_ended_license_nobody_uses_is_not_expired_in_use() -> None:
    position = only_position(licenses=[a_license("ended", quantity=5, end_date=days(-1))])

    assert position.expired_in_use == []


def test_an_ended_license_with_assigned_seats_is_expired_in_use() -> None:
    # Concurrent use with no peak recorded, but seats still assigned on the license
    lic = a_license("ended", metric=Metric.CONCURRENT, quantity=5, end_date=days(-1), assigned=2)

    position = only_position(licenses=[lic])

    assert position.expired_in_use == ["ended"]


def test_each_metric_of_a_product_gets_its_own_position() -> None:
    licenses = [
        a_license("U", metric=Metric.PER_USER, quantity=5),
        a_license("D", metric=Metric.PER_DEVICE, quantity=1),
    ]
    installs = [install("d1", user="alice"), install("d2", user="alice")]

    per_device, per_user = compute(licenses=licenses, installs=installs)

    assert (per_device.metric, per_device.consumed, per_device.license_ids) == (Metric.PER_DEVICE, 2, ["D"])
    assert (per_user.metric, per_user.consumed, per_user.license_ids) == (Metric.PER_USER, 1, ["U"])


# ---------------------------------------------------------------------- version ranges


def test_version_ordering_is_numeric() -> None:
    assert version_key("9.2") < version_key("10.0")
    assert version_key("16.0.1") > version_key("16.0")
    assert version_key("10") == version_key("10.0")
    assert version_key("9.10") > version_key("9.2")


def test_version_range_bounds_are_inclusive_and_ordered() -> None:
    window = VersionRange(min="9.2", max="10.0")

    assert [window.covers(v) for v in ("9.1", "9.2", "9.10", "10", "10.0", "10.0.1", None)] == [
        False,
        True,
        True,
        True,
        True,
        False,
        True,
    ]
    with pytest.raises(ValueError, match="below"):
        VersionRange(min="10.0", max="9.2")


def test_an_installation_outside_every_range_is_unlicensed_not_consumption() -> None:
    # Given licenses for 9.x and for 16 onwards, and devices on 8.0, 9.2, 12, 16.0.1 and unknown
    licenses = [
        a_license(
            "L9", metric=Metric.PER_DEVICE, quantity=10, version_range=VersionRange(min="9", max="9.9")
        ),
        a_license("L16", metric=Metric.PER_DEVICE, quantity=10, version_range=VersionRange(min="16")),
    ]
    installs = [
        install("d1", version="8.0"),
        install("d2", version="9.2"),
        install("d3", version="12"),
        install("d4", version="16.0.1"),
        install("d5"),
    ]

    position = only_position(licenses=licenses, installs=installs)

    # Then d2, d4 and d5 (benefit of the doubt) consume; d1 and d3 are unlicensed installs
    assert (position.consumed, position.unlicensed_installs) == (3, 2)
    assert position.devices == 3


def test_version_coverage_orders_10_after_9() -> None:
    # A range up to 9.2 does not cover 10.0 (it would as text: "10.0" < "9.2")
    lic = a_license(metric=Metric.PER_USER, version_range=VersionRange(max="9.2"))
    installs = [install("d1", user="alice", version="10.0"), install("d2", user="bob", version="9.2")]

    position = only_position(licenses=[lic], installs=installs)

    assert (position.consumed, position.unlicensed_installs) == (1, 1)


def test_a_license_without_a_range_covers_every_version() -> None:
    licenses = [
        a_license("L9", metric=Metric.PER_DEVICE, version_range=VersionRange(max="9")),
        a_license("Lall", metric=Metric.PER_DEVICE),
    ]
    installs = [install("d1", version="8"), install("d2", version="42.1")]

    position = only_position(licenses=licenses, installs=installs)

    assert (position.consumed, position.unlicensed_installs) == (2, 0)


# ---------------------------------------------------------------------- products and order


def test_a_product_installed_without_any_license_has_a_metric_none_position() -> None:
    installs = [
        install("d1", product="Visio"),
        install("d1", product="Visio", version="2"),
        install("d2", product="Visio"),
    ]

    position = only_position(installs=installs, names={"visio": "Microsoft Visio"})

    assert position.product == "Microsoft Visio"
    assert (position.metric, position.entitled, position.consumed, position.position) == (None, 0, 2, None)
    assert (position.unlicensed_installs, position.devices, position.shortfall) == (2, 2, 0)
    assert position.license_ids == []


def test_a_saas_only_product_has_a_metric_none_position() -> None:
    saas = {"slack": SaasUsage(purchased=10, assigned=8, active=6)}

    position = only_position(saas=saas, names={"slack": "Slack"})

    assert (position.product, position.metric, position.consumed) == ("Slack", None, 8)
    assert (position.saas_assigned, position.saas_inactive, position.unlicensed_installs) == (8, 2, 0)


def test_products_come_in_key_order_including_those_only_licensed() -> None:
    # Given licenses for Zoom, Adobe Acrobat and Office (none installed) and installations of M365 and Zoom
    licenses = [
        a_license("Z", product="Zoom"),
        a_license("A", product="Adobe Acrobat"),
        a_license("O", product="Office"),
    ]
    installs = [install("d1", product="zoom"), install("d2", product="M365")]

    positions = compute(licenses=licenses, installs=installs, names={"m365": "M365"})

    assert [(p.product, p.metric, p.consumed) for p in positions] == [
        ("Adobe Acrobat", Metric.PER_USER, 0),
        ("M365", None, 1),
        ("Office", Metric.PER_USER, 0),
        ("Zoom", Metric.PER_USER, 1),
    ]


def test_products_only_licensed_get_positions_without_installations() -> None:
    licenses = [a_license("A", product="Alpha", quantity=3), a_license("B", product="Beta", quantity=4)]

    positions = compute(licenses=licenses)

    assert [(p.product, p.entitled, p.consumed, p.surplus) for p in positions] == [
        ("Alpha", 3, 0, 3),
        ("Beta", 4, 0, 4),
    ]


def test_installations_out_of_product_order_are_rejected() -> None:
    calculator = PositionCalculator(TODAY, [("Office", a_license())], [])
    unsorted = [install("d1", product="Zoom"), install("d1", product="Adobe")]

    with pytest.raises(ValueError, match="sorted"):
        list(calculator.positions(unsorted))


def test_a_product_coming_back_after_another_is_rejected() -> None:
    calculator = PositionCalculator(TODAY, [], [])
    unsorted = [install("d1", product="Alpha"), install("d1", product="Beta"), install("d2", product="Alpha")]

    with pytest.raises(ValueError, match="sorted"):
        list(calculator.positions(unsorted))


# ---------------------------------------------------------------------- normalization


def a_rule(rule_id: str, match_product: str, product: str, **fields: Any) -> Rule:
    return Rule(
        id=rule_id,
        created_at=CREATED,
        created_by="u-admin",
        match_product=match_product,
        product=product,
        **fields,
    )


def test_normalizer_first_matching_rule_wins() -> None:
    normalizer = Normalizer(
        [
            a_rule("r1", "Microsoft Office*", "Microsoft 365"),
            a_rule("r2", "*Office*", "Office Suite"),
        ]
    )

    assert normalizer.canonical("Microsoft Office Professional Plus 2019") == "Microsoft 365"
    assert normalizer.canonical("LibreOffice 7") == "Office Suite"
    assert normalizer.canonical("Office") == "Office Suite"


def test_normalizer_without_a_match_keeps_the_name_with_spaces_collapsed() -> None:
    normalizer = Normalizer([a_rule("r1", "Visio*", "Visio")])

    assert normalizer.canonical("  Adobe   Acrobat Reader ") == "Adobe Acrobat Reader"


def test_normalizer_is_case_and_space_insensitive() -> None:
    normalizer = Normalizer([a_rule("r1", "microsoft  office *", "Microsoft 365")])

    assert normalizer.canonical("  MICROSOFT Office   Standard ") == "Microsoft 365"


def test_normalizer_patterns_match_the_whole_name_and_only_star_is_special() -> None:
    normalizer = Normalizer([a_rule("r1", "C++ Runtime (x64)", "VC Runtime"), a_rule("r2", "a.c", "AC")])

    assert normalizer.canonical("c++ runtime (X64)") == "VC Runtime"
    assert normalizer.canonical("C++ Runtime (x64) Update") == "C++ Runtime (x64) Update"
    assert normalizer.canonical("abc") == "abc"
    assert normalizer.canonical("A.C") == "AC"


def test_normalizer_vendor_pattern() -> None:
    normalizer = Normalizer([a_rule("r1", "Acrobat*", "Adobe Acrobat", match_vendor="adobe*")])

    assert normalizer.canonical("Acrobat Pro DC", vendor="Adobe Systems Inc.") == "Adobe Acrobat"
    assert normalizer.canonical("Acrobat Pro DC", vendor="Other Corp") == "Acrobat Pro DC"
    assert normalizer.canonical("Acrobat Pro DC") == "Acrobat Pro DC"


def test_normalizer_version_pattern() -> None:
    normalizer = Normalizer(
        [
            a_rule("r1", "Office*", "Office 2019", match_version="16.0.1*"),
            a_rule("r2", "Office*", "Office"),
        ]
    )

    assert normalizer.canonical("Office Pro", version="16.0.10827") == "Office 2019"
    assert normalizer.canonical("Office Pro", version="16.0.2") == "Office"
    assert normalizer.canonical("Office Pro") == "Office"
