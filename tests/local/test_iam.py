"""The emulated IAM of Secrets Manager: tenant sessions held to the tenant-data role of template.yaml.

The evaluator is tested on the role's own policy (resolved from the template), then the emulator on the
moto server with the template's role, through the product's secret store: a tenant's session
reaches its own secrets and is refused another tenant's, as IAM refuses it on AWS.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from infra import tag_tenant_secrets
from infra.local.iam import Request, enforce_secrets_policies, is_allowed, substitute, wildcard_match
from infra.local.resources import Context, create_role
from infra.local.template import ACCOUNT_ID, Resolver, load_template, parameter_values, template_conditions
from itam.adapters.credentials import TenantCredentials
from itam.adapters.secrets import SecretsManagerStore
from itam.tenancy import TenantContext
from tests.local.conftest import REGION

STAGE = "iamtest"
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:itam-{STAGE}"
ACME, GLOBEX = TenantContext.system("acme", "test"), TenantContext.system("globex", "test")


def webhook_secret(tenant: str, endpoint: str = "e1") -> str:
    return f"itam-{STAGE}/webhooks/{tenant}/{tenant}.{endpoint}"


# ---------------------------------------------------------------- the evaluator


def tenant_role_properties() -> dict[str, Any]:
    """TenantDataRole's properties as the local stack creates the role (intrinsics resolved)."""
    template = load_template()
    resolver = Resolver(
        params=parameter_values(template, {"Stage": STAGE}),
        region=REGION,
        attributes={"AssetTable": {"Arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/itam-{STAGE}"}},
        conditions=template_conditions(template),
    )
    props: dict[str, Any] = resolver.resolve(template["Resources"]["TenantDataRole"]["Properties"])
    return props


@pytest.fixture(scope="module")
def role_policies() -> list[dict[str, Any]]:
    return [policy["PolicyDocument"] for policy in tenant_role_properties()["Policies"]]


def ask(action: str, resource: str, session_tenant: str | None, **context: str | list[str]) -> Request:
    keys: dict[str, str | list[str]] = dict(context)
    if session_tenant is not None:
        keys["aws:PrincipalTag/tenant_id"] = session_tenant
    return Request(f"secretsmanager:{action}", resource, keys)


def tagged(tenant: str) -> dict[str, str]:
    return {"secretsmanager:ResourceTag/tenant_id": tenant}


def test_policy_variables_and_wildcards() -> None:
    context = {"aws:PrincipalTag/tenant_id": "acme"}
    assert substitute("webhooks/${aws:PrincipalTag/tenant_id}/*", context) == "webhooks/acme/*"
    assert substitute("${aws:PrincipalTag/other}", context) is None
    assert substitute("a${*}b${?}c${$}", {}) == "a*b?c$"
    assert wildcard_match("webhooks/acme/*", "webhooks/acme/acme.1/x")
    assert not wildcard_match("webhooks/acme/*", "webhooks/acme-corp/acme-corp.1")
    assert wildcard_match("secretsmanager:get*", "secretsmanager:GetSecretValue", ignore_case=True)
    assert wildcard_match("key-??", "key-ab") and not wildcard_match("key-??", "key-abc")


def test_a_tenant_session_uses_its_own_tagged_secrets_only(role_policies: list[dict[str, Any]]) -> None:
    own = f"{SECRET_ARN}/webhooks/acme/acme.1-AbCdEf"
    theirs = f"{SECRET_ARN}/webhooks/globex/globex.1-AbCdEf"
    connector = f"{SECRET_ARN}/connectors/acme/c1-AbCdEf"
    for action in ("GetSecretValue", "PutSecretValue", "DeleteSecret"):
        assert is_allowed(role_policies, ask(action, own, "acme", **tagged("acme")))
        assert is_allowed(role_policies, ask(action, connector, "acme", **tagged("acme")))
        # Another tenant's secret, by its name or by its tag, and a secret without the tag
        assert not is_allowed(role_policies, ask(action, theirs, "acme", **tagged("globex")))
        assert not is_allowed(role_policies, ask(action, theirs, "acme", **tagged("acme")))
        assert not is_allowed(role_policies, ask(action, own, "acme", **tagged("globex")))
        assert not is_allowed(role_policies, ask(action, own, "acme"))
        # A session without its tenant tag reaches nothing
        assert not is_allowed(role_policies, ask(action, own, None, **tagged("acme")))
    # A tenant id that starts with another's reaches nothing of it
    prefixed = f"{SECRET_ARN}/webhooks/acme-corp/acme-corp.1-AbCdEf"
    assert not is_allowed(role_policies, ask("GetSecretValue", prefixed, "acme", **tagged("acme")))
    # Other actions, and secrets outside the product's prefixes, are not granted at all
    assert not is_allowed(role_policies, ask("ListSecrets", "*", "acme"))
    assert not is_allowed(role_policies, ask("UntagResource", own, "acme", **tagged("acme")))
    assert not is_allowed(
        role_policies, ask("GetSecretValue", f"{SECRET_ARN}/other/acme/x", "acme", **tagged("acme"))
    )


