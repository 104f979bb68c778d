"""Fixtures for the local stack tests: a moto server on a free port, the echo stack behind the gateway."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import boto3
import pytest
from moto.server import ThreadedMotoServer

from infra.local.cognito import make_cognito_keep_pool_settings
from infra.local.gateway import Gateway
from infra.local.resources import StackResources, create_resources
from infra.local.template import load_template
from infra.local.token import issue_token
from tests.support.stack_process import free_port

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_TEMPLATE = FIXTURES / "template.yaml"
JOBS_TEMPLATE = FIXTURES / "jobs.yaml"
REGION = "us-east-1"

T = TypeVar("T")


def wait_for(check: Callable[[], T], timeout: float = 15.0, interval: float = 0.1, what: str = "") -> T:
    """Poll check() until it returns something truthy; fail the test after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what or check}")
        time.sleep(interval)


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """The emulator in this process, with the user pool behaviour the local stack gives it."""
    make_cognito_keep_pool_settings()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def session() -> boto3.Session:
    return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)


@pytest.fixture(scope="session")
def itam(moto_url: str, session: boto3.Session) -> StackResources:
    """template.yaml's resources on the emulator (once: some have fixed names)."""
    return create_resources(
        load_template(), endpoint_url=moto_url, region=REGION, params={"Stage": "stacktest"}, session=session
    )


@dataclass
class EchoStack:
    """The fixture template's resources on moto, its gateway, and helpers to make tokens."""

    moto_url: str
    resources: StackResources
    gateway: Gateway
    session: boto3.Session

    @property
    def url(self) -> str:
        return self.gateway.url

    @property
    def state(self) -> dict[str, Any]:
        return {
            "moto_url": self.moto_url,
            "region": REGION,
            "user_pool_id": self.resources.user_pool_id,
            "client_id": self.resources.client_id,
        }

    def token(self, tenant: str = "acme", role: str = "admin", user: str | None = None) -> str:
        return issue_token(self.state, tenant, role, user=user)

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{REGION}.amazonaws.com/{self.resources.user_pool_id}"

    def cognito(self) -> Any:
        return self.session.client("cognito-idp", endpoint_url=self.moto_url)


@pytest.fixture(scope="session")
def echo_stack(moto_url: str, session: boto3.Session) -> Iterator[EchoStack]:
    template = load_template(FIXTURE_TEMPLATE)
    resources = create_resources(
        template, endpoint_url=moto_url, region=REGION, params={"Stage": "echo"}, session=session
    )
    gateway = Gateway.from_template(template, resources, moto_url=moto_url, root=FIXTURES)
    gateway.load_functions()
    gateway.start("127.0.0.1", 0)
    yield EchoStack(moto_url, resources, gateway, session)
    gateway.stop()
