"""template.py: short tags, intrinsic resolution, table kwargs, routes and environments."""

from __future__ import annotations

from pathlib import Path

import botocore.session
import pytest

from infra.local.resources import creation_order, queue_attributes
from infra.local.template import (
    Resolver,
    TemplateError,
    function_environment,
    http_routes,
    load_template,
    parameter_values,
    schedule_event_sources,
    sqs_event_sources,
    table_create_kwargs,
    table_logical_names,
    table_post_create,
    template_conditions,
)
from tests.local.conftest import FIXTURE_TEMPLATE


@pytest.fixture(scope="module")
def template() -> dict:
    return load_template()


def test_short_tags_become_long_form_dicts(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        """
Resources:
  R:
    Type: X
    Properties:
      A: !Ref Thing
      B: !GetAtt Thing.Arn
      C: !Sub "x-${Thing}"
      D: !Join [",", [a, !Ref Thing]]
      E: !Select [0, !Split [",", "a,b"]]
      F: !If [Cond, !Base64 x, !ImportValue y]
      G: !FindInMap [M, K, V]
      H: !And [!Equals [a, b], !Not [!Or [!Equals [c, d]]]]
      I: !GetAZs ""
"""
    )
    props = load_template(path)["Resources"]["R"]["Properties"]
    assert props["A"] == {"Ref": "Thing"}
    assert props["B"] == {"Fn::GetAtt": ["Thing", "Arn"]}
    assert props["C"] == {"Fn::Sub": "x-${Thing}"}
    assert props["D"] == {"Fn::Join": [",", ["a", {"Ref": "Thing"}]]}
    assert props["E"] == {"Fn::Select": [0, {"Fn::Split": [",", "a,b"]}]}
    assert props["F"] == {"Fn::If": ["Cond", {"Fn::Base64": "x"}, {"Fn::ImportValue": "y"}]}
    assert props["G"] == {"Fn::FindInMap": ["M", "K", "V"]}
    assert props["H"]["Fn::And"][1] == {"Fn::Not": [{"Fn::Or": [{"Fn::Equals": ["c", "d"]}]}]}
    assert props["I"] == {"Fn::GetAZs": ""}


def test_a_yaml_file_that_is_not_a_template_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("just: data\n")
    with pytest.raises(TemplateError):
        load_template(path)


def test_table_kwargs_come_from_the_template_and_follow_the_stage(template: dict) -> None:
    assert table_logical_names(template) == ["AssetTable"]
    (default,) = table_create_kwargs(template)
    (test,) = table_create_kwargs(template, {"Stage": "test"})
    assert default["TableName"] == "itam-prod"
    assert test["TableName"] == "itam-test"
    props = template["Resources"]["AssetTable"]["Properties"]
    assert test["KeySchema"] == props["KeySchema"]
    assert test["AttributeDefinitions"] == props["AttributeDefinitions"]
    assert [ix["IndexName"] for ix in test["GlobalSecondaryIndexes"]] == [f"GSI{i}" for i in range(1, 7)]
    assert test["BillingMode"] == "PAY_PER_REQUEST"
    assert test["SSESpecification"] == {"Enabled": True}
    assert test["DeletionProtectionEnabled"] is True


def test_table_kwargs_hold_only_create_table_parameters(template: dict) -> None:
    model = botocore.session.get_session().get_service_model("dynamodb")
    accepted = set(model.operation_model("CreateTable").input_shape.members)
    for kwargs in table_create_kwargs(template) + table_create_kwargs(load_template(FIXTURE_TEMPLATE)):
        assert set(kwargs) <= accepted


def test_settings_create_table_does_not_take_are_applied_afterwards() -> None:
    props = load_template(FIXTURE_TEMPLATE)["Resources"]["Table"]["Properties"]
    calls = table_post_create(props)
    assert calls["update_time_to_live"]["TimeToLiveSpecification"] == {
        "Enabled": True,
        "AttributeName": "expiresAt",
    }
    assert calls["update_continuous_backups"]["PointInTimeRecoverySpecification"][
        "PointInTimeRecoveryEnabled"
    ]


