"""The effective license position per product and metric, computed in one streaming pass.

Inputs: the tenant's licenses and active seats (held in memory: they scale with what was bought),
its SaaS subscriptions' seat counts (aggregated per product), and its installations as a stream
sorted by (canonical product, consumer, device) -- the order of the installations index. Within a
product, a consumer or a device is counted when the sorted stream moves on to a new one, so memory
does not grow with the number of installations.

Consumption by metric (entitlements of a product are grouped by metric, each group gets a position):
    per_user, subscription  distinct users: seats to users, users of installations (an installation
                            without a known user counts its device as one user), seats to assets,
                            plus seats assigned in SaaS subscriptions of the product
    per_device, site        distinct devices with an installation, plus seats (one device each)
    per_core                per device: ceil(cores x core factor); a device without core data counts as
                            one core (then the factor); a seat whose holder has no installation counts
                            as one such device
    per_processor           per device: processors; a device without data counts 1
    concurrent              the peak of seats assigned at once
Only active entitlements count (in term, or auto-renewing). An installation whose version no
license of its product covers (active or not) is not consumption of those licenses: it is an
unlicensed install.

A device is identified by its (user, asset) pair, in the stream's order: when discovery reports
different primary users for installations of one product on one device, the device counts once per
reported user. The audit then errs towards exposure rather than missing it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from itam.assets.models import Money
from itam.licenses.models import Consumer, Expiring, License, Metric, Position, Seat, product_key

EXPIRY_HORIZON_DAYS = 90
MAX_CONSUMERS = 1000


@dataclass(frozen=True, slots=True)
class InstallRow:
    """What the position needs of one installation."""

    product: str  # canonical product key
    consumer: str
    asset_id: str
    version: str | None
    cores: int | None
    processors: int | None
    user: str | None = None
    name: str | None = None  # the canonical product's display name


@dataclass(slots=True)
class SaasUsage:
    purchased: int = 0
    assigned: int = 0
    active: int = 0


@dataclass(slots=True)
class _Tally:
    """Consumption of one product, accumulated while its installations stream past."""

    users: int = 0
    devices: int = 0
    cores: dict[Decimal, int] = field(default_factory=dict)
    processors: int = 0
    unknown_cores: int = 0
    unknown_processors: int = 0
    unlicensed_devices: int = 0
    # Seat holders (asset:<id> or user:<id>) that also have an installation; bounded by the seats.
    install_devices_seated: set[str] = field(default_factory=set)


@dataclass
class _Product:
    key: str
    name: str
    licenses: list[License] = field(default_factory=list)
    seats: dict[str, Seat] = field(default_factory=dict)  # consumer key -> seat


class PositionCalculator:
    """Positions of every product of one tenant on one day."""

    def __init__(
        self,
        today: date,
        licenses: Iterable[tuple[str, License]],
        seats: Iterable[Seat],
        saas: dict[str, SaasUsage] | None = None,
        collect_consumers: bool = False,
    ) -> None:
        """`licenses` are (canonical product name, license) pairs; `saas` is keyed by product key."""
        self.today = today
        self._products: dict[str, _Product] = {}
        by_license: dict[str, _Product] = {}
        for name, lic in licenses:
            key = product_key(name)
            product = self._products.setdefault(key, _Product(key, name))
            product.licenses.append(lic)
            by_license[lic.id] = product
        for seat in seats:
            owner = by_license.get(seat.license_id)
            if owner is not None and seat.released_at is None:
                owner.seats.setdefault(seat.consumer, seat)
        self._saas = saas or {}
        self._collect = collect_consumers
        self.consumers: list[Consumer] = []
        self.consumers_truncated = False

    def positions(
        self, installs: Iterable[InstallRow], names: dict[str, str] | None = None
    ) -> Iterator[Position]:
        """Every product's positions, in product-key order. `installs` must be sorted by
        (product, consumer, asset_id); `names` gives display names of products without licenses."""
        names = names or {}
        pending = sorted(set(self._products) | set(self._saas))
        stream = iter(installs)
        row = next(stream, None)
        previous = ""
        while True:
            key = row.product if row is not None else None
            # Products without installations (licensed or SaaS only) that sort before this one.
            while pending and (key is None or pending[0] < key):
                waiting = pending.pop(0)
                yield from self._finish(waiting, self._products.get(waiting), _Tally(), names)
            if row is None or key is None:
                return
            if key < previous:
                raise ValueError("installations must come sorted by product")
            previous = key
            if pending and pending[0] == key:
                pending.pop(0)
            tally, state, product = _Tally(), _GroupState(), self._products.get(key)
            display = row.name
            while row is not None and row.product == key:
                self._count(product, tally, state, row)
                row = next(stream, None)
            self._close_device(product, tally, state)
            yield from self._finish(key, product, tally, names, display)

    # ------------------------------------------------------------------ internals
    def _count(self, product: _Product | None, tally: _Tally, state: _GroupState, row: InstallRow) -> None:
        covered = product is not None and any(
            lic.version_range is None or lic.version_range.covers(row.version) for lic in product.licenses
        )
        device = (row.consumer, row.asset_id)
        if not covered:
            if device != state.last_unlicensed:
                tally.unlicensed_devices += 1
                state.last_unlicensed = device
            self._note_consumer(row, "installation")
            return
        seats = product.seats if product is not None else {}
        if row.consumer != state.last_consumer:
            state.last_consumer = row.consumer
            if row.consumer not in seats:
                tally.users += 1
            else:
                tally.install_devices_seated.add(row.consumer)  # a seated user with a device
        if device != state.last_device:
            self._close_device(product, tally, state)
            state.last_device = device
            asset_key = f"asset:{row.asset_id}"
            state.device_seated = asset_key in seats
            if state.device_seated:
                tally.install_devices_seated.add(asset_key)
            else:
                tally.devices += 1
        state.cores = max(state.cores or 0, row.cores or 0) or None
        state.processors = max(state.processors or 0, row.processors or 0) or None
        self._note_consumer(row, "installation")

    def _close_device(self, product: _Product | None, tally: _Tally, state: _GroupState) -> None:
        if state.last_device is None:
            return
        for factor in self._core_factors(product):
            tally.cores[factor] = tally.cores.get(factor, 0) + _cores(state.cores, factor)
        if state.cores is None:
            tally.unknown_cores += 1
        tally.processors += state.processors or 1
        if state.processors is None:
            tally.unknown_processors += 1
        state.cores = state.processors = None

    @staticmethod
    def _core_factors(product: _Product | None) -> set[Decimal]:
        if product is None:
            return set()
        return {lic.core_factor or Decimal(1) for lic in product.licenses if lic.metric is Metric.PER_CORE}

    def _note_consumer(self, row: InstallRow, source: str) -> None:
        if not self._collect:
            return
        if self.consumers and self.consumers[-1].key == row.consumer:
            last = self.consumers[-1]
            if row.asset_id not in last.asset_ids:
                last.asset_ids.append(row.asset_id)
            if source not in last.sources:
                last.sources.append(source)  # type: ignore[arg-type]
            return
        if len(self.consumers) >= MAX_CONSUMERS:
            self.consumers_truncated = True
            return
        self.consumers.append(
            Consumer(key=row.consumer, user=row.user, asset_ids=[row.asset_id], sources=[source])
        )

    def _finish(
        self,
        key: str,
        product: _Product | None,
        tally: _Tally,
        names: dict[str, str],
        display: str | None = None,
    ) -> Iterator[Position]:
        saas = self._saas.get(key, SaasUsage())
        name = product.name if product is not None else display or names.get(key, key)
        if product is None or not product.licenses:
            if tally.unlicensed_devices or saas.assigned:
                yield Position(
                    product=name,
                    metric=None,
                    entitled=0,
                    consumed=tally.unlicensed_devices + saas.assigned,
                    position=None,
                    shortfall=0,
                    exposure=None,
                    surplus=0,
                    waste=None,
                    license_ids=[],
                    devices=tally.unlicensed_devices,
                    users=0,
                    unlicensed_installs=tally.unlicensed_devices,
                    saas_assigned=saas.assigned,
                    saas_inactive=max(0, saas.assigned - saas.active),
                )
            return
        if self._collect:
            self._add_seat_consumers(product)
        seats = list(product.seats.values())
        seat_users = len(seats)
        # Seats whose holder (an asset, or a user) has no installation of the product: their hardware
        # is unknown, so each counts as one device of one core and one processor.
        seated_devices_without_installs = [s for s in seats if s.consumer not in tally.install_devices_seated]
        asset_seats = sum(1 for s in seats if s.asset_id is not None)
        by_metric: dict[Metric, list[License]] = defaultdict(list)
        for lic in product.licenses:
            by_metric[lic.metric].append(lic)
        for metric in sorted(by_metric):
            group = by_metric[metric]
            active = [lic for lic in group if lic.active_on(self.today)]
            consumed, unknown = _consumption(
                metric, group, tally, seat_users, seated_devices_without_installs, saas
            )
            entitled: int | None = sum(lic.quantity for lic in active)
            if metric is Metric.SITE and active:
                entitled = None  # unlimited within its scope
            position = None if entitled is None else entitled - consumed
            shortfall = max(0, -position) if position is not None else 0
            surplus = max(0, position) if position is not None else 0
            price = _unit_price(active or group)
            expiring = self._expiring(group)
            yield Position(
                product=name,
                metric=metric,
                entitled=entitled,
                consumed=consumed,
                position=position,
                shortfall=shortfall,
                exposure=_times(price, shortfall),
                surplus=surplus,
                waste=_times(price, surplus),
                license_ids=[lic.id for lic in group],
                devices=tally.devices + asset_seats,
                users=tally.users + seat_users,
                unlicensed_installs=tally.unlicensed_devices,
                unknown_hardware=unknown,
                saas_assigned=saas.assigned,
                saas_inactive=max(0, saas.assigned - saas.active),
                expiring=expiring,
                expiring_30=sum(e.quantity for e in expiring if e.days_left <= 30),
                expiring_60=sum(e.quantity for e in expiring if e.days_left <= 60),
                expiring_90=sum(e.quantity for e in expiring),
                expired_in_use=[
                    lic.id
                    for lic in group
                    if lic.end_date is not None
                    and lic.end_date < self.today
                    and not lic.auto_renew
                    and (consumed > 0 or lic.assigned > 0)
                ],
            )

    def _add_seat_consumers(self, product: _Product) -> None:
        known = {c.key: c for c in self.consumers}
        for seat in product.seats.values():
            consumer = known.get(seat.consumer)
            if consumer is None:
                if len(self.consumers) >= MAX_CONSUMERS:
                    self.consumers_truncated = True
                    continue
                consumer = Consumer(key=seat.consumer, user=seat.user, asset_ids=[], sources=[])
                self.consumers.append(consumer)
                known[seat.consumer] = consumer
            if seat.asset_id and seat.asset_id not in consumer.asset_ids:
                consumer.asset_ids.append(seat.asset_id)
            if "assignment" not in consumer.sources:
                consumer.sources.append("assignment")

    def _expiring(self, group: list[License]) -> list[Expiring]:
        soon = []
        for lic in group:
            if lic.end_date is None or lic.auto_renew:
                continue
            days = (lic.end_date - self.today).days
            if 0 <= days <= EXPIRY_HORIZON_DAYS:
                soon.append(
                    Expiring(
                        license_id=lic.id,
                        end_date=lic.end_date,
                        days_left=days,
                        quantity=lic.quantity,
                        auto_renew=lic.auto_renew,
                    )
                )
        return sorted(soon, key=lambda e: (e.days_left, e.license_id))


@dataclass(slots=True)
class _GroupState:
    last_consumer: str | None = None
    last_device: tuple[str, str] | None = None
    last_unlicensed: tuple[str, str] | None = None
    device_seated: bool = False
    cores: int | None = None
    processors: int | None = None


def _consumption(
    metric: Metric,
    group: list[License],
    tally: _Tally,
    seat_users: int,
    seated_alone: list[Seat],
    saas: SaasUsage,
) -> tuple[int, int]:
    """(consumed, devices counted for want of hardware data) of one metric group; see the module doc."""
    if metric in (Metric.PER_USER, Metric.SUBSCRIPTION):
        return tally.users + seat_users + saas.assigned, 0
    if metric in (Metric.PER_DEVICE, Metric.SITE):
        return tally.devices + seat_users, 0
    if metric is Metric.PER_CORE:
        factor = max((lic.core_factor or Decimal(1)) for lic in group)
        consumed = tally.cores.get(factor, 0) + _cores(None, factor) * len(seated_alone)
        return consumed, tally.unknown_cores + len(seated_alone)
    if metric is Metric.PER_PROCESSOR:
        return tally.processors + len(seated_alone), tally.unknown_processors + len(seated_alone)
    return sum(lic.peak_assigned for lic in group), 0  # concurrent: the peak of seats in use at once


def _cores(cores: int | None, factor: Decimal) -> int:
    return math.ceil((cores or 1) * factor)


def _unit_price(licenses: list[License]) -> Money | None:
    """The price of the most recently started license that has one."""
    priced = [lic for lic in licenses if lic.unit_cost is not None]
    if not priced:
        return None
    latest = max(priced, key=lambda lic: (lic.start_date or date.min, lic.created_at))
    return latest.unit_cost


def _times(price: Money | None, count: int) -> Money | None:
    if price is None:
        return None
    return Money(amount=price.amount * count, currency=price.currency)
