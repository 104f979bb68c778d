"""SaaS connectors through the whole sync (API -> queue -> worker -> register) against the local fake
providers: seat counts on saas assets, their use in the compliance position, reclaimable seats,
injected throttling and faults, refused credentials and write-only secrets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from itam import bootstrap
from tests.integration.audit_support import drain
from tests.integration.conftest import Api
from tests.integration.test_inventory_sync import run_worker, sync_queue
from tests.support.fake_saas import FakeSaas
from tests.support.lambda_api import reset_caches

REVOKED = "ghp_" + "r" * 36
PROVIDERS = ("microsoft365", "google_workspace", "okta", "github", "slack")


@pytest.fixture
def fake(table: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSaas]:
    with FakeSaas(page_size=2) as server:
        server.load_sample(datetime.now(UTC))
        monkeypatch.setenv("ITAM_PROVIDER_ENDPOINTS", json.dumps(server.endpoints))
        reset_caches()
        # Retry waits are recorded, not slept.
        bootstrap.sync_runner()._collectors._sleep = server.sleeps.append
        yield server


def connect(api: Api, fake: FakeSaas, provider: str, **extra: Any) -> dict[str, Any]:
    body = {
        "type": provider,
        "name": provider,
        "settings": fake.settings(provider),
        "credentials": fake.credentials(provider),
        **extra,
    }
    reply = api.post("/v1/connectors", body)
    assert reply.status == 201, reply.body
    return dict(reply.body)


def sync(api: Api, connector_id: str) -> dict[str, Any]:
    reply = api.post(f"/v1/connectors/{connector_id}/sync")
    assert reply.status == 202, reply.body
    assert run_worker(drain(sync_queue())) == {"batchItemFailures": []}
    return dict(api.get(f"/v1/sync-runs/{reply.body['id']}").body)


def saas_assets(api: Api) -> dict[str, dict[str, Any]]:
    items = api.get("/v1/assets", query={"kind": "saas", "limit": "100"}).body["items"]
    return {item["discovery"]["external_key"]: item for item in items}


def test_every_provider_syncs_its_subscriptions_with_seat_counts(api: Api, fake: FakeSaas) -> None:
    for provider in PROVIDERS:
        connector = connect(api, fake, provider)
        assert connector["credentials_set"] is True
        assert "credentials" not in connector
        run = sync(api, connector["id"])
        assert run["status"] == "succeeded", run
        assert run["counts"]["created"] == run["counts"]["seen"] > 0, (provider, run)

    assets = saas_assets(api)
    by_name = {a["name"]: a for a in assets.values()}
    e5 = next(a for key, a in assets.items() if key.endswith("06ebc4ee-1bb5-47dd-8120-11324bc54e06"))
    assert e5["saas"] | {"purchased": 5, "assigned": 3} == e5["saas"]
    assert e5["custom_fields"]["suspended"] == 2
    copilot = next(a for a in assets.values() if a["discovery"]["provider"] == "github")
    assert (copilot["saas"]["purchased"], copilot["saas"]["assigned"]) == (12, 7)
    # Seats unused for 30 days (the default window): defunkt, mojombo (90 days) and pjhyett (never).
    assert copilot["custom_fields"]["reclaimable_seats"] == 3
    assert copilot["custom_fields"]["reclaimable_assignees"] == "defunkt, mojombo, pjhyett"
    assert copilot["saas"]["active"] == 4
    slack = by_name["Slack"]
    assert (slack["saas"]["purchased"], slack["saas"]["assigned"]) == (6, 6)

    position = api.get("/v1/compliance", query={"limit": "100"}).body["items"]
    github = next(p for p in position if p["saas_assigned"] == 7)
    assert github["saas_inactive"] == 3


def test_injected_throttling_and_faults_lose_nothing(api: Api, fake: FakeSaas) -> None:
    fake.inject(0.2, seed=3)
    counts = {}
    for provider in PROVIDERS:
        run = sync(api, connect(api, fake, provider)["id"])
        assert run["status"] == "succeeded", (provider, run)
        counts[provider] = run["counts"]["created"]
    assert sum(fake.faults_served.values()) > 0
    assert fake.sleeps  # Retry-After and backoff were honoured
    with_faults = {k: (a["saas"]["purchased"], a["saas"]["assigned"]) for k, a in saas_assets(api).items()}

    fake.inject(0.0)
    again = {provider: c for provider, c in counts.items()}
    for connector in api.get("/v1/connectors").body["items"]:
        run = sync(api, connector["id"])
        assert run["counts"]["unchanged"] == again[connector["type"]], run
    assert {
        k: (a["saas"]["purchased"], a["saas"]["assigned"]) for k, a in saas_assets(api).items()
    } == with_faults


def test_refused_credentials_fail_the_run_with_the_providers_reason(api: Api, fake: FakeSaas) -> None:
    connector = connect(api, fake, "github")
    sync(api, connector["id"])
    before = saas_assets(api)

    patched = api.patch(f"/v1/connectors/{connector['id']}", {"credentials": {"token": REVOKED}})
    assert patched.status == 200 and REVOKED not in json.dumps(patched.body)
    failed = sync(api, connector["id"])

    assert failed["status"] == "failed"
    assert "Bad credentials" in failed["failure"]
    assert saas_assets(api) == before


def test_credentials_are_kept_in_secrets_manager_only(api: Api, fake: FakeSaas) -> None:
    connector = connect(api, fake, "okta")
    name = f"itam-test/connectors/acme/{connector['id']}"
    stored = json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"])
    assert stored == fake.credentials("okta")
    listed = json.dumps(api.get("/v1/connectors").body)
    assert fake.credentials("okta")["api_token"] not in listed
    assert api.delete(f"/v1/connectors/{connector['id']}").status == 204
    with pytest.raises(ClientError, match="marked deleted"):  # within its recovery window
        boto3.client("secretsmanager").get_secret_value(SecretId=name)


def test_bad_saas_settings_name_the_field(api: Api, fake: FakeSaas) -> None:
    cases = [
        (
            {
                "type": "okta",
                "settings": {"org_domain": "evil.example.com"},
                "credentials": {"api_token": "x"},
            },
            "org_domain",
        ),
        (
            {"type": "github", "settings": {"organization": "-bad-"}, "credentials": {"token": "t"}},
            "organization",
        ),
        (
            {"type": "slack", "settings": {}, "credentials": {"token": "not-a-slack-token"}},
            "credentials.token",
        ),
        (
            {
                "type": "microsoft365",
                "settings": {"directory_id": "x"},
                "credentials": {"client_secret": "s"},
            },
            "settings",
        ),
    ]
    for body, field in cases:
        reply = api.post("/v1/connectors", {"name": "x", **body})
        assert reply.status == 422, (body, reply.body)
        assert field in json.dumps(reply.body), (field, reply.body)
        assert "not-a-slack-token" not in json.dumps(reply.body)
