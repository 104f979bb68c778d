"""Read template.yaml: CloudFormation short tags, intrinsic resolution, tables, routes, environments."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TEMPLATE = REPO_ROOT / "template.yaml"
ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
DEFAULT_STACK_NAME = "itam-local"

_FN_TAGS = (
    "GetAtt",
    "Sub",
    "If",
    "Join",
    "Select",
    "Split",
    "GetAZs",
    "FindInMap",
    "Equals",
    "Not",
    "And",
    "Or",
    "Base64",
    "ImportValue",
    "Cidr",
    "Length",
    "ToJsonString",
)


class TemplateError(ValueError):
    """The template uses something the local stack cannot interpret."""


class CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns CloudFormation short tags into their long-form dicts."""


def _construct(node: yaml.Node, loader: CfnLoader) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]


def _ref(loader: CfnLoader, node: yaml.Node) -> dict[str, Any]:
    return {"Ref": _construct(node, loader)}


def _fn(name: str) -> Any:
    def construct(loader: CfnLoader, node: yaml.Node) -> dict[str, Any]:
        value = _construct(node, loader)
        # The short form of GetAtt is a dotted string; the long form is a two-item list.
        if name == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        return {f"Fn::{name}": value}

    return construct


CfnLoader.add_constructor("!Ref", _ref)
for _tag in _FN_TAGS:
    CfnLoader.add_constructor(f"!{_tag}", _fn(_tag))


def _condition(loader: CfnLoader, node: yaml.Node) -> dict[str, Any]:
    return {"Condition": _construct(node, loader)}


CfnLoader.add_constructor("!Condition", _condition)


def load_template(path: Path | None = None) -> dict[str, Any]:
    """Parse a SAM/CloudFormation template (default: the repository's template.yaml)."""
    text = (path or DEFAULT_TEMPLATE).read_text(encoding="utf-8")
    data = yaml.load(text, Loader=CfnLoader)  # noqa: S506 - CfnLoader is a SafeLoader subclass
    if not isinstance(data, dict) or "Resources" not in data:
        raise TemplateError(f"{path or DEFAULT_TEMPLATE} is not a CloudFormation template")
    return data


def template_conditions(template: Mapping[str, Any]) -> dict[str, Any]:
    """The template's Conditions section (condition name -> expression)."""
    return dict(template.get("Conditions") or {})


def resources_of_type(template: Mapping[str, Any], type_name: str) -> dict[str, dict[str, Any]]:
    """Resources of one type, by logical id, in template order."""
    return {lid: res for lid, res in template["Resources"].items() if res.get("Type") == type_name}


def parameter_values(template: Mapping[str, Any], params: Mapping[str, str] | None = None) -> dict[str, str]:
    """Template parameter defaults overridden by params; a parameter left without a value is an error."""
    declared = template.get("Parameters", {}) or {}
    unknown = set(params or {}) - set(declared)
    if unknown:
        raise TemplateError(f"unknown template parameters: {sorted(unknown)}")
    values: dict[str, str] = {}
    for name, spec in declared.items():
        value = (params or {}).get(name, spec.get("Default"))
        if value is None:
            raise TemplateError(f"parameter {name} has no default and no value was given")
        allowed = spec.get("AllowedValues")
        if allowed and str(value) not in [str(a) for a in allowed]:
            raise TemplateError(f"parameter {name}={value!r} is not one of {allowed}")
        pattern = spec.get("AllowedPattern")
        if pattern and not re.fullmatch(pattern, str(value)):
            raise TemplateError(f"parameter {name}={value!r} does not match {pattern}")
        values[name] = str(value)
    return values


_SUB_VAR = re.compile(r"\$\{([^}!]+)\}")


