"""Cursors sealed under the API's cursor secret, read from Secrets Manager (Powertools parameters) when
a cursor is first made or read, and kept for the life of the execution environment: a request that
makes no cursor (a GET by id, a last page) never fetches it."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from itam.pagination import decode_cursor, encode_cursor
from itam.settings import load_settings

# An execution environment lives for hours at most; the secret is not rotated under it.
SECRET_MAX_AGE = 24 * 3600


def seal(key: Mapping[str, str], scope: str) -> str:
    """The cursor of the DynamoDB position `key` for the query `scope` describes."""
    return encode_cursor(key, scope, cursor_secret())


def unseal(cursor: str, scope: str) -> dict[str, str]:
    """The DynamoDB position in a cursor of the query `scope` describes; InvalidCursor otherwise."""
    return decode_cursor(cursor, scope, cursor_secret())


def cursor_secret() -> bytes:
    """The secret cursors are sealed with: ITAM_CURSOR_KEY where set (tests, off AWS), else the secret
    CURSOR_SECRET_ARN names."""
    settings = load_settings()
    if settings.cursor_key is not None:
        return settings.cursor_key.encode()
    if settings.cursor_secret_arn is None:
        raise RuntimeError("cursors need a key: set CURSOR_SECRET_ARN (or ITAM_CURSOR_KEY off AWS)")
    value = secret_provider(settings.region, settings.secrets_endpoint).get(
        settings.cursor_secret_arn, max_age=SECRET_MAX_AGE
    )
    return str(value).encode()


@lru_cache(maxsize=4)
def secret_provider(region: str, endpoint: str | None) -> Any:
    """A Powertools secrets provider (it caches what it fetched) on a client of the shared session."""
    from aws_lambda_powertools.utilities import parameters

    from itam.adapters import sessions

    return parameters.SecretsProvider(boto3_client=sessions.client("secretsmanager", region, endpoint))
