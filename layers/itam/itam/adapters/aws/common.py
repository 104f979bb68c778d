"""Pure helpers the resource type modules share: tolerant readers of untrusted provider data, the
resource builder, provider error codes, and the register fields that configured tag keys give."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError
from pydantic import ValidationError

from itam.adapters.aws.model import (
    ARN_RE,
    MAX_NAME,
    MAX_TAG_KEY,
    MAX_TAG_VALUE,
    MAX_TAGS,
    MAX_TEXT,
    CloudResource,
    MalformedRecord,
)

# Errors that mean "this region cannot be used by these credentials" (opt-in region not enabled, an
# STS token not valid there): the whole region is skipped with one warning.
REGION_UNAVAILABLE = frozenset(
    {"OptInRequired", "AuthFailure", "InvalidClientTokenId", "UnrecognizedClientException"}
)
# Errors that mean "try again later", as opposed to "the caller is not allowed".
THROTTLED_OR_FAULT = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "ServiceUnavailable",
        "InternalFailure",
        "InternalError",
        "RequestTimeout",
    }
)
# A resource deleted between its listing and a call about it: left out, not a warning.
GONE = frozenset({"ResourceNotFoundException", "NoSuchBucket"})


def client_error(exc: ClientError) -> tuple[str, str]:
    """The error code and message of a botocore ClientError."""
    error = as_map(exc.response.get("Error"))
    return str(error.get("Code") or "Unknown"), str(error.get("Message") or exc)[:1000]


# --- tolerant readers --------------------------------------------------------------------------


def as_text(value: Any, limit: int = MAX_TEXT) -> str | None:
    """A non-empty string, stripped and capped, or None."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    text = str(value).strip()
    return text[:limit] if text else None


def as_int(value: Any) -> int | None:
    """An integer or a string of digits, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def as_map(value: Any) -> Mapping[str, Any]:
    """The value when it is a mapping, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def as_list(value: Any) -> list[Any]:
    """The value when it is a list, else an empty one."""
    return value if isinstance(value, list) else []


def as_datetime(value: Any) -> datetime | None:
    """botocore gives datetimes; recorded JSON gives ISO 8601 strings. Anything else is unknown."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def required(raw: Any, key: str) -> str:
    """The record's identifier under `key`; MalformedRecord when it has none."""
    if not isinstance(raw, Mapping):
        raise MalformedRecord(f"expected an object, got {type(raw).__name__}")
    value = as_text(raw.get(key), 1024)
    if value is None:
        raise MalformedRecord(f"record without {key}")
    return value


def arn_or(value: Any, fallback: str) -> str:
    """The ARN the API returned when it is one, else the one built from the documented format."""
    text = as_text(value, 2048)
    return text if text is not None and ARN_RE.match(text) else fallback


def attributes(**values: Any) -> dict[str, str]:
    """The values that can be read, as text (booleans as "true"/"false")."""
    found: dict[str, str] = {}
    for key, value in values.items():
        if isinstance(value, bool):
            found[key] = "true" if value else "false"
        elif (text := as_text(value)) is not None:
            found[key] = text
    return found


def tag_map(raw_tags: Any) -> dict[str, str]:
    """Tags as a dict from either documented shape: a list of {"Key", "Value"} (EC2, RDS, DynamoDB,
    S3) or a map (Lambda). Entries that are not strings or keys over 128 characters are dropped,
    values are capped at 256 characters, at most 64 tags are kept (by key order)."""
    pairs: Iterable[tuple[Any, Any]]
    if isinstance(raw_tags, Mapping):
        pairs = raw_tags.items()
    elif isinstance(raw_tags, list | tuple):
        pairs = ((as_map(item).get("Key"), as_map(item).get("Value", "")) for item in raw_tags)
    else:
        return {}
    tags: dict[str, str] = {}
    for key, value in pairs:
        if not isinstance(key, str) or not key or len(key) > MAX_TAG_KEY:
            continue
        if value is None:
            value = ""
        if isinstance(value, str):
            tags[key] = value[:MAX_TAG_VALUE]
    return dict(sorted(tags.items())[:MAX_TAGS])


def resource_name(tags: Mapping[str, str], fallback: str) -> str:
    """The Name tag when it is not blank, else the resource's identifier."""
    name = (tags.get("Name") or "").strip()
    return (name or fallback)[:MAX_NAME]


def build_resource(**fields: Any) -> CloudResource:
    """The resource, or MalformedRecord naming the first fields no resource can carry."""
    try:
        return CloudResource(**fields)
    except ValidationError as exc:
        errors = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3])
        raise MalformedRecord(errors) from None


# --- register fields from tags -----------------------------------------------------------------

# Register fields that configured tag keys fill; any other target becomes a custom field.
FIELD_TARGETS = {"location": "location"}
REGISTER_TEXT_LIMIT = 128
CUSTOM_VALUE_LIMIT = 1024


def _tag_value(tags: Mapping[str, str], key: str) -> str | None:
    """The tag's value by exact key, else by a case-insensitive match (Owner/owner/OWNER)."""
    value = tags.get(key)
    if value is None:
        folded = key.casefold()
        value = next((v for k, v in sorted(tags.items()) if k.casefold() == folded), None)
    value = (value or "").strip()
    return value or None


def mapped_fields(resource: CloudResource, tag_keys: Mapping[str, str]) -> dict[str, Any]:
    """The register fields that configured tag keys give this resource: "location" -> location,
    any other target ("owner", "cost_center", ...) -> custom_fields[target]. An owner is not an
    assignee: a cloud resource is in no one's custody, so it is not checked out. Tags that are absent or
    blank give nothing (so the register keeps what it has)."""
    fields: dict[str, Any] = {}
    custom: dict[str, str] = {}
    for target, tag_key in sorted(tag_keys.items()):
        value = _tag_value(resource.tags, tag_key)
        if value is None:
            continue
        if target in FIELD_TARGETS:
            fields[FIELD_TARGETS[target]] = value[:REGISTER_TEXT_LIMIT]
        else:
            custom[target] = value[:CUSTOM_VALUE_LIMIT]
    if custom:
        fields["custom_fields"] = custom
    return fields
