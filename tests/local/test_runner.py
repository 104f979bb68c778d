"""The queue/schedule runner on a moto server, with the jobs fixture template and its handlers."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3
import pytest

from infra.local.__main__ import aws_environment, functions_environment
from infra.local.resources import StackResources, create_resources, queue_attributes, queue_name
from infra.local.runner import (
    BatchResponseError,
    Queue,
    QueueSource,
    Runner,
    ScheduleSource,
    failed_message_ids,
    schedule_event,
    sqs_record,
)
from infra.local.template import ACCOUNT_ID, load_template
from tests.local.conftest import FIXTURES, JOBS_TEMPLATE, REGION, wait_for
from tests.support.events import load_event

STAGE = "runner"


@dataclass
class Jobs:
    """The jobs template's resources on moto and a runner for them (not started)."""

    template: dict[str, Any]
    resources: StackResources
    moto_url: str
    session: boto3.Session
    runner: Runner

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.moto_url)

    def url(self, logical_id: str) -> str:
        return self.resources.queues[logical_id]

    def source(self, key: str) -> QueueSource:
        return next(s for s in self.runner.queue_sources if s.key == key)

    def send(self, logical_id: str, body: Any, **kwargs: Any) -> str:
        sent = self.client("sqs").send_message(
            QueueUrl=self.url(logical_id), MessageBody=json.dumps(body), **kwargs
        )
        return str(sent["MessageId"])

    def counts(self, logical_id: str) -> tuple[int, int]:
        attributes = self.client("sqs").get_queue_attributes(
            QueueUrl=self.url(logical_id),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]), int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )

    def receive(self, url: str, count: int = 10, *, delete: bool = False) -> list[dict[str, Any]]:
        """Messages visible now; they stay visible (VisibilityTimeout 0) unless deleted."""
        sqs = self.client("sqs")
        messages: list[dict[str, Any]] = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=0,
            VisibilityTimeout=0,
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        for message in messages if delete else []:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return messages

    def drain(self) -> None:
        """Empty every queue of the stack (PurgeQueue is allowed once a minute only)."""
        sqs = self.client("sqs")
        urls = [*self.resources.queues.values(), *self.resources.event_taps.values()]

        def empty() -> bool:
            for url in urls:
                self.receive(url, delete=True)
            counts = [
                sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"] for url in urls
            ]
            return not any(
                int(c["ApproximateNumberOfMessages"]) + int(c["ApproximateNumberOfMessagesNotVisible"])
                for c in counts
            )

        wait_for(empty, 10, what="the queues to empty")

    def tap_events(self, expected: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        """Read the bus's tap until `expected` events have arrived."""
        events: list[dict[str, Any]] = []
        tap = self.resources.event_taps["Bus"]

        def enough() -> bool:
            events.extend(json.loads(m["Body"]) for m in self.receive(tap, delete=True))
            return len(events) >= expected

        wait_for(enough, timeout, what=f"{expected} events on the tap")
        return events


@pytest.fixture(scope="module")
def jobs(moto_url: str, session: boto3.Session) -> Iterator[Jobs]:
    template = load_template(JOBS_TEMPLATE)
    resources = create_resources(
        template, endpoint_url=moto_url, region=REGION, params={"Stage": STAGE}, session=session
    )
    with pytest.MonkeyPatch.context() as env:
        # The handlers run in this process with the environment `make dev` gives them.
        variables = {**aws_environment(moto_url, REGION), **functions_environment(template, resources)}
        for name, value in variables.items():
            env.setenv(name, value)
        runner = Runner.from_template(template, resources, moto_url=moto_url, root=FIXTURES, session=session)
        runner.load_functions()
        yield Jobs(template, resources, moto_url, session, runner)


@pytest.fixture
def clean(jobs: Jobs) -> Jobs:
    jobs.drain()
    return jobs


@pytest.fixture
def running(clean: Jobs) -> Iterator[Jobs]:
    clean.runner.start("127.0.0.1", 0)
    yield clean
    clean.runner.stop()
    clean.drain()


def call(method: str, url: str) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), json.load(response)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), json.load(error)


# ---------------------------------------------------------------- resources


