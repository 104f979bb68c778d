"""Checks of the SAM template, one function per property the deployment relies on.

Each check takes a parsed template (infra.local.template.load_template) and raises AssertionError
with a message naming the resource when the property does not hold. test_template.py runs them on
template.yaml; test_checks_catch.py runs them on broken copies, to show that each one can fail.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from infra.local.template import REPO_ROOT, Resolver, http_routes, referenced_ids, resources_of_type

Template = Mapping[str, Any]

DOMAIN_LAYER_DIR = "layers/itam"
# Routes without the JWT authorizer: health and the API description, and the procurement webhook
# intake, which authenticates each delivery by its Standard Webhooks signature instead.
PUBLIC_ROUTES = {
    ("GET", "/v1/health"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("POST", "/v1/webhooks/{endpoint_id}"),
}
GROUPS = {"admin", "editor", "viewer", "auditor"}
TENANT_ATTRIBUTE = "tenant_id"
MIN_PYTHON_MINOR = 12


# ---------------------------------------------------------------- helpers


def merge_globals(globals_: Any, props: Any) -> Any:
    """SAM's Globals merge: maps merge key by key, lists are concatenated, scalars are overridden."""
    if isinstance(globals_, dict) and isinstance(props, dict):
        merged = dict(globals_)
        for key, value in props.items():
            merged[key] = merge_globals(globals_[key], value) if key in globals_ else value
        return merged
    if isinstance(globals_, list) and isinstance(props, list):
        return [*globals_, *props]
    return props


def functions(template: Template) -> dict[str, dict[str, Any]]:
    """Every AWS::Serverless::Function's Properties with Globals.Function applied."""
    globals_ = dict((template.get("Globals") or {}).get("Function") or {})
    return {
        lid: merge_globals(globals_, dict(res.get("Properties") or {}))
        for lid, res in resources_of_type(template, "AWS::Serverless::Function").items()
    }


def only(template: Template, type_name: str) -> tuple[str, dict[str, Any]]:
    """The single resource of a type (the template declares one user pool, one table...)."""
    found = resources_of_type(template, type_name)
    assert len(found) == 1, f"expected exactly one {type_name}, found {sorted(found)}"
    ((logical_id, resource),) = found.items()
    return logical_id, resource


def refs_without_pseudo(value: Any) -> set[str]:
    """Logical ids and parameters a value refers to, pseudo parameters (AWS::Region...) left out."""
    return {name for name in referenced_ids(value) if not name.startswith("AWS::")}


def domain_layer_id(template: Template) -> str:
    """The logical id of the layer built from layers/itam/."""
    layers = [
        lid
        for lid, res in resources_of_type(template, "AWS::Serverless::LayerVersion").items()
        if str((res.get("Properties") or {}).get("ContentUri", "")).rstrip("/") == DOMAIN_LAYER_DIR
    ]
    assert len(layers) == 1, f"expected one AWS::Serverless::LayerVersion from {DOMAIN_LAYER_DIR}/: {layers}"
    return layers[0]


def run_cfn_lint(template_path: Path) -> subprocess.CompletedProcess[str]:
    """cfn-lint's command line (same rules, config file and exit codes as `cfn-lint FILE`)."""
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from cfnlint.runner import main; sys.exit(main())",
            str(template_path),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# ---------------------------------------------------------------- data


def check_table(template: Template) -> None:
    """The one table: on-demand, point-in-time recovery, deletion protection, SSE, retained by the stack."""
    lid, table = only(template, "AWS::DynamoDB::Table")
    props = table.get("Properties") or {}
    assert props.get("BillingMode") == "PAY_PER_REQUEST", f"{lid}.BillingMode: {props.get('BillingMode')!r}"
    assert "ProvisionedThroughput" not in props, f"{lid}: ProvisionedThroughput with on-demand billing"
    pitr = props.get("PointInTimeRecoverySpecification") or {}
    assert pitr.get("PointInTimeRecoveryEnabled") is True, f"{lid}: point-in-time recovery is off: {pitr}"
    assert props.get("DeletionProtectionEnabled") is True, f"{lid}: deletion protection is off"
    sse = props.get("SSESpecification") or {}
    assert sse.get("SSEEnabled") is True, f"{lid}: SSESpecification.SSEEnabled is not true: {sse}"
    assert table.get("DeletionPolicy") == "Retain", f"{lid}.DeletionPolicy: {table.get('DeletionPolicy')!r}"
    assert table.get("UpdateReplacePolicy") == "Retain", (
        f"{lid}.UpdateReplacePolicy: {table.get('UpdateReplacePolicy')!r}"
    )


