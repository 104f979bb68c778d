"""The sync's load and cleanup steps on in-memory fakes: every reconcile case, batching, skipped
scopes, failed collections and per-record errors."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import pytest

from itam.assets.models import Asset, AssetCreate, AssetFilter, HistoryEvent, Kind, discovered_asset_id
from itam.assets.service import AssetService
from itam.errors import InvalidCursor
from itam.inventory.errors import ConnectorError
from itam.inventory.models import Discovered, RunError
from itam.inventory.reconcile import Link
from itam.inventory.sync import CREATE_BATCH, Reconciler, RunPlan
from itam.pagination import PageRequest
from itam.tenancy import Role, TenantContext
from tests.support.fakes import FakeAssetRepository, FixedClock

CTX = TenantContext(
    tenant_id="acme", user_id="system:inventory", username="sync", roles=frozenset({Role.ADMIN})
)
STARTED = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


class MemoryLinks:
    def __init__(self) -> None:
        self.stored: dict[str, Link] = {}
        self.create_calls: list[int] = []
        self.repo: FakeAssetRepository | None = None

    def links_of(self) -> list[Link]:
        return [self.stored[k] for k in sorted(self.stored)]

    def links(self, ctx: TenantContext, connector_id: str) -> Iterator[Link]:
        yield from self.links_of()

    def create(
        self, ctx: TenantContext, connector_id: str, created: Sequence[tuple[Asset, HistoryEvent, Link]]
    ) -> None:
        assert self.repo is not None
        self.create_calls.append(len(created))
        for asset, event, link in created:
            self.repo.assets[(ctx.tenant_id, asset.id)] = asset
            self.repo.events[(ctx.tenant_id, asset.id)] = [event]
            self.repo.records[(ctx.tenant_id, asset.id)] = []
            self.stored[link.asset_id] = link

    def save_link(self, ctx: TenantContext, connector_id: str, link: Link) -> None:
        self.stored[link.asset_id] = link


class ListCollector:
    provider = "aws"

    def __init__(
        self, records: list[Discovered], skipped: set[str] | None = None, fail: bool = False
    ) -> None:
        self.records = records
        self.skipped = skipped or set()
        self.fail = fail

    def collect(self) -> Iterator[Discovered]:
        yield from self.records
        if self.fail:
            raise ConnectorError("throttled for good", retryable=True)

    def was_skipped(self, scope: str) -> bool:
        return scope in self.skipped

    def problems(self) -> list[RunError]:
        return [RunError(code="AccessDenied", message="no access", scope=s) for s in sorted(self.skipped)]


def found(key: str, version: str = "1", scope: str = "a/eu-west-1/ec2_instance") -> Discovered:
    return Discovered(
        external_key=key,
        content_hash=(version * 64)[:64],
        scope=scope,
        fields=AssetCreate(
            name=f"{key}-v{version}", kind=Kind.CLOUD, status="deployed", custom_fields={"size": version}
        ),
        owned_custom_fields=frozenset({"size"}),
    )


@pytest.fixture
def world() -> tuple[Reconciler, FakeAssetRepository, MemoryLinks]:
    repo = FakeAssetRepository()
    links = MemoryLinks()
    links.repo = repo
    service = AssetService(repo, clock=FixedClock())
    return Reconciler(service, links), repo, links


def plan(run: str, retire_after: int = 3) -> RunPlan:
    return RunPlan("c" * 32, "Org", "aws", run, retire_after, STARTED)


def asset(repo: FakeAssetRepository, key: str) -> Asset:
    return repo.assets[("acme", discovered_asset_id("c" * 32, key))]


def test_new_resources_are_created_in_full_batches(
    world: tuple[Reconciler, FakeAssetRepository, MemoryLinks],
) -> None:
    reconciler, repo, links = world
    records = [found(f"k{i}") for i in range(60)]
    outcome = reconciler.run(CTX, plan("r1"), ListCollector(records), STARTED)
    assert outcome.counts.as_dict() | {"seen": 60, "created": 60} == outcome.counts.as_dict()
    assert links.create_calls == [CREATE_BATCH, CREATE_BATCH, 10]
    first = asset(repo, "k0")
    assert first.discovery is not None and first.discovery.state == "present"
    assert first.discovery.external_key == "k0"


def test_unchanged_gets_no_write_changed_is_updated(
    world: tuple[Reconciler, FakeAssetRepository, MemoryLinks],
) -> None:
    reconciler, repo, links = world
    reconciler.run(CTX, plan("r1"), ListCollector([found("a"), found("b")]), STARTED)
    repo.update_calls = 0
    before = dict(links.stored)

    outcome = reconciler.run(CTX, plan("r2"), ListCollector([found("a"), found("b", "2")]), STARTED)

    assert (outcome.counts.unchanged, outcome.counts.updated) == (1, 1)
    assert repo.update_calls == 1
    assert asset(repo, "a").version == 1
    changed = asset(repo, "b")
    assert (changed.version, changed.name, changed.custom_fields["size"]) == (2, "b-v2", "2")
    assert links.stored[discovered_asset_id("c" * 32, "a")] == before[discovered_asset_id("c" * 32, "a")]


def test_missing_then_retired_then_restored(
    world: tuple[Reconciler, FakeAssetRepository, MemoryLinks],
) -> None:
    reconciler, repo, _ = world
    reconciler.run(CTX, plan("r1", retire_after=2), ListCollector([found("a"), found("gone")]), STARTED)

    first = reconciler.run(CTX, plan("r2", retire_after=2), ListCollector([found("a")]), STARTED)
    assert first.counts.missing == 1
    gone = asset(repo, "gone")
    assert gone.discovery is not None
    assert (gone.discovery.state, gone.discovery.misses, gone.discovery.last_seen_at) == (
        "missing",
        1,
        STARTED,
    )

    second = reconciler.run(CTX, plan("r3", retire_after=2), ListCollector([found("a")]), STARTED)
    assert second.counts.retired == 1
    assert asset(repo, "gone").status == "retired"
    third = reconciler.run(CTX, plan("r4", retire_after=2), ListCollector([found("a")]), STARTED)
    assert (third.counts.missing, third.counts.retired) == (0, 0)

    back = reconciler.run(
        CTX, plan("r5", retire_after=2), ListCollector([found("a"), found("gone")]), STARTED
    )
    assert back.counts.restored == 1
    restored = asset(repo, "gone")
    assert restored.status == "deployed"
    assert restored.discovery is not None and restored.discovery.state == "present"
    types = [event.type for event in repo.events[("acme", restored.id)]]
    assert types == ["created", "missing", "transitioned", "restored"]


def test_a_skipped_scope_and_a_failed_collection_mark_nothing_missing(
    world: tuple[Reconciler, FakeAssetRepository, MemoryLinks],
) -> None:
    reconciler, repo, _ = world
    elsewhere = "b/us-west-2/dynamodb_table"
    reconciler.run(CTX, plan("r1"), ListCollector([found("a"), found("t", scope=elsewhere)]), STARTED)

    partial = reconciler.run(CTX, plan("r2"), ListCollector([found("a")], skipped={elsewhere}), STARTED)
    assert partial.counts.missing == 0
    assert [e.scope for e in partial.errors] == [elsewhere]

    with pytest.raises(ConnectorError):
        reconciler.run(CTX, plan("r3"), ListCollector([], fail=True), STARTED)
    assert all(a.discovery and a.discovery.state == "present" for a in repo.assets.values())


def test_a_record_the_register_refuses_is_an_error_not_a_stop(
    world: tuple[Reconciler, FakeAssetRepository, MemoryLinks],
) -> None:
    reconciler, repo, _ = world
    reconciler.run(CTX, plan("r1"), ListCollector([found("a"), found("b")]), STARTED)
    del repo.assets[("acme", discovered_asset_id("c" * 32, "a"))]  # removed behind the sync's back

    outcome = reconciler.run(CTX, plan("r2"), ListCollector([found("a", "2"), found("b", "2")]), STARTED)

    assert (outcome.counts.updated, outcome.counts.errors) == (1, 1)
    assert outcome.errors[0].code == "AssetNotFound"


def test_a_discovered_asset_is_found_by_its_provider_key_through_each_connector() -> None:
    # Given: two connectors of the tenant that both found resource "shared", one that found "own" too
    repo = FakeAssetRepository()
    service = AssetService(repo, clock=FixedClock(), connector_ids=lambda ctx: ["c" * 32, "d" * 32])
    for connector_id, keys in (("c" * 32, ["shared", "own"]), ("d" * 32, ["shared"])):
        links = MemoryLinks()
        links.repo = repo
        run = RunPlan(connector_id, "Org", "aws", "r1", 3, STARTED)
        Reconciler(service, links).run(CTX, run, ListCollector([found(k) for k in keys]), STARTED)

    def lookup(key: str, **filters: object) -> list[tuple[str, str]]:
        page = service.list_assets(CTX, AssetFilter.model_validate(filters), PageRequest(), external_key=key)
        assert page.next_cursor is None
        return sorted((a.discovery.connector_id, a.discovery.external_key) for a in page.items if a.discovery)

    # Then: each connector's asset for the key, narrowed by the other filters like a listing
    assert lookup("shared") == [("c" * 32, "shared"), ("d" * 32, "shared")]
    assert lookup("shared", connector_id="d" * 32) == [("d" * 32, "shared")]
    assert lookup("own") == [("c" * 32, "own")]
    assert lookup("own", kind="cloud", status="deployed") == [("c" * 32, "own")]
    assert lookup("own", kind="hardware") == lookup("own", discovery_state="missing") == []
    assert lookup("nobody has this") == []
    # A hand-registered asset is never a lookup's answer, and a lookup takes no cursor
    service.register_asset(CTX, AssetCreate(name="own", kind=Kind.CLOUD))
    assert lookup("own") == [("c" * 32, "own")]
    with pytest.raises(InvalidCursor):
        service.list_assets(CTX, AssetFilter(), PageRequest(cursor="x"), external_key="own")
    # Another tenant reads its own (empty) register, even with the same connector ids
    other = TenantContext(tenant_id="globex", user_id="u", username="u", roles=frozenset({Role.ADMIN}))
    assert service.list_assets(other, AssetFilter(), PageRequest(), external_key="shared").items == []
