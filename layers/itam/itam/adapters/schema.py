"""The single table's schema: every item class, its attributes and indexes, and the keys it is stored at.

The shapes are declared here once, as PynamoDB models; only their binding to a table (name, region,
endpoint, credentials) happens at runtime, in `table_models`.

Key layout (every key starts with the tenant prefix `T#<tenant>#`; the table's own items first):

    tenant       PK T#<t>#TENANT                   SK META       GSI1 TENANTS / <tenant> (the directory)
    unique guard PK T#<t>#UNIQUE#<field>#<value>   SK UNIQUE     (asset_tag, serial_number)
    idempotency  PK T#<t>#IDEMPOTENCY#<key digest> SK UNIQUE     (expires through the table's TTL)
    asset        PK T#<t>#ASSET#<id>               SK META
    history      PK T#<t>#ASSET#<id>               SK HIST#<version, 10 digits>
    assignment   PK T#<t>#ASSET#<id>               SK ASSIGN#<assignment id>
    maintenance  PK T#<t>#ASSET#<id>               SK MAINT#<record id>
    release      PK T#<t>#ASSET#<id>               SK RELEASE    GSI1 T#<t>#RELEASES / <id>
                 (the release of what the asset held when it left service: pending, or done lately;
                 a done one expires through the table's TTL)
    cover        PK T#<t>#ASSET#<id> or LICENSE#<id> SK CONTRACT#<contract id>   (what a contract covers)
    contract     PK T#<t>#CONTRACT#<id>            SK META / HIST#<version>   GSI1 T#<t>#CONTRACTS / <id>
    depreciation PK T#<t>#DEPRECIATION             SK PROFILE#<category, folded>   (a profile per category)

Sparse listing indexes on the asset item (sort key: the time-ordered asset id):
    GSI1 T#<t>#ASSETS, GSI2 ...#kind#<kind>, GSI3 ...#status#<s>, GSI4 ...#category#<c>,
    GSI5 ...#location#<l>, GSI6 ...#assigned_to#<user>

The rest of the layout (licenses, requests, inventory, procurement) is documented in the repository
that uses it; its keys are built here too.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, TypeVar, cast

from pynamodb.attributes import (
    BooleanAttribute,
    DiscriminatorAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.connection import Connection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from itam.adapters import sessions
from itam.adapters.credentials import Credentials
from itam.tenancy import TenantContext

# ---------------------------------------------------------------------- indexes
# (PynamoDB's Index.__init_subclass__ is untyped: hence the ignores.)


class GSI1(GlobalSecondaryIndex["Item"]):  # type: ignore[no-untyped-call]
    """Every listing's index: a tenant's assets, licenses, audits, webhooks, connectors, runs."""

    class Meta:
        index_name = "GSI1"
        projection = AllProjection()

    pk = UnicodeAttribute(hash_key=True, attr_name="GSI1PK")
    sk = UnicodeAttribute(range_key=True, attr_name="GSI1SK")


class GSI2(GlobalSecondaryIndex["Item"]):  # type: ignore[no-untyped-call]
    """Assets by kind, licenses by product, installations in audit order, enabled connectors."""

    class Meta:
        index_name = "GSI2"
        projection = AllProjection()

    pk = UnicodeAttribute(hash_key=True, attr_name="GSI2PK")
    sk = UnicodeAttribute(range_key=True, attr_name="GSI2SK")


class GSI3(GlobalSecondaryIndex["Item"]):  # type: ignore[no-untyped-call]
    """Assets by status, a tenant's seats, requests by requester."""

    class Meta:
        index_name = "GSI3"
        projection = AllProjection()

    pk = UnicodeAttribute(hash_key=True, attr_name="GSI3PK")
    sk = UnicodeAttribute(range_key=True, attr_name="GSI3SK")


class GSI4(GlobalSecondaryIndex["Item"]):  # type: ignore[no-untyped-call]
    """Assets by category, requests by the person they are for."""

    class Meta:
        index_name = "GSI4"
        projection = AllProjection()

    pk = UnicodeAttribute(hash_key=True, attr_name="GSI4PK")
    sk = UnicodeAttribute(range_key=True, attr_name="GSI4SK")