def check_table_keys(template: Template) -> None:
    """Every key attribute (table and indexes) is declared in AttributeDefinitions, and nothing else is."""
    for lid, table in resources_of_type(template, "AWS::DynamoDB::Table").items():
        props = table.get("Properties") or {}
        declared = [d["AttributeName"] for d in props.get("AttributeDefinitions") or []]
        assert len(declared) == len(set(declared)), f"{lid}: an attribute is declared twice: {declared}"
        used = {k["AttributeName"] for k in props.get("KeySchema") or []}
        assert used, f"{lid}: no KeySchema"
        for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            for index in props.get(kind) or []:
                keys = {k["AttributeName"] for k in index.get("KeySchema") or []}
                missing = keys - set(declared)
                assert not missing, (
                    f"{lid}.{index.get('IndexName')}: keys not in AttributeDefinitions: {missing}"
                )
                used |= keys
        # CloudFormation rejects a definition that no key schema uses.
        assert set(declared) == used, f"{lid}: AttributeDefinitions unused by any key: {set(declared) - used}"


# ---------------------------------------------------------------- functions and layer


def check_functions(template: Template) -> None:
    """Every function: arm64 only, Python 3.12+, the domain layer, and the table's name in its environment."""
    found = functions(template)
    assert found, "no AWS::Serverless::Function"
    layer = domain_layer_id(template)
    table_id, _ = only(template, "AWS::DynamoDB::Table")
    for lid, props in found.items():
        assert props.get("Architectures") == ["arm64"], f"{lid}.Architectures: {props.get('Architectures')}"
        runtime = str(props.get("Runtime"))
        match = re.fullmatch(r"python3\.(\d+)", runtime)
        assert match and int(match.group(1)) >= MIN_PYTHON_MINOR, f"{lid}.Runtime: {runtime!r}"
        assert {"Ref": layer} in (props.get("Layers") or []), (
            f"{lid}: no Ref {layer} in {props.get('Layers')}"
        )
        variables = (props.get("Environment") or {}).get("Variables") or {}
        assert variables.get("TABLE_NAME") == {"Ref": table_id}, (
            f"{lid}: TABLE_NAME is {variables.get('TABLE_NAME')}"
        )


def check_domain_layer(template: Template) -> None:
    """The domain layer is built for arm64 with the functions' runtime (by SAM, or by its Makefile)."""
    lid = domain_layer_id(template)
    layer = template["Resources"][lid]
    props = layer.get("Properties") or {}
    metadata = layer.get("Metadata") or {}
    runtimes = {str(p.get("Runtime")) for p in functions(template).values()}
    assert len(runtimes) == 1, f"the functions use several runtimes: {runtimes}"
    (runtime,) = runtimes
    method = metadata.get("BuildMethod")
    if method == "makefile":
        # A custom build must target the same interpreter version and architecture, and compile bytecode.
        makefile = (REPO_ROOT / DOMAIN_LAYER_DIR / "Makefile").read_text(encoding="utf-8")
        version = runtime.removeprefix("python")
        assert f"build-{lid}:" in makefile, f"{lid}: the layer Makefile has no build-{lid} target"
        assert f"--python-version {version}" in makefile, f"{lid}: the Makefile does not target {runtime}"
        assert "aarch64" in makefile, f"{lid}: the layer Makefile does not target arm64 wheels"
        assert "compileall" in makefile, f"{lid}: the layer Makefile ships no bytecode"
    else:
        assert method == runtime, f"{lid}: BuildMethod {method!r}"
    assert metadata.get("BuildArchitecture") == "arm64", (
        f"{lid}: BuildArchitecture {metadata.get('BuildArchitecture')!r}"
    )
    assert runtime in (props.get("CompatibleRuntimes") or []), f"{lid}: CompatibleRuntimes lack {runtime}"
    assert props.get("CompatibleArchitectures") == ["arm64"], f"{lid}: {props.get('CompatibleArchitectures')}"


