"""Hold the emulator to the IAM rules the product relies on at its AWS edges, as AWS would.

moto hands out credentials for any role ARN and lets any credentials read any item. Deployed, the
product's isolation and its connectors' safety rest on IAM:

- **Trust policies.** `sts:AssumeRole` succeeds only on a role that exists and whose trust policy
  allows the caller (Principal, and Conditions such as `sts:ExternalId`, `aws:PrincipalArn`,
  `aws:RequestTag/*`; `sts:TagSession` too when session tags are passed). A tenant's inventory role
  that trusts another ExternalId, or a role that does not exist, is AccessDenied.
- **The calling function's own policies.** Every AWS request a function makes locally carries a
  local-only header naming the function (set while it runs, by the execution environment); its
  AssumeRole is allowed only if the function's template policies allow `sts:AssumeRole` on that role,
  with `aws:ResourceAccount` the role's account: the sync worker cannot assume a role in the service's
  own account.
- **`dynamodb:LeadingKeys`.** Every DynamoDB request signed by an assumed-role session is evaluated
  against the session's role's policies, with `dynamodb:LeadingKeys` the partition key values it
  touches (an index's partition key for a Query on an index), the action (per item in a transaction)
  and the table or index ARN: a tenant session reading another tenant's items is AccessDenied.

Requests that neither a function nor an assumed-role session makes (the developer's CLI, tests) are
not evaluated. Policy evaluation (operators, variables, fail-closed on what is not emulated) is
infra/local/iam.py's.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import unquote

from botocore.handlers import BUILTIN_HANDLERS
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.responses import DynamoHandler
from moto.iam.models import iam_backends
from moto.sts.exceptions import STSClientError
from moto.sts.responses import TokenResponse

from infra.local.iam import AccessDenied, Request, Session, credential_session, is_allowed, role_policies
from infra.local.template import resources_of_type

FUNCTION_HEADER = "x-itam-local-function"
_MARK = "__itam_rules__"
_calling = threading.local()
_state: dict[str, Any] = {"functions": {}, "account": "", "stack": ""}
_ENFORCING = threading.Event()


# ---------------------------------------------------------------- which function calls


@contextlib.contextmanager
def calling_function(logical_id: str) -> Iterator[None]:
    """While a function runs on this thread, its AWS requests say so."""
    previous = getattr(_calling, "function", None)
    _calling.function = logical_id
    try:
        yield
    finally:
        _calling.function = previous


def _mark_request(request: Any, **_: Any) -> None:
    function = getattr(_calling, "function", None)
    if function:
        request.headers[FUNCTION_HEADER] = function


def mark_function_requests() -> None:
    """Every botocore session made from now on marks the requests of the running function."""
    handler = ("before-send", _mark_request)
    if handler not in BUILTIN_HANDLERS:
        BUILTIN_HANDLERS.append(handler)


def function_policies(template: Mapping[str, Any], resolver: Any) -> dict[str, list[dict[str, Any]]]:
    """Each function's inline policy documents (`Policies` items with a `Statement`), resolved.
    SAM policy templates and managed policies are not read: they grant nothing evaluated here."""
    found: dict[str, list[dict[str, Any]]] = {}
    for logical_id in resources_of_type(template, "AWS::Serverless::Function"):
        policies = (template["Resources"][logical_id].get("Properties") or {}).get("Policies") or []
        items = policies if isinstance(policies, list) else [policies]
        found[logical_id] = [resolver.resolve(p) for p in items if isinstance(p, dict) and "Statement" in p]
    return found


# ---------------------------------------------------------------- STS


_ACCOUNT = re.compile(r"^arn:[^:]+:iam::(\d{12}):")


def _principal_matches(principal: Any, caller_arn: str, caller_account: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    for value in (
        principal.get("AWS", []) if isinstance(principal.get("AWS"), list) else [principal.get("AWS")]
    ):
        if value is None:
            continue
        text = str(value)
        if text == "*" or text == caller_account or text == f"arn:aws:iam::{caller_account}:root":
            return True
        if text == caller_arn:
            return True
    return False


def _trusted(
    role: Any, caller_arn: str, caller_account: str, context: dict[str, Any], actions: list[str]
) -> bool:
    """Whether the role's trust policy lets the caller do each action (an applicable Deny wins)."""
    document = role.assume_role_policy_document
    if isinstance(document, str):
        document = json.loads(unquote(document) if document.lstrip().startswith("%") else document)
    statements = document.get("Statement") or []
    statements = statements if isinstance(statements, list) else [statements]
    for action in actions:
        allowed = False
        for statement in statements:
            if not _principal_matches(statement.get("Principal"), caller_arn, caller_account):
                continue
            # A trust policy names no Resource: its statements are evaluated on the role itself.
            as_allow = {**statement, "Effect": "Allow", "Resource": "*"}
            if is_allowed([{"Statement": [as_allow]}], Request(action, role.arn, context)):
                if statement.get("Effect") == "Deny":
                    return False
                allowed = True
        if not allowed:
            return False
    return True


