"""DynamoDB tables of a region: ListTables, then DescribeTable and ListTagsOfResource per table."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from botocore.exceptions import ClientError

from itam.adapters.aws.common import (
    GONE,
    arn_or,
    as_datetime,
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

SERVICE = "dynamodb"


class DescribedTable(NamedTuple):
    """DescribeTable's `Table` and the Tags list of ListTagsOfResource."""

    table: Mapping[str, Any]
    tags: Any = None


def _built_arn(name: str, scope: Scope) -> str:
    return f"arn:{scope.partition}:dynamodb:{scope.region}:{scope.account}:table/{name}"


def get_dynamodb_tables(clients: Clients, scope: Scope) -> Iterator[DescribedTable | MalformedRecord]:
    """Every table of the scope's region, described, with its tags; one deleted meanwhile is left out."""
    client = clients(SERVICE, scope.region)
    for page in client.get_paginator("list_tables").paginate():
        for table_name in as_list(as_map(page).get("TableNames")):
            if not isinstance(table_name, str) or not table_name:
                yield MalformedRecord("ListTables returned a table name that is not a string")
                continue
            try:
                table = as_map(as_map(client.describe_table(TableName=table_name)).get("Table"))
                arn = arn_or(table.get("TableArn"), _built_arn(table_name, scope))
                tags: list[Any] = []
                for tag_page in client.get_paginator("list_tags_of_resource").paginate(ResourceArn=arn):
                    tags.extend(as_map(tag_page).get("Tags") or [])
            except ClientError as exc:
                if client_error(exc)[0] in GONE:
                    continue
                raise
            yield DescribedTable(table, tags)


def _capacity(raw: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(billing mode, size) of a table: on-demand, or its provisioned read/write capacity."""
    mode = as_text(as_map(raw.get("BillingModeSummary")).get("BillingMode"))
    throughput = as_map(raw.get("ProvisionedThroughput"))
    reads, writes = as_int(throughput.get("ReadCapacityUnits")), as_int(throughput.get("WriteCapacityUnits"))
    if mode is None and (reads or writes):
        mode = "PROVISIONED"  # tables created provisioned may have no BillingModeSummary
    if mode == "PAY_PER_REQUEST":
        return mode, "on-demand"
    if mode == "PROVISIONED" and reads is not None and writes is not None:
        return mode, f"{reads} RCU / {writes} WCU"
    return mode, None


def transform_dynamodb_table(described: DescribedTable, scope: Scope) -> CloudResource:
    """A table as DescribeTable gives it, with its ListTagsOfResource tags."""
    raw = described.table
    table_name = required(raw, "TableName")
    tags = tag_map(described.tags)
    mode, size = _capacity(raw)
    return build_resource(
        external_key=arn_or(raw.get("TableArn"), _built_arn(table_name, scope)),
        resource_type=ResourceType.DYNAMODB_TABLE,
        account_id=scope.account,
        region=scope.region,
        name=resource_name(tags, table_name),
        size=size,
        state=as_text(raw.get("TableStatus")),
        tags=tags,
        attributes=attributes(
            billing_mode=mode, table_class=as_map(raw.get("TableClassSummary")).get("TableClass")
        ),
        created_at=as_datetime(raw.get("CreationDateTime")),
    )


RESOURCE = AwsResource(
    service=SERVICE, is_global=False, get=get_dynamodb_tables, transform=transform_dynamodb_table
)
