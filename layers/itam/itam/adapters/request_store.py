"""Requests, their history and the approval policy on the single table.

Key layout (every key starts with the tenant prefix `T#<tenant>#`):

    request          PK T#<t>#REQUEST#<id>       SK META   GSI1 T#<t>#REQUESTS / <id>
                                                           GSI2 T#<t>#REQUESTS#status#<status> / <id>
                                                           GSI3 T#<t>#REQUESTS#requested_by#<user> / <id>
                                                           GSI4 T#<t>#REQUESTS#requested_for#<user> / <id>
    its history      PK T#<t>#REQUEST#<id>       SK HIST#<version, 10 digits>
    approval policy  PK T#<t>#APPROVAL_POLICY    SK META
    its history      PK T#<t>#APPROVAL_POLICY    SK HIST#<version, 10 digits>

The request item keeps `status`, `requested_by` and `requested_for` (people in their folded form: the
requester's id, the recipient's id or, for a recipient who is no user, the name given) as native
attributes for filter expressions, and a fulfilment's lease (`lease`, `lease_until`) beside
the document: the lease is not part of the request's state and does not change its version.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pynamodb.expressions.condition import Condition

from itam.adapters import cursors
from itam.adapters.schema import (
    Item,
    RequestItem,
    TableModels,
    policy_pk,
    request_listing_pk,
    request_pk,
)
from itam.adapters.table import (
    Transaction,
    bind_idempotency_key,
    children_page,
    idempotency_record,
    query_page,
    register_tenant,
)
from itam.errors import StaleVersion
from itam.idempotency import IdempotencyClaim, IdempotencyRecord
from itam.pagination import Page, PageRequest
from itam.requests.models import ApprovalPolicy, PolicyEvent, Request, RequestEvent, RequestFilter
from itam.requests.ports import Lease, StoredRequest
from itam.requests.workflow import fold
from itam.tenancy import TenantContext

T = TypeVar("T")

# Listing filters in the order an index is chosen for them (most selective first); GSI1 lists all.
INDEXED_FILTERS = (("requested_for", "GSI4"), ("requested_by", "GSI3"), ("status", "GSI2"))


class DynamoRequestRepository:
    """RequestRepository on one DynamoDB table, with the table models of each caller's tenant."""

    def __init__(self, models_for: Callable[[TenantContext], TableModels]) -> None:
        self._models_for = models_for

    # ------------------------------------------------------------------ requests
    def create(
        self, ctx: TenantContext, request: Request, event: RequestEvent, claim: IdempotencyClaim | None = None
    ) -> None:
        m = self._models_for(ctx)
        tx = Transaction(m.connection)
        # The Idempotency-Key's guard first: a replay is recognised as such, not as a taken id.
        bind_idempotency_key(m, ctx, tx, claim, request.id, int(event.at.timestamp()))
        tx.save(self._item(ctx, m, request, None), m.item.PK.does_not_exist(), StaleVersion)
        self._history(ctx, m, tx, event)
        register_tenant(m, ctx, tx)
        tx.commit()

    def idempotency_record(self, ctx: TenantContext, key_digest: str, now: int) -> IdempotencyRecord | None:
        return idempotency_record(self._models_for(ctx), ctx, key_digest, now)

    def get(self, ctx: TenantContext, request_id: str) -> StoredRequest | None:
        r = self._models_for(ctx).request
        try:
            # Strongly consistent: decisions compare against the latest version and lease.
            item = r.get(request_pk(ctx, request_id), "META", consistent_read=True)
        except r.DoesNotExist:
            return None
        until = int(item.lease_until) if item.lease_until is not None else None
        return StoredRequest(Request.model_validate_json(item.doc), until)

    def list(self, ctx: TenantContext, filters: RequestFilter, page: PageRequest) -> Page[Request]:
        m = self._models_for(ctx)
        r = m.request
        index_name, hash_key = _listing_index(ctx, filters)
        condition: Condition | None = None
        for name, _ in INDEXED_FILTERS:
            value = getattr(filters, name)
            if value is None or hash_key == request_listing_pk(ctx, name, _indexed(name, value)):
                continue
            match = getattr(r, name) == _indexed(name, value)
            condition = match if condition is None else condition & match
        return query_page(
            m,
            m.indexes[index_name].query,
            hash_key,
            index_name,
            _listing_scope(ctx, filters),
            page,
            lambda item: Request.model_validate_json(item.doc),
            pk_prefix=request_pk(ctx, ""),
            filter_condition=condition,
            scan_index_forward=False,
        )

    def cursor_after(self, ctx: TenantContext, filters: RequestFilter, request_id: str) -> str:
        # A listing's item keys: the table's, and the index's (its partition; the request id).
        index_name, hash_key = _listing_index(ctx, filters)
        key = {
            "PK": request_pk(ctx, request_id),
            "SK": "META",
            f"{index_name}PK": hash_key,
            f"{index_name}SK": request_id,
        }
        return cursors.seal(key, _listing_scope(ctx, filters))

    def history(self, ctx: TenantContext, request_id: str, page: PageRequest) -> Page[RequestEvent]:
        return self._children(
            ctx, request_pk(ctx, request_id), page, lambda item: RequestEvent.model_validate_json(item.doc)
        )

    def update(
        self,
        ctx: TenantContext,
        previous: Request,
        current: Request,
        event: RequestEvent,
        now: int,
        lease: Lease | None = None,
        keep_lease: bool = False,
    ) -> None:
        m = self._models_for(ctx)
        r = m.request
        condition = r.version == previous.version
        if lease is not None:
            condition &= r.lease == lease.token
        else:
            condition &= r.lease_until.does_not_exist() | (r.lease_until < now)
        tx = Transaction(m.connection)
        # A put: the item is replaced whole, so a lease not kept is gone with the write.
        tx.save(self._item(ctx, m, current, lease if keep_lease else None), condition, StaleVersion)
        self._history(ctx, m, tx, event)
        tx.commit()

    def take_lease(self, ctx: TenantContext, request: Request, lease: Lease, now: int) -> bool:
        r = self._models_for(ctx).request
        item = r(PK=request_pk(ctx, request.id), SK="META")
        free = r.lease_until.does_not_exist() | (r.lease_until < now)
        # Or held with this very lease: a retry of this update, whose first attempt landed and whose
        # answer was lost, is the success it was (a lease token is made for one fulfilment).
        free |= r.lease == lease.token
        try:
            item.update(
                actions=[r.lease.set(lease.token), r.lease_until.set(lease.until)],
                condition=(r.version == request.version) & free,
            )
        except Exception as error:
            code = getattr(error, "cause_response_code", None)
            if code in ("ConditionalCheckFailedException", "TransactionConflictException"):
                return False
            raise
        return True

    def release_lease(self, ctx: TenantContext, request_id: str, lease: Lease) -> None:
        r = self._models_for(ctx).request
        item = r(PK=request_pk(ctx, request_id), SK="META")
        try:
            item.update(actions=[r.lease.remove(), r.lease_until.remove()], condition=r.lease == lease.token)
        except Exception as error:
            if getattr(error, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise

    # ------------------------------------------------------------------ approval policy
    def get_policy(self, ctx: TenantContext) -> ApprovalPolicy | None:
        p = self._models_for(ctx).policy
        try:
            item = p.get(policy_pk(ctx), "META", consistent_read=True)
        except p.DoesNotExist:
            return None
        return ApprovalPolicy.model_validate_json(item.doc)

    def put_policy(
        self, ctx: TenantContext, previous_version: int, policy: ApprovalPolicy, event: PolicyEvent
    ) -> None:
        m = self._models_for(ctx)
        p = m.policy
        item = p(PK=policy_pk(ctx), SK="META", doc=policy.model_dump_json(), version=policy.version)
        condition = m.item.PK.does_not_exist() if previous_version == 0 else p.version == previous_version
        tx = Transaction(m.connection)
        tx.save(item, condition, StaleVersion)
        history = m.history(PK=policy_pk(ctx), SK=f"HIST#{event.version:010d}", doc=event.model_dump_json())
        tx.save(history, m.item.PK.does_not_exist(), StaleVersion)
        tx.commit()

    def policy_history(self, ctx: TenantContext, page: PageRequest) -> Page[PolicyEvent]:
        return self._children(
            ctx, policy_pk(ctx), page, lambda item: PolicyEvent.model_validate_json(item.doc)
        )

    # ------------------------------------------------------------------ internals
    def _item(self, ctx: TenantContext, m: TableModels, request: Request, lease: Lease | None) -> RequestItem:
        by, for_ = fold(request.requested_by), fold(request.requested_for_id or request.requested_for)
        return m.request(
            PK=request_pk(ctx, request.id),
            SK="META",
            doc=request.model_dump_json(),
            version=request.version,
            status=request.status.value,
            requested_by=by,
            requested_for=for_,
            lease=lease.token if lease is not None else None,
            lease_until=lease.until if lease is not None else None,
            GSI1PK=request_listing_pk(ctx),
            GSI1SK=request.id,
            GSI2PK=request_listing_pk(ctx, "status", request.status.value),
            GSI2SK=request.id,
            GSI3PK=request_listing_pk(ctx, "requested_by", by),
            GSI3SK=request.id,
            GSI4PK=request_listing_pk(ctx, "requested_for", for_),
            GSI4SK=request.id,
        )

    @staticmethod
    def _history(ctx: TenantContext, m: TableModels, tx: Transaction, event: RequestEvent) -> None:
        item = m.history(
            PK=request_pk(ctx, event.request_id),
            SK=f"HIST#{event.version:010d}",
            doc=event.model_dump_json(),
        )
        # History keys are versions: a taken key means another writer produced this version first.
        tx.save(item, m.item.PK.does_not_exist(), StaleVersion)

    def _children(
        self, ctx: TenantContext, pk: str, page: PageRequest, convert: Callable[[Item], T]
    ) -> Page[T]:
        scope = f"{ctx.tenant_id}|{pk}|HIST#"
        return children_page(self._models_for(ctx), scope, pk, "HIST#", page, convert)


def _indexed(name: str, value: Any) -> str:
    """A filter's value as the listing indexes hold it: the status itself, people case-folded."""
    return str(value.value) if name == "status" else fold(value)


def _listing_index(ctx: TenantContext, filters: RequestFilter) -> tuple[str, str]:
    """The index a listing queries and its partition: the first filter's (most selective first),
    or GSI1, which lists every request."""
    for name, index in INDEXED_FILTERS:
        value = getattr(filters, name)
        if value is not None:
            return index, request_listing_pk(ctx, name, _indexed(name, value))
    return "GSI1", request_listing_pk(ctx)


def _listing_scope(ctx: TenantContext, filters: RequestFilter) -> str:
    """What a listing's cursors are bound to."""
    return f"{ctx.tenant_id}|requests|{filters.model_dump_json()}"
