"""Idempotency-Keys: the shared create-or-replay step, and the creates that store a secret besides."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from itam.errors import ConcurrentModification, IdempotencyKeyReused, KeyAlreadyUsed, WriteConflict
from itam.idempotency import IDEMPOTENCY_TTL, IdempotencyClaim, IdempotencyRecord, claim_of, create_once
from itam.inventory.models import Connector, ConnectorCreate
from itam.inventory.service import ConnectorService
from itam.procurement.models import EndpointCreate
from itam.procurement.service import EndpointService
from itam.tenancy import Role, TenantContext
from tests.support.fakes import FixedClock, RecordingQueue, SequentialIds
from tests.support.inventory_fakes import FakeInventoryRepository, accept_settings
from tests.support.procurement_fakes import FakeProcurementRepository, FakeSecretStore

ACME = TenantContext("acme", "u-1", "admin@acme", frozenset({Role.ADMIN}))
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


class Ledger:
    """Bindings of keys, as a repository keeps them."""

    def __init__(self) -> None:
        self.bound: dict[str, IdempotencyRecord] = {}

    def idempotency_record(self, ctx: TenantContext, key_digest: str, now: int) -> IdempotencyRecord | None:
        return self.bound.get(key_digest)

    def bind(self, claim: IdempotencyClaim | None, owner: str) -> None:
        if claim is None:
            return
        if claim.key_digest in self.bound:
            raise KeyAlreadyUsed()
        self.bound[claim.key_digest] = IdempotencyRecord(owner, claim.request_digest)


def test_without_a_key_every_create_creates() -> None:
    ledger, made = Ledger(), []

    for number in range(2):
        create_once(ACME, ledger, None, NOW, lambda n=number: made.append(n), lambda first: None)

    assert made == [0, 1]


def test_a_bound_key_replays_what_it_made_and_refuses_another_request() -> None:
    ledger = Ledger()
    claim = claim_of("k", "license|{}", NOW)

    def create(owner: str) -> str:
        ledger.bind(claim, owner)
        return f"created {owner}"

    assert create_once(ACME, ledger, claim, NOW, lambda: create("a"), lambda first: first) == "created a"
    assert create_once(ACME, ledger, claim, NOW, lambda: create("b"), lambda first: f"again {first}") == (
        "again a"
    )
    other = claim_of("k", 'license|{"quantity":3}', NOW)
    with pytest.raises(IdempotencyKeyReused):
        create_once(ACME, ledger, other, NOW, lambda: create("c"), lambda first: first)


def test_looking_first_skips_the_create_of_a_replay() -> None:
    ledger, calls = Ledger(), []
    claim = claim_of("k", "connector|{}", NOW)
    assert claim is not None
    ledger.bind(claim, "first")

    replayed = create_once(
        ACME, ledger, claim, NOW, lambda: calls.append("create"), lambda f: f, look_first=True
    )

    assert (replayed, calls) == ("first", [])


def test_a_create_that_met_another_write_is_tried_again_then_replays() -> None:
    ledger, tries = Ledger(), []
    claim = claim_of("k", "rule|{}", NOW)

    def create() -> str:
        tries.append(1)
        if len(tries) == 1:
            ledger.bind(claim, "theirs")  # the same key's other request, committed meanwhile
            raise WriteConflict()
        ledger.bind(claim, "mine")
        return "mine"

    answer = create_once(ACME, ledger, claim, NOW, create, lambda first: first, sleep=lambda _: None)

    assert (answer, len(tries)) == ("theirs", 2)


def test_a_create_that_always_meets_other_writes_is_409_in_the_end() -> None:
    def create() -> str:
        raise WriteConflict()

    with pytest.raises(ConcurrentModification):
        create_once(ACME, Ledger(), None, NOW, create, lambda first: first, sleep=lambda _: None)


def test_a_claim_binds_for_a_day() -> None:
    claim = IdempotencyClaim.of("k", "rule|{}", NOW)

    assert claim.expires_at == int((NOW + IDEMPOTENCY_TTL).timestamp())
    assert claim.key_digest != "k" and claim.request_digest != "rule|{}"  # digests, never the key itself


class RacedInventory(FakeInventoryRepository):
    """An inventory whose next `misses` look-ups of a key find nothing, as if the key's other request
    bound it just after."""

    def __init__(self) -> None:
        super().__init__()
        self.misses = 0

    def idempotency_record(self, ctx: TenantContext, key_digest: str, now: int) -> IdempotencyRecord | None:
        if self.misses:
            self.misses -= 1
            return None
        return super().idempotency_record(ctx, key_digest, now)


def test_a_connector_create_that_loses_the_race_for_its_key_removes_its_secret() -> None:
    repo, store = RacedInventory(), FakeSecretStore()
    service = ConnectorService(
        lambda ctx: repo, store, accept_settings, RecordingQueue(), "c", FixedClock(), SequentialIds()
    )
    data = ConnectorCreate.model_validate({"type": "okta", "name": "Okta", "credentials": {"token": "t"}})
    first = service.create(ACME, data, "k")
    repo.misses = 1  # the replay's look-up misses: it stores a secret, then finds the key bound

    again = service.create(ACME, data, "k")

    assert again.id == first.id
    assert list(store.secrets) == [f"c/acme/{first.id}"]


class RacedEndpoints(FakeProcurementRepository):
    """Webhook endpoints whose next `misses` look-ups of a key find nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.misses = 0

    def idempotency_record(self, ctx: TenantContext, key_digest: str, now: int) -> IdempotencyRecord | None:
        if self.misses:
            self.misses -= 1
            return None
        return super().idempotency_record(ctx, key_digest, now)


def test_an_endpoint_create_that_loses_the_race_for_its_key_removes_its_secret() -> None:
    repo, store = RacedEndpoints(), FakeSecretStore()
    service = EndpointService(lambda ctx: repo, store, "w", FixedClock(), SequentialIds())
    data = EndpointCreate(name="Coupa")
    first = service.create(ACME, data, "k")
    repo.misses = 1

    again = service.create(ACME, data, "k")

    assert (again.id, again.secret) == (first.id, first.secret)
    assert list(store.secrets) == [f"w/acme/{first.id}"]


class BusyInventory(FakeInventoryRepository):
    """An inventory whose first save meets another transaction in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.conflicts = 1

    def save_connector(
        self,
        ctx: TenantContext,
        connector: Connector,
        expected_version: int | None,
        claim: IdempotencyClaim | None = None,
    ) -> None:
        if self.conflicts:
            self.conflicts -= 1
            raise WriteConflict()
        super().save_connector(ctx, connector, expected_version, claim)


def test_a_connector_create_that_met_another_write_keeps_one_secret() -> None:
    repo, store = BusyInventory(), FakeSecretStore()
    service = ConnectorService(
        lambda ctx: repo, store, accept_settings, RecordingQueue(), "c", FixedClock(), SequentialIds()
    )
    data = ConnectorCreate.model_validate({"type": "okta", "name": "Okta", "credentials": {"token": "t"}})

    created = service.create(ACME, data, "k")

    assert list(store.secrets) == [f"c/acme/{created.id}"]
