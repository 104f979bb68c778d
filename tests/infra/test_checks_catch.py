"""Each template check fails on a copy of template.yaml broken in the way it guards against."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.local.template import load_template
from tests.infra import checks

Template = dict[str, Any]


@pytest.fixture(scope="module")
def original() -> Template:
    return load_template()


def res(t: Template, lid: str) -> dict[str, Any]:
    props: dict[str, Any] = t["Resources"][lid].setdefault("Properties", {})
    return props


def events(t: Template) -> dict[str, Any]:
    evs: dict[str, Any] = res(t, "ApiFunction")["Events"]
    return evs


def jwt(t: Template) -> dict[str, Any]:
    config: dict[str, Any] = res(t, "HttpApi")["Auth"]["Authorizers"]["CognitoJwt"]["JwtConfiguration"]
    return config


def client(t: Template) -> dict[str, Any]:
    return res(t, "UserPoolClient")


def endpoint_lookup(t: Template) -> dict[str, Any]:
    """The webhook intake's own grant to read endpoint items."""
    [statement] = [
        s
        for policy in res(t, "WebhookIntakeFunction")["Policies"]
        for s in policy.get("Statement", [])
        if s.get("Sid") == "FindWebhookEndpoints"
    ]
    return statement


# Every tenant's webhook secrets.
WEBHOOKS = {
    "Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:"
    "itam-${Stage}/webhooks/*"
}