def check_code_locations(template: Template) -> None:
    """CodeUri/ContentUri directories exist and hold the handler module and the domain package."""
    for lid, props in functions(template).items():
        code = REPO_ROOT / str(props.get("CodeUri"))
        module = str(props.get("Handler")).rsplit(".", 1)[0]
        assert (code / f"{module.replace('.', '/')}.py").is_file(), f"{lid}: no {module}.py in {code}"
    layer_dir = REPO_ROOT / DOMAIN_LAYER_DIR
    assert (layer_dir / "itam" / "__init__.py").is_file(), f"no itam package in {layer_dir}"
    requirements = (layer_dir / "requirements.txt").read_text(encoding="utf-8")
    names = {
        re.split(r"[<>=!~\[; ]", line.strip(), maxsplit=1)[0].lower() for line in requirements.splitlines()
    }
    for name in ("aws-lambda-powertools", "pydantic", "pynamodb"):
        assert name in names, f"{layer_dir}/requirements.txt does not list {name}"


# ---------------------------------------------------------------- identity and API


# What identifies a user or says the address is theirs: no app client may write these.
IDENTITY_ATTRIBUTES = {"email", "email_verified", "phone_number", "phone_number_verified"}


def check_user_pool(template: Template) -> None:
    """The pool has custom:tenant_id; its app clients can read it but not write it. Users cannot
    change their e-mail address (by which names are resolved to users), an address takes effect only
    once verified, and user names and addresses are one user's in any case."""
    pool_id, pool = only(template, "AWS::Cognito::UserPool")
    props = pool.get("Properties") or {}
    assert (props.get("UsernameConfiguration") or {}).get("CaseSensitive") is False, (
        f"{pool_id}: user names are case-sensitive: {props.get('UsernameConfiguration')}"
    )
    verify = (props.get("UserAttributeUpdateSettings") or {}).get("AttributesRequireVerificationBeforeUpdate")
    assert "email" in (verify or []), f"{pool_id}: an e-mail change applies unverified: {verify}"
    schema = {a.get("Name"): a for a in props.get("Schema") or []}
    assert TENANT_ATTRIBUTE in schema, f"{pool_id}: no {TENANT_ATTRIBUTE} attribute in {sorted(schema)}"
    assert schema[TENANT_ATTRIBUTE].get("AttributeDataType") == "String", (
        f"{pool_id}: {schema[TENANT_ATTRIBUTE]}"
    )
    clients = resources_of_type(template, "AWS::Cognito::UserPoolClient")
    assert clients, "no AWS::Cognito::UserPoolClient"
    custom = f"custom:{TENANT_ATTRIBUTE}"
    for lid, client in clients.items():
        props = client.get("Properties") or {}
        assert props.get("UserPoolId") == {"Ref": pool_id}, f"{lid}.UserPoolId: {props.get('UserPoolId')}"
        # Without WriteAttributes a client may write every writable attribute, the tenant included.
        assert "WriteAttributes" in props, f"{lid}: no WriteAttributes (all attributes writable)"
        assert custom not in props["WriteAttributes"], f"{lid} can write {custom}: {props['WriteAttributes']}"
        # An empty list is no list to Cognito: the client would write every standard attribute.
        assert props["WriteAttributes"], f"{lid}: WriteAttributes is empty (all attributes writable)"
        written = IDENTITY_ATTRIBUTES & set(props["WriteAttributes"])
        assert not written, f"{lid}: users can change {sorted(written)} themselves"
        read = set(props.get("ReadAttributes") or [])
        assert {custom, "email", "email_verified"} <= read, f"{lid} reads only {sorted(read)}"


def check_groups(template: Template) -> None:
    """The role groups exist in the template's pool."""
    pool_id, _ = only(template, "AWS::Cognito::UserPool")
    groups = {
        (res.get("Properties") or {}).get("GroupName")
        for res in resources_of_type(template, "AWS::Cognito::UserPoolGroup").values()
        if (res.get("Properties") or {}).get("UserPoolId") == {"Ref": pool_id}
    }
    assert groups >= GROUPS, f"groups missing from {pool_id}: {sorted(GROUPS - groups)}"


