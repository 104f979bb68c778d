"""Entity tags: a stored object's version as a strong ETag, and If-Match against it (RFC 9110)."""

from __future__ import annotations


def etag_of(version: int) -> str:
    """The strong ETag of an object at `version`."""
    return f'"{version}"'


def etag_matches(if_match: str, version: int) -> bool:
    """RFC 9110 If-Match with strong comparison: `*` or a list containing `"<version>"`."""
    candidates = [part.strip() for part in if_match.split(",")]
    return "*" in candidates or etag_of(version) in candidates
