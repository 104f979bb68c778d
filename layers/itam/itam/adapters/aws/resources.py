"""The resource types the inventory collects, in the order it collects them. Adding one: a module
like `ebs_volumes` (its get, transform and RESOURCE declaration) and one line here."""

from __future__ import annotations

from typing import Any

from itam.adapters.aws import (
    dynamodb_tables,
    ebs_volumes,
    ec2_instances,
    lambda_functions,
    rds_instances,
    s3_buckets,
)
from itam.adapters.aws.model import AwsResource, ResourceType

RESOURCES: dict[ResourceType, AwsResource[Any]] = {
    ResourceType.EC2_INSTANCE: ec2_instances.RESOURCE,
    ResourceType.EBS_VOLUME: ebs_volumes.RESOURCE,
    ResourceType.RDS_INSTANCE: rds_instances.RESOURCE,
    ResourceType.LAMBDA_FUNCTION: lambda_functions.RESOURCE,
    ResourceType.DYNAMODB_TABLE: dynamodb_tables.RESOURCE,
    ResourceType.S3_BUCKET: s3_buckets.RESOURCE,
}
