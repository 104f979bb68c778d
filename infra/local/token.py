"""Mint an ID token from the local stack: python -m infra.local.token --tenant acme --role admin."""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions

from infra.local.template import REPO_ROOT

ROLES = ("admin", "editor", "viewer", "auditor")
TENANT_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
DEFAULT_STATE_FILE = REPO_ROOT / ".local" / "stack.json"


class StackNotRunningError(Exception):
    """There is no running local stack to talk to."""


def state_file_path(explicit: str | Path | None = None) -> Path:
    """The state file: the explicit path, else ITAM_STATE_FILE, else .local/stack.json."""
    return Path(explicit or os.environ.get("ITAM_STATE_FILE") or DEFAULT_STATE_FILE)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_state(path: Path) -> dict[str, Any]:
    """The running stack's state; StackNotRunningError if there is none."""
    if not path.is_file():
        raise StackNotRunningError(f"no local stack is running ({path} not found); start it with `make dev`")
    state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if not _process_alive(int(state.get("pid", 0))):
        raise StackNotRunningError(f"the local stack recorded in {path} is no longer running; run `make dev`")
    return state


def validate(tenant: str, role: str) -> None:
    """Reject a tenant id or role the API would not know."""
    if not TENANT_PATTERN.fullmatch(tenant):
        raise ValueError(f"invalid tenant {tenant!r}: expected {TENANT_PATTERN.pattern}")
    if role not in ROLES:
        raise ValueError(f"invalid role {role!r}: expected one of {', '.join(ROLES)}")


def _cognito(state: Mapping[str, Any]) -> Any:
    return boto3.client(
        "cognito-idp",
        endpoint_url=state["moto_url"],
        region_name=state["region"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _ensure_user(cognito: Any, pool_id: str, username: str, tenant: str) -> None:
    try:
        user = cognito.admin_get_user(UserPoolId=pool_id, Username=username)
    except cognito.exceptions.UserNotFoundException:
        cognito.admin_create_user(
            UserPoolId=pool_id,
            Username=username,
            UserAttributes=[
                {"Name": "email", "Value": username},
                {"Name": "email_verified", "Value": "true"},
                {"Name": "custom:tenant_id", "Value": tenant},
            ],
            MessageAction="SUPPRESS",
        )
        return
    attributes = {a["Name"]: a["Value"] for a in user.get("UserAttributes", [])}
    if attributes.get("custom:tenant_id") != tenant:
        raise ValueError(f"{username} already exists in tenant {attributes.get('custom:tenant_id')!r}")


def _set_role(cognito: Any, pool_id: str, username: str, role: str) -> None:
    try:
        cognito.get_group(GroupName=role, UserPoolId=pool_id)
    except cognito.exceptions.ResourceNotFoundException:
        cognito.create_group(GroupName=role, UserPoolId=pool_id)
    groups = cognito.admin_list_groups_for_user(UserPoolId=pool_id, Username=username)["Groups"]
    # One role per user, so the token's cognito:groups is exactly the requested role.
    for other in {g["GroupName"] for g in groups} & set(ROLES) - {role}:
        cognito.admin_remove_user_from_group(UserPoolId=pool_id, Username=username, GroupName=other)
    cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName=role)


def issue_token(state: Mapping[str, Any], tenant: str, role: str, *, user: str | None = None) -> str:
    """An ID token for user (default "<role>"; "<user>@<tenant>.example.com" unless it has an @)."""
    return str(issue_tokens(state, tenant, role, user=user)["IdToken"])


def issue_tokens(
    state: Mapping[str, Any], tenant: str, role: str, *, user: str | None = None
) -> dict[str, Any]:
    """As issue_token, the whole sign-in result: IdToken, AccessToken (what a user calls Cognito itself
    with, e.g. UpdateUserAttributes), RefreshToken."""
    validate(tenant, role)
    name = user or role
    username = name if "@" in name else f"{name}@{tenant}.example.com"
    cognito = _cognito(state)
    pool_id = state["user_pool_id"]
    _ensure_user(cognito, pool_id, username, tenant)
    _set_role(cognito, pool_id, username, role)
    password = f"{secrets.token_urlsafe(18)}aA1!"
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=password, Permanent=True)
    result = cognito.admin_initiate_auth(
        UserPoolId=pool_id,
        ClientId=state["client_id"],
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )
    return dict(result["AuthenticationResult"])


def main(argv: Sequence[str] | None = None) -> int:
    """Print only the ID token on stdout; errors go to stderr with exit status 2."""
    parser = argparse.ArgumentParser(prog="python -m infra.local.token", description=__doc__)
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--role", default="admin")
    parser.add_argument("--user", default=None, help="user name or email (default: the role)")
    parser.add_argument("--state-file", default=None)
    args = parser.parse_args(argv)
    try:
        validate(args.tenant, args.role)
        state = read_state(state_file_path(args.state_file))
        token = issue_token(state, args.tenant, args.role, user=args.user)
    except (StackNotRunningError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
        print(f"error: the local stack did not answer: {error}", file=sys.stderr)
        return 2
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
