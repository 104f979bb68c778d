"""EBS volumes of a region: DescribeVolumes (500 a page)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from itam.adapters.aws.common import (
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

SERVICE = "ec2"


def get_ebs_volumes(clients: Clients, scope: Scope) -> Iterator[Any]:
    """Every element of DescribeVolumes' Volumes[] in the scope's region."""
    paginator = clients(SERVICE, scope.region).get_paginator("describe_volumes")
    for page in paginator.paginate(PaginationConfig={"PageSize": 500}):
        yield from as_list(as_map(page).get("Volumes"))


def transform_ebs_volume(raw: Any, scope: Scope) -> CloudResource:
    """An element of DescribeVolumes' Volumes[]."""
    volume_id = required(raw, "VolumeId")
    tags = tag_map(raw.get("Tags"))
    size = as_int(raw.get("Size"))
    attached = sorted(
        text
        for item in (raw.get("Attachments") or [])
        if (text := as_text(as_map(item).get("InstanceId"))) is not None
    )
    return build_resource(
        external_key=f"arn:{scope.partition}:ec2:{scope.region}:{scope.account}:volume/{volume_id}",
        resource_type=ResourceType.EBS_VOLUME,
        account_id=scope.account,
        region=scope.region,
        name=resource_name(tags, volume_id),
        size=f"{size} GiB" if size is not None else None,
        state=as_text(raw.get("State")),
        tags=tags,
        attributes=attributes(
            volume_type=raw.get("VolumeType"),
            availability_zone=raw.get("AvailabilityZone"),
            encrypted=raw.get("Encrypted") if isinstance(raw.get("Encrypted"), bool) else None,
            attached_to=",".join(attached) if attached else None,
        ),
        created_at=as_datetime(raw.get("CreateTime")),
    )


RESOURCE = AwsResource(service=SERVICE, is_global=False, get=get_ebs_volumes, transform=transform_ebs_volume)