class GSI5(GlobalSecondaryIndex["Item"]):  # type: ignore[no-untyped-call]
    """Assets by location."""

    class Meta:
        index_name = "GSI5"
        projection = AllProjection()

    pk = UnicodeAttribute(hash_key=True, attr_name="GSI5PK")
    sk = UnicodeAttribute(range_key=True, attr_name="GSI5SK")


class GSI6(GlobalSecondaryIndex["Item"]):  # type: ignore[no-untyped-call]
    """Assets by the person they are assigned to."""

    class Meta:
        index_name = "GSI6"
        projection = AllProjection()

    pk = UnicodeAttribute(hash_key=True, attr_name="GSI6PK")
    sk = UnicodeAttribute(range_key=True, attr_name="GSI6SK")


# ---------------------------------------------------------------------- items


class Item(Model):
    """What every item has: its keys, its kind (`entity`), its document and its index keys."""

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)
    entity = DiscriminatorAttribute()
    doc = UnicodeAttribute(null=True)
    GSI1PK = UnicodeAttribute(null=True)
    GSI1SK = UnicodeAttribute(null=True)
    GSI2PK = UnicodeAttribute(null=True)
    GSI2SK = UnicodeAttribute(null=True)
    GSI3PK = UnicodeAttribute(null=True)
    GSI3SK = UnicodeAttribute(null=True)
    GSI4PK = UnicodeAttribute(null=True)
    GSI4SK = UnicodeAttribute(null=True)
    GSI5PK = UnicodeAttribute(null=True)
    GSI5SK = UnicodeAttribute(null=True)
    GSI6PK = UnicodeAttribute(null=True)
    GSI6SK = UnicodeAttribute(null=True)
    gsi1 = GSI1()
    gsi2 = GSI2()
    gsi3 = GSI3()
    gsi4 = GSI4()
    gsi5 = GSI5()
    gsi6 = GSI6()


class AssetItem(Item, discriminator="asset"):
    """An asset: its document, and the attributes its listings filter on."""

    version = NumberAttribute()
    kind = UnicodeAttribute()
    status = UnicodeAttribute()
    category = UnicodeAttribute(null=True)
    location = UnicodeAttribute(null=True)
    assigned_to = UnicodeAttribute(null=True)
    tags = MapAttribute[str, Any](default=dict)  # type: ignore[no-untyped-call]
    # Discovered assets: list filters (FilterExpression) on what the inventory sync keeps.
    connector_id = UnicodeAttribute(null=True)
    discovery_state = UnicodeAttribute(null=True)


class HistoryItem(Item, discriminator="history"):
    """An immutable history event (of an asset, a license, a request or the approval policy)."""


class GuardItem(Item, discriminator="guard"):
    """A key held by one owner: unique values, Idempotency-Keys, seat guards, leases, publications."""

    owner_id = UnicodeAttribute()
    request_digest = UnicodeAttribute(null=True)
    # The table's TTL attribute: DynamoDB deletes expired idempotency guards by itself.
    expires_at = NumberAttribute(null=True)


class RecordItem(Item, discriminator="record"):
    """A document without a version: assignments, maintenance, seats, installations, runs, deliveries."""

    returned = UnicodeAttribute(null=True)
    # The table's TTL attribute: a release record done a while ago goes by itself.
    expires_at = NumberAttribute(null=True)


class LicenseItem(Item, discriminator="license"):
    """A license: its document, its seat counters and the attributes its listings filter on."""

    version = NumberAttribute()
    quantity = NumberAttribute()
    # Seats assigned now and at most: counters kept by seat transactions, not by the document.
    assigned = NumberAttribute(default=0)
    peak_assigned = NumberAttribute(default=0)
    allow_over = BooleanAttribute(default=False)
    # Listing filters (FilterExpression): the document itself is opaque to DynamoDB.
    metric = UnicodeAttribute(null=True)
    vendor_key = UnicodeAttribute(null=True)
    end_date = UnicodeAttribute(null=True)


class TenantItem(Item, discriminator="tenant"):
    """The tenant's directory entry and the versions of its normalization rules."""

    rules_version = NumberAttribute(null=True)
    normalized_version = NumberAttribute(null=True)


