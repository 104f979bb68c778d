"""Reading a request body as JSON, the one way the API and the webhook intake both take it.

A body is UTF-8 (RFC 8259 section 8.1: JSON exchanged between systems is UTF-8), without a byte order
mark, and holds one object whose member names are unique, whose numbers a double can hold and whose
strings are Unicode (no lone surrogate escapes), nested at most MAX_DEPTH levels. Anything else is
refused with a typed error that says what is wrong (MalformedInput: it cannot be read; InvalidInput:
it reads, but is not a body any route takes: not an object, too deep, a number out of range), never
with the parser's own exception.
"""

from __future__ import annotations

import json
import math
from typing import Any

from itam.errors import InvalidInput, MalformedInput

# No body of this API nests beyond a few levels; a deeper one would only exhaust the stack of a later
# parse or validation (Python's parser itself gives up near 1,000).
MAX_DEPTH = 32
# The digits of the largest double (about 1.8e308): an integer longer than this is no number any
# field takes, and Python's own parser refuses integers past 4,300 digits anyway.
MAX_INTEGER_DIGITS = 309


class _Refused(ValueError):
    """Raised by the parser's hooks for text that is not JSON; carries the reason shown to the client."""


class _OutOfRange(ValueError):
    """Raised by the parser's number hooks: valid JSON, but no value any field can hold."""


def decode(raw: bytes) -> str:
    """The body's text, from strict UTF-8."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedInput("the body is not UTF-8 text (JSON is exchanged as UTF-8, RFC 8259)") from None


def parse_object(text: str) -> dict[str, Any]:
    """The JSON object in `text`, or MalformedInput / InvalidInput saying why it cannot be taken."""
    if text.startswith("\ufeff"):
        raise MalformedInput("the body starts with a byte order mark: send UTF-8 JSON without one")
    try:
        document = json.loads(
            text,
            parse_constant=_constant,
            parse_float=_float,
            parse_int=_integer,
            object_pairs_hook=_object,
        )
    except RecursionError:
        raise _too_deep() from None
    except _Refused as refused:
        raise MalformedInput(f"the body is not valid JSON: {refused}") from None
    except _OutOfRange as out_of_range:
        raise InvalidInput(f"the body holds {out_of_range}") from None
    except json.JSONDecodeError as error:
        where = f"line {error.lineno} column {error.colno}"
        raise MalformedInput(f"the body is not valid JSON: {error.msg} ({where})") from None
    except ValueError as error:  # any other refusal of the parser
        raise MalformedInput(f"the body is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise InvalidInput("the body must be a JSON object")
    if _deeper_than(document, MAX_DEPTH):
        raise _too_deep()
    # A lone surrogate can only come from a \u escape (the text itself was decoded from UTF-8), so
    # bodies without one skip the check.
    if "\\u" in text and _has_lone_surrogate(document):
        raise MalformedInput("the body is not valid JSON: a string holds a lone surrogate (\\ud800-\\udfff)")
    return document


def read_object(raw: bytes) -> dict[str, Any]:
    """The JSON object in a raw UTF-8 body (decode, then parse_object)."""
    return parse_object(decode(raw))


def _too_deep() -> InvalidInput:
    return InvalidInput(f"the body nests objects and arrays more than {MAX_DEPTH} levels deep")


def _constant(name: str) -> Any:
    # NaN and Infinity are accepted by Python's parser but are not JSON (RFC 8259).
    raise _Refused(f"{name} is not a JSON value")


def _float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise _OutOfRange(f"the number {literal[:20]}, beyond the range of a double")
    return value


def _integer(literal: str) -> int:
    if len(literal.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _OutOfRange(f"an integer of {len(literal)} digits, beyond the range of a double")
    return int(literal)


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        # Parsers disagree on which of two equal names wins (RFC 8259 section 4): refuse rather than guess.
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise _Refused(f"the member name {json.dumps(name)[:40]} appears twice in one object")
            seen.add(name)
    return document


def _deeper_than(document: Any, limit: int) -> bool:
    """Whether objects and arrays nest more than `limit` levels (walked without recursion)."""
    pending: list[tuple[Any, int]] = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > limit:
            return True
        children = value.values() if isinstance(value, dict) else value
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _has_lone_surrogate(document: Any) -> bool:
    """Whether any string (member names included) holds a surrogate code point, which no UTF-8 text can."""
    try:
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
