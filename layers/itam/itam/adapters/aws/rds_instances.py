"""RDS DB instances of a region: DescribeDBInstances (100 a page; tags come inline in TagList)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from itam.adapters.aws.common import (
    arn_or,
    as_datetime,
    as_int,
    as_list,
    as_map,
    as_text,
    attributes,
    build_resource,
    required,
    resource_name,
    tag_map,
)
from itam.adapters.aws.model import AwsResource, Clients, CloudResource, ResourceType, Scope

SERVICE = "rds"


def get_rds_instances(clients: Clients, scope: Scope) -> Iterator[Any]:
    """Every element of DescribeDBInstances' DBInstances[] in the scope's region."""
    paginator = clients(SERVICE, scope.region).get_paginator("describe_db_instances")
    for page in paginator.paginate(PaginationConfig={"PageSize": 100}):
        yield from as_list(as_map(page).get("DBInstances"))


def transform_rds_instance(raw: Any, scope: Scope) -> CloudResource:
    """An element of DescribeDBInstances' DBInstances[]."""
    identifier = required(raw, "DBInstanceIdentifier")
    tags = tag_map(raw.get("TagList"))
    storage = as_int(raw.get("AllocatedStorage"))
    built = f"arn:{scope.partition}:rds:{scope.region}:{scope.account}:db:{identifier}"
    return build_resource(
        external_key=arn_or(raw.get("DBInstanceArn"), built),
        resource_type=ResourceType.RDS_INSTANCE,
        account_id=scope.account,
        region=scope.region,
        name=resource_name(tags, identifier),
        size=as_text(raw.get("DBInstanceClass")),
        state=as_text(raw.get("DBInstanceStatus")),
        tags=tags,
        attributes=attributes(
            engine=raw.get("Engine"),
            engine_version=raw.get("EngineVersion"),
            availability_zone=raw.get("AvailabilityZone"),
            multi_az=raw.get("MultiAZ") if isinstance(raw.get("MultiAZ"), bool) else None,
            storage_gib=storage,
            cluster=raw.get("DBClusterIdentifier"),
        ),
        created_at=as_datetime(raw.get("InstanceCreateTime")),
    )


RESOURCE = AwsResource(
    service=SERVICE, is_global=False, get=get_rds_instances, transform=transform_rds_instance
)