class AuditItem(Item, discriminator="audit"):
    """An audit report: its document, status and the run that owns it."""

    status = UnicodeAttribute(null=True)
    run = UnicodeAttribute(null=True)


class FindingItem(Item, discriminator="finding"):
    """One finding of an audit run."""

    run = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)


class VersionedItem(Item, discriminator="versioned"):
    """A document with a version (webhook endpoints, connectors, purchase-order state)."""

    version = NumberAttribute()


class RequestItem(Item, discriminator="asset_request"):
    """A request: its document, its filter attributes (people folded) and a fulfilment's lease."""

    version = NumberAttribute()
    status = UnicodeAttribute()
    requested_by = UnicodeAttribute()
    requested_for = UnicodeAttribute()
    lease = UnicodeAttribute(null=True)
    lease_until = NumberAttribute(null=True)


class ApprovalPolicyItem(Item, discriminator="approval_policy"):
    """The tenant's approval policy."""

    version = NumberAttribute()


class ContractItem(Item, discriminator="contract"):
    """A contract: its document and the attributes its listing filters on."""

    version = NumberAttribute()
    type = UnicodeAttribute()
    vendor_key = UnicodeAttribute()
    end_date = UnicodeAttribute(null=True)


class LinkItem(Item, discriminator="link"):
    """What reconciliation keeps of one external resource: the start of its content hash (`h`), its
    consecutive misses (`m`), whether it was retired (`r`), its scope (`s`) and its key (`k`)."""

    h = UnicodeAttribute()
    m = NumberAttribute(default=0)
    r = BooleanAttribute(default=False)
    s = UnicodeAttribute(default="")
    k = UnicodeAttribute(null=True)


# ---------------------------------------------------------------------- keys

TENANT_DIRECTORY = "TENANTS"
CONNECTOR_DIRECTORY = "CONNECTORS"


def tenant_pk(ctx: TenantContext) -> str:
    """The tenant item's partition."""
    return f"{ctx.key_prefix}TENANT"


def asset_pk(ctx: TenantContext, asset_id: str) -> str:
    """The partition of an asset and of what belongs to it (history, records, installations)."""
    return f"{ctx.key_prefix}ASSET#{asset_id}"


def asset_listing_pk(ctx: TenantContext, name: str | None = None, value: object = None) -> str:
    """Partition key of an asset listing index: all the tenant's assets, or those with `name` = `value`."""
    base = f"{ctx.key_prefix}ASSETS"
    return base if name is None else f"{base}#{name}#{value}"


def releases_pk(ctx: TenantContext) -> str:
    """The GSI1 partition of the tenant's release records (assets that left service: what they held
    not yet all released, or released lately)."""
    return f"{ctx.key_prefix}RELEASES"


def unique_form(value: str | None) -> str | None:
    """The form a unique value is compared in: Unicode-normalised, trimmed, case-folded."""
    return None if value is None else unicodedata.normalize("NFKC", value).strip().casefold()


def unique_pk(ctx: TenantContext, field: str, value: str) -> str:
    """The guard of a unique value: "LT-001" and "lt-001 " are one tag."""
    return f"{ctx.key_prefix}UNIQUE#{field}#{unique_form(value)}"


def idempotency_pk(ctx: TenantContext, key_digest: str) -> str:
    """The guard of an Idempotency-Key."""
    return f"{ctx.key_prefix}IDEMPOTENCY#{key_digest}"


def license_pk(ctx: TenantContext, license_id: str) -> str:
    """The partition of a license, its history and its seats."""
    return f"{ctx.key_prefix}LICENSE#{license_id}"


def license_listing_pk(ctx: TenantContext, product_key: str | None = None) -> str:
    """Partition key of a license listing index: all the tenant's licenses, or one product's."""
    base = f"{ctx.key_prefix}LICENSES"
    return base if product_key is None else f"{base}#{product_key}"


def seats_pk(ctx: TenantContext) -> str:
    """The GSI3 partition of the tenant's seats."""
    return f"{ctx.key_prefix}SEATS"


def rules_pk(ctx: TenantContext) -> str:
    """The partition of the tenant's normalization rules."""
    return f"{ctx.key_prefix}RULES"


