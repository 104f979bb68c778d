"""Make the emulated Cognito keep the user pool settings the product relies on, as Cognito does.

The API identifies people by `sub`, and resolves the names an admin gives (approval steps, a
request's recipient) to a `sub` through the pool. That is sound because users cannot change their
own e-mail address and because the pool compares user names without case. The emulator stores the
settings that say so and ignores them:

- an app client's `WriteAttributes`: UpdateUserAttributes with a user's access token writes any
  attribute. Cognito refuses an attribute the client may not write (NotAuthorizedException).
- `UserAttributeUpdateSettings.AttributesRequireVerificationBeforeUpdate`: Cognito keeps the old
  value until the user confirms the new one with a code; the emulator sends no code, so the new
  value is never applied.
- `UsernameConfiguration.CaseSensitive: false`: Cognito finds a user by user name or e-mail alias in
  any case (sign-in, AdminGetUser, ...) and refuses an e-mail address that differs from another
  user's only in case. The emulator compares exactly.
- group names: Cognito accepts only letters, marks, symbols, numbers and punctuation (no
  whitespace), 1 to 128 of them; the emulator accepts any name, and a group named "admin " would
  reach a token.

This module patches the emulator's backend in the process that runs it: the local stack and the
tests that run the emulator in-process.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from moto.cognitoidp.exceptions import (
    AliasExistsException,
    InvalidParameterException,
    NotAuthorizedError,
)
from moto.cognitoidp.models import CognitoIdpBackend, CognitoIdpUser, CognitoIdpUserPool

GROUP_NAME_CATEGORIES = ("L", "M", "S", "N", "P")
MAX_GROUP_NAME = 128


def case_insensitive(pool: CognitoIdpUserPool) -> bool:
    """Whether the pool compares user names and aliases without case."""
    config = pool.extended_config.get("UsernameConfiguration") or {}
    return config.get("CaseSensitive") is False


def _get_user(pool: CognitoIdpUserPool, username: str) -> CognitoIdpUser | None:
    """A user by user name or username attribute (e-mail, phone number), in any case if the pool says so."""
    if not case_insensitive(pool):
        return _ORIGINAL["_get_user"](pool, username)  # type: ignore[no-any-return]
    wanted = username.lower()
    for attribute in pool.extended_config.get("UsernameAttributes") or []:
        for user in pool.users.values():
            if str(user.attribute_lookup.get(attribute, "")).lower() == wanted:
                return user
    return next((user for name, user in pool.users.items() if name.lower() == wanted), None)


def _verify_email_is_not_used(backend: CognitoIdpBackend, user_pool_id: str, email: str | None) -> None:
    """An e-mail address used as user name is one user's: in any case, if the pool ignores case."""
    pool = backend.describe_user_pool(user_pool_id)
    if email and case_insensitive(pool) and "email" in (pool.extended_config.get("UsernameAttributes") or []):
        for user in pool.users.values():
            if str(user.attribute_lookup.get("email", "")).lower() == email.lower():
                raise AliasExistsException()
    _ORIGINAL["_verify_email_is_not_used"](backend, user_pool_id, email)


def _writable(attributes: Iterable[Mapping[str, str]], allowed: list[str] | None) -> None:
    if allowed is None:  # no WriteAttributes: the client may write the standard attributes
        return
    refused = sorted({a["Name"] for a in attributes} - set(allowed))
    if refused:
        raise NotAuthorizedError(f"A client attempted to write unauthorized attribute: {', '.join(refused)}")


def _update_user_attributes(
    backend: CognitoIdpBackend, access_token: str, attributes: list[dict[str, str]]
) -> None:
    """UpdateUserAttributes with a user's access token, within what the app client and pool allow."""
    for pool in backend.user_pools.values():
        if access_token not in pool.access_tokens:
            continue
        client_id, _ = pool.access_tokens[access_token]
        client = pool.clients.get(client_id)
        _writable(attributes, client.extended_config.get("WriteAttributes") if client else None)
        settings = pool.extended_config.get("UserAttributeUpdateSettings") or {}
        pending = set(settings.get("AttributesRequireVerificationBeforeUpdate") or [])
        # Held until verified with a code the emulator never sends: the old value stays.
        attributes = [a for a in attributes if a["Name"] not in pending]
        break
    _ORIGINAL["update_user_attributes"](backend, access_token, attributes)


def _create_group(backend: CognitoIdpBackend, user_pool_id: str, group_name: str, *args: Any) -> Any:
    if not valid_group_name(group_name):
        raise InvalidParameterException(
            f"1 validation error detected: Value '{group_name}' at 'groupName' failed to satisfy "
            r"constraint: Member must satisfy regular expression pattern: [\p{L}\p{M}\p{S}\p{N}\p{P}]+"
        )
    return _ORIGINAL["create_group"](backend, user_pool_id, group_name, *args)


def valid_group_name(name: str) -> bool:
    """Whether Cognito accepts `name` as a group name: 1 to 128 letters, marks, symbols, numbers or
    punctuation, no whitespace."""
    return 0 < len(name) <= MAX_GROUP_NAME and all(
        unicodedata.category(char).startswith(GROUP_NAME_CATEGORIES) for char in name
    )


PATCHES: dict[tuple[type, str], Callable[..., Any]] = {
    (CognitoIdpUserPool, "_get_user"): _get_user,
    (CognitoIdpBackend, "_verify_email_is_not_used"): _verify_email_is_not_used,
    (CognitoIdpBackend, "update_user_attributes"): _update_user_attributes,
    (CognitoIdpBackend, "create_group"): _create_group,
}
_ORIGINAL: dict[str, Callable[..., Any]] = {}


def make_cognito_keep_pool_settings() -> None:
    """Patch the emulator's Cognito backend as the module docstring says (idempotent)."""
    for (owner, name), replacement in PATCHES.items():
        current = getattr(owner, name)
        if getattr(current, "__itam_cognito__", False):
            continue
        _ORIGINAL[name] = current
        patched = functools.wraps(current)(replacement)
        patched.__itam_cognito__ = True  # type: ignore[attr-defined]
        setattr(owner, name, patched)