def check_http_api_auth(template: Template) -> None:
    """Each HttpApi's default authorizer is a JWT authorizer for the template's pool and app client."""
    apis = resources_of_type(template, "AWS::Serverless::HttpApi")
    assert apis, "no AWS::Serverless::HttpApi"
    pool_id, _ = only(template, "AWS::Cognito::UserPool")
    clients = {
        lid
        for lid, res in resources_of_type(template, "AWS::Cognito::UserPoolClient").items()
        if (res.get("Properties") or {}).get("UserPoolId") == {"Ref": pool_id}
    }
    for api_id, api in apis.items():
        auth = (api.get("Properties") or {}).get("Auth") or {}
        default = auth.get("DefaultAuthorizer")
        assert default and default != "NONE", f"{api_id}: no DefaultAuthorizer"
        jwt = ((auth.get("Authorizers") or {}).get(default) or {}).get("JwtConfiguration")
        assert jwt, f"{api_id}: default authorizer {default} is not a JWT authorizer"
        issuer = jwt.get("issuer")
        assert refs_without_pseudo(issuer) == {pool_id}, (
            f"{api_id}.{default}: issuer {issuer} is not {pool_id}'s"
        )
        resolved = Resolver(refs={pool_id: "us-east-1_POOL"}, region="us-east-1").resolve(issuer)
        assert resolved == "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_POOL", f"issuer: {resolved}"
        audience = jwt.get("audience") or []
        assert audience, f"{api_id}.{default}: no audience"
        for entry in audience:
            assert (
                isinstance(entry, dict) and refs_without_pseudo(entry) <= clients and referenced_ids(entry)
            ), f"{api_id}.{default}: audience {entry} is not a client of {pool_id} ({sorted(clients)})"


def check_public_routes(template: Template) -> None:
    """Only health, the OpenAPI document and the docs page skip the authorizer; the rest use the default."""
    routes = http_routes(template)
    public = {(r.method, r.path) for r in routes if r.authorizer is None}
    assert public == PUBLIC_ROUTES, f"routes without authorizer: {sorted(public)}"
    protected = [r for r in routes if r.authorizer is not None]
    assert protected, "no route uses the JWT authorizer"
    for route in protected:
        default = (template["Resources"][route.api_id]["Properties"]["Auth"]).get("DefaultAuthorizer")
        assert route.authorizer is not None and route.authorizer.name == default, (
            f"{route.route_key}: authorizer {route.auth}, not the default {default}"
        )


# ---------------------------------------------------------------- IAM


def _dynamodb_actions(statement: Mapping[str, Any]) -> bool:
    actions = statement.get("Action") or []
    actions = [actions] if isinstance(actions, str) else actions
    return any(str(a).lower().startswith("dynamodb:") or a == "*" for a in actions)


LEADING_KEYS = ["T#${aws:PrincipalTag/tenant_id}#*"]


def _statements(policy: Any) -> list[dict[str, Any]]:
    if isinstance(policy, dict) and "Statement" in policy:
        return list(policy["Statement"])
    if isinstance(policy, dict) and "PolicyDocument" in policy:
        return list(policy["PolicyDocument"]["Statement"])
    return []


def _actions(statement: Mapping[str, Any]) -> list[str]:
    actions = statement.get("Action") or []
    return [actions] if isinstance(actions, str) else list(actions)


# The directories a scheduler may read with its own role (no tenant data lives in them): the
# tenant directory (GSI1 partition TENANTS) and the directory of enabled connectors (GSI2 partition
# CONNECTORS).
DIRECTORIES = {"GSI1": "TENANTS", "GSI2": "CONNECTORS"}


def _reads_a_directory_only(statement: Mapping[str, Any]) -> bool:
    """The one grant a function may hold on its own role: Query on one index, limited to one
    directory partition."""
    resource = statement.get("Resource")
    condition = (statement.get("Condition") or {}).get("ForAllValues:StringEquals") or {}
    index = str(resource.get("Fn::Sub", "")).rsplit("/index/", 1)[-1] if isinstance(resource, dict) else ""
    return (
        statement.get("Effect") == "Allow"
        and _actions(statement) == ["dynamodb:Query"]
        and index in DIRECTORIES
        and condition.get("dynamodb:LeadingKeys") == [DIRECTORIES[index]]
    )


# The one item read a function may make with its own role: the webhook intake finds an endpoint
# before the delivery is authenticated, so before it assumes the tenant's role.
ENDPOINT_READER = "WebhookIntakeFunction"
ENDPOINT_PARTITIONS = ["T#*#WEBHOOK#*"]


