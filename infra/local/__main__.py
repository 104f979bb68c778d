"""`make dev`: moto in server mode, the template's resources, the HTTP gateway and the queue/schedule
runner, until Ctrl-C. The emulator's state is kept across restarts (infra.local.persistence)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

import boto3
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server

from infra.local.atomic import make_dynamodb_writes_atomic
from infra.local.cognito import make_cognito_keep_pool_settings
from infra.local.faults import DEFAULT_DELAY_S, LateAnswers
from infra.local.gateway import Gateway
from infra.local.iam import enforce_secrets_policies
from infra.local.iam_rules import enforce_iam_rules, function_policies
from infra.local.logs import configure_logging
from infra.local.persistence import DEFAULT_INTERVAL_S, Snapshots, WsgiApp, fingerprint, forget_state
from infra.local.resources import StackResources, create_resources
from infra.local.runner import DEFAULT_RETRY_DELAY_S, Runner
from infra.local.template import (
    ACCOUNT_ID,
    DEFAULT_TEMPLATE,
    REPO_ROOT,
    function_environment,
    load_template,
    resources_of_type,
)

log = logging.getLogger("infra.local")
HOST = "127.0.0.1"


class StackError(RuntimeError):
    """The local stack cannot start."""


@dataclass(frozen=True)
class Settings:
    """Where and how to run the local stack; read from the environment in main()."""

    moto_port: int = 5000
    gateway_port: int = 3000
    runner_port: int = 3001
    runner_retry_delay_s: int = DEFAULT_RETRY_DELAY_S
    region: str = "us-east-1"
    stage: str = "local"
    log_level: str | None = None
    state_file: Path = REPO_ROOT / ".local" / "stack.json"
    template_path: Path = DEFAULT_TEMPLATE
    late_answers: str | None = None  # fault injection for tests (infra.local.faults); off by default
    late_answer_s: float = DEFAULT_DELAY_S
    # Where the emulator's state is kept across restarts; None keeps nothing (infra.local.persistence).
    state_dir: Path | None = REPO_ROOT / ".local" / "state"
    snapshot_interval_s: float = DEFAULT_INTERVAL_S

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Settings from ITAM_* variables (ports, retry delay, region, stage, log level, state file and
        directory, template, fault injection)."""
        defaults = cls()
        state_file = Path(env.get("ITAM_STATE_FILE", defaults.state_file))
        # The state lives beside the state file unless told otherwise; "off" keeps nothing.
        state_dir_text = env.get("ITAM_STATE_DIR", str(state_file.parent / "state"))
        return cls(
            moto_port=int(env.get("ITAM_MOTO_PORT", defaults.moto_port)),
            gateway_port=int(env.get("ITAM_GATEWAY_PORT", defaults.gateway_port)),
            runner_port=int(env.get("ITAM_RUNNER_PORT", defaults.runner_port)),
            runner_retry_delay_s=int(env.get("ITAM_RUNNER_RETRY_DELAY", defaults.runner_retry_delay_s)),
            region=env.get("ITAM_REGION", defaults.region),
            stage=env.get("ITAM_STAGE", defaults.stage),
            log_level=env.get("ITAM_LOG_LEVEL"),
            state_file=state_file,
            state_dir=None if state_dir_text.strip().lower() in ("", "off") else Path(state_dir_text),
            snapshot_interval_s=float(env.get("ITAM_STATE_INTERVAL", defaults.snapshot_interval_s)),
            template_path=Path(env.get("ITAM_TEMPLATE", defaults.template_path)),
            late_answers=env.get("ITAM_LATE_ANSWERS") or None,
            late_answer_s=float(env.get("ITAM_LATE_ANSWER_S", defaults.late_answer_s)),
        )

    def params(self, template: Mapping[str, Any]) -> dict[str, str]:
        """Template parameter overrides for the local stack (only those the template declares)."""
        wanted = {"Stage": self.stage, "LogLevel": self.log_level}
        declared = template.get("Parameters") or {}
        return {k: v for k, v in wanted.items() if v is not None and k in declared}


