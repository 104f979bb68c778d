"""Make the emulated DynamoDB's calls cost what they touch, not what the table holds.

The emulator answers every Query by sorting every item of the table (`Table.all_items()`), on the
base table as on an index, and backs every TransactWriteItems up by deep-copying each table it names.
A create that costs a few milliseconds with 100 items stored then costs hundreds with a few thousand,
inside the stack's write lock (infra/local/atomic.py), and the copies keep the memory busy. DynamoDB's
costs grow with the items a call reads or writes; so do these, with the answers unchanged:

- a Query on the base table starts from its partition's items, a Query on a global secondary index
  from the items whose index partition key has the asked value (kept in an index maintained on every
  write from the table's creation on, or built on the first Query of a table restored from a
  snapshot); the emulator's own code then filters, sorts, pages and projects them as before;
- a transaction keeps a copy of each item it touches, before it touches it, and a cancelled
  transaction puts exactly those back (new items removed, changed and deleted ones restored):
  all or nothing, as before, at the cost of the items written;
- sorting a Query's items and finding a page's start compare each item's key values computed once
  (Python orders str by code point, the UTF-8 byte order DynamoDB uses), not attribute wrappers that
  re-derive their value at each comparison: same order, same pages, same LastEvaluatedKey;
- a Query's answer is written with json.dumps instead of the emulator's generic, model-driven
  serializer (about a second per 1 MB page); the same document once parsed.

`make_dynamodb_calls_cheap()` installs both; it runs before `atomic.make_dynamodb_writes_atomic()`,
whose lock and ClientRequestToken handling wrap these methods as they wrap the emulator's own.
"""

from __future__ import annotations

import copy
import functools
import inspect
import json
import threading
import weakref
from collections.abc import Callable
from typing import Any

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import GlobalSecondaryIndex, Table
from moto.dynamodb.responses import DynamoHandler

Key = tuple[DynamoType, DynamoType | None]
MAX_TRANSACTION_ITEMS = 100
_MARK = "__itam_cheap__"

# The emulator's own methods, as it answers without this module (its tests compare against them).
EMULATOR = {
    "all_items": Table.all_items,
    "sorted_items": Table.sorted_items,
    "_item_comes_before_dct": Table._item_comes_before_dct,
}
_QUERY_SIGNATURE = inspect.signature(Table.query)


class _Narrowed(threading.local):
    """The items `Table.all_items()` answers with while this thread runs one Query on `table`."""

    def __init__(self) -> None:
        self.table: Table | None = None
        self.items: list[Item] = []


_narrowed = _Narrowed()


