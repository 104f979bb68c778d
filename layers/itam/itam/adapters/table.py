"""What every repository on the single table shares: transactions whose failed conditions become domain
errors, one-call query pages with tenant-checked cursors, versioned documents, the tenant directory
and Idempotency-Keys."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from pynamodb.connection import Connection
from pynamodb.exceptions import QueryError, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.pagination import ResultIterator
from pynamodb.transactions import TransactWrite

from itam.adapters import cursors
from itam.adapters.schema import (
    TENANT_DIRECTORY,
    Item,
    TableModels,
    VersionedItem,
    idempotency_pk,
    tenant_pk,
)
from itam.errors import InvalidCursor, KeyAlreadyUsed, StaleVersion, WriteConflict
from itam.idempotency import IdempotencyClaim, IdempotencyRecord
from itam.pagination import MAX_PAGE_SIZE, Page, PageRequest
from itam.tenancy import TenantContext

T = TypeVar("T")


class Transaction:
    """One TransactWriteItems call whose failed conditions become domain errors, action by action.

    Each transaction carries a ClientRequestToken of its own, made with it (a random UUID, the 36
    characters DynamoDB allows). When an attempt's answer is lost (a read timeout, a dropped
    connection) after DynamoDB committed it, botocore sends the same request, token included, again;
    DynamoDB answers that as the success it was, without writing again, for 10 minutes after the
    commit. Without a token the retry would fail its own conditions (the item it created exists, the
    version it checked has moved on). botocore would make up a token for a call that has none (the
    parameter is modelled as an idempotency token); the product sets its own so that the guarantee
    is its own, not a detail of the SDK. One token per transaction, never per request or
    Idempotency-Key: two operations never share a token, so an identical second operation is applied,
    not taken for a retry (a client's own retry is recognised by its Idempotency-Key's guard item).
    See docs/adr/0012-transaction-tokens.md.
    """

    def __init__(self, connection: Connection) -> None:
        self.token = str(uuid.uuid4())
        self._tx = TransactWrite(connection=connection, client_request_token=self.token)
        # PynamoDB sends condition checks, then deletes, then puts, then updates: keep the failure of
        # each action in that order.
        self._checks: list[Callable[[], Exception]] = []
        self._deletes: list[Callable[[], Exception]] = []
        self._puts: list[Callable[[], Exception]] = []
        self._updates: list[Callable[[], Exception]] = []

    def check(
        self,
        model: type[Model],
        key: tuple[str, str],
        condition: Condition,
        on_fail: Callable[[], Exception],
    ) -> None:
        """Write only if `condition` holds on the item at `key` (hash, range), which is not written;
        `on_fail()` is raised if it does not."""
        self._tx.condition_check(model, key[0], key[1], condition=condition)
        self._checks.append(on_fail)

    def save(self, item: Model, condition: Condition, on_fail: Callable[[], Exception]) -> None:
        """Put `item` if `condition` holds; `on_fail()` is raised if it does not."""
        self._tx.save(item, condition=condition)
        self._puts.append(on_fail)

    def update(
        self,
        item: Model,
        actions: list[Action],
        condition: Condition | None,
        on_fail: Callable[[], Exception],
    ) -> None:
        """Apply `actions` to `item` if `condition` holds; `on_fail()` is raised if it does not."""
        self._tx.update(item, actions=actions, condition=condition)
        self._updates.append(on_fail)

    def delete(self, item: Model, condition: Condition, on_fail: Callable[[], Exception]) -> None:
        """Delete `item` if `condition` holds; `on_fail()` is raised if it does not."""
        self._tx.delete(item, condition=condition)
        self._deletes.append(on_fail)

    def commit(self) -> None:
        """Send the transaction: WriteConflict if it met another, else the first failed action's error."""
        try:
            with self._tx:
                pass
        except TransactWriteError as error:
            if error.cause_response_code != "TransactionCanceledException":
                raise
            codes = [reason.code if reason is not None else None for reason in error.cancellation_reasons]
            if "TransactionConflict" in codes:
                raise WriteConflict() from error
            failures = self._checks + self._deletes + self._puts + self._updates
            for on_fail, code in zip(failures, codes, strict=False):
                if code == "ConditionalCheckFailed":
                    raise on_fail() from error
            raise


def conditional_check_failed(error: Exception) -> bool:
    """Whether a single-item write failed on its condition."""
    return getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException"


def put_new(item: Item) -> None:
    """Put `item`, whose key is new to this operation (it holds an id made for it), if no item has
    that key yet.

    DynamoDB has no token for a single-item write: when the answer of a put that landed is lost,
    botocore's retry finds the item there and fails its condition. An item stored exactly as sent is
    that first attempt, and the put a success; any other item with the key is the error it was.
    """
    model = type(item)
    try:
        item.save(condition=model.PK.does_not_exist())
    except Exception as error:
        if not conditional_check_failed(error):
            raise
        try:
            stored = model.get(item.PK, item.SK, consistent_read=True)
        except model.DoesNotExist:
            raise error from None
        if stored.serialize() != item.serialize():
            raise


