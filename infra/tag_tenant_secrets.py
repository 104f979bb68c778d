"""Tag each tenant's existing secrets with `tenant_id`, before deploying the version that requires it.

The tenant-data role reaches a secret only if its `tenant_id` tag is the session's tenant; secrets
created before that carry no tag, so their tenants would be refused them (a webhook endpoint's
deliveries rejected, a connector's sync failing). Each secret's tenant is in its name,
`itam-<stage>/{webhooks,connectors}/<tenant>/<id>`. Run with the operator's credentials:

    .venv/bin/python -m infra.tag_tenant_secrets --stage prod            # shows what it would tag
    .venv/bin/python -m infra.tag_tenant_secrets --stage prod --apply    # tags

Tagging changes nothing for the running version, and running it again tags nothing new. A secret
whose tag names another tenant than its name is reported and left alone.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import boto3

TAG = "tenant_id"
KINDS = ("webhooks", "connectors")
TENANT = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
DESCRIPTION = "Tag each tenant's existing secrets with tenant_id (the tenant in each secret's name)."


@dataclass(frozen=True)
class Finding:
    """One secret of a tenant and what to do about its tag."""

    name: str
    tenant: str | None
    tagged: str | None

    @property
    def action(self) -> str:
        """`tag`, `ok` (tagged with its tenant), or why it is left alone."""
        if self.tenant is None:
            return "skip: no tenant in its name"
        if self.tagged is None:
            return "tag"
        return "ok" if self.tagged == self.tenant else f"skip: tagged {self.tagged}, named {self.tenant}"


def secrets_of(client: Any, stage: str) -> Iterator[Finding]:
    """Every secret under the stage's webhook and connector prefixes, with its tenant and tag."""
    prefixes = [f"itam-{stage}/{kind}/" for kind in KINDS]
    for page in client.get_paginator("list_secrets").paginate(Filters=[{"Key": "name", "Values": prefixes}]):
        for secret in page["SecretList"]:
            name = str(secret["Name"])
            if not name.startswith(tuple(prefixes)):
                continue  # the filter matches prefixes of words too
            parts = name.split("/")
            tenant = parts[2] if len(parts) >= 4 and TENANT.fullmatch(parts[2]) else None
            tags = {str(t["Key"]): str(t["Value"]) for t in secret.get("Tags") or []}
            yield Finding(name, tenant, tags.get(TAG))


def main(argv: Sequence[str] | None = None, client: Any = None) -> int:
    """List (and with --apply, tag) the stage's tenant secrets; exit 1 if any is left untagged."""
    parser = argparse.ArgumentParser(
        prog="python -m infra.tag_tenant_secrets", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--stage", required=True, help="the stack's Stage parameter (secrets itam-<stage>/...)"
    )
    parser.add_argument("--region", default=None, help="the stack's region (default: the SDK's)")
    parser.add_argument(
        "--apply", action="store_true", help="tag; without it, only show what would be tagged"
    )
    args = parser.parse_args(argv)
    client = client or boto3.client("secretsmanager", region_name=args.region)
    left = 0
    for finding in secrets_of(client, args.stage):
        action = finding.action
        if action == "tag" and args.apply:
            client.tag_resource(SecretId=finding.name, Tags=[{"Key": TAG, "Value": finding.tenant}])
            action = "tagged"
        elif action != "ok":
            left += 1
        print(f"{action:<10} {finding.name}")
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
