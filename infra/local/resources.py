"""Create, in the emulated AWS, the resources template.yaml declares: one function per resource type."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3

from infra.local.template import (
    ACCOUNT_ID,
    DEFAULT_STACK_NAME,
    Resolver,
    TemplateError,
    parameter_values,
    referenced_ids,
    table_kwargs_from_properties,
    table_post_create,
    template_conditions,
)

log = logging.getLogger("infra.local.resources")


@dataclass
class Created:
    """A created resource: its Ref value and the attributes Fn::GetAtt may ask for."""

    ref: str
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass
class StackResources:
    """What the local stack created: Ref values and attributes by logical id, plus the region."""

    region: str
    params: dict[str, str]
    types: dict[str, str] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)
    stack_name: str = DEFAULT_STACK_NAME
    # Per event bus (by logical id): the URL of the queue that receives a copy of every event on it.
    event_taps: dict[str, str] = field(default_factory=dict)
    # The template's Conditions (name -> expression), for Fn::If and resources' Condition.
    conditions: dict[str, Any] = field(default_factory=dict)

    def resolver(self) -> Resolver:
        """A resolver that knows every created resource."""
        return Resolver(
            params=self.params,
            refs=self.refs,
            attributes=self.attributes,
            region=self.region,
            stack_name=self.stack_name,
            conditions=self.conditions,
        )

    def first_ref(self, type_name: str) -> str | None:
        """The Ref value of the first resource of a type, if any."""
        return next((self.refs[lid] for lid, t in self.types.items() if t == type_name), None)

    def refs_of_type(self, type_name: str) -> dict[str, str]:
        """Ref values of every resource of a type, by logical id."""
        return {lid: self.refs[lid] for lid, t in self.types.items() if t == type_name}

    @property
    def user_pool_id(self) -> str | None:
        """The first Cognito user pool's id."""
        return self.first_ref("AWS::Cognito::UserPool")

    @property
    def client_id(self) -> str | None:
        """The first Cognito app client's id."""
        return self.first_ref("AWS::Cognito::UserPoolClient")

    @property
    def table_name(self) -> str | None:
        """The first DynamoDB table's name."""
        return self.first_ref("AWS::DynamoDB::Table")

    @property
    def queues(self) -> dict[str, str]:
        """SQS queue URLs by logical id."""
        return self.refs_of_type("AWS::SQS::Queue")

    @property
    def event_buses(self) -> dict[str, str]:
        """EventBridge bus names by logical id."""
        return self.refs_of_type("AWS::Events::EventBus")


@dataclass
class Context:
    """Clients for the emulated services, made on first use."""

    session: boto3.Session
    endpoint_url: str
    region: str
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        """A boto3 client for a service, pointed at the emulator."""
        if service not in self._clients:
            make_client: Any = self.session.client
            self._clients[service] = make_client(
                service, endpoint_url=self.endpoint_url, region_name=self.region
            )
        return self._clients[service]

    def arn(self, service: str, resource: str) -> str:
        """An ARN in the emulated account and region."""
        return f"arn:aws:{service}:{self.region}:{ACCOUNT_ID}:{resource}"


Creator = Callable[[Context, str, dict[str, Any]], Created]


def create_table(ctx: Context, logical_id: str, props: dict[str, Any]) -> Created:
    """AWS::DynamoDB::Table: create_table, then TTL and point-in-time recovery."""
    ddb = ctx.client("dynamodb")
    kwargs = table_kwargs_from_properties(logical_id, props, DEFAULT_STACK_NAME)
    table = ddb.create_table(**kwargs)["TableDescription"]
    for call, call_kwargs in table_post_create(props).items():
        getattr(ddb, call)(TableName=kwargs["TableName"], **call_kwargs)
    attrs = {"Arn": table["TableArn"]}
    if "LatestStreamArn" in table:
        attrs["StreamArn"] = table["LatestStreamArn"]
    return Created(kwargs["TableName"], attrs)


_POOL_DROP = {"UserPoolName", "EnabledMfas", "WebAuthnRelyingPartyID", "WebAuthnUserVerification"}