def _reads_webhook_endpoints_only(lid: str, statement: Mapping[str, Any]) -> bool:
    """The intake's grant: GetItem on the table, limited to webhook endpoint partitions."""
    condition = (statement.get("Condition") or {}).get("ForAllValues:StringLike") or {}
    return (
        lid == ENDPOINT_READER
        and statement.get("Effect") == "Allow"
        and _actions(statement) == ["dynamodb:GetItem"]
        and statement.get("Resource") == {"Fn::GetAtt": ["AssetTable", "Arn"]}
        and condition.get("dynamodb:LeadingKeys") == ENDPOINT_PARTITIONS
    )


def _assumes_roles_of_other_accounts_only(statement: Mapping[str, Any]) -> bool:
    """The inventory worker's grant: AssumeRole on roles in other accounts (tenants' own, whose
    trust policies require the tenant's ExternalId), never in this account."""
    condition = (statement.get("Condition") or {}).get("StringNotEquals") or {}
    return (
        statement.get("Effect") == "Allow"
        and _actions(statement) == ["sts:AssumeRole"]
        and condition.get("aws:ResourceAccount") == {"Ref": "AWS::AccountId"}
    )


def _check_function_policies(lid: str, props: Mapping[str, Any]) -> tuple[bool, bool]:
    """Check one function's own policies; say whether it assumes the tenant-data role and whether it
    reads the tenant directory."""
    assumes = directory_only = False
    policies = props.get("Policies") or []
    for policy in policies if isinstance(policies, list) else [policies]:
        assert not (isinstance(policy, str) and "dynamodb" in policy.lower()), f"{lid}: managed {policy}"
        assert not (isinstance(policy, dict) and any("dynamodb" in k.lower() for k in policy)), (
            f"{lid}: a DynamoDB policy template gives the function itself access to data"
        )
        for statement in _statements(policy):
            if _reads_a_directory_only(statement):
                directory_only = True
                continue
            if _assumes_roles_of_other_accounts_only(statement) or _reads_webhook_endpoints_only(
                lid, statement
            ):
                continue
            assert not _dynamodb_actions(statement), f"{lid}: reaches DynamoDB with its own role"
            if "sts:AssumeRole" in _actions(statement):
                assumes = True
                assert "sts:TagSession" in _actions(statement), f"{lid}: cannot tag its session"
                assert statement.get("Resource") == {"Fn::GetAtt": ["TenantDataRole", "Arn"]}, (
                    f"{lid}: assumes {statement.get('Resource')}, not the tenant-data role"
                )
    return assumes, directory_only


def check_user_lookups(template: Template) -> None:
    """The functions that resolve names to users may look one user up in the template's pool
    (AdminGetUser) and nothing else of Cognito, and are told the pool."""
    pool_id, _ = only(template, "AWS::Cognito::UserPool")
    finders = set()
    for lid, props in functions(template).items():
        for policy in props.get("Policies") or []:
            for statement in _statements(policy):
                cognito = [a for a in _actions(statement) if a.lower().startswith("cognito-idp:") or a == "*"]
                if not cognito:
                    continue
                assert _actions(statement) == ["cognito-idp:AdminGetUser"], f"{lid}: {_actions(statement)}"
                assert statement.get("Resource") == {"Fn::GetAtt": [pool_id, "Arn"]}, (
                    f"{lid}: AdminGetUser on {statement.get('Resource')}"
                )
                finders.add(lid)
        env = ((props.get("Environment") or {}).get("Variables")) or {}
        if lid in finders:
            assert env.get("USER_POOL_ID") == {"Ref": pool_id}, (
                f"{lid}: USER_POOL_ID is {env.get('USER_POOL_ID')}"
            )
    # The functions serving the request routes (the requests context and the all-routes function).
    assert finders >= {"ApiFunction", "RequestsApiFunction"}, f"only {sorted(finders)} can look users up"


