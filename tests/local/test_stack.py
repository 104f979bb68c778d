"""Resources from template.yaml on a moto server, the token CLI, and the `make dev` entry point."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest

from infra.local.__main__ import LocalStack, Settings, StackError, ensure_port_free, functions_environment
from infra.local.resources import Context, StackResources, create_secret
from infra.local.runner import Runner, resolve_queue_sources, resolve_schedule_sources
from infra.local.template import TemplateError, load_template
from infra.local.token import issue_token
from infra.local.token import main as token_main
from tests.local.conftest import FIXTURE_TEMPLATE, REGION, EchoStack, free_port
from tests.support.tokens import unverified_claims


def test_template_resources_are_created(itam: StackResources, moto_url: str, session: boto3.Session) -> None:
    ddb = session.client("dynamodb", endpoint_url=moto_url)
    table = ddb.describe_table(TableName="itam-stacktest")["Table"]
    assert itam.table_name == "itam-stacktest"
    assert {ix["IndexName"] for ix in table["GlobalSecondaryIndexes"]} == {f"GSI{i}" for i in range(1, 7)}
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    backups = ddb.describe_continuous_backups(TableName="itam-stacktest")["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"

    cognito = session.client("cognito-idp", endpoint_url=moto_url)
    pool = cognito.describe_user_pool(UserPoolId=itam.user_pool_id)["UserPool"]
    assert pool["Name"] == "itam-stacktest-users"
    assert "custom:tenant_id" in {a["Name"] for a in pool["SchemaAttributes"]}
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] == 12
    client = cognito.describe_user_pool_client(UserPoolId=itam.user_pool_id, ClientId=itam.client_id)
    assert "ALLOW_ADMIN_USER_PASSWORD_AUTH" in client["UserPoolClient"]["ExplicitAuthFlows"]
    groups = {g["GroupName"] for g in cognito.list_groups(UserPoolId=itam.user_pool_id)["Groups"]}
    assert groups == {"admin", "editor", "viewer", "auditor"}

    assert itam.refs["UserPoolClient"] == itam.client_id
    assert itam.attributes["UserPool"]["ProviderURL"].endswith(itam.user_pool_id)
    assert itam.refs["ApiFunction"] == "itam-stacktest-api"


def test_the_cursor_secret_is_generated_as_the_template_says(
    itam: StackResources, moto_url: str, session: boto3.Session
) -> None:
    secrets = session.client("secretsmanager", endpoint_url=moto_url)
    arn = itam.refs["CursorSecret"]

    described = secrets.describe_secret(SecretId=arn)
    value = secrets.get_secret_value(SecretId=arn)["SecretString"]

    assert described["Name"] == "itam-stacktest/cursors"
    assert len(value) == 64 and value.isalnum()
    assert functions_environment(load_template(), itam)["CURSOR_SECRET_ARN"] == arn


def test_a_generated_secret_can_be_json_with_the_password_under_a_key(
    moto_url: str, session: boto3.Session
) -> None:
    props = {
        "Name": "probe/generated-json",
        "GenerateSecretString": {
            "SecretStringTemplate": '{"username": "itam"}',
            "GenerateStringKey": "password",
            "PasswordLength": 20,
        },
    }
    created = create_secret(Context(session, moto_url, REGION), "Probe", props)

    value = session.client("secretsmanager", endpoint_url=moto_url).get_secret_value(SecretId=created.ref)
    stored = json.loads(value["SecretString"])
    assert stored["username"] == "itam" and len(stored["password"]) == 20


def test_the_templates_queues_bus_and_event_sources_are_created(
    itam: StackResources, moto_url: str, session: boto3.Session
) -> None:
    sqs = session.client("sqs", endpoint_url=moto_url)
    assert set(itam.queues) == {
        "AuditQueue",
        "AuditDeadLetterQueue",
        "ProcurementQueue",
        "ProcurementDeadLetterQueue",
        "SyncQueue",
        "SyncDeadLetterQueue",
    }
    attributes = sqs.get_queue_attributes(QueueUrl=itam.queues["AuditQueue"], AttributeNames=["All"])[
        "Attributes"
    ]
    assert attributes["VisibilityTimeout"] == "1800"
    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": itam.attributes["AuditDeadLetterQueue"]["Arn"],
        "maxReceiveCount": 3,
    }
    assert itam.event_buses == {"EventBus": "itam-stacktest"}
    assert itam.event_taps["EventBus"].endswith("/itam-local-EventBus-tap")
    sources = {source.key: source for source in resolve_queue_sources(load_template(), itam)}
    assert set(sources) == {
        "AuditWorkerFunction.Audits",
        "ProcurementWorkerFunction.Deliveries",
        "SyncWorkerFunction.Runs",
    }
    assert sources["SyncWorkerFunction.Runs"].queue.url == itam.queues["SyncQueue"]
    audits = sources["AuditWorkerFunction.Audits"]
    assert sources["ProcurementWorkerFunction.Deliveries"].queue.url == itam.queues["ProcurementQueue"]
    assert (audits.key, audits.queue.url, audits.batch_size) == (
        "AuditWorkerFunction.Audits",
        itam.queues["AuditQueue"],
        5,
    )
    assert audits.report_batch_item_failures
    daily, hourly = sorted(resolve_schedule_sources(load_template(), itam), key=lambda s: s.arn)
    assert (
        daily.arn == f"arn:aws:scheduler:{REGION}:123456789012:schedule/default/AuditSchedulerFunctionDaily"
    )
    assert hourly.arn.endswith("schedule/default/SyncSchedulerFunctionHourly")
    runner = Runner.from_template(load_template(), itam, moto_url=moto_url)
    assert set(runner.runtimes) == {
        "AuditWorkerFunction",
        "AuditSchedulerFunction",
        "ProcurementWorkerFunction",
        "SyncSchedulerFunction",
        "SyncWorkerFunction",
    }
    assert runner.runtimes["AuditWorkerFunction"].function_name == "itam-stacktest-audit-worker"


def test_an_sqs_event_must_read_a_queue_of_the_template(itam: StackResources) -> None:
    template = load_template()
    events = template["Resources"]["AuditWorkerFunction"]["Properties"]["Events"]
    events["Audits"]["Properties"]["Queue"] = "arn:aws:sqs:us-east-1:123456789012:elsewhere"
    with pytest.raises(TemplateError, match="not a queue of this template"):
        resolve_queue_sources(template, itam)
    schedule = template["Resources"]["AuditSchedulerFunction"]["Properties"]["Events"]["Daily"]["Properties"]
    schedule["Input"] = "{not json"
    with pytest.raises(TemplateError, match="Input is not well-formed JSON"):
        resolve_schedule_sources(template, itam)


def test_issue_token_makes_a_tenant_user_with_the_role(itam: StackResources, moto_url: str) -> None:
    state = {
        "moto_url": moto_url,
        "region": REGION,
        "user_pool_id": itam.user_pool_id,
        "client_id": itam.client_id,
    }
    claims = unverified_claims(issue_token(state, "acme", "admin"))
    assert claims["token_use"] == "id"
    assert claims["email"] == "admin@acme.example.com"
    assert claims["custom:tenant_id"] == "acme"
    assert claims["cognito:groups"] == ["admin"]
    assert claims["iss"] == f"https://cognito-idp.{REGION}.amazonaws.com/{itam.user_pool_id}"
    with pytest.raises(ValueError, match="already exists in tenant"):
        issue_token(state, "globex", "admin", user="admin@acme.example.com")
    with pytest.raises(ValueError, match="invalid tenant"):
        issue_token(state, "Acme!", "admin")
    with pytest.raises(ValueError, match="invalid role"):
        issue_token(state, "acme", "root")


def test_token_cli_prints_only_the_token(
    echo_stack: EchoStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state_file = tmp_path / "stack.json"
    state_file.write_text(json.dumps({**echo_stack.state, "pid": os.getpid()}))
    assert token_main(["--tenant", "acme", "--role", "viewer", "--state-file", str(state_file)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    (line,) = out.splitlines()
    assert unverified_claims(line)["cognito:groups"] == ["viewer"]


def test_token_cli_fails_clearly_without_a_stack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert token_main(["--tenant", "acme", "--state-file", str(tmp_path / "none.json")]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "make dev" in err
    stale = tmp_path / "stale.json"
    stale.write_text(json.dumps({"pid": 2**22 + 12345, "moto_url": "http://127.0.0.1:1"}))
    assert token_main(["--tenant", "acme", "--state-file", str(stale)]) == 2
    assert "no longer running" in capsys.readouterr().err
    assert token_main(["--tenant=-bad", "--state-file", str(stale)]) == 2
    assert "invalid tenant" in capsys.readouterr().err


def test_functions_that_disagree_on_a_variable_stop_the_start() -> None:
    template = {
        "Globals": {"Function": {"Environment": {"Variables": {"SHARED": "yes"}}}},
        "Resources": {
            "A": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"Environment": {"Variables": {"X": "1"}}},
            },
            "B": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"Environment": {"Variables": {"X": "2"}}},
            },
        },
    }
    with pytest.raises(StackError, match="A and B set X differently"):
        functions_environment(template, StackResources(region=REGION, params={}))
    template["Resources"]["B"]["Properties"]["Environment"]["Variables"]["X"] = "1"
    assert functions_environment(template, StackResources(region=REGION, params={})) == {
        "SHARED": "yes",
        "X": "1",
    }


def test_settings_come_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "ITAM_MOTO_PORT": "5999",
            "ITAM_GATEWAY_PORT": "3999",
            "ITAM_RUNNER_PORT": "3998",
            "ITAM_RUNNER_RETRY_DELAY": "0",
            "ITAM_STATE_FILE": "/x/s.json",
        }
    )
    assert (settings.moto_port, settings.gateway_port, settings.state_file) == (5999, 3999, Path("/x/s.json"))
    assert (settings.runner_port, settings.runner_retry_delay_s) == (3998, 0)
    assert (Settings.from_env({}).runner_port, Settings.from_env({}).runner_retry_delay_s) == (3001, 1)
    assert Settings.from_env({}).stage == "local"
    assert settings.params(load_template()) == {"Stage": "local"}
    assert Settings(log_level="DEBUG").params(load_template()) == {"Stage": "local", "LogLevel": "DEBUG"}


def test_a_taken_port_is_reported_instead_of_hanging() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(StackError, match="already in use"):
            ensure_port_free(taken.getsockname()[1])


def test_a_taken_port_stops_the_start_before_anything_is_created(tmp_path: Path) -> None:
    state_file = tmp_path / "stack.json"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # A stack that the state file says runs, in a live process (this one).
        state_file.write_text(json.dumps({"pid": os.getpid(), "gateway_url": f"http://127.0.0.1:{port}"}))
        stack = LocalStack(Settings(gateway_port=port, moto_port=free_port(), state_file=state_file))
        with pytest.raises(StackError) as raised:
            stack.start()
    message = str(raised.value)
    assert f"port {port} on 127.0.0.1 is already in use" in message
    assert f"a local stack is running already (pid {os.getpid()}" in message
    assert "ITAM_GATEWAY_PORT=<port> make dev" in message
    assert stack.moto is None and stack.resources is None and stack.services == []


def test_the_entry_point_runs_the_stack_and_stops_cleanly(tmp_path: Path) -> None:
    state_file = tmp_path / "stack.json"
    env = {
        **os.environ,
        "ITAM_TEMPLATE": str(FIXTURE_TEMPLATE),
        "ITAM_MOTO_PORT": str(free_port()),
        "ITAM_GATEWAY_PORT": str(free_port()),
        "ITAM_RUNNER_PORT": str(free_port()),
        "ITAM_STATE_FILE": str(state_file),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.local"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not state_file.exists():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the stack did not start"
            time.sleep(0.1)
        state = json.loads(state_file.read_text())
        assert state["pid"] == process.pid
        assert state["table_name"] == "echo-local"
        with urllib.request.urlopen(f"{state['gateway_url']}/v1/health", timeout=10) as response:
            assert json.load(response)["env"]["TABLE_NAME"] == "echo-local"
        # The echo template has no queue, bus nor schedule: the runner serves empty lists.
        assert (state["queues"], state["event_buses"], state["event_taps"]) == ({}, {}, {})
        with urllib.request.urlopen(f"{state['runner_url']}/schedules", timeout=10) as response:
            assert json.load(response) == {"schedules": []}
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert not state_file.exists()
    assert "make -s token" in out
    assert "make schedule" in out
    for line in err.splitlines():
        json.loads(line)