def query_page(
    models: TableModels,
    query: Callable[..., ResultIterator[Item]],
    hash_key: str,
    index_name: str | None,
    scope: str,
    page: PageRequest,
    convert: Callable[[Item], T],
    pk_prefix: str | None = None,
    **kwargs: Any,
) -> Page[T]:
    """Exactly one Query call: one page of at most `page.limit` items and the cursor after it.

    A cursor is taken only if it holds exactly the key attributes of this query, in its
    partition and in the caller's tenant (`pk_prefix`, or the partition itself): e.g.
    `asset_pk(ctx, "")`, which every asset partition of the tenant starts with.
    """
    start = None
    if page.cursor is not None:
        key = cursors.unseal(page.cursor, scope)
        names = {"PK", "SK"} | ({f"{index_name}PK", f"{index_name}SK"} if index_name else set())
        hash_attr = f"{index_name}PK" if index_name else "PK"
        in_partition = key.get(hash_attr) == hash_key and key.get("PK", "").startswith(pk_prefix or hash_key)
        if set(key) != names or not in_partition:
            raise InvalidCursor()
        start = {name: {"S": value} for name, value in key.items()}
    limit = max(1, min(page.limit, MAX_PAGE_SIZE))
    results = query(hash_key, page_size=limit, last_evaluated_key=start, **kwargs)
    try:
        raw = next(results.page_iter)
    except QueryError as error:
        if start is not None and error.cause_response_code == "ValidationException":
            raise InvalidCursor() from error  # a well-formed cursor DynamoDB still refuses
        raise
    items = [convert(models.item.from_raw_data(data)) for data in raw.get("Items", [])]
    last = raw.get("LastEvaluatedKey")
    cursor = cursors.seal({k: v["S"] for k, v in last.items()}, scope) if last else None
    return Page(items=items, next_cursor=cursor)


def children_page(
    models: TableModels, scope: str, pk: str, prefix: str, page: PageRequest, convert: Callable[[Item], T]
) -> Page[T]:
    """One page, oldest first and strongly consistent, of the items in partition `pk` whose sort key
    starts with `prefix` (an asset's history, a license's seats...)."""
    return query_page(
        models,
        models.item.query,
        pk,
        None,
        scope,
        page,
        convert,
        range_key_condition=models.item.SK.startswith(prefix),
        scan_index_forward=True,
        consistent_read=True,
    )


def listing_page(
    models: TableModels,
    partition: str,
    scope: str,
    page: PageRequest,
    convert: Callable[[str], T],
    pk_prefix: str,
) -> Page[T]:
    """One page, newest first, of the documents listed in a GSI1 partition of the tenant."""
    return query_page(
        models,
        models.indexes["GSI1"].query,
        partition,
        "GSI1",
        scope,
        page,
        lambda item: convert(item.doc),
        pk_prefix=pk_prefix,
        scan_index_forward=False,
    )


def document(model: type[Item], pk: str, convert: Callable[[str], T], sk: str = "META") -> T | None:
    """One item's document, read strongly consistent, or None when it does not exist."""
    try:
        item = model.get(pk, sk, consistent_read=True)
    except model.DoesNotExist:
        return None
    return convert(item.doc)


def register_tenant(m: TableModels, ctx: TenantContext, tx: Transaction) -> None:
    """Enter the tenant in the tenant directory (one GSI1 partition the audit schedule reads), in the
    transaction of a create. Idempotent, and it keeps the tenant item's other attributes."""
    item = m.tenant(PK=tenant_pk(ctx), SK="META")
    actions: list[Action] = [
        m.tenant.entity.set(m.tenant),
        m.tenant.GSI1PK.set(TENANT_DIRECTORY),
        m.tenant.GSI1SK.set(ctx.tenant_id),
    ]
    tx.update(item, actions, None, WriteConflict)


def save_versioned(
    m: TableModels,
    ctx: TenantContext,
    item: VersionedItem,
    expected_version: int | None,
    claim: IdempotencyClaim | None = None,
    owner_id: str = "",
    now: int = 0,
) -> None:
    """Create a versioned document (expected_version None; the tenant enters the directory in the
    same transaction, and `claim`'s key is bound to `owner_id`, free if bound until before `now`) or
    replace it if its stored version is still `expected_version`; StaleVersion otherwise."""
    tx = Transaction(m.connection)
    if expected_version is None:
        bind_idempotency_key(m, ctx, tx, claim, owner_id, now)
        tx.save(item, m.item.PK.does_not_exist(), StaleVersion)
        register_tenant(m, ctx, tx)
    else:
        tx.save(item, m.versioned.version == expected_version, StaleVersion)
    tx.commit()


def bind_idempotency_key(
    m: TableModels,
    ctx: TenantContext,
    tx: Transaction,
    claim: IdempotencyClaim | None,
    owner_id: str,
    now: int,
) -> None:
    """Add the Idempotency-Key's guard to `tx`: KeyAlreadyUsed if the key is bound already. The guard
    names what the create makes (`owner_id`) and the request's digest; one bound until before `now`
    has expired and counts as free (DynamoDB's TTL deletes it in time)."""
    if claim is None:
        return
    guard = m.guard(
        PK=idempotency_pk(ctx, claim.key_digest),
        SK="UNIQUE",
        owner_id=owner_id,
        request_digest=claim.request_digest,
        expires_at=claim.expires_at,
    )
    tx.save(guard, m.item.PK.does_not_exist() | (m.guard.expires_at < now), KeyAlreadyUsed)


def idempotency_record(
    m: TableModels, ctx: TenantContext, key_digest: str, now: int
) -> IdempotencyRecord | None:
    """What the key is bound to (read strongly consistent), unless nothing is or the binding expired
    before `now`."""
    try:
        guard = m.guard.get(idempotency_pk(ctx, key_digest), "UNIQUE", consistent_read=True)
    except m.guard.DoesNotExist:
        return None
    if guard.expires_at is None or guard.expires_at < now:
        return None
    return IdempotencyRecord(resource_id=guard.owner_id, request_digest=guard.request_digest or "")
