"""With TENANT_ROLE_ARN set, every data access (the table, the secrets) runs on credentials assumed for
the caller's tenant."""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.handlers import BUILTIN_HANDLERS
from botocore.loaders import Loader

from tests.integration.conftest import Api
from tests.integration.test_procurement import Sender, deliver
from tests.support.lambda_api import reset_caches

ROLE = "arn:aws:iam::123456789012:role/itam-test-us-east-1-tenant-data"


class Calls:
    """DynamoDB calls with the access key that signed them, and the AssumeRole calls made."""

    def __init__(self) -> None:
        self.signed_by: list[str] = []
        self.assumed: list[dict[str, Any]] = []

    def on_send(self, request: Any, **_: Any) -> None:
        if b"DynamoDB" in (request.headers.get("X-Amz-Target") or b""):
            match = re.search(r"Credential=([A-Z0-9]+)/", request.headers["Authorization"].decode())
            assert match is not None
            self.signed_by.append(match.group(1))

    def on_assume(self, params: dict[str, Any], **_: Any) -> None:
        self.assumed.append(params)


@pytest.fixture
def calls(table: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Calls]:
    boto3.client("iam").create_role(RoleName=ROLE.rsplit("/", 1)[1], AssumeRolePolicyDocument="{}")
    monkeypatch.setenv("TENANT_ROLE_ARN", ROLE)
    reset_caches()
    recorded = Calls()
    hooks = [
        ("before-send.dynamodb", recorded.on_send),
        ("provide-client-params.sts.AssumeRole", recorded.on_assume),
    ]
    BUILTIN_HANDLERS.extend(hooks)
    yield recorded
    for hook in hooks:
        BUILTIN_HANDLERS.remove(hook)
    reset_caches()


def test_each_tenant_reads_and_writes_with_its_own_assumed_credentials(api: Api, calls: Calls) -> None:
    acme, globex = api, api.as_("globex")

    mine = acme.post("/v1/assets", {"name": "acme laptop", "kind": "hardware"})
    theirs = globex.post("/v1/assets", {"name": "globex laptop", "kind": "hardware"})
    assert (mine.status, theirs.status) == (201, 201)
    acme_keys, globex_keys = set(calls.signed_by[:1]), set(calls.signed_by[1:2])

    assert acme.get("/v1/assets").body["items"][0]["id"] == mine.body["id"]
    assert globex.get(f"/v1/assets/{mine.body['id']}").status == 404

    # Every DynamoDB call was signed by an assumed-role session, never by the function's own key.
    assert os.environ["AWS_ACCESS_KEY_ID"] not in calls.signed_by
    assert all(key.startswith("ASIA") for key in calls.signed_by)
    assert acme_keys.isdisjoint(globex_keys)
    # One AssumeRole per tenant (the credentials are cached), tagged with the tenant.
    assert [(c["RoleArn"], c["Tags"]) for c in calls.assumed] == [
        (ROLE, [{"Key": "tenant_id", "Value": "acme"}]),
        (ROLE, [{"Key": "tenant_id", "Value": "globex"}]),
    ]


def test_without_a_tenant_role_the_function_credentials_are_used(api: Api, table: str) -> None:
    recorded = Calls()
    hook = ("before-send.dynamodb", recorded.on_send)
    BUILTIN_HANDLERS.append(hook)
    try:
        assert api.post("/v1/assets", {"name": "x", "kind": "hardware"}).status == 201
    finally:
        BUILTIN_HANDLERS.remove(hook)
    assert set(recorded.signed_by) == {os.environ["AWS_ACCESS_KEY_ID"]}


