"""The SaaS connectors' get step over real HTTP against the local fake providers
(tests/support/fake_saas.py on 127.0.0.1): paging, throttling and outages, refused credentials,
and provider answers that cannot be trusted."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from itam.adapters.saas import SaasCollector, saas_collector
from itam.adapters.saas.http import SaasLimits
from itam.adapters.saas.okta import OktaCollector
from itam.inventory.errors import ConnectorAuthError, ConnectorError, InventoryLimitExceeded
from itam.inventory.saas import (
    CREDENTIALS,
    PROVIDERS,
    SETTINGS,
    OktaCredentials,
    OktaSettings,
    Provider,
    SaasProduct,
)
from tests.support.fake_saas import FakeSaas, google_service_account

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CLIENT_EMAIL = "inventory@acme-itam.iam.gserviceaccount.com"
# The logical host of each provider's main listing (where the fake misbehaves on request).
LISTINGS: dict[Provider, str] = {
    "microsoft365": "graph",
    "google_workspace": "google_licensing",
    "okta": "okta",
    "github": "github",
    "slack": "slack",
}


@pytest.fixture(scope="module")
def google_key() -> tuple[dict[str, Any], str]:
    return google_service_account(CLIENT_EMAIL)


@pytest.fixture
def fake(google_key: tuple[dict[str, Any], str]) -> Iterator[FakeSaas]:
    with FakeSaas(page_size=3) as server:
        server.google.service_account, server.google.public_key = google_key
        server.load_sample(NOW)
        yield server


def collector(
    fake: FakeSaas,
    provider: Provider,
    *,
    settings: dict[str, Any] | None = None,
    credentials: dict[str, Any] | None = None,
) -> SaasCollector:
    return saas_collector(
        provider,
        SETTINGS[provider].model_validate(fake.settings(provider) if settings is None else settings),
        CREDENTIALS[provider].model_validate(
            fake.credentials(provider) if credentials is None else credentials
        ),
        endpoints=fake.endpoints,
        now=NOW,
        sleep=fake.sleeps.append,
        rng=random.Random(3),
    )


def collect(fake: FakeSaas, provider: Provider, **kwargs: Any) -> dict[str, SaasProduct]:
    found = list(collector(fake, provider, **kwargs).collect())
    keys = [p.external_key for p in found]
    assert len(keys) == len(set(keys)), "a product was reported twice"
    return {p.external_key: p for p in found}


def reclaimable(product: SaasProduct) -> list[str]:
    return [seat.assignee for seat in product.reclaimable]


def secrets_of(fake: FakeSaas) -> list[str]:
    return [
        fake.microsoft.client_secret,
        fake.okta.api_token,
        fake.github.token,
        fake.slack.token,
        str(fake.google.service_account["private_key"]),
    ]


# --- each provider, end to end -------------------------------------------------------------------


def test_microsoft365_collects_every_sku_with_its_holders_sign_ins(fake: FakeSaas) -> None:
    products = collect(fake, "microsoft365")

    e3 = products["microsoft365:contoso.onmicrosoft.com:05e9a617-0261-4cee-bb44-138d3ef5d965"]
    assert (e3.product, e3.purchased, e3.assigned, e3.suspended) == ("Microsoft 365 E3", 10, 6, 0)
    assert e3.active == 3
    assert reclaimable(e3) == [f"{n}@contoso.onmicrosoft.com" for n in ("grady", "isaiah", "johanna")]
    e5 = products["microsoft365:contoso.onmicrosoft.com:06ebc4ee-1bb5-47dd-8120-11324bc54e06"]
    assert (e5.purchased, e5.assigned, e5.suspended, e5.active) == (5, 3, 2, 2)
    assert reclaimable(e5) == ["lidia@contoso.onmicrosoft.com"]
    assert len(products) == 4
    assert all(p.observed_at == NOW and p.activity_known for p in products.values())

    # One token for the run; users read in pages of the fake's size (10 users, 3 a page)
    assert len(fake.calls("login_microsoft")) == 1
    pages = fake.calls("graph", "/v1.0/users")
    assert len(pages) == 4
    assert "$select=id,userPrincipalName,assignedLicenses,signInActivity" in pages[0]
    assert "$top=999" in pages[0] and "$skiptoken=3" in pages[1]
    assert len(fake.calls("graph", "/v1.0/subscribedSkus")) == 2


def test_microsoft365_without_entra_p1_reports_activity_unknown(fake: FakeSaas) -> None:
    # Given a directory where Graph refuses signInActivity (no Microsoft Entra ID P1)
    fake.microsoft.sign_in_activity = False
    run = collector(fake, "microsoft365")

    products = list(run.collect())

    assert len(products) == 4
    assert all(not p.activity_known and p.active == p.assigned and not p.reclaimable for p in products)
    assert any("sign-in activity cannot be read" in w and "premium license" in w for w in run.warnings)


def test_google_workspace_collects_each_sku_of_the_product(fake: FakeSaas) -> None:
    products = collect(fake, "google_workspace")

    standard = products["google_workspace:C03az79cb:Google-Apps:1010020028"]
    plus = products["google_workspace:C03az79cb:Google-Apps:1010020025"]
    assert (standard.product, standard.purchased, standard.assigned) == (
        "Google Workspace Business Standard",
        5,
        5,
    )
    assert (plus.product, plus.purchased, plus.assigned, plus.activity_known) == (
        "Google Workspace Business Plus",
        2,
        2,
        False,
    )
    assert len(products) == 2
    # The JWT grant was exchanged once, and the 7 assignments were read 3 a page
    assert fake.calls("google_oauth") == ["/token"]
    pages = fake.calls("google_licensing", "/apps/licensing/v1/product/Google-Apps/users")
    assert len(pages) == 3 and "pageToken=3" in pages[1] and "maxResults=1000" in pages[0]


def test_google_workspace_configured_skus_and_a_product_the_account_lacks(fake: FakeSaas) -> None:
    settings = {
        **fake.settings("google_workspace"),
        "customer_id": "my_customer",
        "products": [{"product_id": "Google-Apps", "sku_id": "1010020025"}, {"product_id": "101047"}],
    }
    run = collector(fake, "google_workspace", settings=settings)

    [product] = list(run.collect())

    # my_customer: the account is named by the administrator's domain
    assert product.external_key == "google_workspace:acme.test:Google-Apps:1010020025"
    assert product.assigned == 2
    assert any("101047/* skipped: Invalid productId" in w for w in run.warnings)


def test_okta_collects_each_active_app_with_last_logins(fake: FakeSaas) -> None:
    products = collect(fake, "okta")

    sfdc = products["okta:acme.okta.com:0oa1sfdc"]
    assert (sfdc.product, sfdc.vendor, sfdc.sku) == ("Salesforce.com", "Salesforce", "salesforce")
    assert (sfdc.purchased, sfdc.assigned, sfdc.active) == (4, 4, 1)
    assert reclaimable(sfdc) == ["00u9@sfdc", "ben@acme.test", "cai@acme.test"]
    zoom = products["okta:acme.okta.com:0oa2zoom"]
    assert (zoom.vendor, zoom.assigned, zoom.active) == ("Zoom", 5, 2)
    assert reclaimable(zoom) == ["ben@acme.test", "cai@acme.test", "eli@acme.test"]
    wiki = products["okta:acme.okta.com:0oa4wiki"]
    assert (wiki.vendor, wiki.assigned) == ("Acme Wiki", 0)
    assert "okta:acme.okta.com:0oa3old" not in products  # INACTIVE

    # Link paging on every listing, the token sent as SSWS
    assert len(fake.calls("okta", "/api/v1/users")) == 2
    assert len(fake.calls("okta", "/api/v1/apps/0oa2zoom/users")) == 2
    assert fake.calls("okta", "/api/v1/apps/0oa3old") == []
    assert all(h.get("authorization") == f"SSWS {fake.okta.api_token}" for h in fake.request_headers)


def test_github_collects_the_copilot_seats(fake: FakeSaas) -> None:
    [product] = collect(fake, "github").values()

    assert product.external_key == "github:acme-corp:copilot"
    assert (product.product, product.purchased, product.assigned, product.active) == (
        "GitHub Copilot Business",
        12,
        7,
        4,
    )
    assert reclaimable(product) == ["defunkt", "mojombo", "pjhyett"]
    assert len(fake.calls("github", "/orgs/acme-corp/copilot/billing/seats")) == 3
    sent = fake.request_headers[-1]
    assert sent["accept"] == "application/vnd.github+json"
    assert sent["x-github-api-version"] == "2022-11-28"
    assert sent["authorization"] == f"Bearer {fake.github.token}"


def test_slack_collects_the_billable_members(fake: FakeSaas) -> None:
    [product] = collect(fake, "slack").values()

    assert product.external_key == "slack:T0ACME001"
    assert (product.purchased, product.assigned, product.active, product.activity_known) == (6, 6, 6, False)
    assert fake.calls("slack", "/api/auth.test") == ["/api/auth.test"]
    assert len(fake.calls("slack", "/api/team.billableInfo")) == 3


# --- throttling and outages ----------------------------------------------------------------------


def larger_estate(fake: FakeSaas) -> None:
    """Enough records that every provider pages a dozen times or more."""
    fake.page_size = 2
    ms = fake.microsoft
    e3 = ms.skus[0]["skuId"]
    for n in range(30):
        ms.users.append(
            {
                "id": f"{n:08d}-1111-4000-8000-000000000000",
                "userPrincipalName": f"extra{n:02d}@contoso.onmicrosoft.com",
                "assignedLicenses": [{"disabledPlans": [], "skuId": e3}],
                "signInActivity": {"lastSuccessfulSignInDateTime": f"2026-0{1 + n % 3}-1{n % 10}T00:00:00Z"},
            }
        )
    ms.skus[0]["consumedUnits"] += 30
    fake.google.assignments += [
        {"userId": f"more{n}@acme.test", "productId": "Google-Apps", "skuId": "1010020028"} for n in range(30)
    ]
    fake.okta.users += [
        {"id": f"00x{n}", "lastLogin": None, "profile": {"login": f"x{n}@acme.test"}} for n in range(20)
    ]
    fake.okta.app_users["0oa4wiki"] = [
        {"id": f"00x{n}", "credentials": {"userName": f"x{n}"}} for n in range(20)
    ]
    fake.github.seats += [
        {"assignee": {"login": f"dev{n:02d}"}, "last_activity_at": None if n % 2 else "2026-02-27T00:00:00Z"}
        for n in range(30)
    ]
    fake.slack.billable.update({f"U0EXTRA{n:02d}": {"billing_active": n % 3 > 0} for n in range(30)})


@pytest.mark.parametrize("provider", PROVIDERS)
def test_injected_throttling_and_outages_lose_nothing(fake: FakeSaas, provider: Provider) -> None:
    # Given the providers' answers without any failure
    larger_estate(fake)
    expected = {key: p.content_hash() for key, p in collect(fake, provider).items()}
    calm = len(fake.requests)

    # When 20% of the requests are answered 429 or 5xx
    fake.inject(0.2, seed=11)
    fake.requests.clear()
    found = collect(fake, provider)

    # Then the run completes with exactly the same products, after waits the fake's sleep recorded
    assert {key: p.content_hash() for key, p in found.items()} == expected
    assert sum(fake.faults_served.values()) > 0
    assert len(fake.requests) == calm + sum(fake.faults_served.values())
    assert fake.sleeps and all(0 <= wait <= 60 for wait in fake.sleeps)


@pytest.mark.parametrize(
    ("provider", "low", "high"),
    [
        ("microsoft365", 2, 2),  # Retry-After: 2
        ("okta", 1, 3),  # until X-Rate-Limit-Reset (the fake's now + 2, whole seconds)
        ("github", 1, 3),  # x-ratelimit-reset, or Retry-After as an HTTP date
        ("slack", 1, 1),  # Retry-After: 1
    ],
)
def test_a_throttled_request_waits_as_long_as_the_provider_asks(
    fake: FakeSaas, provider: Provider, low: float, high: float
) -> None:
    # Every request is throttled once before it is served
    fake.inject(1.0, max_in_a_row=1, throttle_share=1.0)
    collect(fake, provider)
    assert fake.sleeps
    assert all(low <= wait <= high for wait in fake.sleeps), fake.sleeps


def test_a_github_secondary_rate_limit_without_a_hint_waits_a_minute(fake: FakeSaas) -> None:
    fake.inject(1.0, max_in_a_row=1, throttle_share=1.0)
    fake.faults.secondary_rate_limit = True
    [product] = collect(fake, "github").values()
    assert product.assigned == 7
    # every request was refused once, and each refusal waited a minute
    assert fake.sleeps == [60.0] * (len(fake.requests) // 2)


def test_retries_are_bounded(fake: FakeSaas) -> None:
    fake.inject(1.0, max_in_a_row=1000)
    with pytest.raises(ConnectorError) as caught:
        collect(fake, "github")
    assert caught.value.retryable
    assert caught.value.code in ("rate_limited", "provider_unavailable")
    assert len(fake.requests) == 6
    assert len(fake.sleeps) == 5


# --- refused credentials -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "credentials", "code", "said"),
    [
        ("microsoft365", {"client_secret": "Wrong~secret.value"}, "invalid_client", "AADSTS7000215"),
        ("okta", {"api_token": "00wrongOktaToken_abcdefghijklmnop"}, "E0000011", "Invalid token provided"),
        ("github", {"token": "ghp_wrongwrongwrongwrongwrongwrong0000"}, "http_401", "Bad credentials"),
        ("slack", {"token": "xoxp-9999-wrong-token"}, "invalid_auth", "invalid_auth"),
    ],
)
def test_wrong_credentials_end_the_run_with_the_providers_words(
    fake: FakeSaas, provider: Provider, credentials: dict[str, Any], code: str, said: str
) -> None:
    with pytest.raises(ConnectorAuthError) as caught:
        collect(fake, provider, credentials=credentials)
    assert caught.value.code == code
    assert said in caught.value.provider_message
    for secret in [*credentials.values(), *secrets_of(fake)]:
        assert secret not in str(caught.value) and secret not in caught.value.provider_message


def test_a_google_key_that_is_not_the_service_accounts_is_refused(fake: FakeSaas) -> None:
    other, _ = google_service_account(CLIENT_EMAIL)
    with pytest.raises(ConnectorAuthError) as caught:
        collect(fake, "google_workspace", credentials={"service_account": other})
    assert (caught.value.code, caught.value.provider_message) == ("invalid_grant", "Invalid JWT Signature.")
    assert "PRIVATE KEY" not in str(caught.value)


def test_a_google_admin_without_delegation_is_refused(fake: FakeSaas) -> None:
    settings = {**fake.settings("google_workspace"), "admin_email": "someone@acme.test"}
    with pytest.raises(ConnectorAuthError) as caught:
        collect(fake, "google_workspace", settings=settings)
    assert caught.value.code == "unauthorized_client"
    assert "Client is unauthorized" in caught.value.provider_message


def test_a_slack_token_without_the_admin_scope_is_refused(fake: FakeSaas) -> None:
    fake.slack.scopes = ("users:read",)
    with pytest.raises(ConnectorAuthError) as caught:
        collect(fake, "slack")
    assert caught.value.code == "missing_scope"
    assert caught.value.provider_message == "missing_scope (needed: admin)"


def test_a_github_organization_the_token_cannot_see_fails_the_run(fake: FakeSaas) -> None:
    with pytest.raises(ConnectorError) as caught:
        collect(fake, "github", settings={"organization": "other-org"})
    assert not isinstance(caught.value, ConnectorAuthError)
    assert (caught.value.code, caught.value.retryable) == ("http_404", False)


# --- untrusted answers ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["not_json", "wrong_type"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_malformed_page_fails_the_run(fake: FakeSaas, provider: Provider, kind: str) -> None:
    fake.faults.malformed = LISTINGS[provider]
    fake.faults.malformed_kind = "not_json" if kind == "not_json" else "wrong_type"
    with pytest.raises(ConnectorError) as caught:
        collect(fake, provider)
    assert type(caught.value) is ConnectorError
    assert caught.value.code == "malformed_response"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_oversized_answer_fails_the_run(fake: FakeSaas, provider: Provider) -> None:
    fake.faults.oversized = LISTINGS[provider]
    with pytest.raises(ConnectorError) as caught:
        collect(fake, provider)
    assert caught.value.code == "response_too_large"
    assert not caught.value.retryable


@pytest.mark.parametrize("provider", ["microsoft365", "okta", "github"])
def test_a_next_link_to_another_host_is_not_followed(fake: FakeSaas, provider: Provider) -> None:
    fake.faults.foreign_next = LISTINGS[provider]
    with pytest.raises(ConnectorError) as caught:
        collect(fake, provider)
    assert caught.value.code == "foreign_link"
    assert "collector-bait.example" in str(caught.value)


def break_one_record(fake: FakeSaas, provider: Provider) -> None:
    if provider == "microsoft365":
        fake.microsoft.users[3]["userPrincipalName"] = None
    elif provider == "google_workspace":
        del fake.google.assignments[1]["userId"]
    elif provider == "okta":
        fake.okta.app_users["0oa2zoom"][1] = {"status": "ACTIVE", "credentials": "not an object"}
    elif provider == "github":
        fake.github.seats[2]["assignee"] = "monalisa"
    else:
        fake.slack.billable["U0MEMBER03"] = {"billing_active": "yes"}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_malformed_record_is_skipped_with_a_warning(fake: FakeSaas, provider: Provider) -> None:
    break_one_record(fake, provider)
    run = collector(fake, provider)

    products = list(run.collect())

    assert products
    assert any("skipped" in warning for warning in run.warnings), run.warnings
    for secret in secrets_of(fake):
        assert all(secret not in warning for warning in run.warnings)


def test_the_page_cap_stops_a_run(fake: FakeSaas) -> None:
    run = OktaCollector(
        OktaSettings.model_validate(fake.settings("okta")),
        OktaCredentials.model_validate(fake.credentials("okta")),
        endpoints=fake.endpoints,
        now=NOW,
        sleep=fake.sleeps.append,
        limits=SaasLimits(max_pages=3),
    )
    with pytest.raises(InventoryLimitExceeded):
        list(run.collect())
    assert len(fake.requests) == 3
