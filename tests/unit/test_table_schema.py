"""The declared item classes, bound per (table, region, endpoint, credentials)."""

from __future__ import annotations

from datetime import UTC, datetime

from itam.adapters.credentials import Credentials
from itam.adapters.schema import AssetItem, Item, LinkItem, table_models

ENDPOINT = "http://localhost:1"


def credentials(key: str) -> Credentials:
    return Credentials(key, "secret", "token", datetime(2030, 1, 1, tzinfo=UTC))


def test_a_binding_is_cached_per_table_and_credentials_never_per_class() -> None:
    # Given: one table bound for two tenants' credentials, and again for the first
    acme = table_models("bound-once", "us-east-1", ENDPOINT, credentials("ASIAACME"))
    globex = table_models("bound-once", "us-east-1", ENDPOINT, credentials("ASIAGLOBEX"))

    # Then: each tenant has classes of its own, and a repeated binding is the cached one
    assert table_models("bound-once", "us-east-1", ENDPOINT, credentials("ASIAACME")) is acme
    assert acme.asset is not globex.asset and acme.connection is not globex.connection
    assert acme.asset.Meta.aws_access_key_id == "ASIAACME"
    assert globex.asset.Meta.aws_access_key_id == "ASIAGLOBEX"


def test_bound_classes_are_the_declared_shapes_on_the_binding_table() -> None:
    one = table_models("first-table", "us-east-1", ENDPOINT)
    two = table_models("second-table", "us-east-1", ENDPOINT)

    assert issubclass(one.asset, AssetItem) and issubclass(one.asset, one.item)
    assert issubclass(two.link, LinkItem) and issubclass(two.link, two.item)
    assert (one.asset.Meta.table_name, two.asset.Meta.table_name) == ("first-table", "second-table")
    assert one.indexes["GSI3"].Meta.index_name == "GSI3"


def test_each_binding_reads_its_items_back_as_its_own_classes() -> None:
    # Given: two bindings (the discriminator of one must not know the other's classes)
    one = table_models("discriminated-1", "us-east-1", ENDPOINT)
    two = table_models("discriminated-2", "us-east-1", ENDPOINT)
    raw = one.asset(
        PK="T#acme#ASSET#a1", SK="META", version=1, kind="hardware", status="in_stock"
    ).serialize()

    # Then: the stored kind is the declared discriminator value, read back by either binding
    assert raw["entity"] == {"S": "asset"}
    assert type(one.item.from_raw_data(raw)) is one.asset
    assert type(two.item.from_raw_data(raw)) is two.asset
    assert Item.entity.get_discriminator(AssetItem) == "asset"