def test_queue_properties_become_string_attributes_and_names_follow_cloudformation() -> None:
    props = {
        "VisibilityTimeout": 1800,
        "SqsManagedSseEnabled": True,
        "RedrivePolicy": {
            "deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:dlq",
            "maxReceiveCount": 3,
        },
        "QueueName": "ignored-here",
        "Tags": [{"Key": "app", "Value": "itam"}],
    }
    assert queue_attributes(props) == {
        "VisibilityTimeout": "1800",
        "SqsManagedSseEnabled": "true",
        "RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:dlq", "maxReceiveCount": 3}
        ),
    }
    assert queue_name("AuditQueue", {}) == "itam-local-AuditQueue"
    assert queue_name("AuditQueue", {"QueueName": "audits"}) == "audits"
    assert queue_name("Jobs", {"FifoQueue": True}) == "itam-local-Jobs.fifo"
    long_name = queue_name("X" * 100, {"FifoQueue": True})
    assert len(long_name) == 80
    assert long_name.endswith(".fifo")


def test_queues_are_created_with_their_redrive_policy(jobs: Jobs) -> None:
    sqs = jobs.client("sqs")
    resources = jobs.resources
    dlq_url = resources.queues["JobsDeadLetterQueue"]
    assert resources.attributes["JobsDeadLetterQueue"]["QueueName"] == f"jobs-{STAGE}-dlq"
    assert resources.attributes["JobsQueue"]["QueueName"] == "itam-local-JobsQueue"
    assert resources.attributes["JobsQueue"]["QueueUrl"] == resources.refs["JobsQueue"]
    attributes = sqs.get_queue_attributes(QueueUrl=jobs.url("JobsQueue"), AttributeNames=["All"])[
        "Attributes"
    ]
    assert attributes["QueueArn"] == resources.attributes["JobsQueue"]["Arn"]
    assert attributes["VisibilityTimeout"] == "60"
    assert attributes["MessageRetentionPeriod"] == "345600"
    assert attributes["SqsManagedSseEnabled"] == "true"
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq_url)["queueUrls"] == [jobs.url("JobsQueue")]
    assert sqs.list_queue_tags(QueueUrl=jobs.url("PlainQueue"))["Tags"] == {"app": "itam"}
    # Functions get the queue URL (Ref) and the bus name through the template's environment.
    assert functions_environment(jobs.template, resources)["JOBS_QUEUE_URL"] == jobs.url("JobsQueue")


def test_the_event_bus_and_its_tap_are_created(jobs: Jobs) -> None:
    events = jobs.client("events")
    assert jobs.resources.event_buses == {"Bus": f"jobs-{STAGE}"}
    bus = events.describe_event_bus(Name=f"jobs-{STAGE}")
    assert jobs.resources.attributes["Bus"] == {"Arn": bus["Arn"], "Name": f"jobs-{STAGE}"}
    tap_url = jobs.resources.event_taps["Bus"]
    assert tap_url.endswith("/itam-local-Bus-tap")
    (rule,) = events.list_rules(EventBusName=f"jobs-{STAGE}")["Rules"]
    assert json.loads(rule["EventPattern"]) == {"account": [ACCOUNT_ID]}
    (target,) = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=f"jobs-{STAGE}")["Targets"]
    tap_arn = jobs.client("sqs").get_queue_attributes(QueueUrl=tap_url, AttributeNames=["QueueArn"])
    assert target["Arn"] == tap_arn["Attributes"]["QueueArn"]


# ---------------------------------------------------------------- what the emulator does