def audit_listing_pk(ctx: TenantContext) -> str:
    """The GSI1 partition of the tenant's audit reports."""
    return f"{ctx.key_prefix}AUDITS"


def published_pk(ctx: TenantContext, day: date, fingerprint: str) -> str:
    """The marker of a finding published on `day` (expires through the table's TTL)."""
    return f"{ctx.key_prefix}PUBLISHED#{day.isoformat()}#{fingerprint}"


def audit_pk(ctx: TenantContext, audit_id: str) -> str:
    """The partition of an audit report and its findings."""
    return f"{ctx.key_prefix}AUDIT#{audit_id}"


def installs_pk(ctx: TenantContext) -> str:
    """The GSI2 partition of the tenant's installations, in the audit's order."""
    return f"{ctx.key_prefix}INSTALLS"


def request_pk(ctx: TenantContext, request_id: str) -> str:
    """The partition of a request and its history."""
    return f"{ctx.key_prefix}REQUEST#{request_id}"


def request_listing_pk(ctx: TenantContext, name: str | None = None, value: str | None = None) -> str:
    """Partition key of a request listing index: all the tenant's requests, or those with `name` = `value`."""
    base = f"{ctx.key_prefix}REQUESTS"
    return base if name is None else f"{base}#{name}#{value}"


def policy_pk(ctx: TenantContext) -> str:
    """The partition of the approval policy and its history."""
    return f"{ctx.key_prefix}APPROVAL_POLICY"


def depreciation_pk(ctx: TenantContext) -> str:
    """The partition of the tenant's depreciation profiles (SK PROFILE#<category, folded>)."""
    return f"{ctx.key_prefix}DEPRECIATION"


def profile_sk(category: str) -> str:
    """A depreciation profile's sort key: "Laptops" and "laptops " are one category."""
    return f"PROFILE#{unique_form(category)}"


def contract_pk(ctx: TenantContext, contract_id: str) -> str:
    """The partition of a contract and its history."""
    return f"{ctx.key_prefix}CONTRACT#{contract_id}"


def contract_listing_pk(ctx: TenantContext) -> str:
    """The GSI1 partition of the tenant's contracts."""
    return f"{ctx.key_prefix}CONTRACTS"


def cover_sk(contract_id: str) -> str:
    """The key, in a covered asset's or license's partition, that says which contract covers it."""
    return f"CONTRACT#{contract_id}"


def connector_pk(ctx: TenantContext, connector_id: str) -> str:
    """The partition of a connector, its lease and its links."""
    return f"{ctx.key_prefix}CONN#{connector_id}"


def connector_listing_pk(ctx: TenantContext) -> str:
    """The GSI1 partition of the tenant's connectors."""
    return f"{ctx.key_prefix}CONNECTORS"


def run_pk(ctx: TenantContext, run_id: str) -> str:
    """The partition of a sync run."""
    return f"{ctx.key_prefix}RUN#{run_id}"


def run_listing_pk(ctx: TenantContext, connector_id: str) -> str:
    """The GSI1 partition of a connector's sync runs."""
    return f"{connector_pk(ctx, connector_id)}#RUNS"


def inventory_pk(ctx: TenantContext) -> str:
    """The partition of the tenant's inventory settings (its external id)."""
    return f"{ctx.key_prefix}INVENTORY"


def endpoint_pk(ctx: TenantContext, endpoint_id: str) -> str:
    """The partition of a webhook endpoint and its deliveries."""
    return f"{ctx.key_prefix}WEBHOOK#{endpoint_id}"


def endpoint_listing_pk(ctx: TenantContext) -> str:
    """The GSI1 partition of the tenant's webhook endpoints."""
    return f"{ctx.key_prefix}WEBHOOKS"


def delivery_listing_pk(ctx: TenantContext, endpoint_id: str) -> str:
    """The GSI1 partition of an endpoint's deliveries."""
    return f"{endpoint_pk(ctx, endpoint_id)}#DELIVERIES"


def delivery_sk(delivery_id: str) -> str:
    """A delivery's sort key: a digest of its webhook-id, which the sender chooses."""
    return "DELIVERY#" + hashlib.sha256(delivery_id.encode()).hexdigest()[:32]