def test_a_tenant_session_creates_secrets_only_tagged_with_its_tenant(
    role_policies: list[dict[str, Any]],
) -> None:
    own = f"{SECRET_ARN}/webhooks/acme/acme.2-AbCdEf"

    def create(resource: str, tags: dict[str, str]) -> bool:
        context: dict[str, str | list[str]] = {f"aws:RequestTag/{k}": v for k, v in tags.items()}
        if tags:
            context["aws:TagKeys"] = list(tags)
        return all(
            is_allowed(role_policies, ask(action, resource, "acme", **context))
            for action in ("CreateSecret", "TagResource")
        )

    assert create(own, {"tenant_id": "acme"})
    assert not create(own, {})
    assert not create(own, {"tenant_id": "globex"})
    assert not create(own, {"tenant_id": "acme", "owner": "someone"})
    assert not create(f"{SECRET_ARN}/webhooks/globex/globex.2-AbCdEf", {"tenant_id": "acme"})


def test_deny_wins_and_unknown_conditions_fail_closed() -> None:
    allow = {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}
    deny = {"Effect": "Deny", "Action": "secretsmanager:DeleteSecret", "Resource": "*"}
    odd = {**allow, "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}}
    request = ask("DeleteSecret", "arn:x", "acme")
    assert is_allowed([{"Statement": [allow]}], request)
    assert not is_allowed([{"Statement": [allow, deny]}], request)
    assert not is_allowed([{"Statement": [odd]}], request)
    not_action = {"Effect": "Allow", "NotAction": "secretsmanager:DeleteSecret", "Resource": "*"}
    assert not is_allowed([{"Statement": not_action}], request)
    assert is_allowed([{"Statement": not_action}], ask("GetSecretValue", "arn:x", "acme"))


# ---------------------------------------------------------------- the emulator, through the product


@pytest.fixture(scope="module")
def stack(moto_url: str, session: boto3.Session) -> Iterator[tuple[str, str]]:
    """The emulator's URL and template.yaml's tenant-data role created there (under a name of its
    own), with the emulation switched on."""
    props = {**tenant_role_properties(), "RoleName": f"itam-{STAGE}-TenantDataRole"}
    role = create_role(Context(session, moto_url, REGION), "TenantDataRole", props)
    enforce_secrets_policies()
    try:
        yield moto_url, role.attributes["Arn"]
    finally:
        enforce_secrets_policies(enabled=False)


@pytest.fixture
def store(stack: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> SecretsManagerStore:
    """The product's secret store, on credentials of the tenant-data role assumed per tenant."""
    url, role = stack
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    return SecretsManagerStore(REGION, url, TenantCredentials(role, REGION, url))


def developer(stack: tuple[str, str]) -> Any:
    """A client on the developer's own credentials (not an assumed-role session: not evaluated)."""
    return boto3.client(
        "secretsmanager",
        endpoint_url=stack[0],
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def denied(call: Any, *args: Any) -> bool:
    """Whether the call is refused with AccessDeniedException (any other outcome is not a denial)."""
    try:
        call(*args)
    except ClientError as error:
        return bool(error.response["Error"]["Code"] == "AccessDeniedException")
    return False


def test_tenant_a_cannot_read_tenant_bs_webhook_secret(store: SecretsManagerStore) -> None:
    # Given: each tenant's endpoint secret, created through the product as that tenant
    store.create(ACME, webhook_secret("acme"), {"current": "whsec_acme"})
    store.create(GLOBEX, webhook_secret("globex"), {"current": "whsec_globex"})

    # Then: each reads its own; acme's session is refused globex's secret, to read, change or delete
    assert store.read(ACME, webhook_secret("acme"))["current"] == "whsec_acme"
    assert store.read(GLOBEX, webhook_secret("globex"), fresh=True)["current"] == "whsec_globex"
    assert denied(store.read, ACME, webhook_secret("globex"))
    assert denied(store.put, ACME, webhook_secret("globex"), {"current": "mine now"})
    assert denied(store.delete, ACME, webhook_secret("globex"))
    # ...nor can it create a secret under globex's names
    assert denied(store.create, ACME, webhook_secret("globex", "e2"), {"current": "planted"})
    assert store.read(GLOBEX, webhook_secret("globex"), fresh=True)["current"] == "whsec_globex"


def test_the_tag_is_checked_and_cannot_be_changed(stack: tuple[str, str], store: SecretsManagerStore) -> None:
    # Given: acme's session credentials, as the store gets them, on a raw client
    acme_key = TenantCredentials(stack[1], REGION, stack[0]).for_tenant("acme")
    raw = boto3.client(
        "secretsmanager",
        endpoint_url=stack[0],
        region_name=REGION,
        aws_access_key_id=acme_key.access_key,
        aws_secret_access_key=acme_key.secret_key,
        aws_session_token=acme_key.session_token,
    )
    name = webhook_secret("acme", "tags")

    # Then: a create without the tenant's tag, with another tenant's, or with another key is refused
    refused = (
        [],
        [{"Key": "tenant_id", "Value": "globex"}],
        [{"Key": "tenant_id", "Value": "acme"}, {"Key": "owner", "Value": "someone"}],
    )
    for tags in refused:
        assert denied(lambda t=tags: raw.create_secret(Name=name, SecretString="{}", Tags=t))
    raw.create_secret(Name=name, SecretString="{}", Tags=[{"Key": "tenant_id", "Value": "acme"}])
    # and the secret cannot be re-tagged to another tenant or untagged
    assert denied(lambda: raw.tag_resource(SecretId=name, Tags=[{"Key": "tenant_id", "Value": "globex"}]))
    assert denied(lambda: raw.untag_resource(SecretId=name, TagKeys=["tenant_id"]))


def test_a_secret_without_the_tag_is_refused_until_tagged(
    stack: tuple[str, str], store: SecretsManagerStore
) -> None:
    # Given: a secret of acme's made before secrets were tagged (by the operator's credentials)
    name = webhook_secret("acme", "legacy")
    operator = developer(stack)
    operator.create_secret(Name=name, SecretString='{"current": "whsec_old"}')

    # Then: acme's session is refused it until the operator tags it (README, upgrade notes)
    assert denied(store.read, ACME, name)
    operator.tag_resource(SecretId=name, Tags=[{"Key": "tenant_id", "Value": "acme"}])
    assert store.read(ACME, name, fresh=True)["current"] == "whsec_old"
    # The operator's own credentials are not held to the tenant role
    assert operator.get_secret_value(SecretId=webhook_secret("globex"))["SecretString"]


def test_existing_secrets_are_tagged_from_their_names_before_an_upgrade(
    stack: tuple[str, str], store: SecretsManagerStore, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given: secrets made before secrets were tagged, one tagged already, one tagged inconsistently
    operator = developer(stack)
    untagged = [webhook_secret("initech", "old"), f"itam-{STAGE}/connectors/hooli/c1"]
    for name in untagged:
        operator.create_secret(Name=name, SecretString='{"current": "whsec_old"}')
    consistent = webhook_secret("initech", "new")
    operator.create_secret(Name=consistent, SecretString="{}", Tags=[tenant_tag("initech")])
    odd = webhook_secret("hooli", "odd")
    operator.create_secret(Name=odd, SecretString="{}", Tags=[tenant_tag("initech")])
    initech = TenantContext.system("initech", "test")
    assert denied(store.read, initech, untagged[0])

    # When: the upgrade command runs without --apply, then with it
    shown = tag_tenant_secrets.main(["--stage", STAGE], client=operator)
    assert tags_of(operator, untagged[0]) == []
    applied = tag_tenant_secrets.main(["--stage", STAGE, "--apply"], client=operator)

    # Then: each untagged secret carries its tenant from its name, and its tenant reads it again;
    # the inconsistent one is reported and left alone (both runs exit 1 for it)
    assert (shown, applied) == (1, 1)
    assert tags_of(operator, untagged[0]) == [tenant_tag("initech")]
    assert tags_of(operator, untagged[1]) == [tenant_tag("hooli")]
    assert tags_of(operator, odd) == tags_of(operator, consistent) == [tenant_tag("initech")]
    assert store.read(initech, untagged[0], fresh=True)["current"] == "whsec_old"
    out = capsys.readouterr().out
    assert f"tagged     {untagged[0]}" in out and f"skip: tagged initech, named hooli {odd}" in out


def tenant_tag(tenant: str) -> dict[str, str]:
    return {"Key": "tenant_id", "Value": tenant}


def tags_of(client: Any, name: str) -> list[dict[str, str]]:
    tags: list[dict[str, str]] = client.describe_secret(SecretId=name).get("Tags") or []
    return tags