def check_iam(template: Template) -> None:
    """No function reaches the table with its own role (but for directory reads and the intake's
    endpoint lookup); each assumes the tenant-data role, whose sessions reach only the template's
    table, and there only keys under their tenant tag."""
    tables = set(resources_of_type(template, "AWS::DynamoDB::Table"))
    roles = resources_of_type(template, "AWS::IAM::Role")
    assert "TenantDataRole" in roles, "no TenantDataRole"
    role = roles["TenantDataRole"]["Properties"]
    for lid, props in functions(template).items():
        assert "Role" not in props, f"{lid}: a Role defined elsewhere cannot be checked here"
        assumes, directory_only = _check_function_policies(lid, props)
        # A function reaches tenant data only through the tenant-data role; one that reads nothing
        # but the tenant directory needs no role.
        env = ((props.get("Environment") or {}).get("Variables")) or {}
        if assumes or not directory_only:
            assert env.get("TENANT_ROLE_ARN") == {"Fn::GetAtt": ["TenantDataRole", "Arn"]}, (
                f"{lid}: TENANT_ROLE_ARN is {env.get('TENANT_ROLE_ARN')!r}"
            )
    granted: set[str] = set()
    for policy in role.get("Policies") or []:
        for statement in _statements(policy):
            if not _dynamodb_actions(statement):
                continue
            resources = statement.get("Resource")
            targets = refs_without_pseudo(resources)
            assert resources != "*" and "*" not in (resources or []), "TenantDataRole: DynamoDB on '*'"
            assert targets and targets <= tables, f"TenantDataRole: DynamoDB on {resources}"
            assert not [a for a in _actions(statement) if a.endswith(("Scan", "*"))], (
                "TenantDataRole may scan"
            )
            condition = (statement.get("Condition") or {}).get("ForAllValues:StringLike") or {}
            assert condition.get("dynamodb:LeadingKeys") == LEADING_KEYS, (
                f"TenantDataRole: statement not limited to the tenant's keys: {statement.get('Condition')}"
            )
            granted |= targets
    assert granted == tables, f"the tenant-data role grants {sorted(granted)}, expected {sorted(tables)}"
    for trust in role["AssumeRolePolicyDocument"]["Statement"]:
        condition = trust.get("Condition") or {}
        principal_arn = str((condition.get("ArnLike") or {}).get("aws:PrincipalArn"))
        assert "ApiFunctionRole" in principal_arn, f"TenantDataRole trusted beyond the API role: {trust}"
        assert (condition.get("StringLike") or {}).get("aws:RequestTag/tenant_id"), (
            "TenantDataRole can be assumed without a tenant_id tag"
        )


# ---------------------------------------------------------------- secrets


PRINCIPAL_TENANT = "${aws:PrincipalTag/tenant_id}"
SECRET_PREFIXES = ("WEBHOOK_SECRET_PREFIX", "CONNECTOR_SECRET_PREFIX")
# What a tenant session does with its own secrets, and what creating one (tagged) takes.
SECRET_USE = {"secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:DeleteSecret"}
SECRET_CREATE = {"secretsmanager:CreateSecret", "secretsmanager:TagResource"}


def _secret_actions(statement: Mapping[str, Any]) -> set[str]:
    return {a for a in _actions(statement) if a == "*" or a.lower().startswith("secretsmanager:")}


def _sub_text(value: Any) -> str:
    """The text of a plain string or of an Fn::Sub (CloudFormation's ${!x} escape read as ${x})."""
    text = value.get("Fn::Sub", "") if isinstance(value, dict) else value
    return str(text[0] if isinstance(text, list) else text).replace("${!", "${")


def _resources(statement: Mapping[str, Any]) -> list[str]:
    resources = statement.get("Resource")
    return [_sub_text(r) for r in (resources if isinstance(resources, list) else [resources])]


def _secret_patterns(template: Template) -> set[str]:
    """The ARN patterns of each tenant's secrets: <prefix of the functions' environment>/<tenant>/*."""
    variables = (
        ((template.get("Globals") or {}).get("Function") or {}).get("Environment", {}).get("Variables")
    )
    prefixes = {_sub_text((variables or {}).get(name)) for name in SECRET_PREFIXES}
    assert all(prefixes) and len(prefixes) == len(SECRET_PREFIXES), f"secret prefixes: {prefixes}"
    arn = "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:"
    return {f"{arn}{prefix}/{PRINCIPAL_TENANT}/*" for prefix in prefixes}


def _function_secret_resources(template: Template) -> list[tuple[str, str]]:
    """(function, resource) of every Secrets Manager grant of a function's own role."""
    found: list[tuple[str, str]] = []
    for lid, props in functions(template).items():
        policies = props.get("Policies") or []
        for policy in policies if isinstance(policies, list) else [policies]:
            assert not (isinstance(policy, str) and "secretsmanager" in policy.lower()), f"{lid}: {policy}"
            found += [(lid, r) for st in _statements(policy) if _secret_actions(st) for r in _resources(st)]
    return found


