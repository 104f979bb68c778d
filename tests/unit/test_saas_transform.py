"""The SaaS connectors' transform step on recorded responses that follow the providers' documented
shapes (tests/fixtures/saas), the domain rules of a SaaS product, the settings and credentials
models, and the HTTP client's pure readers (Retry-After, Link, error bodies). No network."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from itam.adapters.saas import github as github_copilot
from itam.adapters.saas import google_workspace, microsoft365, okta, saas_collector, slack
from itam.adapters.saas.http import (
    next_link,
    origin,
    parse_retry_after,
    provider_error,
    rate_limit_wait,
    resolve_bases,
)
from itam.inventory.saas import (
    MAX_RECLAIMABLE,
    GitHubCredentials,
    GitHubSettings,
    GoogleProduct,
    GoogleWorkspaceCredentials,
    GoogleWorkspaceSettings,
    Microsoft365Credentials,
    Microsoft365Settings,
    OktaCredentials,
    OktaSettings,
    SaasProduct,
    SeatTally,
    SeatUse,
    SlackCredentials,
    SlackSettings,
    UsageWindow,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "saas"
NOW = datetime(2025, 6, 1, tzinfo=UTC)
WINDOW = UsageWindow(NOW, 30)  # cutoff 2025-05-02T00:00:00Z
E3 = "05e9a617-0261-4cee-bb44-138d3ef5d965"
E5 = "06ebc4ee-1bb5-47dd-8120-11324bc54e06"
PBI = "f8a1db68-be16-40ed-86d5-cb42ce701560"
PEM = "-----BEGIN PRIVATE KEY-----\n" + "A" * 64 + "\n-----END PRIVATE KEY-----\n"


def load(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def by_key(products: list[SaasProduct]) -> dict[str, SaasProduct]:
    return {p.external_key: p for p in products}


def assignees(product: SaasProduct) -> list[str]:
    return [seat.assignee for seat in product.reclaimable]


# --- Microsoft 365 -------------------------------------------------------------------------------


def test_microsoft365_skus_and_sign_ins_become_products() -> None:
    # Given the recorded subscribedSkus and users pages
    warnings: list[str] = []

    # When they are transformed
    products = by_key(
        microsoft365.transform(
            [load("microsoft365_subscribed_skus")["value"]],
            [load("microsoft365_users")["value"]],
            directory="contoso.onmicrosoft.com",
            window=WINDOW,
            warn=warnings.append,
        )
    )

    # Then each readable SKU is a product with Graph's own counts
    e3 = products[f"microsoft365:contoso.onmicrosoft.com:{E3}"]
    assert (e3.product, e3.vendor, e3.sku) == ("Microsoft 365 E3", "Microsoft", "SPE_E3")
    assert (e3.purchased, e3.assigned, e3.suspended, e3.activity_known) == (25, 5, 0, True)
    # AlexW's last sign-in without a successful one, DiegoS' non-interactive one count; GradyA's
    # later failed attempt does not; IsaiahL never signed in
    assert e3.active == 3
    assert assignees(e3) == ["GradyA@contoso.onmicrosoft.com", "IsaiahL@contoso.onmicrosoft.com"]
    assert e3.reclaimable[0].last_activity_at == datetime(2025, 3, 15, 7, 30, tzinfo=UTC)
    assert e3.reclaimable[1].last_activity_at is None
    assert e3.reclaimable_total == 2

    e5 = products[f"microsoft365:contoso.onmicrosoft.com:{E5}"]
    assert (e5.purchased, e5.assigned, e5.suspended) == (5, 2, 2)
    # MeganB signed in exactly at the cutoff, LidiaH one second before it
    assert (e5.active, assignees(e5)) == (1, ["LidiaH@contoso.onmicrosoft.com"])

    pbi = products[f"microsoft365:contoso.onmicrosoft.com:{PBI}"]
    assert (pbi.product, pbi.active, pbi.reclaimable_total) == ("Power BI Pro", 1, 0)
    store = products["microsoft365:contoso.onmicrosoft.com:6470687e-a428-4b7a-bef2-8a291ad947c9"]
    assert (store.product, store.purchased, store.assigned, store.active) == ("WINDOWS_STORE", 25, 0, 0)

    # And the SKU without a valid skuId and the user without a principal name are skipped, with warnings
    assert len(products) == 4
    assert any("subscribed SKU #5" in w and "skuId" in w for w in warnings)
    assert any("user #9" in w and "userPrincipalName" in w for w in warnings)


def test_microsoft365_without_sign_in_activity_reports_every_seat_active() -> None:
    products = microsoft365.transform(
        [load("microsoft365_subscribed_skus")["value"]],
        None,
        directory="contoso.onmicrosoft.com",
        window=WINDOW,
        warn=lambda _: None,
    )
    assert products
    for product in products:
        assert product.activity_known is False
        assert product.active == product.assigned
        assert (product.reclaimable, product.reclaimable_total) == ([], 0)


def test_microsoft365_last_sign_in_prefers_the_successful_one() -> None:
    activity = microsoft365.SignInActivity.model_validate(
        {
            "lastSignInDateTime": "2025-05-28T11:00:00Z",
            "lastNonInteractiveSignInDateTime": "2025-05-29T11:00:00Z",
            "lastSuccessfulSignInDateTime": "2025-03-15T07:30:00Z",
        }
    )
    assert microsoft365.last_sign_in(activity) == datetime(2025, 3, 15, 7, 30, tzinfo=UTC)
    older = microsoft365.SignInActivity.model_validate(
        {
            "lastSignInDateTime": "2023-01-02T00:00:00Z",
            "lastNonInteractiveSignInDateTime": "2023-03-04T00:00:00Z",
        }
    )
    assert microsoft365.last_sign_in(older) == datetime(2023, 3, 4, tzinfo=UTC)
    assert microsoft365.last_sign_in(None) is None
    assert microsoft365.product_name("SPE_E5") == "Microsoft 365 E5"
    assert microsoft365.product_name("SOMETHING_NEW") == "SOMETHING_NEW"


# --- Google Workspace ----------------------------------------------------------------------------


def test_google_assignments_of_a_whole_product_are_grouped_by_sku() -> None:
    warnings: list[str] = []
    products = by_key(
        google_workspace.transform(
            GoogleProduct(product_id="Google-Apps"),
            [load("google_workspace_license_assignments")["items"]],
            customer="acme.test",
            window=WINDOW,
            warn=warnings.append,
        )
    )
    standard = products["google_workspace:acme.test:Google-Apps:1010020028"]
    assert (standard.product, standard.vendor, standard.sku) == (
        "Google Workspace Business Standard",
        "Google",
        "1010020028",
    )
    # The License Manager has no purchase nor activity figures
    assert (standard.purchased, standard.assigned, standard.active, standard.activity_known) == (
        3,
        3,
        3,
        False,
    )
    # An assignment without skuName is named from the documented SKU list
    plus = products["google_workspace:acme.test:Google-Apps:1010020020"]
    assert (plus.product, plus.assigned) == ("Google Workspace Enterprise Plus", 1)
    assert len(products) == 2
    assert any("license assignment #5" in w and "userId" in w for w in warnings)


def test_google_a_configured_sku_is_reported_even_without_holders() -> None:
    [product] = google_workspace.transform(
        GoogleProduct(product_id="Google-Apps", sku_id="1010020025"),
        [[]],
        customer="C03az79cb",
        window=WINDOW,
        warn=lambda _: None,
    )
    assert product.external_key == "google_workspace:C03az79cb:Google-Apps:1010020025"
    assert (product.product, product.purchased, product.assigned) == ("Google Workspace Business Plus", 0, 0)


# --- Okta ----------------------------------------------------------------------------------------


def test_okta_active_apps_become_products_with_last_logins() -> None:
    warnings: list[str] = []
    products = by_key(
        okta.transform(
            [load("okta_apps")],
            {"0oa1gjh63g214q0Hq0g4": [load("okta_app_users")]}.get,
            [load("okta_users")],
            org="acme.okta.com",
            window=WINDOW,
            warn=warnings.append,
        )
    )
    sfdc = products["okta:acme.okta.com:0oa1gjh63g214q0Hq0g4"]
    assert (sfdc.product, sfdc.vendor, sfdc.sku) == ("Salesforce.com", "Salesforce", "salesforce")
    # Okta has no purchase figures: purchased = assigned
    assert (sfdc.purchased, sfdc.assigned, sfdc.active, sfdc.activity_known) == (4, 4, 1, True)
    # A user no longer in the directory is named by the app user name and has no activity
    assert assignees(sfdc) == ["ben@acme.test", "cai@acme.test", "former.employee@acme.test"]

    wiki = products["okta:acme.okta.com:0oa3wikiXk2q1YzNt0g4"]
    assert (wiki.vendor, wiki.assigned, wiki.reclaimable_total) == ("Acme Wiki", 0, 0)
    # The inactive app is not reported; the records without a usable id are skipped, with warnings
    assert set(products) == {sfdc.external_key, wiki.external_key}
    assert any("user #4" in w for w in warnings)
    assert any("app #4" in w for w in warnings)
    assert any("user of app 0oa1gjh63g214q0Hq0g4 #5" in w for w in warnings)


def test_a_skipped_record_is_named_by_its_position_on_its_page() -> None:
    # Given two pages of users, the second one's first record without an id
    warnings: list[str] = []
    pages = [[{"id": "00u1", "profile": {"login": "a@acme.test"}}], [{"status": "ACTIVE"}]]

    # When they are transformed
    list(okta.transform([], lambda _: None, pages, org="acme.okta.com", window=WINDOW, warn=warnings.append))

    # Then the warning names the record as the collector read it: page by page
    assert [w.split(":")[0] for w in warnings] == ["skipped user #1 of a page"]


# --- GitHub Copilot ------------------------------------------------------------------------------


def test_github_copilot_billing_and_seats_become_one_product() -> None:
    warnings: list[str] = []
    product = github_copilot.transform(
        load("github_copilot_billing"),
        [load("github_copilot_seats")],
        organization="Acme-Corp",
        window=WINDOW,
        warn=warnings.append,
    )
    assert product is not None
    assert product.external_key == "github:acme-corp:copilot"
    assert (product.product, product.vendor, product.sku) == ("GitHub Copilot Business", "GitHub", "business")
    # purchased = seat_breakdown.total, assigned = total_seats (the seat without an assignee still counts)
    assert (product.purchased, product.assigned, product.active) == (8, 5, 1)
    # An unreadable last_activity_at counts as no activity
    assert assignees(product) == ["hubot", "monalisa", "wycats"]
    assert any("Copilot seat #4" in w and "assignee" in w for w in warnings)


def test_github_copilot_enterprise_plan_and_missing_breakdown() -> None:
    warnings: list[str] = []
    product = github_copilot.transform(
        {"plan_type": "enterprise"},
        [{"total_seats": 0, "seats": []}],
        organization="acme",
        window=WINDOW,
        warn=warnings.append,
    )
    assert product is not None
    assert (product.product, product.purchased, product.assigned) == ("GitHub Copilot Enterprise", 0, 0)
    assert any("seat_breakdown" in w for w in warnings)


# --- Slack ---------------------------------------------------------------------------------------


def test_slack_billable_members_become_the_slack_product() -> None:
    warnings: list[str] = []
    product = slack.transform(
        [load("slack_team_billable_info")], team_id="T12345678", window=WINDOW, warn=warnings.append
    )
    assert product is not None
    assert (product.external_key, product.product, product.vendor) == ("slack:T12345678", "Slack", "Slack")
    assert (product.purchased, product.assigned, product.active, product.activity_known) == (3, 3, 3, False)
    assert any("U02UF5FQ9" in w for w in warnings)
    assert slack.next_cursor(load("slack_team_billable_info")) == "dXNlcjpVMDJVRjVGUTk="


# --- the product ---------------------------------------------------------------------------------


def product(**overrides: Any) -> SaasProduct:
    fields: dict[str, Any] = {
        "provider": "github",
        "external_key": "github:acme:copilot",
        "product": "GitHub Copilot Business",
        "vendor": "GitHub",
        "sku": "business",
        "purchased": 10,
        "assigned": 8,
        "active": 6,
        "activity_known": True,
        "reclaimable": [
            SeatUse(assignee="zed", last_activity_at=None),
            SeatUse(assignee="amy", last_activity_at=datetime(2025, 1, 1, tzinfo=UTC)),
        ],
        "reclaimable_total": 2,
        "observed_at": NOW,
    }
    fields.update(overrides)
    return SaasProduct(**fields)


def test_content_hash_ignores_observed_at_and_changes_with_the_counts() -> None:
    base = product()
    assert product(observed_at=NOW + timedelta(hours=5)).content_hash() == base.content_hash()
    assert product(assigned=9).content_hash() != base.content_hash()
    assert product(purchased=11).content_hash() != base.content_hash()
    assert product(reclaimable_total=3).content_hash() != base.content_hash()
    # reclaimable is kept sorted by assignee, so the order a provider listed it in does not matter
    assert assignees(base) == ["amy", "zed"]
    assert product(reclaimable=list(reversed(base.reclaimable))).content_hash() == base.content_hash()
    assert len(base.content_hash()) == 64


@pytest.mark.parametrize(
    "overrides",
    [
        {"activity_known": False},  # then active must equal assigned and nothing is reclaimable
        {"active": 9},  # more active than assigned
        {"reclaimable_total": 1},  # fewer than listed
        {"purchased": -1},
        {"assigned": 10_000_001},
        {"provider": "dropbox"},
        {"external_key": ""},
        {"product": "x" * 201},
        {"extra": "field"},
    ],
)
def test_a_product_that_breaks_the_rules_is_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        product(**overrides)


def test_timestamps_are_utc() -> None:
    naive = product(observed_at=datetime(2025, 6, 1, 12, 0))
    assert naive.observed_at.tzinfo == UTC
    seat = SeatUse(assignee="a", last_activity_at=datetime(2025, 6, 1, 14, tzinfo=UTC) + timedelta(0))
    assert seat.last_activity_at is not None and seat.last_activity_at.tzinfo == UTC


# --- reclaimable seats ---------------------------------------------------------------------------


def test_a_seat_is_in_use_from_the_cutoff_on() -> None:
    assert WINDOW.cutoff == datetime(2025, 5, 2, tzinfo=UTC)
    assert WINDOW.in_use(datetime(2025, 5, 2, tzinfo=UTC))
    assert not WINDOW.in_use(datetime(2025, 5, 1, 23, 59, 59, tzinfo=UTC))
    assert not WINDOW.in_use(None)
    assert WINDOW.in_use(datetime(2025, 6, 2, tzinfo=UTC))  # a provider clock ahead of ours


def test_tally_counts_each_assignee_once_with_the_latest_activity() -> None:
    tally = SeatTally(WINDOW)
    tally.add("bob", datetime(2025, 1, 1, tzinfo=UTC))
    tally.add("bob", datetime(2025, 5, 20, tzinfo=UTC))
    tally.add("bob", None)
    tally.add("carol", None)
    tally.add("alice", datetime(2025, 4, 1, tzinfo=UTC))
    usage = tally.usage(assigned=3)
    assert tally.seats == 3
    assert usage.active == 1
    assert [s.assignee for s in usage.reclaimable] == ["alice", "carol"]
    assert usage.reclaimable_total == 2


def test_reclaimable_seats_are_capped_but_counted() -> None:
    tally = SeatTally(WINDOW)
    for n in range(MAX_RECLAIMABLE + 250):
        tally.add(f"user{n:05d}", None)
    tally.add("active", NOW)
    usage = tally.usage(assigned=MAX_RECLAIMABLE + 251)
    assert len(usage.reclaimable) == MAX_RECLAIMABLE
    assert usage.reclaimable_total == MAX_RECLAIMABLE + 250
    assert usage.reclaimable[0].assignee == "user00000"
    assert usage.reclaimable[-1].assignee == f"user{MAX_RECLAIMABLE - 1:05d}"
    assert usage.active == 1


def test_active_never_exceeds_the_assigned_count_and_unknown_activity_means_all_active() -> None:
    tally = SeatTally(WINDOW)
    for name in ("a", "b", "c"):
        tally.add(name, NOW)
    assert tally.usage(assigned=2).active == 2
    unknown = SeatTally(None)
    unknown.add("a")
    usage = unknown.usage(assigned=7)
    assert (usage.active, usage.reclaimable, usage.reclaimable_total) == (7, [], 0)


# --- settings and credentials --------------------------------------------------------------------

GUID = "6731de76-14a6-49ae-97bc-6eba6914391e"


@pytest.mark.parametrize(
    ("model", "payload", "field"),
    [
        (Microsoft365Settings, {"directory_id": "contoso/../evil", "client_id": GUID}, "directory_id"),
        (Microsoft365Settings, {"directory_id": GUID, "client_id": "not-a-guid"}, "client_id"),
        (Microsoft365Settings, {"directory_id": GUID, "client_id": GUID, "graph_url": "x"}, "graph_url"),
        (Microsoft365Credentials, {"client_secret": ""}, "client_secret"),
        (Microsoft365Credentials, {"client_secret": "line\nbreak"}, "client_secret"),
        (GoogleWorkspaceSettings, {"admin_email": "not an email"}, "admin_email"),
        (GoogleWorkspaceSettings, {"admin_email": "a@acme.test", "customer_id": "../x"}, "customer_id"),
        (
            GoogleWorkspaceSettings,
            {"admin_email": "a@acme.test", "products": [{"product_id": "Google-Apps", "sku_id": "a/b"}]},
            "products.0.sku_id",
        ),
        (
            GoogleWorkspaceSettings,
            {"admin_email": "a@acme.test", "products": [{"product_id": "101047"}, {"product_id": "101047"}]},
            "products",
        ),
        (GoogleWorkspaceSettings, {"admin_email": "a@acme.test", "products": []}, "products"),
        (
            GoogleWorkspaceCredentials,
            {"service_account": {"client_email": "sa@p.iam.gserviceaccount.com"}},
            "service_account.private_key",
        ),
        (
            GoogleWorkspaceCredentials,
            {"service_account": {"client_email": "sa@p.iam.gserviceaccount.com", "private_key": "x" * 80}},
            "service_account.private_key",
        ),
        (GoogleWorkspaceCredentials, {"service_account": "{not json"}, "service_account"),
        (OktaSettings, {"org_domain": "acme.okta.com.evil.example"}, "org_domain"),
        (OktaSettings, {"org_domain": "https://acme.okta.com"}, "org_domain"),
        (OktaSettings, {"org_domain": "169.254.169.254"}, "org_domain"),
        (OktaCredentials, {"api_token": "short"}, "api_token"),
        (GitHubSettings, {"organization": "-acme"}, "organization"),
        (GitHubSettings, {"organization": "acme/../../users"}, "organization"),
        (GitHubCredentials, {"token": "ghp_has space inside the token"}, "token"),
        (SlackSettings, {"team_id": "not-a-team"}, "team_id"),
        (SlackCredentials, {"token": "xoxa-2-app-level-token"}, "token"),
    ],
)
def test_a_bad_setting_or_credential_names_its_field(
    model: type[BaseModel], payload: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(payload)
    assert ".".join(map(str, caught.value.errors()[0]["loc"])) == field


def test_valid_settings_are_normalized() -> None:
    assert Microsoft365Settings(directory_id="Contoso.OnMicrosoft.com", client_id=GUID).directory_id == (
        "contoso.onmicrosoft.com"
    )
    assert OktaSettings(org_domain="  Acme.Okta-EMEA.com ").org_domain == "acme.okta-emea.com"
    google = GoogleWorkspaceSettings(admin_email="Admin@Acme.test")
    assert [(p.product_id, p.sku_id) for p in google.products] == [("Google-Apps", None)]
    assert (google.customer_id, google.domain) == ("my_customer", "acme.test")
    assert SlackSettings().team_id is None


def test_secrets_stay_out_of_reprs_and_validation_errors() -> None:
    secret = "xoxp-super-secret value"
    with pytest.raises(ValidationError) as caught:
        SlackCredentials(token=secret)
    assert secret not in str(caught.value)
    token = "00SuperSecretOktaToken1234567"
    assert token not in repr(OktaCredentials(api_token=token))
    assert "hunter2-but-longer" not in repr(Microsoft365Credentials(client_secret="hunter2-but-longer"))


def test_a_google_key_file_is_read_and_its_token_uri_ignored() -> None:
    key = {
        "type": "service_account",
        "project_id": "acme-itam",
        "private_key_id": "4f1c2b7d9e0a",
        "private_key": PEM,
        "client_email": "inventory@acme-itam.iam.gserviceaccount.com",
        "token_uri": "https://attacker.example/token",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
    }
    for given in (key, json.dumps(key)):
        credentials = GoogleWorkspaceCredentials.model_validate({"service_account": given})
        account = credentials.service_account
        assert account.client_email == "inventory@acme-itam.iam.gserviceaccount.com"
        assert "token_uri" not in account.model_dump()
        assert "PRIVATE KEY" not in repr(credentials)


# --- the HTTP client's readers -------------------------------------------------------------------

NOW_EPOCH = datetime(2025, 6, 1, 12, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Sun, 01 Jun 2025 12:00:30 GMT", 30.0),
        ("Sun, 01 Jun 2025 11:00:00 GMT", 0.0),  # already past
        ("soon", None),
        ("-5", None),
        ("1.5", None),
        ("\u00b2", None),  # a digit, but not an ASCII one
        ("", None),
        (None, None),
    ],
)
def test_retry_after_in_seconds_or_as_an_http_date(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, NOW_EPOCH) == seconds


def test_rate_limit_reset_epochs_count_only_when_the_quota_is_exhausted() -> None:
    okta_headers = {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(NOW_EPOCH) + 42)}
    assert rate_limit_wait(okta_headers, NOW_EPOCH, exhausted=True) == 42
    assert rate_limit_wait(okta_headers, NOW_EPOCH, exhausted=False) is None
    github_headers = {"x-ratelimit-reset": str(int(NOW_EPOCH) - 3), "retry-after": "7"}
    assert rate_limit_wait(github_headers, NOW_EPOCH, exhausted=True) == 7
    assert rate_limit_wait({"x-ratelimit-reset": str(int(NOW_EPOCH) - 3)}, NOW_EPOCH, exhausted=True) == 0


def test_next_link_from_okta_and_github_link_headers() -> None:
    okta_link = (
        '<https://acme.okta.com/api/v1/apps?limit=200>; rel="self", '
        '<https://acme.okta.com/api/v1/apps?after=0oa9&limit=200>; rel="next"'
    )
    assert next_link(okta_link) == "https://acme.okta.com/api/v1/apps?after=0oa9&limit=200"
    github_link = (
        '<https://api.github.com/organizations/1/copilot/billing/seats?per_page=100&page=2>; rel="next", '
        '<https://api.github.com/organizations/1/copilot/billing/seats?per_page=100&page=5>; rel="last"'
    )
    assert next_link(github_link) == (
        "https://api.github.com/organizations/1/copilot/billing/seats?per_page=100&page=2"
    )
    assert next_link("<https://x.test/a?b=1,2>; rel=next") == "https://x.test/a?b=1,2"
    assert next_link('<https://x.test/p>; rel="prev"') is None
    assert next_link(None) is None


def test_origins_compare_scheme_host_and_port() -> None:
    assert origin("https://graph.microsoft.com/v1.0/users?$skiptoken=x") == (
        "https",
        "graph.microsoft.com",
        443,
    )
    assert origin("https://Graph.Microsoft.com:443/") == ("https", "graph.microsoft.com", 443)
    assert origin("http://127.0.0.1:8080/graph") == ("http", "127.0.0.1", 8080)
    assert origin("https://graph.microsoft.com@evil.example/") is None
    assert origin("file:///etc/passwd") is None
    assert origin("https://host:notaport/") is None
    assert origin("//no-scheme.example/") is None


def test_endpoints_resolve_the_providers_own_hosts_unless_configured() -> None:
    defaults = {
        "graph": "https://graph.microsoft.com",
        "login_microsoft": "https://login.microsoftonline.com",
    }
    assert resolve_bases(defaults, None) == defaults
    resolved = resolve_bases(defaults, {"graph": "http://127.0.0.1:9/graph/", "okta": "http://ignored"})
    assert resolved == {
        "graph": "http://127.0.0.1:9/graph",
        "login_microsoft": "https://login.microsoftonline.com",
    }
    with pytest.raises(ValueError, match="graph"):
        resolve_bases(defaults, {"graph": "ftp://example.test"})


@pytest.mark.parametrize(
    ("fixture", "code", "message"),
    [
        ("microsoft365_token_error", "invalid_client", "AADSTS7000215: Invalid client secret provided."),
        (
            "microsoft365_graph_error_403",
            "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
            "Neither tenant is B2C",
        ),
        ("google_workspace_token_error", "unauthorized_client", "Client is unauthorized"),
        ("google_workspace_api_error_403", "PERMISSION_DENIED", "Not Authorized to access this resource/api"),
        ("okta_error_401", "E0000011", "Invalid token provided"),
        ("github_error_401", None, "Bad credentials"),
        ("slack_error_missing_scope", "missing_scope", "missing_scope (needed: admin)"),
    ],
)
def test_provider_error_bodies_give_the_providers_own_words(
    fixture: str, code: str | None, message: str
) -> None:
    found_code, found_message = provider_error((FIXTURES / f"{fixture}.json").read_bytes())
    assert found_code == code
    assert found_message.startswith(message)


def test_provider_error_of_an_unreadable_body() -> None:
    assert provider_error(b"<html>502 Bad Gateway</html>") == (None, "no readable error message")
    assert provider_error(b"[" * 100_000) == (None, "no readable error message")
    assert provider_error(b'{"message": "a\\u0000b"}') == (None, "a b")


# --- the factory ---------------------------------------------------------------------------------


def test_the_factory_checks_its_arguments() -> None:
    settings = GitHubSettings(organization="acme")
    credentials = GitHubCredentials(token="ghp_" + "a" * 36)
    collector = saas_collector("github", settings, credentials)
    assert collector.warnings == []
    with pytest.raises(TypeError, match="GitHubSettings"):
        saas_collector("github", SlackSettings(), credentials)
    with pytest.raises(TypeError, match="OktaCredentials"):
        saas_collector("okta", OktaSettings(org_domain="acme.okta.com"), credentials)
    with pytest.raises(ValueError, match="reclaim_after_days"):
        saas_collector("github", settings, credentials, reclaim_after_days=0)
    with pytest.raises(ValueError, match="unknown provider"):
        saas_collector("dropbox", settings, credentials)  # type: ignore[arg-type]
