"""template.yaml passes cfn-lint and has the properties the deployment relies on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from infra.local.template import DEFAULT_TEMPLATE, http_routes, load_template
from tests.infra import checks


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def test_cfn_lint_passes() -> None:
    result = checks.run_cfn_lint(DEFAULT_TEMPLATE)
    assert result.returncode == 0, f"cfn-lint exit {result.returncode}:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("check", checks.ALL_CHECKS, ids=lambda c: c.__name__.removeprefix("check_"))
def test_template_property(template: dict[str, Any], check: Callable[[dict[str, Any]], None]) -> None:
    check(template)


def test_the_checks_see_the_resources_they_are_about(template: dict[str, Any]) -> None:
    """Guards against a check passing vacuously because it looked in the wrong place."""
    assert checks.only(template, "AWS::DynamoDB::Table")[0] == "AssetTable"
    assert checks.only(template, "AWS::Cognito::UserPool")[0] == "UserPool"
    assert checks.domain_layer_id(template) == "DomainLayer"
    functions = sorted(checks.functions(template))
    assert functions == [
        "ApiFunction",
        "AssetsApiFunction",
        "AuditSchedulerFunction",
        "AuditWorkerFunction",
        "FinanceApiFunction",
        "InventoryApiFunction",
        "LicensesApiFunction",
        "ProcurementApiFunction",
        "ProcurementWorkerFunction",
        "RequestsApiFunction",
        "SyncSchedulerFunction",
        "SyncWorkerFunction",
        "WebhookIntakeFunction",
    ]
    routes = {(r.method, r.path) for r in http_routes(template)}
    assert routes >= checks.PUBLIC_ROUTES | {("ANY", "/v1/{proxy+}")}


def test_no_role_may_scan_or_manage_the_table(template: dict[str, Any]) -> None:
    """No Scan anywhere: the IAM policies make it impossible, not only unused."""
    role = template["Resources"]["TenantDataRole"]["Properties"]
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    [statement] = [s for s in statements if any(a.startswith("dynamodb:") for a in s["Action"])]
    actions = set(statement["Action"])
    assert {
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:ConditionCheckItem",
    } <= actions
    assert not {a for a in actions if a.endswith(("Scan", "*", "Table", "TableReplica"))}
    function_actions = {
        a
        for p in checks.functions(template)["ApiFunction"]["Policies"]
        for s in p.get("Statement", [])
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    # Its own role: assume the tenant-data role and look a user up in the pool; no data, no tenant
    # secrets (those go through that role too).
    assert function_actions == {"sts:AssumeRole", "sts:TagSession", "cognito-idp:AdminGetUser"}