def test_parameters_are_checked(template: dict) -> None:
    assert parameter_values(template) == {
        "Stage": "prod",
        "LogLevel": "INFO",
        "CorsAllowOrigins": "*",
        "KmsKeyArn": "",
    }
    with pytest.raises(TemplateError, match="unknown"):
        parameter_values(template, {"Stgae": "x"})
    with pytest.raises(TemplateError, match="does not match"):
        parameter_values(template, {"Stage": "Not Valid"})
    with pytest.raises(TemplateError, match="not one of"):
        parameter_values(template, {"LogLevel": "LOUD"})
    with pytest.raises(TemplateError, match="does not match"):
        parameter_values(template, {"KmsKeyArn": "alias/itam"})


def test_resolver_handles_ref_sub_getatt_and_pseudo_parameters() -> None:
    resolver = Resolver(
        params={"Stage": "dev"},
        refs={"Pool": "us-east-1_abc"},
        attributes={"Logs": {"Arn": "arn:logs"}},
        region="eu-west-1",
    )
    assert resolver.resolve({"Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${Pool}"}) == (
        "https://cognito-idp.eu-west-1.amazonaws.com/us-east-1_abc"
    )
    assert resolver.resolve({"Fn::Sub": "${AWS::AccountId}.${AWS::URLSuffix}/${AWS::StackName}"}) == (
        "123456789012.amazonaws.com/itam-local"
    )
    assert resolver.resolve({"Fn::Sub": ["${X}-${Stage}-${!Literal}", {"X": {"Ref": "Pool"}}]}) == (
        "us-east-1_abc-dev-${Literal}"
    )
    assert resolver.resolve({"Fn::Sub": "${Logs.Arn}"}) == "arn:logs"
    assert resolver.resolve({"Fn::GetAtt": ["Logs", "Arn"]}) == "arn:logs"
    assert resolver.resolve({"Fn::Join": ["-", ["a", {"Ref": "Stage"}]]}) == "a-dev"
    assert resolver.resolve({"Fn::Select": [1, {"Fn::Split": [",", "a,b,c"]}]}) == "b"
    assert resolver.resolve({"K": [{"Ref": "Stage"}, 1]}) == {"K": ["dev", 1]}
    with pytest.raises(TemplateError, match="Missing"):
        resolver.resolve({"Ref": "Missing"})
    with pytest.raises(TemplateError, match="Fn::ImportValue"):
        resolver.resolve({"Fn::ImportValue": "x"})


def test_conditions_choose_between_values_and_no_value_removes_the_property() -> None:
    # Given: the conditions of a template with an optional parameter
    conditions = {
        "HasKey": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Key"}, ""]}]},
        "Prod": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
        "ProdWithKey": {"Fn::And": [{"Condition": "HasKey"}, {"Condition": "Prod"}]},
        "EitherOne": {"Fn::Or": [{"Condition": "HasKey"}, {"Condition": "Prod"}]},
    }
    no_key = Resolver(params={"Key": "", "Stage": "dev"}, conditions=conditions)
    key = Resolver(params={"Key": "arn:k", "Stage": "dev"}, conditions=conditions)
    value = {
        "KmsMasterKeyId": {"Fn::If": ["HasKey", {"Ref": "Key"}, {"Ref": "AWS::NoValue"}]},
        "SqsManagedSseEnabled": {"Fn::If": ["HasKey", {"Ref": "AWS::NoValue"}, True]},
        "List": ["a", {"Ref": "AWS::NoValue"}],
    }

    # Then: Fn::If takes the branch of its condition; AWS::NoValue leaves the property (or item) out
    assert no_key.resolve(value) == {"SqsManagedSseEnabled": True, "List": ["a"]}
    assert key.resolve(value) == {"KmsMasterKeyId": "arn:k", "List": ["a"]}
    assert (no_key.condition("ProdWithKey"), no_key.condition("EitherOne")) == (False, False)
    assert (key.condition("ProdWithKey"), key.condition("EitherOne")) == (False, True)
    with pytest.raises(TemplateError, match="unknown condition"):
        key.resolve({"Fn::If": ["Missing", "a", "b"]})


