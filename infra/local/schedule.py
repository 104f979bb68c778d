"""Fire the template's schedules on the running local stack, as EventBridge would, now.

    python -m infra.local.schedule                              every enabled schedule
    python -m infra.local.schedule AuditSchedulerFunction       that function's schedules
    python -m infra.local.schedule AuditSchedulerFunction.Daily one schedule (even if disabled)
    ... --wait                                                  then wait until the queues are drained

Prints the runner's answers as a JSON list. Exit status 0, or 1 if the stack is not running, a
schedule is unknown, a handler failed, or the queues did not drain before --timeout.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from infra.local.token import StackNotRunningError, read_state, state_file_path

DEFAULT_TIMEOUT_S = 120.0
POLL_INTERVAL_S = 0.2
PROGRESS_INTERVAL_S = 2.0


def say(line: str) -> None:
    """One progress line, on stderr (stdout carries the runner's answers as JSON)."""
    print(line, file=sys.stderr, flush=True)


class ScheduleError(Exception):
    """The schedules could not be fired or the queues did not drain."""


def _call(url: str, method: str = "GET", timeout: float = 900.0) -> tuple[int, Any]:
    """(status, JSON body) of a request to the runner; 4xx and 5xx answers are returned, not raised."""
    if not url.startswith("http://"):
        raise ScheduleError(f"the runner URL {url!r} is not an http:// URL")
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - checked above
            return int(response.status), json.load(response)
    except urllib.error.HTTPError as error:
        with error:
            return int(error.code), json.load(error)


def select(schedules: list[Mapping[str, Any]], name: str | None) -> list[Mapping[str, Any]]:
    """The schedules a name picks: none given, every enabled one; "Function" or "Function.Event"."""
    if not name:
        return [s for s in schedules if s.get("enabled", True)]
    function_id, _, event_name = name.partition(".")
    chosen = [
        s for s in schedules if s["function"] == function_id and (not event_name or s["event"] == event_name)
    ]
    if not chosen:
        known = ", ".join(f"{s['function']}.{s['event']}" for s in schedules) or "none"
        raise ScheduleError(f"no schedule {name!r} in the template (schedules: {known})")
    return chosen


def fire(runner_url: str, name: str | None) -> tuple[list[Any], bool]:
    """POST each selected schedule; (the runner's answers, whether every handler succeeded)."""
    status, listing = _call(f"{runner_url}/schedules")
    if status != 200:
        raise ScheduleError(f"GET /schedules answered {status}: {listing}")
    answers: list[Any] = []
    ok = True
    for schedule in select(listing["schedules"], name):
        path = f"/schedules/{quote(schedule['function'])}/{quote(schedule['event'])}"
        say(f"firing {schedule['function']}.{schedule['event']} (it runs now; this waits for it)")
        status, answer = _call(f"{runner_url}{path}", "POST")
        answers.append(answer)
        if status != 200:
            ok = False
            print(
                f"error: {schedule['function']}.{schedule['event']}: {answer.get('detail')}", file=sys.stderr
            )
    return answers, ok


def pending(queues: list[Mapping[str, Any]]) -> dict[str, int]:
    """Messages still waiting, in flight or delayed, per queue that a function reads."""
    counts = {
        q["name"]: sum(
            int(q.get(key, 0))
            for key in (
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            )
        )
        for q in queues
        if q.get("consumers")
    }
    return {name: count for name, count in counts.items() if count}


def describe(left: Mapping[str, int]) -> str:
    """E.g. "itam-local-audit: 3 messages, itam-local-sync: 1 message"."""
    return ", ".join(
        f"{name}: {count} message{'s' if count != 1 else ''}" for name, count in sorted(left.items())
    )


def wait_until_drained(runner_url: str, timeout_s: float, report: Callable[[str], None] = say) -> float:
    """Wait until no queue that a function reads holds a message, reporting what is left every few
    seconds; the seconds it took."""
    started = time.monotonic()
    reported = started - PROGRESS_INTERVAL_S
    while True:
        status, body = _call(f"{runner_url}/queues")
        if status != 200:
            raise ScheduleError(f"GET /queues answered {status}: {body}")
        left = pending(body["queues"])
        now = time.monotonic()
        if not left:
            return now - started
        if now - started > timeout_s:
            raise ScheduleError(f"the queues did not drain within {timeout_s:g} s: {describe(left)} left")
        if now - reported >= PROGRESS_INTERVAL_S:
            reported = now
            remaining = timeout_s - (now - started)
            report(
                f"waiting for the workers to drain {describe(left)} (waiting, in flight or delayed; "
                f"{remaining:.0f} s left of {timeout_s:g})"
            )
        time.sleep(POLL_INTERVAL_S)


def main(argv: Sequence[str] | None = None) -> int:
    """Fire, print the answers, optionally wait; 0 on success, 1 otherwise."""
    parser = argparse.ArgumentParser(
        prog="python -m infra.local.schedule",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "name", nargs="?", default=None, help="FunctionLogicalId or FunctionLogicalId.EventName"
    )
    parser.add_argument("--wait", action="store_true", help="wait until the queues are drained")
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds --wait waits at most"
    )
    parser.add_argument("--state-file", default=None)
    args = parser.parse_args(argv)
    try:
        state = read_state(state_file_path(args.state_file))
        runner_url = state.get("runner_url")
        if not runner_url:
            raise ScheduleError("the running local stack has no runner; restart it with `make dev`")
        answers, ok = fire(runner_url, args.name)
        print(json.dumps(answers, indent=2))
        if not ok:
            return 1
        if args.wait:
            took = wait_until_drained(runner_url, args.timeout)
            say(f"done: every queue a function reads is empty ({took:.1f} s)")
    except (StackNotRunningError, ScheduleError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError, ValueError) as error:
        print(f"error: the runner did not answer: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