def create_user_pool(ctx: Context, logical_id: str, props: dict[str, Any]) -> Created:
    """AWS::Cognito::UserPool: custom Schema attributes become custom:<name>, as in Cognito."""
    kwargs = {k: v for k, v in props.items() if k not in _POOL_DROP}
    kwargs["PoolName"] = props.get("UserPoolName") or f"{DEFAULT_STACK_NAME}-{logical_id}"
    pool = ctx.client("cognito-idp").create_user_pool(**kwargs)["UserPool"]
    provider = f"cognito-idp.{ctx.region}.amazonaws.com/{pool['Id']}"
    return Created(
        pool["Id"],
        {
            "Arn": pool["Arn"],
            "UserPoolId": pool["Id"],
            "ProviderName": provider,
            "ProviderURL": f"https://{provider}",
        },
    )


def create_user_pool_client(ctx: Context, logical_id: str, props: dict[str, Any]) -> Created:
    """AWS::Cognito::UserPoolClient: the resource properties are the API's parameters."""
    kwargs = {"ClientName": f"{DEFAULT_STACK_NAME}-{logical_id}", **props}
    client = ctx.client("cognito-idp").create_user_pool_client(**kwargs)["UserPoolClient"]
    attrs = {"ClientId": client["ClientId"], "Name": client["ClientName"]}
    if client.get("ClientSecret"):
        attrs["ClientSecret"] = client["ClientSecret"]
    return Created(client["ClientId"], attrs)


def create_user_pool_group(ctx: Context, logical_id: str, props: dict[str, Any]) -> Created:
    """AWS::Cognito::UserPoolGroup."""
    kwargs = {"GroupName": logical_id, **props}
    ctx.client("cognito-idp").create_group(**kwargs)
    return Created(kwargs["GroupName"])


def create_role(ctx: Context, logical_id: str, props: dict[str, Any]) -> Created:
    """AWS::IAM::Role with its inline policies (the emulator stores them; it does not enforce them)."""
    name = props.get("RoleName") or f"{DEFAULT_STACK_NAME}-{logical_id}"
    kwargs: dict[str, Any] = {
        "RoleName": name,
        "AssumeRolePolicyDocument": json.dumps(props["AssumeRolePolicyDocument"]),
    }
    for key in ("Path", "MaxSessionDuration", "Description"):
        if key in props:
            kwargs[key] = props[key]
    iam = ctx.client("iam")
    role = iam.create_role(**kwargs)["Role"]
    for policy in props.get("Policies") or []:
        iam.put_role_policy(
            RoleName=name,
            PolicyName=policy["PolicyName"],
            PolicyDocument=json.dumps(policy["PolicyDocument"]),
        )
    return Created(name, {"Arn": role["Arn"], "RoleId": role["RoleId"]})


# Properties of AWS::SQS::Queue that are CreateQueue attributes of the same name.
_QUEUE_ATTRIBUTES = (
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "DelaySeconds",
    "FifoQueue",
    "FifoThroughputLimit",
    "KmsDataKeyReusePeriodSeconds",
    "KmsMasterKeyId",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "RedriveAllowPolicy",
    "RedrivePolicy",
    "SqsManagedSseEnabled",
    "VisibilityTimeout",
)
MAX_QUEUE_NAME = 80


def _attribute_string(value: Any) -> str:
    """A CreateQueue attribute value: every attribute is a string; policies are JSON documents."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def queue_attributes(props: Mapping[str, Any]) -> dict[str, str]:
    """CreateQueue Attributes from a queue's resolved Properties."""
    return {key: _attribute_string(props[key]) for key in _QUEUE_ATTRIBUTES if key in props}


def queue_name(logical_id: str, props: Mapping[str, Any], stack_name: str = DEFAULT_STACK_NAME) -> str:
    """QueueName, else <stack>-<LogicalId> (with .fifo for a FIFO queue), as CloudFormation derives it."""
    if props.get("QueueName"):
        return str(props["QueueName"])
    suffix = ".fifo" if str(props.get("FifoQueue", "")).lower() == "true" else ""
    return f"{stack_name}-{logical_id}"[: MAX_QUEUE_NAME - len(suffix)] + suffix


def _create_queue(ctx: Context, name: str, attributes: Mapping[str, str], tags: Mapping[str, str]) -> Created:
    sqs = ctx.client("sqs")
    kwargs: dict[str, Any] = {"QueueName": name, "Attributes": dict(attributes)}
    if tags:
        kwargs["tags"] = dict(tags)
    url = str(sqs.create_queue(**kwargs)["QueueUrl"])
    arn = str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])
    return Created(url, {"Arn": arn, "QueueName": name, "QueueUrl": url})


