"""Hold tenant sessions to their role's policy in the emulated Secrets Manager, as IAM does.

moto enforces no IAM: any credentials read any secret. Deployed, a tenant's secrets are reachable
only through the tenant-data role assumed with the tenant's session tag, whose policy (template.yaml)
ties each secret's name and `tenant_id` tag to that tag. So that the local stack and its tests rely on
that policy rather than assume it, this module evaluates, for every Secrets Manager request signed by
an assumed-role session, the inline policies of the session's role (as the local stack created them
from the template) with the session's tags, the secret's tags and the request's tags, and refuses what
IAM would refuse with AccessDeniedException.

What it evaluates: Allow and Deny statements; Action/NotAction and Resource/NotResource with `*` and `?`
wildcards and policy variables (`${aws:PrincipalTag/tenant_id}`); the condition operators String*,
Arn* and Null, with the ForAllValues/ForAnyValue qualifiers; the context keys aws:PrincipalTag/*,
aws:PrincipalArn, aws:RequestTag/*, aws:TagKeys, aws:ResourceTag/*, secretsmanager:ResourceTag/* and
secretsmanager:Name. Anything else in a statement makes it not apply (an Allow then allows nothing):
the emulation fails closed. Requests signed with other credentials (the developer's, the local
functions' own) are not evaluated, as before.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.iam.models import iam_backends
from moto.secretsmanager.models import secretsmanager_backends
from moto.secretsmanager.responses import SecretsManagerResponse
from moto.sts.responses import TokenResponse

log = logging.getLogger("infra.local.iam")

Context = Mapping[str, str | list[str]]


@dataclass(frozen=True)
class Session:
    """An assumed-role session: its role and the tags it was assumed with."""

    account_id: str
    role_arn: str
    arn: str
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Request:
    """One authorization question: may this session do `action` on `resource`, in `context`?"""

    action: str
    resource: str
    context: Context


class AccessDenied(JsonRESTError):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("AccessDeniedException", message)


_SESSIONS: dict[str, Session] = {}
_ENFORCING = threading.Event()
_INSTALL_LOCK = threading.Lock()


# ---------------------------------------------------------------- policy evaluation


_VARIABLE = re.compile(r"\$\{([^}]+)\}")
_ESCAPES = {"*": "*", "?": "?", "$": "$"}


def substitute(text: str, context: Context) -> str | None:
    """`text` with its policy variables replaced from `context`; None when one has no value."""
    missing = False

    def value(match: re.Match[str]) -> str:
        nonlocal missing
        name = match.group(1)
        if name in _ESCAPES:
            return _ESCAPES[name]
        found = context.get(name)
        if not isinstance(found, str):
            missing = True
            return ""
        return found

    out = _VARIABLE.sub(value, text)
    return None if missing else out


def wildcard_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """IAM's wildcards: `*` any run of characters (`/` included), `?` one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL) is not None


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _matches_element(patterns: Any, value: str, context: Context, ignore_case: bool = False) -> bool:
    for pattern in _listed(patterns):
        resolved = substitute(str(pattern), context)
        if resolved is not None and wildcard_match(resolved, value, ignore_case):
            return True
    return False


_SINGLE: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda have, want: have == want,
    "StringNotEquals": lambda have, want: have != want,
    "StringEqualsIgnoreCase": lambda have, want: have.lower() == want.lower(),
    "StringNotEqualsIgnoreCase": lambda have, want: have.lower() != want.lower(),
    "StringLike": lambda have, want: wildcard_match(want, have),
    "StringNotLike": lambda have, want: not wildcard_match(want, have),
    "ArnEquals": lambda have, want: have == want,
    "ArnLike": lambda have, want: wildcard_match(want, have),
    "ArnNotEquals": lambda have, want: have != want,
    "ArnNotLike": lambda have, want: not wildcard_match(want, have),
}


def _condition_holds(operator: str, key: str, wanted: Any, context: Context) -> bool:
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    have = context.get(key)
    wanted_values = [substitute(str(w), context) for w in _listed(wanted)]
    if base == "Null":
        return (have is None) == (str(wanted).lower() == "true")
    test = _SINGLE.get(base)
    if test is None or qualifier not in ("", "ForAllValues", "ForAnyValue"):
        raise NotImplementedError(operator)
    negated = "Not" in base
    values = [w for w in wanted_values if w is not None]

    def one(value: str) -> bool:
        # A negated operator holds when the value differs from every listed one; others when it
        # matches any of them.
        results = [test(value, w) for w in values]
        return all(results) if negated else any(results)

    if have is None:
        return if_exists or negated or qualifier == "ForAllValues"
    haves = _listed(have)
    if qualifier == "ForAllValues":
        return all(one(h) for h in haves)
    if qualifier == "ForAnyValue":
        return any(one(h) for h in haves)
    return len(haves) == 1 and one(haves[0])


def _element_applies(statement: Mapping[str, Any], name: str, value: str, request: Request) -> bool:
    """Whether `Action` (`Resource`) matches, or `NotAction` (`NotResource`) does not."""
    ignore_case = name == "Action"
    if name in statement:
        return _matches_element(statement[name], value, request.context, ignore_case)
    negated = f"Not{name}"
    return negated in statement and not _matches_element(
        statement[negated], value, request.context, ignore_case
    )