def purchase_order_pk(ctx: TenantContext, po_number: str) -> str:
    """The partition of a purchase order's state."""
    return f"{ctx.key_prefix}PO#{po_number}"


# ---------------------------------------------------------------------- binding

E = TypeVar("E", bound=Item)


@dataclass(frozen=True)
class TableModels:
    """The item classes bound to one table, endpoint, region and credentials."""

    item: type[Item]
    asset: type[AssetItem]
    history: type[HistoryItem]
    guard: type[GuardItem]
    record: type[RecordItem]
    license: type[LicenseItem]
    tenant: type[TenantItem]
    report: type[AuditItem]
    finding: type[FindingItem]
    versioned: type[VersionedItem]
    request: type[RequestItem]
    policy: type[ApprovalPolicyItem]
    link: type[LinkItem]
    contract: type[ContractItem]
    # PynamoDB binds a copy of each index to the model class: query through those copies.
    indexes: dict[str, GlobalSecondaryIndex[Item]]
    connection: Connection


def _bind(shape: type[E], item: type[Item]) -> type[E]:
    """`shape` on the bound `item` class, registered under the shape's own discriminator value."""
    value = Item.entity.get_discriminator(shape)
    namespace = {"__module__": __name__, "__qualname__": shape.__qualname__}
    return cast(type[E], type(shape.__name__, (shape, item), namespace, discriminator=value))


# With per-tenant credentials each entry holds a botocore client: a few MB, so keep the busiest tenants.
@lru_cache(maxsize=16)
def table_models(
    table_name: str, region: str, host: str | None, credentials: Credentials | None = None
) -> TableModels:
    """The item classes bound to `table_name` — cached per (table, region, endpoint, credentials), never
    per class alone: with per-tenant credentials each tenant gets its own classes and client."""
    meta: dict[str, object] = {
        "table_name": table_name,
        "region": region,
        "host": host,
        # Fail a stuck call well within the function's 10 s timeout, so the caller gets an answer.
        "connect_timeout_seconds": 2,
        "read_timeout_seconds": 4,
        "max_retry_attempts": 2,
    }
    if credentials is not None:
        meta["aws_access_key_id"] = credentials.access_key
        meta["aws_secret_access_key"] = credentials.secret_key
        meta["aws_session_token"] = credentials.session_token
    # A discriminator attribute maps each value to one class: every binding needs one of its own, on
    # which its classes register (subclassing the declared classes alone would register them twice).
    namespace = {"__module__": __name__, "Meta": type("Meta", (), meta), "entity": DiscriminatorAttribute()}
    item = cast(type[Item], type("Item", (Item,), namespace))
    # Transactions use the models' own connection: one botocore client per tenant, not two (each costs
    # tens of milliseconds of a cold start to build).
    connection = item._get_connection().connection
    # PynamoDB makes a botocore session of its own on first use; handing it the process's shared one
    # instead (see itam.adapters.sessions) saves setting up a second session and reading botocore's
    # data again. It signs with the same credentials as Meta above, which PynamoDB would use anyway
    # in another thread.
    connection._local.session = (
        sessions.SigningAs(credentials.access_key, credentials.secret_key, credentials.session_token)
        if credentials is not None
        else sessions.SigningAs()
    )
    indexes = (item.gsi1, item.gsi2, item.gsi3, item.gsi4, item.gsi5, item.gsi6)
    return TableModels(
        item=item,
        asset=_bind(AssetItem, item),
        history=_bind(HistoryItem, item),
        guard=_bind(GuardItem, item),
        record=_bind(RecordItem, item),
        license=_bind(LicenseItem, item),
        tenant=_bind(TenantItem, item),
        report=_bind(AuditItem, item),
        finding=_bind(FindingItem, item),
        versioned=_bind(VersionedItem, item),
        request=_bind(RequestItem, item),
        policy=_bind(ApprovalPolicyItem, item),
        link=_bind(LinkItem, item),
        contract=_bind(ContractItem, item),
        indexes={index.Meta.index_name: index for index in indexes},
        connection=connection,
    )