def create_queue(ctx: Context, logical_id: str, props: dict[str, Any]) -> Created:
    """AWS::SQS::Queue: Ref is the queue URL; a RedrivePolicy names a dead-letter queue created before."""
    tags = {str(t["Key"]): str(t["Value"]) for t in props.get("Tags") or []}
    return _create_queue(ctx, queue_name(logical_id, props), queue_attributes(props), tags)


def create_event_bus(ctx: Context, logical_id: str, props: dict[str, Any]) -> Created:
    """AWS::Events::EventBus: Ref is the bus name."""
    kwargs: dict[str, Any] = {"Name": props["Name"]}
    for key in ("EventSourceName", "Description", "Tags"):
        if key in props:
            kwargs[key] = props[key]
    bus = ctx.client("events").create_event_bus(**kwargs)
    return Created(str(props["Name"]), {"Arn": str(bus["EventBusArn"]), "Name": str(props["Name"])})


def create_event_tap(
    ctx: Context, bus_logical_id: str, bus_name: str, stack_name: str = DEFAULT_STACK_NAME
) -> str:
    """A queue <stack>-<BusLogicalId>-tap and a rule on the bus that sends it every event; its URL.

    Local only: it lets developers and tests read what handlers published to the bus.
    """
    name = f"{stack_name}-{bus_logical_id}-tap"
    queue = _create_queue(ctx, name, {}, {})
    queue_arn = queue.attributes["Arn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
            }
        ],
    }
    ctx.client("sqs").set_queue_attributes(QueueUrl=queue.ref, Attributes={"Policy": json.dumps(policy)})
    events = ctx.client("events")
    # Every event on a bus carries the account it was put in: this pattern matches them all.
    events.put_rule(
        Name=name,
        EventBusName=bus_name,
        EventPattern=json.dumps({"account": [ACCOUNT_ID]}),
        State="ENABLED",
        Description="Local event tap: a copy of every event on the bus",
    )
    events.put_targets(Rule=name, EventBusName=bus_name, Targets=[{"Id": "tap", "Arn": queue_arn}])
    return queue.ref


# Properties of GenerateSecretString that are GetRandomPassword parameters of the same name.
_PASSWORD_PARAMETERS = (
    "PasswordLength",
    "ExcludeCharacters",
    "ExcludeLowercase",
    "ExcludeNumbers",
    "ExcludePunctuation",
    "ExcludeUppercase",
    "IncludeSpace",
    "RequireEachIncludedType",
)


def secret_value(ctx: Context, props: Mapping[str, Any]) -> str:
    """The value CloudFormation gives a secret: SecretString, or one generated as GenerateSecretString
    says (a random password, or SecretStringTemplate's JSON with the password under GenerateStringKey)."""
    if "SecretString" in props:
        return str(props["SecretString"])
    generate = props.get("GenerateSecretString") or {}
    parameters = {name: generate[name] for name in _PASSWORD_PARAMETERS if name in generate}
    password = str(ctx.client("secretsmanager").get_random_password(**parameters)["RandomPassword"])
    template, key = generate.get("SecretStringTemplate"), generate.get("GenerateStringKey")
    if template is None or key is None:
        return password
    return json.dumps({**json.loads(template), key: password})


def create_secret(ctx: Context, logical_id: str, props: dict[str, Any]) -> Created:
    """AWS::SecretsManager::Secret, its value given or generated: Ref is the ARN."""
    kwargs: dict[str, Any] = {
        "Name": props.get("Name") or f"{DEFAULT_STACK_NAME}-{logical_id}",
        "SecretString": secret_value(ctx, props),
    }
    if "Description" in props:
        kwargs["Description"] = props["Description"]
    arn = str(ctx.client("secretsmanager").create_secret(**kwargs)["ARN"])
    return Created(arn, {"Id": arn})


CREATORS: dict[str, Creator] = {
    "AWS::IAM::Role": create_role,
    "AWS::DynamoDB::Table": create_table,
    "AWS::Cognito::UserPool": create_user_pool,
    "AWS::Cognito::UserPoolClient": create_user_pool_client,
    "AWS::Cognito::UserPoolGroup": create_user_pool_group,
    "AWS::SQS::Queue": create_queue,
    "AWS::Events::EventBus": create_event_bus,
    "AWS::SecretsManager::Secret": create_secret,
}

