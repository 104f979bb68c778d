"""RFC 9457 problem details: every error response of the API is built here, from typed errors only."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from itam import errors
from itam.assets.errors import DuplicateValue
from itam.assets.models import READ_ONLY_FIELDS

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_BASE = "/problems/"


@dataclass(frozen=True)
class ProblemKind:
    status: int
    slug: str

    @property
    def title(self) -> str:
        return HTTPStatus(self.status).phrase


# The one mapping from domain errors to HTTP. Order matters: the first matching class wins. A
# context's own error keeps its kind's status and names its problem type by its `slug`.
ERROR_KINDS: Sequence[tuple[type[errors.DomainError], ProblemKind]] = (
    (errors.NotFound, ProblemKind(404, "not-found")),
    (DuplicateValue, ProblemKind(409, "duplicate-value")),
    (errors.IllegalTransition, ProblemKind(409, "illegal-transition")),
    (errors.InvalidState, ProblemKind(409, "invalid-state")),
    (errors.ConcurrentModification, ProblemKind(409, "concurrent-modification")),
    (errors.Conflict, ProblemKind(409, "conflict")),
    (errors.PreconditionFailed, ProblemKind(412, "precondition-failed")),
    (errors.PreconditionRequired, ProblemKind(428, "precondition-required")),
    (errors.InvalidInput, ProblemKind(422, "validation-error")),
    (errors.IdempotencyKeyReused, ProblemKind(422, "idempotency-key-reused")),
    (errors.MalformedInput, ProblemKind(400, "malformed-body")),
    (errors.InvalidCursor, ProblemKind(400, "invalid-cursor")),
    (errors.Unauthenticated, ProblemKind(401, "unauthorized")),
    (errors.Forbidden, ProblemKind(403, "forbidden")),
)


def problem(
    status: int, slug: str, detail: str, instance: str | None = None, **extensions: Any
) -> dict[str, Any]:
    """A problem details document."""
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if instance is not None:
        body["instance"] = instance
    body.update({k: v for k, v in extensions.items() if v is not None})
    return body


def problem_json(body: Mapping[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"), default=str)


def from_domain_error(error: errors.DomainError, instance: str | None) -> dict[str, Any]:
    """The problem document for a domain error."""
    for cls, kind in ERROR_KINDS:
        if isinstance(error, cls):
            extensions: dict[str, Any] = {}
            if isinstance(error, errors.IllegalTransition):
                extensions["allowed"] = error.allowed
            if isinstance(error, DuplicateValue):
                extensions["field"] = error.field
            if isinstance(error, errors.InvalidInput):
                extensions["errors"] = [
                    {
                        "location": "body",
                        "field": error.field or "",
                        "message": error.detail,
                        "type": "value_error",
                    }
                ]
            return problem(kind.status, error.slug or kind.slug, error.detail, instance, **extensions)
    return problem(500, "internal-error", "an unexpected error occurred", instance)


def from_validation_errors(raw_errors: Sequence[Mapping[str, Any]], instance: str | None) -> dict[str, Any]:
    """The problem document for request validation errors: 400 unparseable, 415 content type, else 422."""
    types = {str(e.get("type")) for e in raw_errors}
    if "json_invalid" in types:
        return problem(400, "malformed-body", "the request body is not valid JSON", instance)
    if "unsupported_content_type" in types:
        return problem(415, "unsupported-media-type", "send the body as application/json", instance)
    return problem(
        422,
        "validation-error",
        "the request has invalid or unknown fields",
        instance,
        errors=[_field_error(e) for e in raw_errors],
    )


def _field_error(raw: Mapping[str, Any]) -> dict[str, str]:
    loc = [str(part) for part in raw.get("loc", ())]
    location = loc[0] if loc else "body"
    field = ".".join(loc[1:])
    message = str(raw.get("msg") or raw.get("type") or "invalid value").removeprefix("Value error, ")
    kind = str(raw.get("type") or "value_error")
    if kind == "extra_forbidden":
        message = "is read-only" if field in READ_ONLY_FIELDS else "is not a known field"
    return {"location": location, "field": field, "message": message, "type": kind}


def lambda_result(body: Mapping[str, Any]) -> dict[str, Any]:
    """A problem as a Lambda proxy result, for answers given before routing."""
    return {
        "statusCode": int(body["status"]),
        "headers": {"Content-Type": PROBLEM_CONTENT_TYPE},
        "body": problem_json(body),
        "isBase64Encoded": False,
    }
