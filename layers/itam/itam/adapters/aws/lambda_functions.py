"""Lambda functions of a region: ListFunctions, and ListTags for each function.

ListFunctions returns no State (only GetFunction does) and no creation time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from botocore.exceptions import ClientError

from itam.adapters.aws.common import (
    GONE,
    arn_or,
    as_int,
    as_list,
    as_map,
    as_text,
    attributes,
    build_resource,
    client_error,
    required,
    resource_name,
    tag_map,
)
from itam.adapters.aws.model import (
    AwsResource,
    Clients,
    CloudResource,
    MalformedRecord,
    ResourceType,
    Scope,
)

SERVICE = "lambda"


class ListedFunction(NamedTuple):
    """An element of ListFunctions' Functions[] and the `Tags` map ListTags gave for it."""

    function: Any
    tags: Any = None


def _built_arn(name: str, scope: Scope) -> str:
    return f"arn:{scope.partition}:lambda:{scope.region}:{scope.account}:function:{name}"


def get_lambda_functions(clients: Clients, scope: Scope) -> Iterator[ListedFunction | MalformedRecord]:
    """Every function of the scope's region with its tags; one deleted meanwhile is left out."""
    client = clients(SERVICE, scope.region)
    for page in client.get_paginator("list_functions").paginate():
        for raw in as_list(as_map(page).get("Functions")):
            try:
                name = required(raw, "FunctionName")
            except MalformedRecord as exc:
                yield exc
                continue
            arn = arn_or(raw.get("FunctionArn"), _built_arn(name, scope))
            try:
                tags = as_map(client.list_tags(Resource=arn)).get("Tags")
            except ClientError as exc:
                if client_error(exc)[0] in GONE:
                    continue
                raise
            yield ListedFunction(raw, tags)


def transform_lambda_function(listed: ListedFunction, scope: Scope) -> CloudResource:
    """A function of ListFunctions with its ListTags map."""
    raw = listed.function
    function_name = required(raw, "FunctionName")
    tags = tag_map(listed.tags)
    memory = as_int(raw.get("MemorySize"))
    architectures = [a for a in raw.get("Architectures") or [] if isinstance(a, str)]
    return build_resource(
        external_key=arn_or(raw.get("FunctionArn"), _built_arn(function_name, scope)),
        resource_type=ResourceType.LAMBDA_FUNCTION,
        account_id=scope.account,
        region=scope.region,
        name=resource_name(tags, function_name),
        size=f"{memory} MB" if memory is not None else None,
        state=as_text(raw.get("State")),
        tags=tags,
        attributes=attributes(
            runtime=raw.get("Runtime"),
            architecture=",".join(sorted(architectures)) or None,
            package_type=raw.get("PackageType"),
        ),
    )


RESOURCE = AwsResource(
    service=SERVICE, is_global=False, get=get_lambda_functions, transform=transform_lambda_function
)