def _caller(response: TokenResponse) -> tuple[str, str, list[dict[str, Any]] | None]:
    """(principal ARN, account, identity policies or None when not evaluated) of an AssumeRole call."""
    account = response.current_account
    function = response.headers.get(FUNCTION_HEADER)
    if function:
        arn = f"arn:aws:iam::{account}:role/{_state['stack']}-{function}Role-local"
        return arn, account, list(_state["functions"].get(function, []))
    session = credential_session(response.headers)
    if session is not None:
        return session.role_arn, session.account_id, role_policies(session)
    return f"arn:aws:iam::{account}:root", account, None


def check_assume_role(response: TokenResponse) -> None:
    """AccessDenied unless the role exists, trusts the caller (with these conditions) and, for a
    function, the function's own policies allow it."""
    role_arn = str(response._get_param("RoleArn") or "")
    caller_arn, caller_account, policies = _caller(response)
    denied = STSClientError(
        "AccessDenied",
        f"User: {caller_arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
    )
    found = _ACCOUNT.match(role_arn)
    if found is None:
        raise denied
    role_account = found.group(1)
    try:
        role = iam_backends[role_account]["global"].get_role_by_arn(role_arn)
    except Exception:
        raise denied from None
    tags = {str(t["Key"]): str(t["Value"]) for t in response._get_param("Tags") or []}
    context: dict[str, Any] = {"aws:PrincipalArn": caller_arn, "aws:PrincipalAccount": caller_account}
    context |= {f"aws:RequestTag/{k}": v for k, v in tags.items()}
    if tags:
        context["aws:TagKeys"] = list(tags)
    if (external_id := response._get_param("ExternalId")) is not None:
        context["sts:ExternalId"] = str(external_id)
    actions = ["sts:AssumeRole", *(["sts:TagSession"] if tags else [])]
    if not _trusted(role, caller_arn, caller_account, context, actions):
        raise denied
    identity = {"aws:ResourceAccount": role_account, **context}
    if policies is not None and not all(
        is_allowed(policies, Request(a, role_arn, identity)) for a in actions
    ):
        raise denied