def _statement_applies(statement: Mapping[str, Any], request: Request) -> bool:
    if not _element_applies(statement, "Action", request.action, request):
        return False
    if not _element_applies(statement, "Resource", request.resource, request):
        return False
    for operator, keys in (statement.get("Condition") or {}).items():
        for key, wanted in keys.items():
            try:
                if not _condition_holds(operator, key, wanted, request.context):
                    return False
            except NotImplementedError:
                log.warning("condition operator not emulated: the statement does not apply: %s", operator)
                return False
    return True


def is_allowed(policies: Iterable[Mapping[str, Any]], request: Request) -> bool:
    """Identity-policy evaluation: an applicable Deny wins, else an applicable Allow allows."""
    allowed = False
    for policy in policies:
        for statement in _listed(policy.get("Statement") or []):
            if _statement_applies(statement, request):
                if statement.get("Effect") == "Deny":
                    return False
                allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


# ---------------------------------------------------------------- the emulator's hooks


_CREDENTIAL = re.compile(r"Credential=([A-Z0-9]+)/")


def _record_session(assume_role: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(assume_role)
    def recording(self: TokenResponse) -> Any:
        result = assume_role(self)
        role = result.result["Credentials"]
        tags = {str(t["Key"]): str(t["Value"]) for t in self._get_param("Tags") or []}
        _SESSIONS[role.access_key_id] = Session(role.account_id, role.role_arn, role.arn, tags)
        return result

    recording.__itam_iam__ = True  # type: ignore[attr-defined]
    return recording


def credential_session(headers: Any) -> Session | None:
    """The assumed-role session whose credentials signed a request, if the stack recorded it."""
    found = _CREDENTIAL.search(str(headers.get("Authorization") or ""))
    return _SESSIONS.get(found.group(1)) if found else None


def role_policies(session: Session) -> list[dict[str, Any]]:
    """The inline policies of the session's role (the template declares its roles' policies inline)."""
    try:
        role = iam_backends[session.account_id]["global"].get_role_by_arn(session.role_arn)
    except Exception:
        return []  # a role that does not exist allows nothing
    return [json.loads(p) if isinstance(p, str) else p for p in role.policies.values()]


_TAGGING = {"CreateSecret", "TagResource"}


def _requests(response: SecretsManagerResponse, session: Session) -> list[Request]:
    """What a Secrets Manager call asks IAM: the action (and TagResource for a create with tags)."""
    action = response._get_action()
    region, account = response.region, response.current_account
    context: dict[str, str | list[str]] = {f"aws:PrincipalTag/{k}": v for k, v in session.tags.items()}
    context["aws:PrincipalArn"] = session.role_arn
    tags = (response._get_param("Tags") or []) if action in _TAGGING else []
    for tag in tags:
        context[f"aws:RequestTag/{tag['Key']}"] = str(tag["Value"])
    if tags:
        context["aws:TagKeys"] = [str(t["Key"]) for t in tags]
    if action == "CreateSecret":
        name = str(response._get_param("Name"))
        context["secretsmanager:Name"] = name
        resource = f"arn:aws:secretsmanager:{region}:{account}:secret:{name}-AbCdEf"
    else:
        secret_id = response._get_param("SecretId")
        if secret_id is None:
            resource = "*"
        else:
            secret = secretsmanager_backends[account][region].secrets.get(str(secret_id))
            if secret is None:
                resource = (
                    secret_id
                    if str(secret_id).startswith("arn:")
                    else (f"arn:aws:secretsmanager:{region}:{account}:secret:{secret_id}")
                )
            else:
                resource = secret.arn
                for tag in secret.tags or []:
                    for prefix in ("aws:ResourceTag/", "secretsmanager:ResourceTag/"):
                        context[f"{prefix}{tag['Key']}"] = str(tag["Value"])
    actions = [action, "TagResource"] if action == "CreateSecret" and tags else [action]
    return [Request(f"secretsmanager:{a}", resource, context) for a in actions]


def _authorize(authorize: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(authorize)
    def authorizing(self: SecretsManagerResponse, resource: str) -> None:
        authorize(self, resource)
        if not _ENFORCING.is_set():
            return
        session = credential_session(self.headers)
        if session is None:
            return
        policies = role_policies(session)
        for request in _requests(self, session):
            if not is_allowed(policies, request):
                raise AccessDenied(
                    f"User: {session.arn} is not authorized to perform: {request.action} on resource: "
                    f"{request.resource} because no identity-based policy allows the {request.action} action"
                )

    authorizing.__itam_iam__ = True  # type: ignore[attr-defined]
    return authorizing


def enforce_secrets_policies(enabled: bool = True) -> None:
    """Evaluate assumed-role sessions' Secrets Manager calls against their role's policies (or stop)."""
    with _INSTALL_LOCK:
        if not getattr(TokenResponse.assume_role, "__itam_iam__", False):
            TokenResponse.assume_role = _record_session(TokenResponse.assume_role)  # type: ignore[method-assign]
        authorize = SecretsManagerResponse._authenticate_and_authorize_normal_action
        if not getattr(authorize, "__itam_iam__", False):
            SecretsManagerResponse._authenticate_and_authorize_normal_action = _authorize(authorize)  # type: ignore[method-assign]
    if enabled:
        _ENFORCING.set()
    else:
        _ENFORCING.clear()