def test_moto_moves_a_message_to_the_dead_letter_queue_after_max_receive_count(
    moto_url: str, session: boto3.Session
) -> None:
    sqs = session.client("sqs", endpoint_url=moto_url)
    suffix = uuid.uuid4().hex[:8]
    dlq = sqs.create_queue(QueueName=f"probe-dlq-{suffix}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    source = sqs.create_queue(
        QueueName=f"probe-{suffix}", Attributes={"VisibilityTimeout": "60", "RedrivePolicy": redrive}
    )["QueueUrl"]
    sent = sqs.send_message(QueueUrl=source, MessageBody="poison")["MessageId"]
    for attempt in (1, 2):
        (message,) = sqs.receive_message(QueueUrl=source, MessageSystemAttributeNames=["All"])["Messages"]
        assert message["Attributes"]["ApproximateReceiveCount"] == str(attempt)
        sqs.change_message_visibility(
            QueueUrl=source, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
    # The receive after maxReceiveCount moves the message instead of delivering it, as SQS does.
    assert sqs.receive_message(QueueUrl=source).get("Messages", []) == []
    (moved,) = sqs.receive_message(QueueUrl=dlq)["Messages"]
    assert (moved["MessageId"], moved["Body"]) == (sent, "poison")


def test_moto_delivers_put_events_on_a_custom_bus_to_an_sqs_target(clean: Jobs) -> None:
    events = clean.client("events")
    entry = {"Source": "itam.direct", "DetailType": "Probe", "Detail": json.dumps({"n": 1})}
    assert events.put_events(Entries=[{**entry, "EventBusName": f"jobs-{STAGE}"}])["FailedEntryCount"] == 0
    events.put_events(Entries=[{**entry, "Detail": json.dumps({"n": 2})}])  # the default bus: not tapped
    (event,) = clean.tap_events(1)
    assert (event["source"], event["detail-type"], event["detail"]) == ("itam.direct", "Probe", {"n": 1})
    assert event["region"] == REGION
    time.sleep(0.3)
    assert clean.receive(clean.resources.event_taps["Bus"]) == []


# ---------------------------------------------------------------- delivering batches


def test_a_batch_reaches_the_handler_as_a_lambda_sqs_event(clean: Jobs) -> None:
    attributes = {
        "kind": {"DataType": "String", "StringValue": "audit"},
        "count": {"DataType": "Number", "StringValue": "3"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
    }
    ids = [clean.send("JobsQueue", {"n": n}, MessageAttributes=attributes) for n in range(2)]
    outcome = clean.runner.poll_once(clean.source("WorkerFunction.Jobs"))
    assert outcome is not None
    assert outcome.error is None
    records = outcome.event["Records"]
    assert [r["messageId"] for r in records] == ids
    sample = load_event("sqs/audit_batch.json")["Records"][0]
    for n, record in enumerate(records):
        assert set(record) == set(sample) | {"md5OfMessageAttributes"}
        assert record["body"] == json.dumps({"n": n})
        assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()
        assert record["eventSource"] == "aws:sqs"
        assert record["eventSourceARN"] == clean.resources.attributes["JobsQueue"]["Arn"]
        assert record["awsRegion"] == REGION
        assert record["receiptHandle"]
        assert record["attributes"]["ApproximateReceiveCount"] == "1"
        assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(record["attributes"])
        assert record["messageAttributes"] == {
            "kind": {
                "stringValue": "audit",
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "String",
            },
            "count": {
                "stringValue": "3",
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "Number",
            },
            "blob": {
                "binaryValue": base64.b64encode(b"\x00\x01").decode(),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "Binary",
            },
        }
    assert outcome.result["seen"] == ids
    assert (outcome.deleted, outcome.failed) == (ids, [])
    assert clean.counts("JobsQueue") == (0, 0)


def test_batches_hold_at_most_batch_size_records(clean: Jobs) -> None:
    for n in range(7):
        clean.send("JobsQueue", {"n": n})
    source = clean.source("WorkerFunction.Jobs")
    assert source.batch_size == 5
    first, second = clean.runner.poll_once(source), clean.runner.poll_once(source)
    assert first is not None and second is not None
    assert (len(first.event["Records"]), len(second.event["Records"])) == (5, 2)
    # Above ten, one batch gathers several receives (SQS returns at most ten at a time).
    for n in range(12):
        clean.send("PlainQueue", {"n": n})
    plain = clean.source("PlainWorkerFunction.Plain")
    wide = QueueSource(plain.function_id, plain.event_name, plain.queue, 15, False)
    outcome = clean.runner.poll_once(wide)
    assert outcome is not None
    assert len(outcome.event["Records"]) == 12
    assert clean.runner.poll_once(wide) is None


def test_only_the_reported_failures_come_back(clean: Jobs) -> None:
    ok_1, bad, ok_2 = (clean.send("JobsQueue", {"outcome": o}) for o in ("ok", "fail", "ok"))
    outcome = clean.runner.poll_once(clean.source("WorkerFunction.Jobs"))
    assert outcome is not None
    assert outcome.failed == [bad]
    assert outcome.deleted == [ok_1, ok_2]
    # The failed record is invisible for the retry delay only, then comes back for another try.
    assert clean.counts("JobsQueue") == (0, 1)
    started = time.monotonic()
    (again,) = wait_for(lambda: clean.receive(clean.url("JobsQueue")), timeout=5, what="the failed record")
    assert time.monotonic() - started < 3
    assert again["MessageId"] == bad
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"


def test_a_handler_that_raises_fails_the_whole_batch(clean: Jobs, caplog: pytest.LogCaptureFixture) -> None:
    ids = [clean.send("JobsQueue", {"outcome": o}) for o in ("ok", "raise")]
    with caplog.at_level(logging.INFO, logger="infra.local.runner"):
        outcome = clean.runner.poll_once(clean.source("WorkerFunction.Jobs"))
    assert outcome is not None
    assert outcome.error is not None and outcome.error.startswith("RuntimeError")
    assert (outcome.failed, outcome.deleted) == (ids, [])
    assert clean.counts("JobsQueue") == (0, 2)
    raised = [r for r in caplog.records if r.getMessage() == "handler raised RuntimeError"]
    assert raised and "Traceback" in raised[0].traceback


@pytest.mark.parametrize(
    ("response", "fails_all"),
    [
        ({"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]}, True),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, True),
        ("done", True),
        (None, False),
        ({"batchItemFailures": []}, False),
    ],
)
def test_the_partial_batch_response_follows_lambdas_rules(
    clean: Jobs, response: Any, fails_all: bool
) -> None:
    sent = clean.send("JobsQueue", {"respond": response})
    outcome = clean.runner.poll_once(clean.source("WorkerFunction.Jobs"))
    assert outcome is not None
    assert outcome.failed == ([sent] if fails_all else [])
    if fails_all:
        assert outcome.error is not None and outcome.error.startswith("invalid batch response")


def test_failed_message_ids_reads_batch_item_failures() -> None:
    ids = ["a", "b", "c"]
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": "b"}]}, ids) == {"b"}
    assert failed_message_ids({"batchItemFailures": None}, ids) == set()
    assert failed_message_ids({}, ids) == set()
    for bad in ({"batchItemFailures": "b"}, {"batchItemFailures": [{"id": "b"}]}, [{"itemIdentifier": "b"}]):
        with pytest.raises(BatchResponseError):
            failed_message_ids(bad, ids)


def test_without_report_batch_item_failures_the_result_is_ignored(clean: Jobs) -> None:
    sent = clean.send("PlainQueue", {"outcome": "fail"})
    outcome = clean.runner.poll_once(clean.source("PlainWorkerFunction.Plain"))
    assert outcome is not None
    assert outcome.result["batchItemFailures"] == [{"itemIdentifier": sent}]
    assert (outcome.deleted, outcome.failed) == ([sent], [])
    assert clean.counts("PlainQueue") == (0, 0)


def test_a_message_that_always_fails_ends_in_the_dead_letter_queue(
    running: Jobs, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="infra.local.runner"):
        poison = running.send("JobsQueue", {"outcome": "raise"})
        (moved,) = wait_for(
            lambda: running.receive(running.url("JobsDeadLetterQueue")),
            timeout=20,
            what="the dead-letter queue",
        )
    assert moved["MessageId"] == poison
    assert running.counts("JobsQueue") == (0, 0)
    tries = [r for r in caplog.records if r.getMessage() == "batch delivered" and poison in r.failed_ids]
    assert len(tries) == 2  # the queue's maxReceiveCount
    assert all(r.levelno == logging.WARNING and r.error.startswith("RuntimeError") for r in tries)


def test_a_poller_logs_errors_and_keeps_going(jobs: Jobs, caplog: pytest.LogCaptureFixture) -> None:
    gone = Queue(
        "Gone", f"{jobs.moto_url}/{ACCOUNT_ID}/no-such-queue", "arn:aws:sqs:::no-such-queue", "no-such-queue"
    )
    runner = Runner(
        runtimes=jobs.runner.runtimes,
        queue_sources=[QueueSource("WorkerFunction", "Jobs", gone, 5, True)],
        schedules=[],
        queues={},
        region=REGION,
        sqs_client=lambda: jobs.client("sqs"),
    )
    with caplog.at_level(logging.INFO, logger="infra.local.runner"):
        runner.start("127.0.0.1", 0)
        try:
            wait_for(
                lambda: sum(r.getMessage() == "polling failed" for r in caplog.records) >= 2,
                timeout=10,
                what="two logged polling errors",
            )
            assert any(t.name == "runner-WorkerFunction.Jobs" and t.is_alive() for t in threading.enumerate())
        finally:
            runner.stop()
    failure = next(r for r in caplog.records if r.getMessage() == "polling failed")
    assert failure.queue == "no-such-queue"
    assert failure.exc_info is not None


def test_stop_is_prompt(clean: Jobs) -> None:
    clean.runner.start("127.0.0.1", 0)
    time.sleep(0.2)
    started = time.monotonic()
    clean.runner.stop()
    assert time.monotonic() - started < clean.runner.wait_time_s + 1.5
    assert not [t for t in threading.enumerate() if t.name.startswith("runner-")]


# ---------------------------------------------------------------- schedules and the control API


def _epoch(timestamp: str) -> float:
    return datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%S%z").timestamp()


def test_schedule_events_have_the_shape_the_schedulers_deliver() -> None:
    v2 = ScheduleSource("F", "Daily", "ScheduleV2", "cron(0 5 * * ? *)", "FDaily", "arn:aws:scheduler:x")
    event = schedule_event(v2, region=REGION, now=1795755600.4)
    sample = load_event("schedule/daily_audit.json")
    assert set(event) == set(sample)
    assert {k: event[k] for k in ("detail-type", "source", "detail", "account")} == {
        k: sample[k] for k in ("detail-type", "source", "detail", "account")
    }
    assert (event["time"], event["resources"], event["region"]) == (
        "2026-11-27T05:00:00Z",
        ["arn:aws:scheduler:x"],
        REGION,
    )
    rule = ScheduleSource("F", "Tick", "Schedule", "rate(5 minutes)", "r", "arn:aws:events:x")
    assert schedule_event(rule, region=REGION)["source"] == "aws.events"
    assert schedule_event(rule, region=REGION)["detail"] == {}
    with_input = ScheduleSource(
        "F",
        "Daily",
        "ScheduleV2",
        "x",
        "n",
        "arn:s",
        input='{"at": "<aws.scheduler.scheduled-time>", "k": 1}',
    )
    assert schedule_event(with_input, region=REGION, now=1795755600) == {"at": "2026-11-27T05:00:00Z", "k": 1}


def test_the_control_api_lists_the_schedules(running: Jobs) -> None:
    status, _, body = call("GET", f"{running.runner.url}/schedules")
    assert status == 200
    schedules = {f"{s['function']}.{s['event']}": s for s in body["schedules"]}
    assert set(schedules) == {
        "ClockFunction.Nightly",
        "ClockFunction.Hourly",
        "ClockFunction.Classic",
        "ClockFunction.Broken",
        "FanOutFunction.Daily",
    }
    prefix = f"arn:aws:scheduler:{REGION}:{ACCOUNT_ID}:schedule"
    assert schedules["ClockFunction.Nightly"] == {
        "function": "ClockFunction",
        "event": "Nightly",
        "type": "ScheduleV2",
        "expression": "cron(0 5 * * ? *)",
        "timezone": "Europe/Paris",
        "name": "ClockFunctionNightly",
        "arn": f"{prefix}/default/ClockFunctionNightly",
        "enabled": True,
        "description": "No Input, so the Scheduler's default notification.",
    }
    assert schedules["ClockFunction.Hourly"]["arn"] == f"{prefix}/jobs/jobs-{STAGE}-hourly"
    assert schedules["ClockFunction.Classic"]["type"] == "Schedule"
    assert schedules["ClockFunction.Classic"]["arn"].endswith(":rule/itam-local-ClockFunctionClassic")
    assert schedules["ClockFunction.Broken"]["enabled"] is False


def test_firing_a_schedule_runs_its_function_with_the_schedules_event(running: Jobs) -> None:
    base = running.runner.url
    before = time.time()
    status, headers, fired = call("POST", f"{base}/schedules/ClockFunction/Nightly")
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert (fired["function"], fired["event"]) == ("ClockFunction", "Nightly")
    event = fired["result"]["event"]
    assert event == fired["payload"]
    assert fired["result"]["function"] == f"jobs-{STAGE}-clock"
    assert (event["source"], event["detail-type"], event["detail"]) == (
        "aws.scheduler",
        "Scheduled Event",
        "{}",
    )
    assert event["resources"] == [
        f"arn:aws:scheduler:{REGION}:{ACCOUNT_ID}:schedule/default/ClockFunctionNightly"
    ]
    assert abs(_epoch(event["time"]) - before) < 5

    status, _, fired = call("POST", f"{base}/schedules/ClockFunction/Hourly")
    assert status == 200
    hourly = fired["result"]["event"]
    assert hourly["stage"] == STAGE
    assert hourly["schedule"].endswith(f":schedule/jobs/jobs-{STAGE}-hourly")
    assert hourly["attempt"] == "1"
    assert abs(_epoch(hourly["at"]) - before) < 5

    status, _, fired = call("POST", f"{base}/schedules/ClockFunction/Classic")
    assert status == 200
    assert (fired["payload"]["source"], fired["payload"]["detail"]) == ("aws.events", {})


def test_a_failing_schedule_handler_is_a_502_and_unknown_paths_are_404(running: Jobs) -> None:
    base = running.runner.url
    status, headers, problem = call("POST", f"{base}/schedules/ClockFunction/Broken")
    assert status == 502
    assert headers["content-type"] == "application/problem+json"
    assert (problem["errorType"], problem["errorMessage"]) == ("RuntimeError", "the clock is broken")
    assert problem["status"] == 502
    for path in ("/schedules/ClockFunction/Nope", "/schedules/Nobody/Nightly"):
        status, headers, problem = call("POST", f"{base}{path}")
        assert (status, headers["content-type"], problem["instance"]) == (
            404,
            "application/problem+json",
            path,
        )
    status, _, problem = call("GET", f"{base}/elsewhere")
    assert (status, problem["title"]) == (404, "Not Found")
    status, headers, _ = call("GET", f"{base}/schedules/ClockFunction/Nightly")
    assert (status, headers["allow"]) == (405, "POST")
    status, headers, _ = call("POST", f"{base}/queues")
    assert (status, headers["allow"]) == (405, "GET")


def test_get_queues_shows_what_is_waiting_and_in_flight(running: Jobs) -> None:
    base = running.runner.url

    def queues() -> dict[str, dict[str, Any]]:
        status, _, body = call("GET", f"{base}/queues")
        assert status == 200
        return {q["logicalId"]: q for q in body["queues"]}

    for n in range(2):
        running.send("JobsDeadLetterQueue", {"n": n})
    listed = queues()
    assert set(listed) == {"JobsQueue", "JobsDeadLetterQueue", "PlainQueue"}
    assert listed["JobsQueue"]["consumers"] == ["WorkerFunction.Jobs"]
    assert listed["PlainQueue"]["consumers"] == ["PlainWorkerFunction.Plain"]
    dlq = listed["JobsDeadLetterQueue"]
    assert (dlq["consumers"], dlq["ApproximateNumberOfMessages"], dlq["name"]) == ([], 2, f"jobs-{STAGE}-dlq")
    running.send("JobsQueue", {"sleep": 1.0})
    wait_for(lambda: queues()["JobsQueue"]["ApproximateNumberOfMessagesNotVisible"] == 1, 5, what="in flight")
    wait_for(
        lambda: (
            (q := queues()["JobsQueue"])["ApproximateNumberOfMessages"] == 0
            and q["ApproximateNumberOfMessagesNotVisible"] == 0
        ),
        10,
        what="the queue to drain",
    )


def test_the_event_tap_receives_what_a_handler_publishes(running: Jobs) -> None:
    sent = running.send("JobsQueue", {"publish": True, "tenant_id": "acme"})
    (event,) = running.tap_events(1)
    assert (event["source"], event["detail-type"]) == ("itam.test", "Job Done")
    assert event["detail"] == {"tenant_id": "acme", "messageId": sent, "receiveCount": "1"}


def test_a_fired_schedule_fans_out_through_the_queue_to_the_worker(running: Jobs) -> None:
    status, _, fired = call("POST", f"{running.runner.url}/schedules/FanOutFunction/Daily")
    assert (status, fired["result"]) == (200, {"queued": 3})
    events = running.tap_events(3)
    assert sorted(e["detail"]["tenant_id"] for e in events) == ["acme", "globex", "initech"]
    wait_for(lambda: running.counts("JobsQueue") == (0, 0), 5, what="the queue to drain")


def test_a_record_shaped_like_the_sample() -> None:
    message = {
        "MessageId": "m-1",
        "ReceiptHandle": "r-1",
        "Body": "{}",
        "MD5OfBody": "99914b932bd37a50b983c5e7c90ae93b",
        "Attributes": {"ApproximateReceiveCount": "1"},
    }
    record = sqs_record(message, "arn:aws:sqs:us-east-1:123456789012:q", REGION)
    assert list(record) == list(load_event("sqs/audit_batch.json")["Records"][0])