class GatedMotoServer(ThreadedMotoServer):
    """moto's threaded server, its WSGI app wrapped (the snapshots hold requests while they fork)."""

    def __init__(self, wrap: Callable[[WsgiApp], WsgiApp], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._wrap = wrap

    def _server_entry(self) -> None:
        app = self._wrap(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()


def rebased(resources: StackResources, old_url: str, new_url: str) -> StackResources:
    """Restored resources with the emulator's old URL (in queue URLs) replaced by the new one."""
    if old_url == new_url:
        return resources
    moved = json.loads(json.dumps(dataclasses.asdict(resources)).replace(old_url, new_url))
    return StackResources(**moved)


class Service(Protocol):
    """Something the stack runs beside the emulator: the HTTP gateway, the queue/schedule runner."""

    def start(self, host: str = HOST, port: int = 0) -> None: ...

    def stop(self) -> None: ...


def ensure_port_free(port: int) -> None:
    """Fail clearly rather than hang when a port is taken (the emulator's start would wait forever)."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            raise StackError(f"port {port} on {HOST} is already in use") from None


def running_stack(state_file: Path) -> dict[str, Any] | None:
    """The state of a stack that the state file says is running, if its process is alive."""
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
        os.kill(int(state["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return dict(state)


def ensure_ports_free(settings: Settings) -> None:
    """Before anything is created: every port the stack needs is free, or say what holds it and how to
    choose another."""
    ports = {
        "ITAM_MOTO_PORT": settings.moto_port,
        "ITAM_GATEWAY_PORT": settings.gateway_port,
        "ITAM_RUNNER_PORT": settings.runner_port,
    }
    for variable, port in ports.items():
        try:
            ensure_port_free(port)
        except StackError:
            running = running_stack(settings.state_file)
            who = (
                f"a local stack is running already (pid {running['pid']}, {running.get('gateway_url')}, "
                f"see {settings.state_file}): stop it (Ctrl-C where it runs), or"
                if running
                else "another program (or a local stack started elsewhere) holds it: stop it, or"
            )
            raise StackError(
                f"port {port} on {HOST} is already in use; {who} start this stack on another port with "
                f"{variable}=<port> make dev"
            ) from None


def aws_environment(moto_url: str, region: str) -> dict[str, str]:
    """Variables that point every AWS SDK in this process at the emulator, never at a real account."""
    return {
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        # Inventory connectors collect from the emulator too (they ignore AWS_ENDPOINT_URL).
        "ITAM_INVENTORY_AWS_ENDPOINT": moto_url,
    }


def functions_environment(template: Mapping[str, Any], stack: StackResources) -> dict[str, str]:
    """Every function's resolved environment, merged; handlers share one process, so they must agree."""
    resolver = stack.resolver()
    merged: dict[str, str] = {}
    owner: dict[str, str] = {}
    for logical_id in resources_of_type(template, "AWS::Serverless::Function"):
        for name, value in function_environment(template, logical_id, resolver).items():
            if name in merged and merged[name] != value:
                raise StackError(
                    f"functions {owner[name]} and {logical_id} set {name} differently "
                    f"({merged[name]!r} vs {value!r}); the local stack runs them in one process"
                )
            merged[name], owner[name] = value, logical_id
    return merged


def write_state(path: Path, state: Mapping[str, Any]) -> None:
    """Write the state file atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    partial.replace(path)


class LocalStack:
    """The emulator, the template's resources and the services that deliver events to handlers."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.template = load_template(settings.template_path)
        self.moto: ThreadedMotoServer | None = None
        self.moto_url = ""
        self.resources: StackResources | None = None
        self.services: list[tuple[str, Service, int]] = []
        self.state: dict[str, Any] = {}
        self.snapshots: Snapshots | None = None
        self.restored: dict[str, Any] | None = None

    def _start_moto(self) -> None:
        ensure_port_free(self.settings.moto_port)
        make_dynamodb_writes_atomic()
        make_cognito_keep_pool_settings()
        if self.settings.late_answers:
            LateAnswers(self.settings.late_answers, self.settings.late_answer_s).install()
            log.warning(
                "fault injection: writes to keys starting with %s are answered %g s late",
                self.settings.late_answers,
                self.settings.late_answer_s,
            )
        # Tenant sessions reach only their tenant's secrets, as the tenant-data role's policy says.
        enforce_secrets_policies()
        wrap: Callable[[WsgiApp], WsgiApp] = lambda app: app  # noqa: E731
        if self.settings.state_dir is not None:
            identity = fingerprint(
                self.settings.template_path.read_text(encoding="utf-8"), self.settings.params(self.template)
            )
            self.snapshots = Snapshots(self.settings.state_dir, identity, self.settings.snapshot_interval_s)
            started = time.monotonic()
            self.restored = self.snapshots.restore()
            if self.restored is not None:
                log.info(
                    "state restored",
                    extra={"from": str(self.snapshots.path), "seconds": round(time.monotonic() - started, 2)},
                )
            wrap = self.snapshots.wrap
        self.moto = GatedMotoServer(wrap, ip_address=HOST, port=self.settings.moto_port, verbose=False)
        self.moto.start()
        host, port = self.moto.get_host_and_port()
        self.moto_url = f"http://{host}:{port}"
        log.info("AWS emulator listening", extra={"url": self.moto_url})

    def _build_services(self, resources: StackResources) -> list[tuple[str, Service, int]]:
        gateway = Gateway.from_template(
            self.template, resources, moto_url=self.moto_url, root=self.settings.template_path.parent
        )
        gateway.load_functions()
        runner = Runner.from_template(
            self.template,
            resources,
            moto_url=self.moto_url,
            root=self.settings.template_path.parent,
            retry_delay_s=self.settings.runner_retry_delay_s,
        )
        runner.load_functions()
        return [
            ("gateway", gateway, self.settings.gateway_port),
            ("runner", runner, self.settings.runner_port),
        ]

    def start(self) -> None:
        """Start everything; on failure, stop whatever already started."""
        try:
            ensure_ports_free(self.settings)
            self._start_moto()
            os.environ.update(aws_environment(self.moto_url, self.settings.region))
            for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
                os.environ.pop(name, None)
            if self.restored is not None:
                self.resources = rebased(self.restored["resources"], self.restored["moto_url"], self.moto_url)
            else:
                self.resources = create_resources(
                    self.template,
                    endpoint_url=self.moto_url,
                    region=self.settings.region,
                    params=self.settings.params(self.template),
                    session=boto3.Session(),
                )
            # Trust policies, the functions' own AssumeRole policies, LeadingKeys (infra.local.iam_rules).
            enforce_iam_rules(
                function_policies(self.template, self.resources.resolver()),
                ACCOUNT_ID,
                self.resources.stack_name,
            )
            if self.snapshots is not None:
                self.snapshots.extra = {"resources": self.resources, "moto_url": self.moto_url}
                self.snapshots.start()
            os.environ.update(functions_environment(self.template, self.resources))
            for name, service, port in self._build_services(self.resources):
                ensure_port_free(port)
                service.start(HOST, port)
                self.services.append((name, service, port))
            self.state = self._state()
            write_state(self.settings.state_file, self.state)
        except BaseException:
            self.stop()
            raise

    def _state(self) -> dict[str, Any]:
        assert self.resources is not None
        services = {name: service for name, service, _ in self.services}
        return {
            "moto_url": self.moto_url,
            "gateway_url": getattr(services.get("gateway"), "url", ""),
            "runner_url": getattr(services.get("runner"), "url", ""),
            "region": self.settings.region,
            "stage": self.settings.stage,
            "user_pool_id": self.resources.user_pool_id,
            "client_id": self.resources.client_id,
            "table_name": self.resources.table_name,
            "tables": self.resources.refs_of_type("AWS::DynamoDB::Table"),
            "queues": self.resources.queues,
            "event_buses": self.resources.event_buses,
            "event_taps": self.resources.event_taps,
            "refs": self.resources.refs,
            "pid": os.getpid(),
            "started_at": int(time.time()),
        }

    def stop(self) -> None:
        """Stop the services, then the emulator; remove the state file if it is ours."""
        for name, service, _ in reversed(self.services):
            try:
                service.stop()
            except Exception:
                log.exception("stopping %s failed", name)
        self.services.clear()
        if self.snapshots is not None and self.snapshots.extra is not None:
            try:
                if self.snapshots.stop():
                    log.info(
                        "state saved",
                        extra={
                            "to": str(self.snapshots.path),
                            "seconds": round(self.snapshots.last_snapshot_s, 2),
                        },
                    )
            except Exception:
                log.exception("saving the local state failed")
            self.snapshots = None
        if self.moto is not None:
            self.moto.stop()
            self.moto = None
        path = self.settings.state_file
        if self.state and path.is_file():
            try:
                if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
                    path.unlink()
            except (OSError, ValueError):
                log.warning("could not remove the state file", extra={"path": str(path)})


def banner(state: Mapping[str, Any]) -> str:
    """What a developer needs after `make dev`."""
    return "\n".join(
        [
            "ITAM local stack is running (Ctrl-C stops it)",
            f"  API gateway   {state['gateway_url']}",
            f"  AWS emulator  {state['moto_url']}  (AWS_ENDPOINT_URL for the AWS CLI and SDKs)",
            f"  table         {state['table_name']}   user pool {state['user_pool_id']}",
            "  token         make -s token TENANT=acme ROLE=admin",
            f"  runner        {state['runner_url']}   (SQS event sources polled; schedules fire on request)",
            "  schedules     make schedule [NAME=<Function>]   fires them now, waits until the queues drain",
            f'  try           curl -H "Authorization: Bearer $(make -s token TENANT=acme ROLE=admin)" '
            f"{state['gateway_url']}/v1/assets",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    """Run the local stack until SIGINT or SIGTERM; `--reset` starts it empty."""
    parser = argparse.ArgumentParser(prog="python -m infra.local", description=__doc__)
    parser.add_argument("--reset", action="store_true", help="forget the kept state and start empty")
    args = parser.parse_args(argv)
    settings = Settings.from_env(os.environ)
    configure_logging(os.environ.get("ITAM_LOCAL_LOG_LEVEL", "INFO"))
    if args.reset and settings.state_dir is not None:
        forgotten = forget_state(settings.state_dir)
        log.info("starting empty", extra={"removed": [str(p) for p in forgotten]})
    stopping = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("stopping", extra={"signal": signal.Signals(signum).name})
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    stack = LocalStack(settings)
    try:
        stack.start()
    except Exception as error:
        log.error("the local stack could not start: %s", error, exc_info=not isinstance(error, StackError))
        return 1
    print(banner(stack.state), flush=True)
    try:
        while not stopping.wait(0.5):
            pass
    finally:
        stack.stop()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