class _NoValue:
    """What `Ref: AWS::NoValue` resolves to: the property or list item that holds it is removed."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()


@dataclass
class Resolver:
    """Resolves Ref, Fn::Sub, Fn::GetAtt, Fn::Join, Fn::Select, Fn::Split and Fn::If (with the
    template's Conditions) to strings; `Ref: AWS::NoValue` removes the property that holds it."""

    params: dict[str, str] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)
    region: str = DEFAULT_REGION
    account_id: str = ACCOUNT_ID
    stack_name: str = DEFAULT_STACK_NAME
    # The template's Conditions section: condition name -> its (unresolved) expression.
    conditions: dict[str, Any] = field(default_factory=dict)

    def pseudo(self) -> dict[str, str]:
        """Pseudo parameters as CloudFormation defines them."""
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::Partition": "aws",
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{self.account_id}:stack/"
            f"{self.stack_name}/00000000-0000-0000-0000-000000000000",
            "AWS::NoValue": "",
        }

    def ref(self, name: str) -> Any:
        """The Ref value of a parameter, pseudo parameter or resource (AWS::NoValue: NO_VALUE)."""
        if name == "AWS::NoValue":
            return NO_VALUE
        for source in (self.params, self.pseudo(), self.refs):
            if name in source:
                return source[name]
        raise TemplateError(f"cannot resolve Ref {name}: not a parameter nor a created resource")

    def get_att(self, logical_id: str, attribute: str) -> str:
        """A resource attribute recorded when the resource was created."""
        try:
            return self.attributes[logical_id][attribute]
        except KeyError:
            raise TemplateError(f"cannot resolve Fn::GetAtt {logical_id}.{attribute}") from None

    def condition(self, name: str) -> bool:
        """The value of a condition of the template's Conditions section."""
        if name not in self.conditions:
            raise TemplateError(f"unknown condition {name}")
        return self._truth(self.conditions[name])

    def _truth(self, expression: Any) -> bool:
        """Fn::Equals, Fn::Not, Fn::And, Fn::Or and Condition, as condition functions evaluate."""
        if not (isinstance(expression, dict) and len(expression) == 1):
            raise TemplateError(f"not a condition: {expression!r}")
        ((key, arg),) = expression.items()
        if key == "Condition":
            return self.condition(str(arg))
        if key == "Fn::Equals":
            left, right = (self.resolve(a) for a in arg)
            return str(left) == str(right)
        if key == "Fn::Not":
            return not self._truth(arg[0])
        if key == "Fn::And":
            return all(self._truth(a) for a in arg)
        if key == "Fn::Or":
            return any(self._truth(a) for a in arg)
        raise TemplateError(f"the local stack does not support {key} in a condition")

    def _sub_var(self, name: str, variables: Mapping[str, Any]) -> str:
        if name in variables:
            return str(self.resolve(variables[name]))
        if "." in name and not name.startswith("AWS::"):
            logical_id, attribute = name.split(".", 1)
            return self.get_att(logical_id, attribute)
        value = self.ref(name)
        return "" if value is NO_VALUE else str(value)

    def sub(self, value: Any) -> str:
        """Fn::Sub in its string and [string, variables] forms; ${!Literal} escapes."""
        text, variables = (value[0], value[1]) if isinstance(value, list) else (value, {})
        out = _SUB_VAR.sub(lambda m: self._sub_var(m.group(1).strip(), variables), text)
        return out.replace("${!", "${")

    def resolve(self, value: Any) -> Any:
        """Resolve intrinsics anywhere inside value; plain data passes through."""
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref" or key.startswith("Fn::"):
                return self._intrinsic(key, arg)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def _intrinsic(self, key: str, arg: Any) -> Any:
        if key == "Ref":
            return self.ref(arg)
        if key == "Fn::Sub":
            return self.sub(arg)
        if key == "Fn::GetAtt":
            return self.get_att(arg[0], arg[1])
        if key == "Fn::Join":
            return str(arg[0]).join(str(self.resolve(v)) for v in self.resolve(arg[1]))
        if key == "Fn::Select":
            return self.resolve(arg[1])[int(self.resolve(arg[0]))]
        if key == "Fn::Split":
            return str(self.resolve(arg[1])).split(arg[0])
        if key == "Fn::If":
            name, if_true, if_false = arg
            return self.resolve(if_true if self.condition(str(name)) else if_false)
        raise TemplateError(f"the local stack does not support {key}")