def test_the_tenants_clients_share_one_loader_of_botocore_data(
    api: Api, calls: Calls, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given: every service model botocore loads, with the loader that loads it
    loaded: list[tuple[int, str]] = []
    load = Loader.load_service_model

    def recording(self: Loader, service_name: str, type_name: str, api_version: str | None = None) -> Any:
        loaded.append((id(self), service_name))
        return load(self, service_name, type_name, api_version)

    monkeypatch.setattr(Loader, "load_service_model", recording)

    # When: two tenants are served, each on credentials of its own (an STS client, a DynamoDB client each)
    assert api.post("/v1/assets", {"name": "acme laptop", "kind": "hardware"}).status == 201
    assert api.as_("globex").get("/v1/assets").status == 200

    # Then: the STS and both DynamoDB clients read botocore's data through one loader, so each model
    # and the data directory's listing are read once per process, not once per client
    assert {service for _, service in loaded} == {"sts", "dynamodb"}
    assert len({loader for loader, _ in loaded}) == 1


def test_one_botocore_session_serves_sts_and_every_tenants_dynamodb_client(
    api: Api, calls: Calls, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given: every botocore session made from now on is counted
    made: list[botocore.session.Session] = []
    init = botocore.session.Session.__init__

    def counting(self: botocore.session.Session, *args: Any, **kwargs: Any) -> None:
        made.append(self)
        init(self, *args, **kwargs)

    monkeypatch.setattr(botocore.session.Session, "__init__", counting)

    # When: two tenants are served, each on credentials of its own
    assert api.post("/v1/assets", {"name": "acme laptop", "kind": "hardware"}).status == 201
    assert api.as_("globex").get("/v1/assets").status == 200

    # Then: one session (a session sets up botocore's event handlers: a cold start pays it once),
    # while each tenant's calls are still signed with that tenant's own credentials
    assert len(made) == 1
    assert len({key for key in calls.signed_by}) == 2


def test_deliveries_to_made_up_webhook_endpoints_assume_no_tenant_role(api: Api, calls: Calls) -> None:
    # Given: 20 made-up endpoint ids, each naming a tenant of its own
    made_up = [f"t-{uuid.uuid4().hex[:10]}.{uuid.uuid4().hex}" for _ in range(20)]
    body = json.dumps({"type": "po.approved"})
    headers = {"webhook-id": "msg_1", "webhook-timestamp": "1", "webhook-signature": "v1,forged"}

    # When: a delivery is sent to each
    replies = [deliver(endpoint_id, body, headers) for endpoint_id in made_up]

    # Then: each is refused as an unknown endpoint, without one AssumeRole: the endpoints were looked
    # up on the function's own credentials
    assert {reply.status for reply in replies} == {404}
    assert calls.assumed == []
    assert set(calls.signed_by) == {os.environ["AWS_ACCESS_KEY_ID"]}


def test_a_delivery_to_a_real_endpoint_assumes_only_its_tenants_role(api: Api, calls: Calls) -> None:
    # Given: an endpoint of acme, and a function that has assumed no role yet
    endpoint = api.post("/v1/webhook-endpoints", {"name": "Coupa"}).body
    reset_caches()
    calls.assumed.clear()
    calls.signed_by.clear()
    sender = Sender(endpoint)
    body = json.dumps({"type": "po.approved"})

    # When: a forged delivery comes, then an authentic one
    forged = deliver(endpoint["id"], body, {**sender.headers("msg_1", body), "webhook-signature": "v1,AAAA"})
    assumed_after_forged = list(calls.assumed)
    signed_after_forged = list(calls.signed_by)
    authentic = sender.send(body, msg_id="msg_1")

    # Then: the forged one cost a lookup on the function's own credentials and acme's role, assumed to
    # read acme's signing secret (its tenant's alone), and wrote nothing; the authentic one is
    # recorded on those same credentials, cached, with no second AssumeRole
    assert (forged.status, authentic.status) == (401, 202)
    assert [c["Tags"] for c in assumed_after_forged] == [[{"Key": "tenant_id", "Value": "acme"}]]
    assert signed_after_forged == [os.environ["AWS_ACCESS_KEY_ID"]]
    assert len(calls.assumed) == 1
    own, *tenants = calls.signed_by[1:]  # after the forged delivery's lookup: the authentic one's
    assert own == os.environ["AWS_ACCESS_KEY_ID"]
    assert tenants and all(key.startswith("ASIA") for key in tenants)


def test_secrets_are_reached_with_the_tenants_credentials_and_tagged_with_it(api: Api, calls: Calls) -> None:
    # Given: every Secrets Manager call, with the access key that signed it
    signed_by: list[tuple[str, str]] = []

    def on_send(request: Any, **_: Any) -> None:
        target = (request.headers.get("X-Amz-Target") or b"").decode().rsplit(".", 1)[-1]
        match = re.search(r"Credential=([A-Z0-9]+)/", request.headers["Authorization"].decode())
        assert match is not None
        signed_by.append((target, match.group(1)))

    hook = ("before-send.secrets-manager", on_send)
    BUILTIN_HANDLERS.append(hook)
    try:
        # When: each tenant's admin creates a webhook endpoint, then rotates its secret
        acme = api.post("/v1/webhook-endpoints", {"name": "acme po", "provider": "generic"})
        globex = api.as_("globex").post("/v1/webhook-endpoints", {"name": "globex po", "provider": "generic"})
        assert (acme.status, globex.status) == (201, 201)
        assert api.post(f"/v1/webhook-endpoints/{acme.body['id']}/rotate", {}).status == 200
    finally:
        BUILTIN_HANDLERS.remove(hook)

    # Then: every call was signed by a tenant session (the one its tenant's table calls use), never
    # by the function's own key, and each secret carries its tenant's tag
    assert {target for target, _ in signed_by} >= {"CreateSecret", "GetSecretValue", "PutSecretValue"}
    assert all(key.startswith("ASIA") for _, key in signed_by)
    assert os.environ["AWS_ACCESS_KEY_ID"] not in {key for _, key in signed_by}
    assert {key for _, key in signed_by} <= set(calls.signed_by)
    client = boto3.client("secretsmanager")
    for tenant, created in (("acme", acme), ("globex", globex)):
        tags = client.describe_secret(SecretId=f"itam-test/webhooks/{tenant}/{created.body['id']}")["Tags"]
        assert tags == [{"Key": "tenant_id", "Value": tenant}]