_NAME_PROPERTY = {
    "AWS::Serverless::Function": ("FunctionName", "lambda", "function:{}"),
    "AWS::Logs::LogGroup": ("LogGroupName", "logs", "log-group:{}"),
    "AWS::Serverless::LayerVersion": ("LayerName", "lambda", "layer:{}:1"),
}


def placeholder(
    ctx: Context, logical_id: str, type_name: str, props: Mapping[str, Any], res: Resolver
) -> Created:
    """A Ref value and Arn for a resource the emulator does not host (functions, APIs, log groups)."""
    if type_name in ("AWS::Serverless::HttpApi", "AWS::ApiGatewayV2::Api"):
        api_id = hashlib.sha256(logical_id.encode()).hexdigest()[:10]
        return Created(api_id, {"ApiId": api_id, "ApiEndpoint": f"http://{api_id}.local"})
    name_prop, service, arn_pattern = _NAME_PROPERTY.get(type_name, ("", "", "{}"))
    name = f"{DEFAULT_STACK_NAME}-{logical_id}"
    if name_prop in props:
        try:
            name = str(res.resolve(props[name_prop]))
        except TemplateError:
            log.debug("keeping generated name", extra={"logical_id": logical_id})
    arn = ctx.arn(service or "local", arn_pattern.format(name))
    ref = arn if type_name == "AWS::Serverless::LayerVersion" else name
    return Created(ref, {"Arn": arn})


def creation_order(template: Mapping[str, Any]) -> list[str]:
    """Logical ids ordered so that every resource comes after the resources it refers to."""
    resources: dict[str, Any] = template["Resources"]
    deps: dict[str, set[str]] = {}
    for lid, res in resources.items():
        depends_on = res.get("DependsOn") or []
        explicit = {depends_on} if isinstance(depends_on, str) else set(depends_on)
        deps[lid] = (referenced_ids(res.get("Properties") or {}) | explicit) & set(resources) - {lid}
    order: list[str] = []
    while deps:
        ready = [lid for lid, d in deps.items() if not d - set(order)]
        if not ready:
            raise TemplateError(f"circular references between {sorted(deps)}")
        order.extend(ready)
        for lid in ready:
            del deps[lid]
    return order


def create_resources(
    template: Mapping[str, Any],
    *,
    endpoint_url: str,
    region: str,
    params: Mapping[str, str] | None = None,
    session: boto3.Session | None = None,
) -> StackResources:
    """Create every resource of a supported type; give the others placeholder Ref values."""
    ctx = Context(session or boto3.Session(), endpoint_url, region)
    stack = StackResources(
        region=region, params=parameter_values(template, params), conditions=template_conditions(template)
    )
    for lid, resource in template["Resources"].items():
        # SAM gives a function without a Role an execution role <LogicalId>Role that other resources
        # may refer to (e.g. in a trust policy); the local stack runs functions with its own credentials.
        props = resource.get("Properties") or {}
        if resource.get("Type") == "AWS::Serverless::Function" and "Role" not in props:
            role = f"{DEFAULT_STACK_NAME}-{lid}Role"
            stack.types[f"{lid}Role"] = "AWS::IAM::Role"
            stack.refs[f"{lid}Role"] = role
            stack.attributes[f"{lid}Role"] = {"Arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{role}"}
    for lid in creation_order(template):
        resource = template["Resources"][lid]
        if "Condition" in resource and not stack.resolver().condition(str(resource["Condition"])):
            log.info("skipped: its condition is false", extra={"logical_id": lid})
            continue
        type_name = str(resource.get("Type"))
        props = resource.get("Properties") or {}
        creator = CREATORS.get(type_name)
        if creator is None:
            created = placeholder(ctx, lid, type_name, props, stack.resolver())
        else:
            created = creator(ctx, lid, stack.resolver().resolve(props))
            log.info("created", extra={"logical_id": lid, "type": type_name, "ref": created.ref})
        stack.types[lid] = type_name
        stack.refs[lid] = created.ref
        stack.attributes[lid] = created.attributes
    for lid, bus_name in stack.event_buses.items():
        stack.event_taps[lid] = create_event_tap(ctx, lid, bus_name, stack.stack_name)
        log.info("event tap", extra={"logical_id": lid, "queue_url": stack.event_taps[lid]})
    return stack
