"""What changed between two versions of a document, as history records it, and a merge patch applied
to one (RFC 7396: a field present replaces, `null` clears; maps merge key by key)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from itam.assets.models import FieldChange
from itam.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)
# Bookkeeping fields: a history event carries the version, time and actor itself.
BOOKKEEPING = frozenset({"id", "version", "created_at", "created_by", "updated_at", "updated_by"})


def field_changes(
    before: BaseModel | None, after: BaseModel, skip: Iterable[str] = BOOKKEEPING
) -> list[FieldChange]:
    """Every field whose JSON value differs (every field, for a new document), as history records it."""
    skipped = frozenset(skip)
    old = before.model_dump(mode="json") if before is not None else {}
    new = after.model_dump(mode="json")
    return [
        FieldChange(field=name, old=old.get(name), new=new[name])
        for name in new
        if name not in skipped
        and json.dumps(old.get(name), sort_keys=True) != json.dumps(new[name], sort_keys=True)
    ]


def merged(document: M, patch: BaseModel, maps: Iterable[str] = ("tags",)) -> M:
    """`document` with `patch` applied (a merge patch: the fields it sets; in `maps`, `null` removes a
    key); a result that breaks the document's rules is InvalidInput naming the field."""
    data = document.model_dump()
    for name in patch.model_fields_set:
        value = getattr(patch, name)
        if name in maps and value is not None:
            kept = {**data.get(name, {}), **value}
            data[name] = {k: v for k, v in kept.items() if v is not None}
        else:
            data[name] = value.model_dump() if isinstance(value, BaseModel) else value
    try:
        return type(document).model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise InvalidInput(first["msg"].removeprefix("Value error, "), field or None) from error
