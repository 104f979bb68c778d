"""EC2 instances of a region: DescribeInstances (live states only, 1,000 a page).

created_at is the attach time of the root volume: the API has no creation time, and LaunchTime
changes on every start. A terminated instance is not a resource.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from itam.adapters.aws.common import (
    as_datetime,
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

SERVICE = "ec2"
LIVE_STATES = ["pending", "running", "shutting-down", "stopping", "stopped"]


def get_ec2_instances(clients: Clients, scope: Scope) -> Iterator[Any]:
    """Every element of DescribeInstances' Reservations[].Instances[] in the scope's region."""
    pages = (
        clients(SERVICE, scope.region)
        .get_paginator("describe_instances")
        .paginate(
            Filters=[{"Name": "instance-state-name", "Values": LIVE_STATES}],
            PaginationConfig={"PageSize": 1000},
        )
    )
    for page in pages:
        for reservation in as_map(page).get("Reservations") or []:
            yield from as_list(as_map(reservation).get("Instances"))


def transform_ec2_instance(raw: Any, scope: Scope) -> CloudResource | None:
    """An element of DescribeInstances' Reservations[].Instances[]; None for a terminated instance."""
    instance_id = required(raw, "InstanceId")
    state = as_text(as_map(raw.get("State")).get("Name"))
    if state == "terminated":
        return None
    tags = tag_map(raw.get("Tags"))
    root_device = raw.get("RootDeviceName")
    created = None
    for mapping in raw.get("BlockDeviceMappings") or []:
        if isinstance(mapping, Mapping) and root_device and mapping.get("DeviceName") == root_device:
            created = as_datetime(as_map(mapping.get("Ebs")).get("AttachTime"))
    return build_resource(
        external_key=f"arn:{scope.partition}:ec2:{scope.region}:{scope.account}:instance/{instance_id}",
        resource_type=ResourceType.EC2_INSTANCE,
        account_id=scope.account,
        region=scope.region,
        name=resource_name(tags, instance_id),
        size=as_text(raw.get("InstanceType")),
        state=state,
        tags=tags,
        attributes=attributes(
            availability_zone=as_map(raw.get("Placement")).get("AvailabilityZone"),
            platform=raw.get("PlatformDetails"),
            architecture=raw.get("Architecture"),
            vpc_id=raw.get("VpcId"),
            lifecycle=raw.get("InstanceLifecycle"),
        ),
        created_at=created,
    )


RESOURCE = AwsResource(
    service=SERVICE, is_global=False, get=get_ec2_instances, transform=transform_ec2_instance
)