# (name, what it breaks, the check that must catch it)
BREAKAGES: list[tuple[str, Callable[[Template], None], Callable[[Template], None]]] = [
    (
        "provisioned billing",
        lambda t: res(t, "AssetTable").update(BillingMode="PROVISIONED"),
        checks.check_table,
    ),
    (
        "no point-in-time recovery",
        lambda t: res(t, "AssetTable").pop("PointInTimeRecoverySpecification"),
        checks.check_table,
    ),
    (
        "no deletion protection",
        lambda t: res(t, "AssetTable").update(DeletionProtectionEnabled=False),
        checks.check_table,
    ),
    (
        "no SSE",
        lambda t: res(t, "AssetTable").update(SSESpecification={"SSEEnabled": False}),
        checks.check_table,
    ),
    (
        "DeletionPolicy Delete",
        lambda t: t["Resources"]["AssetTable"].update(DeletionPolicy="Delete"),
        checks.check_table,
    ),
    (
        "no UpdateReplacePolicy",
        lambda t: t["Resources"]["AssetTable"].pop("UpdateReplacePolicy"),
        checks.check_table,
    ),
    (
        "GSI key not declared",
        lambda t: res(t, "AssetTable")["AttributeDefinitions"].pop(),
        checks.check_table_keys,
    ),
    (
        "unused attribute definition",
        lambda t: res(t, "AssetTable")["AttributeDefinitions"].append(
            {"AttributeName": "X", "AttributeType": "S"}
        ),
        checks.check_table_keys,
    ),
    ("x86_64", lambda t: t["Globals"]["Function"].update(Architectures=["x86_64"]), checks.check_functions),
    (
        "arm64 plus x86_64 (Globals lists add up)",
        lambda t: res(t, "ApiFunction").update(Architectures=["x86_64"]),
        checks.check_functions,
    ),
    ("python3.11", lambda t: t["Globals"]["Function"].update(Runtime="python3.11"), checks.check_functions),
    ("no domain layer", lambda t: t["Globals"]["Function"].pop("Layers"), checks.check_functions),
    (
        "layer built for x86_64",
        lambda t: t["Resources"]["DomainLayer"]["Metadata"].update(BuildArchitecture="x86_64"),
        checks.check_domain_layer,
    ),
    (
        "handler module missing",
        lambda t: res(t, "ApiFunction").update(Handler="nothere.lambda_handler"),
        checks.check_code_locations,
    ),
    (
        "no DefaultAuthorizer",
        lambda t: res(t, "HttpApi")["Auth"].pop("DefaultAuthorizer"),
        checks.check_http_api_auth,
    ),
    (
        "issuer of another pool",
        lambda t: jwt(t).update(issuer="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other"),
        checks.check_http_api_auth,
    ),
    (
        "audience of another client",
        lambda t: jwt(t).update(audience=["someclientid"]),
        checks.check_http_api_auth,
    ),
    ("no tenant_id attribute", lambda t: res(t, "UserPool")["Schema"].pop(), checks.check_user_pool),
    (
        "client writes tenant_id",
        lambda t: client(t)["WriteAttributes"].append("custom:tenant_id"),
        checks.check_user_pool,
    ),
    ("client writes everything", lambda t: client(t).pop("WriteAttributes"), checks.check_user_pool),
    (
        "client writes everything (empty list)",
        lambda t: client(t).update(WriteAttributes=[]),
        checks.check_user_pool,
    ),
    (
        "users change their e-mail",
        lambda t: client(t)["WriteAttributes"].append("email"),
        checks.check_user_pool,
    ),
    (
        "users verify their own e-mail",
        lambda t: client(t)["WriteAttributes"].append("email_verified"),
        checks.check_user_pool,
    ),
    (
        "tokens without email_verified",
        lambda t: client(t)["ReadAttributes"].remove("email_verified"),
        checks.check_user_pool,
    ),
    (
        "case-sensitive user names",
        lambda t: res(t, "UserPool").pop("UsernameConfiguration"),
        checks.check_user_pool,
    ),
    (
        "unverified e-mail changes apply",
        lambda t: res(t, "UserPool").pop("UserAttributeUpdateSettings"),
        checks.check_user_pool,
    ),
    (
        "the requests function cannot look users up",
        lambda t: res(t, "RequestsApiFunction")["Policies"].remove({"Statement": [lookup(t)]}),
        checks.check_user_lookups,
    ),
    (
        "a function lists the pool's users",
        lambda t: lookup(t).update(Action=["cognito-idp:AdminGetUser", "cognito-idp:ListUsers"]),
        checks.check_user_lookups,
    ),
    (
        "a function looks users up in every pool",
        lambda t: lookup(t).update(Resource="*"),
        checks.check_user_lookups,
    ),
    (
        "a function not told the pool",
        lambda t: res(t, "RequestsApiFunction")["Environment"]["Variables"].pop("USER_POOL_ID"),
        checks.check_user_lookups,
    ),
    ("no auditor group", lambda t: t["Resources"].pop("AuditorGroup"), checks.check_groups),
    (
        "API route public",
        lambda t: events(t)["Api"]["Properties"].update(Auth={"Authorizer": "NONE"}),
        checks.check_public_routes,
    ),
    ("health protected", lambda t: events(t)["Health"]["Properties"].pop("Auth"), checks.check_public_routes),
    (
        "function reaches the table itself",
        lambda t: res(t, "ApiFunction")["Policies"].append(
            {"DynamoDBCrudPolicy": {"TableName": {"Ref": "AssetTable"}}}
        ),
        checks.check_iam,
    ),
    (
        "intake reads more than webhook endpoints with its own role",
        lambda t: endpoint_lookup(t)["Condition"]["ForAllValues:StringLike"].update(
            {"dynamodb:LeadingKeys": ["T#*"]}
        ),
        checks.check_iam,
    ),
    (
        "intake writes webhook partitions with its own role",
        lambda t: endpoint_lookup(t).update(Action=["dynamodb:GetItem", "dynamodb:PutItem"]),
        checks.check_iam,
    ),
    (
        "another function reads webhook endpoints with its own role",
        lambda t: res(t, "ProcurementWorkerFunction")["Policies"].append(
            {"Statement": [copy.deepcopy(endpoint_lookup(t))]}
        ),
        checks.check_iam,
    ),
    (
        "managed DynamoDB policy",
        lambda t: res(t, "ApiFunction")["Policies"].append("AmazonDynamoDBFullAccess"),
        checks.check_iam,
    ),
    (
        "tenant role without the leading-keys condition",
        lambda t: role_statement(t).pop("Condition"),
        checks.check_iam,
    ),
    (
        "tenant role on every table",
        lambda t: role_statement(t).update(Resource="*"),
        checks.check_iam,
    ),
    (
        "tenant role may scan",
        lambda t: role_statement(t)["Action"].append("dynamodb:Scan"),
        checks.check_iam,
    ),
    (
        "tenant role assumable without a tag",
        lambda t: res(t, "TenantDataRole")["AssumeRolePolicyDocument"]["Statement"][0].pop("Condition"),
        checks.check_iam,
    ),
    (
        "tenant role trusted by anyone in the account",
        lambda t: res(t, "TenantDataRole")["AssumeRolePolicyDocument"]["Statement"][0]["Condition"].pop(
            "ArnLike"
        ),
        checks.check_iam,
    ),
    (
        "function not told the tenant role",
        lambda t: res(t, "ApiFunction")["Environment"]["Variables"].pop("TENANT_ROLE_ARN"),
        checks.check_iam,
    ),
    (
        "function reads every tenant's webhook secrets",
        lambda t: res(t, "ProcurementApiFunction")["Policies"].append(
            {
                "Statement": [
                    {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": WEBHOOKS}
                ]
            }
        ),
        checks.check_secrets,
    ),
    (
        "function reads every secret",
        lambda t: res(t, "SyncWorkerFunction")["Policies"].append(
            {"Statement": [{"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": "*"}]}
        ),
        checks.check_secrets,
    ),
    (
        "tenant role reads secrets of any tag",
        lambda t: secrets_statement(t, "OwnTenantSecretsOnly").pop("Condition"),
        checks.check_secrets,
    ),
    (
        "tenant role reads every tenant's webhook secrets",
        lambda t: secrets_statement(t, "OwnTenantSecretsOnly").update(Resource=[WEBHOOKS]),
        checks.check_secrets,
    ),
    (
        "tenant role creates untagged secrets",
        lambda t: secrets_statement(t, "CreateOwnTenantSecretsTagged")["Condition"]["StringEquals"].pop(
            "aws:RequestTag/tenant_id"
        ),
        checks.check_secrets,
    ),
    (
        "tenant role sets any tag key",
        lambda t: secrets_statement(t, "CreateOwnTenantSecretsTagged")["Condition"].pop(
            "ForAllValues:StringEquals"
        ),
        checks.check_secrets,
    ),
    (
        "tenant role may untag",
        lambda t: secrets_statement(t, "CreateOwnTenantSecretsTagged")["Action"].append(
            "secretsmanager:UntagResource"
        ),
        checks.check_secrets,
    ),
    (
        "tenant role cannot read connector credentials",
        lambda t: secrets_statement(t, "OwnTenantSecretsOnly")["Resource"].pop(),
        checks.check_secrets,
    ),
    (
        "queue always on the SQS-managed key",
        lambda t: res(t, "SyncQueue").pop("KmsMasterKeyId"),
        checks.check_customer_key,
    ),
    (
        "log group without the optional key",
        lambda t: res(t, "ApiAccessLogs").pop("KmsKeyId"),
        checks.check_customer_key,
    ),
    (
        "table always on the AWS-managed key",
        lambda t: res(t, "AssetTable")["SSESpecification"].pop("KMSMasterKeyId"),
        checks.check_customer_key,
    ),
    (
        "key used by a role that reaches neither table nor queue",
        lambda t: res(t, "CustomerKeyUse")["Roles"].append({"Ref": "AssetsApiFunctionRole"}),
        checks.check_customer_key,
    ),
    (
        "a worker cannot read its encrypted queue",
        lambda t: res(t, "CustomerKeyUse")["Roles"].remove({"Ref": "AuditWorkerFunctionRole"}),
        checks.check_customer_key,
    ),
    (
        "key usable outside DynamoDB and SQS",
        lambda t: res(t, "CustomerKeyUse")["PolicyDocument"]["Statement"][0].pop("Condition"),
        checks.check_customer_key,
    ),
    (
        "key required",
        lambda t: t["Parameters"]["KmsKeyArn"].pop("Default"),
        checks.check_customer_key,
    ),
    (
        "skip without a reason",
        lambda t: t["Resources"]["ApiFunction"]["Metadata"]["checkov"]["skip"][0].update(comment=""),
        checks.check_checkov_skips,
    ),
    (
        "template-wide skip",
        lambda t: t.update(Metadata={"checkov": {"skip": [{"id": "CKV_AWS_117", "comment": "everywhere"}]}}),
        checks.check_checkov_skips,
    ),
    (
        "worker without a concurrency limit",
        lambda t: res(t, "SyncWorkerFunction").pop("ReservedConcurrentExecutions"),
        checks.check_checkov_skips,
    ),
    (
        "poller beyond the worker's reservation",
        lambda t: res(t, "AuditWorkerFunction")["Events"]["Audits"]["Properties"]["ScalingConfig"].update(
            MaximumConcurrency=50
        ),
        checks.check_checkov_skips,
    ),
]


def lookup(template: dict[str, Any]) -> dict[str, Any]:
    """The requests function's AdminGetUser statement."""
    [statement] = [
        s
        for p in res(template, "RequestsApiFunction")["Policies"]
        for s in p.get("Statement", [])
        if isinstance(p, dict)
        if s.get("Sid") == "FindUsersByName"
    ]
    return statement


def secrets_statement(template: dict[str, Any], sid: str) -> dict[str, Any]:
    [policy] = [p for p in res(template, "TenantDataRole")["Policies"] if p["PolicyName"] == "tenant-secrets"]
    statements: list[dict[str, Any]] = [s for s in policy["PolicyDocument"]["Statement"] if s["Sid"] == sid]
    return statements[0]


def role_statement(template: dict[str, Any]) -> dict[str, Any]:
    statement: dict[str, Any] = res(template, "TenantDataRole")["Policies"][0]["PolicyDocument"]["Statement"][
        0
    ]
    return statement


@pytest.mark.parametrize(
    ("breakage", "check"), [(b, c) for _, b, c in BREAKAGES], ids=[n for n, _, _ in BREAKAGES]
)
def test_check_catches(
    original: Template, breakage: Callable[[Template], None], check: Callable[[Template], None]
) -> None:
    broken = copy.deepcopy(original)
    check(broken)  # the check passes before the breakage...
    breakage(broken)
    with pytest.raises(AssertionError):
        check(broken)  # ...and fails after it


def test_every_check_is_exercised() -> None:
    assert {c for _, _, c in BREAKAGES} == set(checks.ALL_CHECKS)


def test_cfn_lint_fails_on_a_broken_template(original: Template, tmp_path: Path) -> None:
    broken = copy.deepcopy(original)
    res(broken, "AssetTable")["BillingMode"] = "ON_DEMAND"  # not a BillingMode
    path = tmp_path / "template.yaml"
    path.write_text(yaml.safe_dump(broken, sort_keys=False), encoding="utf-8")
    result = checks.run_cfn_lint(path)
    assert result.returncode != 0, result.stdout
    assert "ON_DEMAND" in result.stdout, result.stdout