def referenced_ids(value: Any) -> set[str]:
    """Logical ids and parameters that value refers to through Ref, GetAtt or Sub."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= referenced_ids(item)
    elif isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif key == "Fn::GetAtt" and isinstance(arg, list):
                found.add(str(arg[0]))
            elif key == "Fn::Sub":
                text = arg[0] if isinstance(arg, list) else arg
                found |= {m.split(".", 1)[0] for m in _SUB_VAR.findall(str(text))}
                found |= referenced_ids(arg[1] if isinstance(arg, list) else None)
            else:
                found |= referenced_ids(arg)
    return found


# ---------------------------------------------------------------- DynamoDB

_TABLE_KEYS = (
    "AttributeDefinitions",
    "KeySchema",
    "BillingMode",
    "ProvisionedThroughput",
    "OnDemandThroughput",
    "TableClass",
    "DeletionProtectionEnabled",
    "Tags",
)
_INDEX_KEYS = ("IndexName", "KeySchema", "Projection", "ProvisionedThroughput", "OnDemandThroughput")


def table_logical_names(template: Mapping[str, Any]) -> list[str]:
    """Logical ids of the AWS::DynamoDB::Table resources, in template order."""
    return list(resources_of_type(template, "AWS::DynamoDB::Table"))


def table_kwargs_from_properties(
    logical_id: str, props: Mapping[str, Any], stack_name: str = DEFAULT_STACK_NAME
) -> dict[str, Any]:
    """create_table kwargs from a table's already-resolved Properties."""
    kwargs: dict[str, Any] = {"TableName": props.get("TableName") or f"{stack_name}-{logical_id}"}
    kwargs.update({k: props[k] for k in _TABLE_KEYS if k in props})
    for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if props.get(kind):
            kwargs[kind] = [{k: ix[k] for k in _INDEX_KEYS if k in ix} for ix in props[kind]]
    if "StreamSpecification" in props:
        # The resource property only names the view type; the API also wants the switch.
        kwargs["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    if "SSESpecification" in props:
        sse = props["SSESpecification"]
        kwargs["SSESpecification"] = {"Enabled": bool(sse.get("SSEEnabled", False))}
        if sse.get("SSEEnabled"):
            kwargs["SSESpecification"].update({k: sse[k] for k in ("SSEType", "KMSMasterKeyId") if k in sse})
    return kwargs


def table_create_kwargs(
    template: Mapping[str, Any], params: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """boto3 create_table kwargs for every AWS::DynamoDB::Table, from the resource's own Properties.

    params overrides the template's Parameters (e.g. {"Stage": "test"} gives TableName "itam-test").
    Settings that create_table does not take (point-in-time recovery, TTL) are left out; see
    table_post_create for them.
    """
    resolver = Resolver(params=parameter_values(template, params), conditions=template_conditions(template))
    tables = resources_of_type(template, "AWS::DynamoDB::Table")
    return [
        table_kwargs_from_properties(lid, resolver.resolve(res.get("Properties", {})), resolver.stack_name)
        for lid, res in tables.items()
    ]


def table_post_create(props: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Table settings applied after create_table: update_time_to_live and update_continuous_backups kwargs."""
    calls: dict[str, dict[str, Any]] = {}
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        calls["update_time_to_live"] = {
            "TimeToLiveSpecification": {"Enabled": True, "AttributeName": ttl["AttributeName"]}
        }
    pitr = props.get("PointInTimeRecoverySpecification")
    if pitr and pitr.get("PointInTimeRecoveryEnabled"):
        calls["update_continuous_backups"] = {
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}
        }
    return calls


# ---------------------------------------------------------------- functions and routes


@dataclass(frozen=True)
class FunctionSpec:
    """What the local stack needs to run one AWS::Serverless::Function in-process."""

    logical_id: str
    handler: str
    code_uri: str
    memory_mb: int
    timeout_s: int
    function_name: Any

    @property
    def module_name(self) -> str:
        """The handler's module, e.g. "handler" for "handler.lambda_handler"."""
        return self.handler.rsplit(".", 1)[0]

    @property
    def attribute(self) -> str:
        """The handler's function name inside its module."""
        return self.handler.rsplit(".", 1)[1]


@dataclass(frozen=True)
class JwtAuthorizer:
    """An HttpApi JWT authorizer, with issuer and audience still as template expressions."""

    name: str
    issuer: Any
    audience: list[Any]
    identity_source: str = "$request.header.Authorization"


@dataclass(frozen=True)
class Cors:
    """An HttpApi CorsConfiguration."""

    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    allow_credentials: bool = False
    max_age: int | None = None


@dataclass(frozen=True)
class Route:
    """One HttpApi event of a function: "METHOD /path" (or "$default") and its authorisation."""

    method: str
    path: str
    function: FunctionSpec
    event_name: str
    api_id: str
    authorizer: JwtAuthorizer | None
    authorization_scopes: tuple[str, ...] = ()

    @property
    def route_key(self) -> str:
        """The routeKey API Gateway puts in the event."""
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"

    @property
    def function_id(self) -> str:
        """The logical id of the target function."""
        return self.function.logical_id

    @property
    def auth(self) -> str:
        """ "NONE" or the authorizer's name."""
        return self.authorizer.name if self.authorizer else "NONE"


def _function_globals(template: Mapping[str, Any]) -> dict[str, Any]:
    return dict((template.get("Globals") or {}).get("Function") or {})


def function_spec(template: Mapping[str, Any], logical_id: str) -> FunctionSpec:
    """The handler, code location, memory and timeout of a function (Globals applied)."""
    props = {**_function_globals(template), **template["Resources"][logical_id].get("Properties", {})}
    if "CodeUri" not in props or not isinstance(props["CodeUri"], str):
        raise TemplateError(f"{logical_id}: only a local CodeUri directory is supported")
    if "Handler" not in props:
        raise TemplateError(f"{logical_id}: no Handler")
    return FunctionSpec(
        logical_id=logical_id,
        handler=str(props["Handler"]),
        code_uri=str(props["CodeUri"]),
        memory_mb=int(props.get("MemorySize", 128)),
        timeout_s=int(props.get("Timeout", 3)),
        function_name=props.get("FunctionName"),
    )


def _api_properties(template: Mapping[str, Any], api_id: str) -> dict[str, Any]:
    if api_id == "ServerlessHttpApi":
        return dict((template.get("Globals") or {}).get("HttpApi") or {})
    resource = template["Resources"].get(api_id)
    if not resource or resource.get("Type") != "AWS::Serverless::HttpApi":
        raise TemplateError(f"HttpApi event refers to {api_id}, which is not an AWS::Serverless::HttpApi")
    return dict(resource.get("Properties") or {})


def api_authorizer(template: Mapping[str, Any], api_id: str, name: str) -> JwtAuthorizer:
    """A named JWT authorizer of an HttpApi."""
    authorizers = (_api_properties(template, api_id).get("Auth") or {}).get("Authorizers") or {}
    spec = authorizers.get(name)
    if spec is None:
        raise TemplateError(f"{api_id} has no authorizer {name}")
    jwt_config = spec.get("JwtConfiguration")
    if not jwt_config:
        raise TemplateError(f"{api_id}.{name}: only JWT authorizers are supported")
    return JwtAuthorizer(
        name=name,
        issuer=jwt_config["issuer"],
        audience=list(jwt_config.get("audience") or []),
        identity_source=str(spec.get("IdentitySource", "$request.header.Authorization")),
    )


def api_cors(template: Mapping[str, Any], api_id: str) -> Cors | None:
    """The CorsConfiguration of an HttpApi, if any."""
    cors = _api_properties(template, api_id).get("CorsConfiguration")
    if not cors:
        return None
    if cors is True:
        return Cors(allow_origins=("*",), allow_methods=("*",), allow_headers=("*",))
    return Cors(
        allow_origins=tuple(cors.get("AllowOrigins", [])),
        allow_methods=tuple(m.upper() for m in cors.get("AllowMethods", [])),
        allow_headers=tuple(h.lower() for h in cors.get("AllowHeaders", [])),
        expose_headers=tuple(h.lower() for h in cors.get("ExposeHeaders", [])),
        allow_credentials=bool(cors.get("AllowCredentials", False)),
        max_age=cors.get("MaxAge"),
    )


def _event_route(template: Mapping[str, Any], spec: FunctionSpec, name: str, props: dict[str, Any]) -> Route:
    api_ref = props.get("ApiId", {"Ref": "ServerlessHttpApi"})
    if not (isinstance(api_ref, dict) and "Ref" in api_ref):
        raise TemplateError(f"{spec.logical_id}.{name}: ApiId must be a Ref to an HttpApi in this template")
    api_id = str(api_ref["Ref"])
    auth = props.get("Auth") or {}
    default = ((_api_properties(template, api_id).get("Auth") or {}).get("DefaultAuthorizer")) or "NONE"
    authorizer_name = auth.get("Authorizer", default)
    path = props.get("Path")
    method = str(props.get("Method", "ANY")).upper()
    if path is None:
        path, method = "$default", "ANY"
    return Route(
        method="ANY" if method == "X-AMAZON-APIGATEWAY-ANY-METHOD" else method,
        path=str(path),
        function=spec,
        event_name=name,
        api_id=api_id,
        authorizer=None if authorizer_name == "NONE" else api_authorizer(template, api_id, authorizer_name),
        authorization_scopes=tuple(auth.get("AuthorizationScopes") or ()),
    )


def http_routes(template: Mapping[str, Any]) -> list[Route]:
    """Every HttpApi event of every AWS::Serverless::Function, as routes."""
    routes: list[Route] = []
    for logical_id, resource in resources_of_type(template, "AWS::Serverless::Function").items():
        events = (resource.get("Properties") or {}).get("Events") or {}
        http_events = {n: e for n, e in events.items() if e.get("Type") == "HttpApi"}
        if not http_events:
            continue
        spec = function_spec(template, logical_id)
        for name, event in http_events.items():
            routes.append(_event_route(template, spec, name, dict(event.get("Properties") or {})))
    return routes


def function_environment(template: Mapping[str, Any], logical_id: str, resolved: Resolver) -> dict[str, str]:
    """Globals.Function.Environment.Variables merged with the function's own, resolved to strings."""
    merged: dict[str, Any] = {}
    for props in (_function_globals(template), template["Resources"][logical_id].get("Properties") or {}):
        merged.update(((props.get("Environment") or {}).get("Variables")) or {})
    return {name: str(resolved.resolve(value)) for name, value in merged.items()}


# ---------------------------------------------------------------- queues and schedules


@dataclass(frozen=True)
class SqsEventSource:
    """One SQS event of a function: the queue (a template expression) and how Lambda polls it."""

    function: FunctionSpec
    event_name: str
    queue: Any
    batch_size: int = 10
    report_batch_item_failures: bool = False
    enabled: bool = True


@dataclass(frozen=True)
class ScheduleEventSource:
    """One Schedule (EventBridge rule) or ScheduleV2 (EventBridge Scheduler) event of a function.

    Expression, timezone, input, name and group are template expressions, resolved by the caller.
    """

    function: FunctionSpec
    event_name: str
    kind: str
    expression: Any
    timezone: Any = None
    input: Any = None
    name: Any = None
    group_name: Any = None
    description: str | None = None
    enabled: bool = True


SCHEDULE_TYPES = ("Schedule", "ScheduleV2")


def _function_events(
    template: Mapping[str, Any], types: tuple[str, ...]
) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(function logical id, event name, event type, event properties) for events of the given types."""
    found: list[tuple[str, str, str, dict[str, Any]]] = []
    for logical_id, resource in resources_of_type(template, "AWS::Serverless::Function").items():
        events = (resource.get("Properties") or {}).get("Events") or {}
        for name, event in events.items():
            if event.get("Type") in types:
                found.append((logical_id, name, str(event["Type"]), dict(event.get("Properties") or {})))
    return found


def sqs_event_sources(template: Mapping[str, Any]) -> list[SqsEventSource]:
    """Every SQS event of every function, with Lambda's defaults (BatchSize 10, enabled)."""
    sources: list[SqsEventSource] = []
    for logical_id, name, _type, props in _function_events(template, ("SQS",)):
        if "Queue" not in props:
            raise TemplateError(f"{logical_id}.{name}: an SQS event needs a Queue")
        if props.get("FilterCriteria"):
            raise TemplateError(f"{logical_id}.{name}: FilterCriteria is not supported by the local runner")
        sources.append(
            SqsEventSource(
                function=function_spec(template, logical_id),
                event_name=name,
                queue=props["Queue"],
                batch_size=int(props.get("BatchSize", 10)),
                report_batch_item_failures="ReportBatchItemFailures"
                in (props.get("FunctionResponseTypes") or []),
                enabled=bool(props.get("Enabled", True)),
            )
        )
    return sources


def _schedule_enabled(props: Mapping[str, Any]) -> bool:
    state = props.get("State")
    if state is not None:
        return str(state).upper() == "ENABLED"
    return bool(props.get("Enabled", True))


def schedule_event_sources(template: Mapping[str, Any]) -> list[ScheduleEventSource]:
    """Every Schedule and ScheduleV2 event of every function."""
    sources: list[ScheduleEventSource] = []
    for logical_id, name, event_type, props in _function_events(template, SCHEDULE_TYPES):
        expression_key = "ScheduleExpression" if event_type == "ScheduleV2" else "Schedule"
        if expression_key not in props:
            raise TemplateError(f"{logical_id}.{name}: a {event_type} event needs {expression_key}")
        name_expr = props.get("Name")
        if name_expr is None and event_type == "ScheduleV2" and not props.get("OmitName"):
            # SAM names the schedule after the resource it generates: <FunctionLogicalId><EventName>.
            name_expr = f"{logical_id}{name}"
        sources.append(
            ScheduleEventSource(
                function=function_spec(template, logical_id),
                event_name=name,
                kind=event_type,
                expression=props[expression_key],
                timezone=props.get("ScheduleExpressionTimezone"),
                input=props.get("Input"),
                name=name_expr,
                group_name=props.get("GroupName"),
                description=props.get("Description"),
                enabled=_schedule_enabled(props),
            )
        )
    return sources