def _check_tenant_secret_statement(statement: Mapping[str, Any], patterns: set[str]) -> set[str]:
    """Check one Secrets Manager statement of the tenant-data role; return its actions."""
    actions = _secret_actions(statement)
    assert statement.get("Effect") == "Allow" and actions <= SECRET_USE | SECRET_CREATE, (
        f"TenantDataRole: Secrets Manager actions {sorted(actions)}"
    )
    assert set(_resources(statement)) <= patterns, (
        f"TenantDataRole: secrets {_resources(statement)}, not under {sorted(patterns)}"
    )
    condition = statement.get("Condition") or {}
    equals = condition.get("StringEquals") or {}
    if actions & SECRET_USE:
        assert equals.get("secretsmanager:ResourceTag/tenant_id") == PRINCIPAL_TENANT, (
            f"TenantDataRole: {sorted(actions)} not limited to secrets tagged with the tenant"
        )
    if actions & SECRET_CREATE:
        assert equals.get("aws:RequestTag/tenant_id") == PRINCIPAL_TENANT, (
            f"TenantDataRole: {sorted(actions)} without the tenant's tag on the request"
        )
        keys = (condition.get("ForAllValues:StringEquals") or {}).get("aws:TagKeys")
        assert keys == ["tenant_id"], f"TenantDataRole: {sorted(actions)} may set tag keys {keys}"
    return actions


def check_secrets(template: Template) -> None:
    """No function reaches tenants' secrets with its own role; the tenant-data role reaches, under
    each tenant's own names, only secrets tagged with its session's tenant, and creates them only
    with that tag and no other."""
    for lid, resource in _function_secret_resources(template):
        assert not any(part in resource for part in ("*", "/webhooks", "/connectors")), (
            f"{lid}: Secrets Manager on {resource} with its own role"
        )
    patterns = _secret_patterns(template)
    granted: dict[str, set[str]] = {pattern: set() for pattern in patterns}
    for policy in template["Resources"]["TenantDataRole"]["Properties"].get("Policies") or []:
        for statement in _statements(policy):
            if _secret_actions(statement):
                actions = _check_tenant_secret_statement(statement, patterns)
                for resource in _resources(statement):
                    granted[resource] |= actions
    for pattern, actions in granted.items():
        missing = (SECRET_USE | SECRET_CREATE) - actions
        assert not missing, f"TenantDataRole: {pattern} lacks {sorted(missing)}"


# ---------------------------------------------------------------- encryption and checkov

KEY_PARAMETER = "KmsKeyArn"
KEY_CONDITION = "HasCustomerKey"
OPTIONAL_KEY = {"Fn::If": [KEY_CONDITION, {"Ref": KEY_PARAMETER}, {"Ref": "AWS::NoValue"}]}


def _roles_reaching_table_or_queues(template: Template) -> set[str]:
    """The tenant-data role, and each function role that sends to a queue, reads one, or queries the table."""
    roles = {"TenantDataRole"}
    for lid, props in functions(template).items():
        policies = props.get("Policies") or []
        sends = any(isinstance(p, dict) and "SQSSendMessagePolicy" in p for p in policies)
        reads = any(e.get("Type") == "SQS" for e in (props.get("Events") or {}).values())
        queries = any(_dynamodb_actions(s) for p in policies for s in _statements(p))
        if sends or reads or queries:
            roles.add(f"{lid}Role")
    return roles