def _checked_assume_role(assume_role: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(assume_role)
    def checked(self: TokenResponse) -> Any:
        if _ENFORCING.is_set():
            check_assume_role(self)
        return assume_role(self)

    setattr(checked, _MARK, True)
    return checked


# ---------------------------------------------------------------- DynamoDB


def _scalar(value: Mapping[str, Any]) -> str:
    for kind in ("S", "N", "B"):
        if kind in value:
            return str(value[kind])
    return ""


_EQUALS = re.compile(r"([#\w.]+)\s*=\s*(:\w+)|(:\w+)\s*=\s*([#\w.]+)")


def _query_partition(body: Mapping[str, Any], hash_attr: str) -> list[str]:
    names = body.get("ExpressionAttributeNames") or {}
    values = body.get("ExpressionAttributeValues") or {}
    expression = str(body.get("KeyConditionExpression") or "")
    for left, placeholder, placeholder2, right in _EQUALS.findall(expression):
        name, value = (left, placeholder) if left else (right, placeholder2)
        if names.get(name, name) == hash_attr and value in values:
            return [_scalar(values[value])]
    legacy = (body.get("KeyConditions") or {}).get(hash_attr)
    if legacy:
        return [_scalar(v) for v in legacy.get("AttributeValueList") or []]
    return []


class _Table:
    def __init__(self, handler: DynamoHandler, name: str) -> None:
        self.name = name
        self.arn = f"arn:aws:dynamodb:{handler.region}:{handler.current_account}:table/{name}"
        table = dynamodb_backends[handler.current_account][handler.region].tables.get(name)
        self.hash_attr = table.hash_key_attr if table is not None else ""
        self.indexes = {i.name: i for i in table.all_indexes()} if table is not None else {}

    def keys(self, item: Mapping[str, Any] | None) -> list[str]:
        value = (item or {}).get(self.hash_attr)
        return [_scalar(value)] if isinstance(value, Mapping) else []

    def index(self, name: str) -> tuple[str, str]:
        """The index's ARN and partition key attribute."""
        index = self.indexes.get(name)
        attr = next((k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"), "") if index else ""
        return f"{self.arn}/index/{name}", attr


_TRANSACT_ACTIONS = {
    "ConditionCheck": "ConditionCheckItem",
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "Get": "GetItem",
}
Asked = list[tuple[str, str, list[str]]]


def _batch(handler: DynamoHandler, action: str, body: Mapping[str, Any]) -> Asked:
    asked: Asked = []
    for name, wanted in (body.get("RequestItems") or {}).items():
        table = _Table(handler, name)
        if action == "BatchGetItem":
            items = list(wanted.get("Keys") or [])
        else:
            items = [
                (w.get("PutRequest") or {}).get("Item") or (w.get("DeleteRequest") or {}).get("Key")
                for w in wanted
            ]
        asked.append((action, table.arn, [k for item in items for k in table.keys(item)]))
    return asked


def dynamodb_requests(handler: DynamoHandler, action: str, body: Mapping[str, Any]) -> Asked:
    """What a DynamoDB call asks IAM: (action, resource ARN, leading keys) per table, index or item."""
    if action in ("BatchGetItem", "BatchWriteItem"):
        return _batch(handler, action, body)
    if action in ("TransactWriteItems", "TransactGetItems"):
        asked: Asked = []
        for entry in body.get("TransactItems") or []:
            for kind, op in entry.items():
                table = _Table(handler, str(op.get("TableName")))
                keys = table.keys(op.get("Item") or op.get("Key"))
                asked.append((_TRANSACT_ACTIONS.get(kind, kind), table.arn, keys))
        return asked
    name = body.get("TableName")
    if name is None:
        return [(action, "*", [])]
    table = _Table(handler, str(name))
    if action in ("GetItem", "DeleteItem", "UpdateItem", "PutItem"):
        return [(action, table.arn, table.keys(body.get("Item") if action == "PutItem" else body.get("Key")))]
    if action in ("Query", "Scan"):
        index = body.get("IndexName")
        arn, attr = table.index(str(index)) if index else (table.arn, table.hash_attr)
        return [(action, arn, _query_partition(body, attr) if action == "Query" else [])]
    return [(action, table.arn, [])]


def _authorize_dynamodb(authorize: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(authorize)
    def authorizing(self: DynamoHandler, resource: str) -> None:
        authorize(self, resource)
        session = credential_session(self.headers) if _ENFORCING.is_set() else None
        if session is None:
            return
        action = self._get_action()
        policies = role_policies(session)
        base: dict[str, Any] = {f"aws:PrincipalTag/{k}": v for k, v in session.tags.items()}
        base["aws:PrincipalArn"] = session.role_arn
        for asked, arn, keys in dynamodb_requests(self, action, self.body or {}):
            context = {**base, **({"dynamodb:LeadingKeys": keys} if keys else {})}
            if not is_allowed(policies, Request(f"dynamodb:{asked}", arn, context)):
                raise AccessDenied(
                    f"User: {session.arn} is not authorized to perform: dynamodb:{asked} on resource: {arn} "
                    f"because no identity-based policy allows the dynamodb:{asked} action"
                )

    setattr(authorizing, _MARK, True)
    return authorizing


def enforce_iam_rules(
    functions: dict[str, list[dict[str, Any]]], account: str, stack_name: str, enabled: bool = True
) -> None:
    """Install the rules (idempotent) and switch them on (or off): trust policies and the calling
    function's policies on AssumeRole, LeadingKeys on tenant sessions' DynamoDB calls; `functions`
    are each function's policy documents (function_policies)."""
    _state.update(functions=functions, account=account, stack=stack_name)
    if enabled:
        _ENFORCING.set()
    else:
        _ENFORCING.clear()
    mark_function_requests()
    if not getattr(TokenResponse.assume_role, _MARK, False):
        TokenResponse.assume_role = _checked_assume_role(TokenResponse.assume_role)  # type: ignore[method-assign]
    authorize = DynamoHandler._authenticate_and_authorize_normal_action
    if not getattr(authorize, _MARK, False):
        DynamoHandler._authenticate_and_authorize_normal_action = _authorize_dynamodb(authorize)  # type: ignore[method-assign]


__all__ = ["FUNCTION_HEADER", "Session", "calling_function", "enforce_iam_rules", "function_policies"]