def test_the_customer_key_reaches_table_and_queues_only_when_given(template: dict) -> None:
    key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    for given, expected in (("", None), (key_arn, key_arn)):
        resolver = Resolver(
            params=parameter_values(template, {"KmsKeyArn": given}),
            refs={"ApiFunction": "itam-prod-api"},
            attributes={"AuditDeadLetterQueue": {"Arn": "arn:aws:sqs:us-east-1:123456789012:dlq"}},
            conditions=template_conditions(template),
        )
        [table] = table_create_kwargs(template, {"KmsKeyArn": given})
        queue = queue_attributes(resolver.resolve(template["Resources"]["AuditQueue"]["Properties"]))
        logs = resolver.resolve(template["Resources"]["ApiFunctionLogs"]["Properties"])
        assert table["SSESpecification"].get("KMSMasterKeyId") == expected
        assert queue.get("KmsMasterKeyId") == expected
        assert queue.get("SqsManagedSseEnabled") == (None if expected else "true")
        assert logs.get("KmsKeyId") == expected
        assert resolver.condition("HasCustomerKey") is bool(expected)


def test_http_routes_list_every_httpapi_event(template: dict) -> None:
    routes = {r.route_key: r for r in http_routes(template)}
    assert set(routes) == {
        "GET /v1/health",
        "GET /openapi.json",
        "GET /docs",
        "ANY /v1/{proxy+}",
        "POST /v1/webhooks/{endpoint_id}",
        # One function per bounded context takes its own paths (docs/adr/0010).
        *(
            f"ANY {path}{tail}"
            for path in (
                "/v1/assets",
                "/v1/licenses",
                "/v1/assets/{asset_id}/software",
                "/v1/normalization-rules",
                "/v1/compliance",
                "/v1/audits",
                "/v1/connectors",
                "/v1/sync-runs",
                "/v1/webhook-endpoints",
                "/v1/requests",
                "/v1/approval-policy",
                "/v1/contracts",
                "/v1/depreciation-profiles",
            )
            for tail in ("", "/{proxy+}")
        ),
        # An asset's books go to the finance function, past the register's /v1/assets/{proxy+}.
        "ANY /v1/assets/{asset_id}/depreciation",
        "ANY /v1/assets/{asset_id}/tco",
    }
    books = routes["ANY /v1/assets/{asset_id}/tco"]
    assert books.function_id == "FinanceApiFunction"
    assert routes["GET /v1/health"].auth == "NONE"
    intake = routes["POST /v1/webhooks/{endpoint_id}"]
    assert (intake.auth, intake.function_id) == ("NONE", "WebhookIntakeFunction")
    proxy = routes["ANY /v1/{proxy+}"]
    assert proxy.auth == "CognitoJwt"
    assert proxy.function_id == "ApiFunction"
    assert proxy.function.handler == "handler.lambda_handler"
    assert proxy.function.code_uri == "functions/api/"
    assert proxy.function.memory_mb == 512
    assert proxy.function.timeout_s == 10
    assert proxy.authorizer is not None
    assert proxy.authorizer.issuer == {
        "Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}"
    }
    assert proxy.authorizer.audience == [{"Ref": "UserPoolClient"}]


CURSOR_SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:itam-local/cursors-AbCdEf"


def test_function_environment_merges_globals_and_resolves(template: dict) -> None:
    role_arn = "arn:aws:iam::123456789012:role/itam-local-us-east-1-tenant-data"
    queue_url = "http://127.0.0.1:5000/123456789012/itam-local-AuditQueue"
    resolver = Resolver(
        params=parameter_values(template, {"Stage": "local"}),
        refs={
            "AssetTable": "itam-local",
            "AuditQueue": queue_url,
            "EventBus": "itam-local",
            "ProcurementQueue": queue_url.replace("Audit", "Procurement"),
            "SyncQueue": queue_url.replace("Audit", "Sync"),
            "UserPool": "us-east-1_local",
            "CursorSecret": CURSOR_SECRET_ARN,
        },
        attributes={"TenantDataRole": {"Arn": role_arn}},
    )
    env = function_environment(template, "ApiFunction", resolver)
    assert env == {
        "TABLE_NAME": "itam-local",
        "AUDIT_QUEUE_URL": queue_url,
        "EVENT_BUS_NAME": "itam-local",
        "PROCUREMENT_QUEUE_URL": queue_url.replace("Audit", "Procurement"),
        "WEBHOOK_SECRET_PREFIX": "itam-local/webhooks",
        "SYNC_QUEUE_URL": queue_url.replace("Audit", "Sync"),
        "CONNECTOR_SECRET_PREFIX": "itam-local/connectors",
        "POWERTOOLS_SERVICE_NAME": "itam",
        "POWERTOOLS_METRICS_NAMESPACE": "ITAM",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "STAGE": "local",
        "TENANT_ROLE_ARN": role_arn,
        "USER_POOL_ID": "us-east-1_local",
        "CURSOR_SECRET_ARN": CURSOR_SECRET_ARN,
    }