def check_customer_key(template: Template) -> None:
    """An optional customer-managed key: when given, the table, every queue, every log group and the
    functions' environment use it, and only the roles that reach the table or a queue may use it,
    only through DynamoDB and SQS; when empty, nothing refers to it."""
    parameter = (template.get("Parameters") or {}).get(KEY_PARAMETER) or {}
    assert parameter.get("Default") == "", f"{KEY_PARAMETER}: not optional ({parameter.get('Default')!r})"
    expected_condition = {"Fn::Not": [{"Fn::Equals": [{"Ref": KEY_PARAMETER}, ""]}]}
    assert (template.get("Conditions") or {}).get(KEY_CONDITION) == expected_condition, f"no {KEY_CONDITION}"
    _, table = only(template, "AWS::DynamoDB::Table")
    sse = table["Properties"].get("SSESpecification") or {}
    assert sse.get("KMSMasterKeyId") == OPTIONAL_KEY, f"table: KMSMasterKeyId {sse.get('KMSMasterKeyId')}"
    for lid in resources_of_type(template, "AWS::SQS::Queue"):
        props = template["Resources"][lid]["Properties"]
        assert props.get("KmsMasterKeyId") == OPTIONAL_KEY, (
            f"{lid}: KmsMasterKeyId {props.get('KmsMasterKeyId')}"
        )
    for lid in resources_of_type(template, "AWS::Logs::LogGroup"):
        props = template["Resources"][lid]["Properties"]
        assert props.get("KmsKeyId") == OPTIONAL_KEY, f"{lid}: KmsKeyId {props.get('KmsKeyId')}"
    for lid, props in functions(template).items():
        assert props.get("KmsKeyArn") == OPTIONAL_KEY, f"{lid}: KmsKeyArn {props.get('KmsKeyArn')}"
    users = {
        lid: res
        for lid, res in resources_of_type(template, "AWS::IAM::ManagedPolicy").items()
        if KEY_PARAMETER in referenced_ids(res.get("Properties"))
    }
    assert len(users) == 1, f"expected one policy for the key's use, found {sorted(users)}"
    ((lid, policy),) = users.items()
    assert policy.get("Condition") == KEY_CONDITION, f"{lid}: Condition {policy.get('Condition')}"
    props = policy["Properties"]
    roles = {r["Ref"] for r in props.get("Roles") or []}
    assert roles == _roles_reaching_table_or_queues(template), (
        f"{lid}: roles {sorted(roles)}, expected {sorted(_roles_reaching_table_or_queues(template))}"
    )
    for statement in _statements(props):
        assert statement.get("Resource") == {"Ref": KEY_PARAMETER}, f"{lid}: on {statement.get('Resource')}"
        assert set(_actions(statement)) <= {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"}, (
            f"{lid}: {_actions(statement)}"
        )
        via = (statement.get("Condition") or {}).get("StringEquals", {}).get("kms:ViaService") or []
        assert via and {_sub_text(v).split(".", 1)[0] for v in via} <= {"dynamodb", "sqs"}, (
            f"{lid}: the key is usable through {via}"
        )


CHECKOV_ID = re.compile(r"CKV2?_AWS_\d+")
# Why a check may be skipped on a function, by how the function is invoked: no function skips the
# concurrency limit unless API Gateway invokes it (whose stage throttles it).
CONCURRENCY = "CKV_AWS_115"


def check_checkov_skips(template: Template) -> None:
    """Every checkov skip is on its resource, names a check and says why in one line; workers and
    schedulers have a concurrency limit (no skip), and an SQS poller never runs more batches than it."""
    metadata = template.get("Metadata") or {}
    assert "checkov" not in metadata, "a template-wide checkov skip: skip on the resource, with its reason"
    for lid, resource in template["Resources"].items():
        skips = ((resource.get("Metadata") or {}).get("checkov") or {}).get("skip") or []
        for skip in skips:
            assert CHECKOV_ID.fullmatch(str(skip.get("id"))), f"{lid}: skip {skip}"
            comment = str(skip.get("comment") or "")
            assert len(comment) > 20 and "\n" not in comment.strip(), (
                f"{lid}: {skip.get('id')} without a reason"
            )
        ids = [str(skip.get("id")) for skip in skips]
        assert len(ids) == len(set(ids)), f"{lid}: a check skipped twice"
    for lid, props in functions(template).items():
        events = (props.get("Events") or {}).values()
        skips = (template["Resources"][lid].get("Metadata") or {}).get("checkov", {}).get("skip") or []
        if not all(e.get("Type") == "HttpApi" for e in events):
            assert CONCURRENCY not in {s.get("id") for s in skips}, f"{lid}: skips {CONCURRENCY}"
            reserved = props.get("ReservedConcurrentExecutions")
            assert isinstance(reserved, int) and reserved > 0, f"{lid}: no ReservedConcurrentExecutions"
            for event in events:
                if event.get("Type") == "SQS":
                    maximum = (event["Properties"].get("ScalingConfig") or {}).get("MaximumConcurrency")
                    assert isinstance(maximum, int) and maximum <= reserved, (
                        f"{lid}: its SQS poller may run {maximum} batches, {reserved} reserved"
                    )


ALL_CHECKS = (
    check_table,
    check_table_keys,
    check_functions,
    check_domain_layer,
    check_code_locations,
    check_user_pool,
    check_user_lookups,
    check_groups,
    check_http_api_auth,
    check_public_routes,
    check_iam,
    check_secrets,
    check_customer_key,
    check_checkov_skips,
)
