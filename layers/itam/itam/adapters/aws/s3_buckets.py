"""S3 buckets of an account (a global listing, made once per account from the home region):
ListBuckets, then the bucket's region (BucketRegion when ListBuckets gave it, else
GetBucketLocation) and GetBucketTagging in that region."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from botocore.exceptions import ClientError

from itam.adapters.aws.common import (
    GONE,
    as_datetime,
    as_list,
    as_map,
    as_text,
    build_resource,
    client_error,
    required,
    resource_name,
    tag_map,
)
from itam.adapters.aws.model import (
    REGION_RE,
    AwsResource,
    Clients,
    CloudResource,
    MalformedRecord,
    ResourceType,
    Scope,
)

SERVICE = "s3"


class LocatedBucket(NamedTuple):
    """An element of ListBuckets' Buckets[], its region (None when it could not be read) and the
    TagSet of GetBucketTagging."""

    bucket: Any
    region: str | None
    tags: Any = None


def bucket_region(location_constraint: Any) -> str | None:
    """A bucket's region from GetBucketLocation's LocationConstraint: empty means us-east-1 and the
    legacy "EU" means eu-west-1 (as documented). None when the value is not a region."""
    if location_constraint is None or location_constraint == "":
        return "us-east-1"
    if location_constraint == "EU":
        return "eu-west-1"
    text = as_text(location_constraint, 64)
    return text if text is not None and REGION_RE.match(text) else None


def _located(client: Any, raw: Any, bucket: str) -> str | None:
    listed = as_text(raw.get("BucketRegion"), 64)
    if listed is not None and REGION_RE.match(listed):
        return listed
    return bucket_region(as_map(client.get_bucket_location(Bucket=bucket)).get("LocationConstraint"))


def _tag_set(client: Any, bucket: str) -> Any:
    try:
        return as_map(client.get_bucket_tagging(Bucket=bucket)).get("TagSet")
    except ClientError as exc:
        if client_error(exc)[0] == "NoSuchTagSet":
            return []
        raise


def get_s3_buckets(clients: Clients, scope: Scope) -> Iterator[LocatedBucket | MalformedRecord]:
    """Every bucket of the account with its region and tags; one deleted meanwhile is left out."""
    home = clients(SERVICE, scope.region)
    for page in home.get_paginator("list_buckets").paginate():
        for raw in as_list(as_map(page).get("Buckets")):
            try:
                name = required(raw, "Name")
            except MalformedRecord as exc:
                yield exc
                continue
            try:
                region = _located(home, raw, name)
                # Tags are read in the bucket's own region (home when it is unknown).
                tags = _tag_set(home if region is None else clients(SERVICE, region), name)
            except ClientError as exc:
                if client_error(exc)[0] in GONE:
                    continue
                raise
            yield LocatedBucket(raw, region, tags)


def transform_s3_bucket(located: LocatedBucket, scope: Scope) -> CloudResource:
    """A bucket of ListBuckets, in its own region, with its tags."""
    raw = located.bucket
    bucket = required(raw, "Name")
    tags = tag_map(located.tags)
    return build_resource(
        external_key=f"arn:{scope.partition}:s3:::{bucket}",
        resource_type=ResourceType.S3_BUCKET,
        account_id=scope.account,
        region=located.region,
        name=resource_name(tags, bucket),
        tags=tags,
        created_at=as_datetime(raw.get("CreationDate")),
    )


RESOURCE = AwsResource(service=SERVICE, is_global=True, get=get_s3_buckets, transform=transform_s3_bucket)