def test_function_own_variables_override_globals() -> None:
    template = {
        "Globals": {"Function": {"Environment": {"Variables": {"A": "global", "B": "global"}}}},
        "Resources": {
            "F": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"Environment": {"Variables": {"B": "own"}}},
            }
        },
    }
    assert function_environment(template, "F", Resolver()) == {"A": "global", "B": "own"}


def test_resources_are_created_after_what_they_refer_to(template: dict) -> None:
    order = creation_order(template)
    assert order.index("UserPool") < order.index("UserPoolClient") < order.index("HttpApi")
    assert order.index("UserPool") < order.index("AdminGroup")
    assert order.index("AssetTable") < order.index("ApiFunction")


def test_the_templates_queue_and_schedule_events_are_read(template: dict) -> None:
    audits, deliveries, runs = sorted(
        sqs_event_sources(template), key=lambda source: source.function.logical_id
    )
    assert (runs.function.logical_id, runs.event_name, runs.batch_size) == ("SyncWorkerFunction", "Runs", 1)
    assert (deliveries.function.logical_id, deliveries.event_name) == (
        "ProcurementWorkerFunction",
        "Deliveries",
    )
    assert (audits.function.logical_id, audits.event_name) == ("AuditWorkerFunction", "Audits")
    assert audits.queue == {"Fn::GetAtt": ["AuditQueue", "Arn"]}
    assert (audits.batch_size, audits.report_batch_item_failures, audits.enabled) == (5, True, True)
    daily, hourly = sorted(schedule_event_sources(template), key=lambda source: source.name)
    assert (hourly.name, hourly.expression) == ("SyncSchedulerFunctionHourly", "rate(1 hour)")
    assert (daily.function.logical_id, daily.event_name, daily.kind) == (
        "AuditSchedulerFunction",
        "Daily",
        "ScheduleV2",
    )
    assert (daily.expression, daily.timezone, daily.input) == ("cron(0 5 * * ? *)", "UTC", None)
    # SAM names a schedule without Name after the resource it generates: <Function><Event>.
    assert daily.name == "AuditSchedulerFunctionDaily"
    assert daily.enabled


def _function_with(event: dict) -> dict:
    return {
        "Resources": {
            "F": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"CodeUri": "f/", "Handler": "h.h", "Events": {"E": event}},
            }
        }
    }


def test_event_defaults_and_what_the_runner_refuses() -> None:
    (plain,) = sqs_event_sources(_function_with({"Type": "SQS", "Properties": {"Queue": "arn:q"}}))
    assert (plain.batch_size, plain.report_batch_item_failures, plain.enabled) == (10, False, True)
    (rule,) = schedule_event_sources(
        _function_with({"Type": "Schedule", "Properties": {"Schedule": "rate(1 hour)", "Enabled": False}})
    )
    assert (rule.kind, rule.name, rule.enabled) == ("Schedule", None, False)
    (unnamed,) = schedule_event_sources(
        _function_with(
            {"Type": "ScheduleV2", "Properties": {"ScheduleExpression": "rate(1 day)", "OmitName": True}}
        )
    )
    assert unnamed.name is None
    filtered = {"Queue": "arn:q", "FilterCriteria": {"Filters": [{"Pattern": "{}"}]}}
    with pytest.raises(TemplateError, match="FilterCriteria"):
        sqs_event_sources(_function_with({"Type": "SQS", "Properties": filtered}))
    with pytest.raises(TemplateError, match="needs a Queue"):
        sqs_event_sources(_function_with({"Type": "SQS", "Properties": {}}))
    with pytest.raises(TemplateError, match="needs ScheduleExpression"):
        schedule_event_sources(_function_with({"Type": "ScheduleV2", "Properties": {}}))