class IndexItems:
    """One table's global secondary indexes: for each index, its partition key values and the items
    under each (keyed by their table key), with where each item is, to move it when it changes."""

    def __init__(self, table: Table) -> None:
        self._hash_attr = {
            index.name: next(k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH")
            for index in table.global_indexes
        }
        self._items: dict[str, dict[DynamoType, dict[Key, Item]]] = {name: {} for name in self._hash_attr}
        self._where: dict[Key, list[tuple[str, DynamoType]]] = {}
        for item in _every_item(table):
            self.place(key_of(item), item)

    def knows(self, index_name: str) -> bool:
        """Whether the index existed when these items were indexed."""
        return index_name in self._hash_attr

    def hash_attribute(self, index_name: str) -> str:
        """The index's (first) partition key attribute."""
        return self._hash_attr[index_name]

    def items(self, index_name: str, value: DynamoType) -> list[Item]:
        """The items under one partition of an index, in no particular order."""
        return list(self._items[index_name].get(value, {}).values())

    def place(self, key: Key, item: Item | None) -> None:
        """Put an item (or its absence) where its index attributes say, moving it if they changed."""
        for name, value in self._where.pop(key, []):
            bucket = self._items[name].get(value)
            if bucket is not None:
                bucket.pop(key, None)
                if not bucket:
                    del self._items[name][value]
        if item is None:
            return
        places: list[tuple[str, DynamoType]] = []
        for name, attribute in self._hash_attr.items():
            found = item.attrs.get(attribute)
            if found is not None:
                self._items[name].setdefault(found, {})[key] = item
                places.append((name, found))
        if places:
            self._where[key] = places


_indexes: weakref.WeakKeyDictionary[Table, IndexItems] = weakref.WeakKeyDictionary()
_indexes_lock = threading.RLock()


def key_of(item: Item) -> Key:
    """An item's table key."""
    return item.hash_key, item.range_key


def _index_items(table: Table) -> IndexItems:
    with _indexes_lock:
        found = _indexes.get(table)
        if found is None:
            found = _indexes[table] = IndexItems(table)
        return found


def _replace(table: Table, key: Key, item: Item | None) -> None:
    """An item was written or deleted: keep the table's built index in step (unbuilt ones build later)."""
    with _indexes_lock:
        found = _indexes.get(table)
        if found is not None:
            found.place(key, item)


def _partition(table: Table, hash_key: DynamoType) -> list[Item]:
    stored = table.items.get(hash_key)
    if stored is None:
        return []
    if table.range_key_attr:
        return list(stored.values())
    return [stored]  # type: ignore[list-item]


def candidates(table: Table, arguments: dict[str, Any]) -> list[Item] | None:
    """The items a Query can possibly answer with, or None when the query names no partition value
    this can use (the emulator then looks at every item, as before)."""
    hash_key: DynamoType | None = arguments.get("hash_key")
    index_name: str | None = arguments.get("index_name")
    conditions = dict(arguments.get("hash_key_conditions") or [])
    if not index_name:
        return None if hash_key is None else _partition(table, hash_key)
    index = next((i for i in table.all_indexes() if i.name == index_name), None)
    if index is None:
        return None  # the emulator's own query answers with the validation error
    if not isinstance(index, GlobalSecondaryIndex):
        return None if hash_key is None else _partition(table, hash_key)
    found = _index_items(table)
    if not found.knows(index_name):  # an index added since (UpdateTable): index the table again
        with _indexes_lock:
            found = _indexes[table] = IndexItems(table)
    value = conditions.get(found.hash_attribute(index_name), hash_key)
    if value is None:
        return None
    return found.items(index_name, value)


def _plain(value: DynamoType) -> Any:
    return value.value if value.type == "S" else value.cast_value


def _every_item(table: Table) -> list[Item]:
    if table.range_key_attr:
        return [item for partition in table.items.values() for item in partition.values()]
    return list(table.items.values())  # type: ignore[arg-type]


def _all_items(self: Table) -> list[Item]:
    """Every item by its key, or only the running Query's candidates."""
    if _narrowed.table is self:
        return _narrowed.items
    return sorted(
        _every_item(self),
        key=lambda x: (_plain(x.hash_key), _plain(x.range_key)) if x.range_key else _plain(x.hash_key),
    )


def _sorted_items(
    self: Table, hash_key_attrs: list[str], range_key_attrs: list[str | None], items: list[Item]
) -> list[Item]:
    names = self._generate_attr_to_sort_by(hash_key_attrs, range_key_attrs)
    items.sort(key=lambda x: tuple(_plain(x.attrs[name]) for name in names))
    return items


def _item_comes_before_dct(
    self: Table,
    item: Item,
    dct: dict[str, Any],
    hash_key_attrs: list[str],
    range_key_attrs: list[str | None],
    scan_index_forward: bool,
) -> bool:
    for name in self._generate_attr_to_sort_by(hash_key_attrs, range_key_attrs):
        if name in item.attrs:
            mine, theirs = item.attrs[name], DynamoType(dct.get(name))  # type: ignore[arg-type]
            if mine.type != theirs.type or _plain(mine) != _plain(theirs):
                return bool((_plain(mine) < _plain(theirs)) == scan_index_forward)
    return True


def _json_answer(handle: Callable[[DynamoHandler], Any]) -> Callable[[DynamoHandler], str]:
    @functools.wraps(handle)
    def query(self: DynamoHandler) -> str:
        return json.dumps(handle(self).result)

    return query


def _narrowing(query: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(query)
    def narrowed_query(self: Table, *args: Any, **kwargs: Any) -> Any:
        bound = _QUERY_SIGNATURE.bind(self, *args, **kwargs)
        items = candidates(self, bound.arguments)
        if items is None:
            return query(self, *args, **kwargs)
        # No need to sort: the emulator orders the candidates itself (by the full key) before it
        # filters and pages them.
        _narrowed.table, _narrowed.items = self, items
        try:
            return query(self, *args, **kwargs)
        finally:
            _narrowed.table, _narrowed.items = None, []

    setattr(narrowed_query, _MARK, True)
    return narrowed_query


def _indexed_put(put: Callable[..., Item]) -> Callable[..., Item]:
    @functools.wraps(put)
    def put_item(self: Table, *args: Any, **kwargs: Any) -> Item:
        item = put(self, *args, **kwargs)
        _replace(self, key_of(item), item)
        return item

    setattr(put_item, _MARK, True)
    return put_item


def _indexed_delete(delete: Callable[..., Item | None]) -> Callable[..., Item | None]:
    @functools.wraps(delete)
    def delete_item(self: Table, hash_key: DynamoType, range_key: DynamoType | None = None) -> Item | None:
        item = delete(self, hash_key, range_key)
        _replace(self, (hash_key, range_key), None)
        return item

    setattr(delete_item, _MARK, True)
    return delete_item


def table_key(table: Table, key: dict[str, Any]) -> Key | None:
    """The table key a request's Key names, or None when it does not name one."""
    if table.hash_key_attr not in key:
        return None
    if table.range_key_attr is None:
        return DynamoType(key[table.hash_key_attr]), None
    if table.range_key_attr not in key:
        return None
    return DynamoType(key[table.hash_key_attr]), DynamoType(key[table.range_key_attr])


def _indexed_from_creation(create: Callable[..., Table]) -> Callable[..., Table]:
    """A new table's index items are kept from its creation on: its first Query on an index does
    not have to index every item (seconds for a few hundred thousand) first."""

    @functools.wraps(create)
    def create_table(self: DynamoDBBackend, *args: Any, **kwargs: Any) -> Table:
        table = create(self, *args, **kwargs)
        with _indexes_lock:
            _indexes[table] = IndexItems(table)
        return table

    setattr(create_table, _MARK, True)
    return create_table


def _indexed_update(update: Callable[..., Any]) -> Callable[..., Any]:
    """UpdateItem changes the stored item in place: move it in the index afterwards, even if the
    update failed half-way."""

    @functools.wraps(update)
    def update_item(
        self: DynamoDBBackend, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any
    ) -> Any:
        try:
            return update(self, table_name, key, *args, **kwargs)
        finally:
            table = self.tables.get(table_name)
            where = table_key(table, key) if table is not None else None
            if table is not None and where is not None:
                _replace(table, where, table.get_item(*where))

    setattr(update_item, _MARK, True)
    return update_item


def _restore(table: Table, key: Key, prior: Item | None) -> None:
    """Put one item back as it was before a cancelled transaction touched it."""
    hash_key, range_key = key
    if range_key is None:
        if prior is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = prior  # type: ignore[assignment]
    else:
        partition = table.items.get(hash_key)
        if prior is not None:
            table.items[hash_key][range_key] = prior
        elif partition is not None:
            partition.pop(range_key, None)
            if not partition:
                table.items.pop(hash_key, None)
    _replace(table, key, prior)


class _ConditionFailed(ConditionalCheckFailed):
    """A transaction operation's condition failed; `item` is the stored item when it asked for it."""

    def __init__(self, item: dict[str, Any] | None) -> None:
        super().__init__(item=item)
        self.item = item


class _Transaction:
    """One TransactWriteItems run: the keys it named, and each touched item as it was before."""

    def __init__(self, backend: DynamoDBBackend) -> None:
        self.backend = backend
        self.named: set[tuple[str, str]] = set()
        self.before: list[tuple[Table, Key, Item | None]] = []

    def roll_back(self) -> None:
        for table, key, prior in reversed(self.before):
            _restore(table, key, prior)

    def key(self, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
        """The operation's key; MultipleTransactionsException if another operation named it."""
        if op_type == "Put":
            attrs = op["Item"]
            table = self.backend.get_table(op["TableName"])
            key = {table.hash_key_attr: attrs[table.hash_key_attr]}
            if table.range_key_attr is not None:
                key[table.range_key_attr] = attrs[table.range_key_attr]
        else:
            key = op["Key"]
        named = (str(op["TableName"]), str(dict(sorted(key.items()))))
        if named in self.named:
            raise MultipleTransactionsException()
        self.named.add(named)
        return key

    def apply(self, op_type: str, op: dict[str, Any]) -> None:
        """Check one operation's condition and write it, remembering the item as it was."""
        if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
            raise ValueError("Unsupported transaction operation")
        table_name, key = op["TableName"], self.key(op_type, op)
        current = self.backend.get_item(table_name, key)
        table = self.backend.get_table(table_name)
        where = table_key(table, key)
        if where is not None and op_type != "ConditionCheck":
            self.before.append((table, where, copy.deepcopy(current)))
        conditions: dict[str, Any] = {
            "condition_expression": op.get("ConditionExpression"),
            "expression_attribute_names": op.get("ExpressionAttributeNames"),
            "expression_attribute_values": op.get("ExpressionAttributeValues"),
        }
        if conditions["condition_expression"] is not None:
            condition = get_filter_expression(*conditions.values())
            if not condition.expr(current):
                wanted = op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"
                raise _ConditionFailed(current.to_json()["Attributes"] if wanted and current else None)
        if op_type == "Put":
            self.backend.put_item(table_name, op["Item"], **conditions)
        elif op_type == "Delete":
            self.backend.delete_item(table_name, key, **conditions)
        elif op_type == "Update":
            self.backend.update_item(table_name, key, update_expression=op["UpdateExpression"], **conditions)


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """The emulator's TransactWriteItems, with a rollback of the items touched instead of a copy of
    every table named (same checks, same errors, same cancellation reasons)."""
    if len(transact_items) > MAX_TRANSACTION_ITEMS:
        raise TooManyTransactionsException()
    run = _Transaction(self)
    errors: list[tuple[str | None, str | None, dict[str, Any] | None]] = []
    for item in transact_items:
        if len(item) > 1:
            run.roll_back()
            raise TransactWriteSingleOpException
        try:
            run.apply(*next(iter(item.items())))
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            run.roll_back()
            raise
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), getattr(e, "item", None)))
        except Exception as e:  # each operation's failure is a cancellation reason
            errors.append((type(e).__name__, str(e), None))
    if any(code is not None for code, _, _ in errors):
        run.roll_back()
        raise TransactionCanceledException(errors)


def make_dynamodb_calls_cheap() -> None:
    """Install the narrowed Query, the maintained index and the item-level transaction rollback
    (idempotent; before the write lock wraps the writes)."""
    if getattr(Table.query, _MARK, False):
        return
    Table.all_items = _all_items  # type: ignore[method-assign]
    Table.sorted_items = _sorted_items  # type: ignore[method-assign]
    Table._item_comes_before_dct = _item_comes_before_dct  # type: ignore[method-assign]
    DynamoHandler.query = _json_answer(DynamoHandler.query)  # type: ignore[method-assign,assignment]
    Table.query = _narrowing(Table.query)  # type: ignore[method-assign]
    Table.put_item = _indexed_put(Table.put_item)  # type: ignore[method-assign]
    Table.delete_item = _indexed_delete(Table.delete_item)  # type: ignore[method-assign]
    DynamoDBBackend.update_item = _indexed_update(DynamoDBBackend.update_item)  # type: ignore[method-assign]
    DynamoDBBackend.create_table = _indexed_from_creation(DynamoDBBackend.create_table)  # type: ignore[method-assign]
    setattr(transact_write_items, _MARK, True)
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
