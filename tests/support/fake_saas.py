"""A local fake of the five SaaS providers' APIs, for the connectors' integration tests.

One `http.server.ThreadingHTTPServer` on 127.0.0.1 (a free port) serves each provider under its
own path prefix, with the documented paths, paging, auth checks, error bodies and rate-limit
headers:

    with FakeSaas(page_size=3) as fake:
        fake.load_sample(now)
        collector = saas_collector("okta", OktaSettings(**fake.settings("okta")),
                                   OktaCredentials(**fake.credentials("okta")),
                                   endpoints=fake.endpoints, now=now, sleep=fake.sleeps.append)

The data lives in plain dicts shaped as the providers document them (`fake.microsoft.skus`,
`fake.okta.apps`, ...), which a test may change before collecting. `fake.faults` injects failures:
a share of 429/5xx answers drawn from a seeded RNG (never more than `max_in_a_row` on the same
request, so a client with bounded retries can always get through), and on one provider's main
listing a malformed page, an oversized body or a next link to a foreign host.
"""

from __future__ import annotations

import base64
import email.utils
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

GOOGLE_AUDIENCE = "https://oauth2.googleapis.com/token"
GOOGLE_SCOPE = "https://www.googleapis.com/auth/apps.licensing"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
FOREIGN = "https://collector-bait.example"
OVERSIZED_BYTES = 6 * 1024 * 1024
PREFIXES = {
    "login_microsoft": "/login",
    "graph": "/graph",
    "google_oauth": "/google-oauth",
    "google_licensing": "/google-licensing",
    "okta": "/okta",
    "github": "/github",
    "slack": "/slack",
}
Host = Literal["login_microsoft", "graph", "google_oauth", "google_licensing", "okta", "github", "slack"]
Query = Mapping[str, list[str]]


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: Mapping[str, str | list[str]] = field(default_factory=dict)
    raw: bytes | None = None
    close: bool = False


def _first(query: Query, name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the providers' data -------------------------------------------------------------------------


@dataclass
class MicrosoftTenant:
    directory_id: str = "contoso.onmicrosoft.com"
    client_id: str = "6731de76-14a6-49ae-97bc-6eba6914391e"
    client_secret: str = "Qx8Q~fake.graph-secret_value"
    skus: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)
    sign_in_activity: bool = True  # False: the directory has no Entra ID P1 (403 on signInActivity)


@dataclass
class GoogleCustomer:
    admin_email: str = "admin@acme.test"
    customer_id: str = "C03az79cb"
    service_account: dict[str, Any] = field(default_factory=dict)
    public_key: str = ""
    assignments: list[dict[str, Any]] = field(default_factory=list)
    products: set[str] = field(default_factory=lambda: {"Google-Apps"})


@dataclass
class OktaOrg:
    org_domain: str = "acme.okta.com"
    api_token: str = "00fakeOktaApiToken_0123456789abcdefghij"
    users: list[dict[str, Any]] = field(default_factory=list)
    apps: list[dict[str, Any]] = field(default_factory=list)
    app_users: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


@dataclass
class GitHubOrg:
    organization: str = "acme-corp"
    token: str = "ghp_fakeGitHubToken0123456789abcdefghij"
    billing: dict[str, Any] = field(default_factory=dict)
    seats: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class SlackTeam:
    team_id: str = "T0ACME001"
    token: str = "xoxp-1111-2222-3333-fakeslacktoken"
    scopes: tuple[str, ...] = ("admin",)
    billable: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Faults:
    """What goes wrong. `rate`: the share of requests answered 429 (`throttle_share` of them) or
    5xx. The others name a logical host whose main listing misbehaves on its first page."""

    rate: float = 0.0
    seed: int = 7
    max_in_a_row: int = 3
    throttle_share: float = 0.5
    secondary_rate_limit: bool = False  # GitHub throttles with a bare 403 (no rate-limit headers)
    malformed: str | None = None
    malformed_kind: Literal["not_json", "wrong_type"] = "not_json"
    oversized: str | None = None
    foreign_next: str | None = None


def google_service_account(client_email: str) -> tuple[dict[str, Any], str]:
    """A service account JSON key as Google issues it, and the PEM public key that verifies it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    project = client_email.split("@", 1)[1].split(".", 1)[0]
    document = {
        "type": "service_account",
        "project_id": project,
        "private_key_id": "4f1c2b7d9e0a3c5b6d8e9f0a1b2c3d4e5f6a7b8c",
        "private_key": private_pem,
        "client_email": client_email,
        "client_id": "104829573629104857362",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": f"https://www.googleapis.com/robot/v1/metadata/x509/{quote(client_email)}",
        "universe_domain": "googleapis.com",
    }
    return document, public_pem


# --- the server ----------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeSaas


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    server: _Server

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        self._send(self.server.fake.answer(method, self.path, headers, body))

    def _send(self, reply: Reply) -> None:
        data = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
        self.send_response(reply.status)
        headers = {"Content-Type": "application/json; charset=utf-8", **reply.headers}
        for name, value in headers.items():
            for each in [value] if isinstance(value, str) else value:  # a list: sent once per value
                self.send_header(name, each)
        if reply.close:
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client stopped reading (an oversized body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class FakeSaas:
    """The five providers on one local port (see the module docstring)."""

    def __init__(self, *, page_size: int = 3) -> None:
        self.page_size = page_size
        self.microsoft = MicrosoftTenant()
        self.google = GoogleCustomer()
        self.okta = OktaOrg()
        self.github = GitHubOrg()
        self.slack = SlackTeam()
        self.faults = Faults()
        self.requests: list[tuple[str, str, str]] = []  # (method, logical host, path with query)
        self.request_headers: list[dict[str, str]] = []
        self.faults_served: Counter[str] = Counter()
        self.sleeps: list[float] = []
        self._lock = threading.Lock()
        self._rng = random.Random(self.faults.seed)
        self._in_a_row: Counter[str] = Counter()
        self._tokens: dict[str, str] = {}
        self._server: _Server | None = None
        self.url = ""

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> FakeSaas:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, args=(0.05,), name="fake-saas", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeSaas:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def endpoints(self) -> dict[str, str]:
        """The `endpoints` a collector needs to talk to this fake instead of the providers."""
        return {name: f"{self.url}{prefix}" for name, prefix in PREFIXES.items()}

    def inject(
        self, rate: float, *, seed: int = 7, max_in_a_row: int = 3, throttle_share: float = 0.5
    ) -> None:
        """Answer a share `rate` of requests with 429 or 5xx from now on (seeded, reproducible)."""
        self.faults.rate, self.faults.seed, self.faults.max_in_a_row = rate, seed, max_in_a_row
        self.faults.throttle_share = throttle_share
        self._rng = random.Random(seed)
        self._in_a_row.clear()

    def calls(self, host: str, path: str = "") -> list[str]:
        """The paths (with queries) requested on a logical host, optionally starting with `path`."""
        return [p for _, h, p in self.requests if h == host and p.startswith(path)]

    # -- connector configuration ------------------------------------------------------------------

    def settings(self, provider: str) -> dict[str, Any]:
        """Settings that match this fake's accounts (as an admin would enter them)."""
        return {
            "microsoft365": {
                "directory_id": self.microsoft.directory_id,
                "client_id": self.microsoft.client_id,
            },
            "google_workspace": {
                "customer_id": self.google.customer_id,
                "admin_email": self.google.admin_email,
            },
            "okta": {"org_domain": self.okta.org_domain},
            "github": {"organization": self.github.organization},
            "slack": {},
        }[provider]

    def credentials(self, provider: str) -> dict[str, Any]:
        """Credentials this fake accepts."""
        found: dict[str, dict[str, Any]] = {
            "microsoft365": {"client_secret": self.microsoft.client_secret},
            "google_workspace": {"service_account": dict(self.google.service_account)},
            "okta": {"api_token": self.okta.api_token},
            "github": {"token": self.github.token},
            "slack": {"token": self.slack.token},
        }
        return found[provider]

    # -- dispatch ---------------------------------------------------------------------------------

    def answer(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        parts = urlsplit(target)
        host, path = self._route(parts.path)
        with self._lock:
            self.requests.append((method, host, path + (f"?{parts.query}" if parts.query else "")))
            self.request_headers.append(headers)
        if host == "":
            return Reply(404, {"message": "Not Found"})
        fault = self._fault(host, f"{method} {target}")
        if fault is not None:
            return fault
        query = parse_qs(parts.query, keep_blank_values=True)
        handler: Callable[[str, str, Query, dict[str, str], bytes], Reply] = getattr(self, f"_{host}")
        return handler(method, path, query, headers, body)

    def _route(self, path: str) -> tuple[str, str]:
        for name, prefix in PREFIXES.items():
            if path == prefix or path.startswith(prefix + "/"):
                return name, path[len(prefix) :]
        return "", path

    def _issue(self, host: str) -> str:
        token = f"{host}-access-{random.Random().getrandbits(64):016x}"
        self._tokens[host] = token
        return token

    def _bearer(self, headers: Mapping[str, str], host: str, expected: str | None = None) -> bool:
        wanted = expected if expected is not None else self._tokens.get(host)
        return wanted is not None and headers.get("authorization") == f"Bearer {wanted}"

    def _base(self, host: str) -> str:
        if self.faults.foreign_next == host:
            return f"{FOREIGN}{PREFIXES[host]}"
        return f"{self.url}{PREFIXES[host]}"

    def _window(
        self, items: list[Any], offset: str | None, wanted: str | None
    ) -> tuple[list[Any], int | None]:
        start = int(offset) if offset and offset.isdigit() else 0
        size = (
            min(int(wanted), self.page_size)
            if wanted and wanted.isdigit() and int(wanted) > 0
            else self.page_size
        )
        end = start + size
        return items[start:end], end if end < len(items) else None

    # -- injected failures ------------------------------------------------------------------------

    def _fault(self, host: str, key: str) -> Reply | None:
        with self._lock:
            faults = self.faults
            if faults.rate <= 0:
                return None
            if self._in_a_row[key] >= faults.max_in_a_row or self._rng.random() >= faults.rate:
                self._in_a_row[key] = 0
                return None
            self._in_a_row[key] += 1
            throttle = self._rng.random() < faults.throttle_share
            variant = self._rng.randrange(4)
            self.faults_served["throttle" if throttle else "error"] += 1
        return self._throttle(host, variant) if throttle else self._server_error(host, variant)

    def _throttle(self, host: str, variant: int) -> Reply:
        soon = int(time.time()) + 2
        if host == "okta":
            return Reply(
                429,
                {
                    "errorCode": "E0000047",
                    "errorSummary": "API call exceeded rate limit due to too many requests.",
                    "errorLink": "E0000047",
                    "errorId": "oaeRateLimit0001",
                    "errorCauses": [],
                },
                {"X-Rate-Limit-Limit": "600", "X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": str(soon)},
            )
        if host == "github":
            if self.faults.secondary_rate_limit:
                return Reply(
                    403,
                    {
                        "message": "You have exceeded a secondary rate limit. Please wait a few minutes "
                        "before you try again.",
                        "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
                    },
                )
            if variant % 2:
                date = email.utils.formatdate(soon, usegmt=True)
                return Reply(429, {"message": "API rate limit exceeded"}, {"retry-after": date})
            return Reply(
                403,
                {
                    "message": "API rate limit exceeded for installation.",
                    "documentation_url": "https://docs.github.com",
                },
                {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "0", "x-ratelimit-reset": str(soon)},
            )
        if host == "slack":
            return Reply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})
        if host == "google_licensing":
            return Reply(
                429, {"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}}
            )
        return Reply(
            429,
            {"error": {"code": "TooManyRequests", "message": "Too many requests.", "innerError": {}}},
            {"Retry-After": "2"},
        )

    def _server_error(self, host: str, variant: int) -> Reply:
        status = (500, 502, 503, 504)[variant]
        headers = {"Retry-After": "1"} if status == 503 else {}
        if host in ("graph", "google_licensing"):
            return Reply(
                status, {"error": {"code": "serviceNotAvailable", "message": "Try again later."}}, headers
            )
        if host == "okta":
            return Reply(status, {"errorCode": "E0000009", "errorSummary": "Internal Server Error"}, headers)
        return Reply(status, raw=b"<html><body>upstream unavailable</body></html>", headers=headers)

    def _special(self, host: str, expected: Literal["object", "array"]) -> Reply | None:
        """A malformed or oversized first page of `host`'s main listing, when so configured."""
        faults = self.faults
        if faults.oversized == host:
            padding = b"x" * OVERSIZED_BYTES
            return Reply(200, raw=b'{"padding": "' + padding + b'"}', close=True)
        if faults.malformed == host:
            if faults.malformed_kind == "not_json":
                return Reply(
                    200,
                    raw=b"<html>Service temporarily degraded</html>",
                    headers={"Content-Type": "text/html"},
                )
            return Reply(200, [] if expected == "object" else {"items": []})
        return None

    # -- Microsoft identity platform and Microsoft Graph ------------------------------------------

    def _login_microsoft(
        self, method: str, path: str, query: Query, headers: dict[str, str], body: bytes
    ) -> Reply:
        tenant = self.microsoft
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if method != "POST" or path != f"/{tenant.directory_id}/oauth2/v2.0/token":
            return Reply(
                400,
                {
                    "error": "invalid_request",
                    "error_description": f"AADSTS90002: Tenant '{path.split('/')[1]}' not found.",
                    "error_codes": [90002],
                },
            )
        if form.get("client_id") != tenant.client_id or form.get("client_secret") != tenant.client_secret:
            return Reply(
                401,
                {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret "
                    "being sent in the request is the client secret value, not the client secret ID.",
                    "error_codes": [7000215],
                    "timestamp": "2026-01-01 00:00:00Z",
                    "trace_id": "0d5e0c1e-0000-0000-0000-000000000000",
                },
            )
        if form.get("grant_type") != "client_credentials" or form.get("scope") != GRAPH_SCOPE:
            return Reply(400, {"error": "invalid_scope", "error_description": "AADSTS70011: invalid scope."})
        return Reply(
            200,
            {
                "token_type": "Bearer",
                "expires_in": 3599,
                "ext_expires_in": 3599,
                "access_token": self._issue("graph"),
            },
        )

    def _graph(self, method: str, path: str, query: Query, headers: dict[str, str], body: bytes) -> Reply:
        if not self._bearer(headers, "graph"):
            return Reply(
                401,
                {
                    "error": {
                        "code": "InvalidAuthenticationToken",
                        "message": "Access token validation failure. Invalid audience.",
                        "innerError": {"date": "2026-01-01T00:00:00", "request-id": "00000000"},
                    }
                },
            )
        if path == "/v1.0/subscribedSkus":
            return self._odata("subscribedSkus", self.microsoft.skus, query)
        if path == "/v1.0/users":
            selected = (query.get("$select") or [""])[0].split(",")
            if "signInActivity" in selected and not self.microsoft.sign_in_activity:
                return Reply(
                    403,
                    {
                        "error": {
                            "code": "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                            "message": "Neither tenant is B2C or tenant doesn't have premium license",
                            "innerError": {"date": "2026-01-01T00:00:00", "request-id": "00000000"},
                        }
                    },
                )
            special = self._special("graph", "object")
            if special is not None and "$skiptoken" not in query:
                return special
            users = [{k: u[k] for k in selected if k in u} for u in self.microsoft.users]
            return self._odata("users", users, query)
        return Reply(404, {"error": {"code": "Request_ResourceNotFound", "message": "Resource not found."}})

    def _odata(self, collection: str, items: list[Any], query: Query) -> Reply:
        page, following = self._window(items, _first(query, "$skiptoken"), _first(query, "$top"))
        doc: dict[str, Any] = {
            "@odata.context": f"https://graph.microsoft.com/v1.0/$metadata#{collection}",
            "value": page,
        }
        if following is not None:
            params = {k: v[0] for k, v in query.items() if k != "$skiptoken"}
            params["$skiptoken"] = str(following)
            doc["@odata.nextLink"] = f"{self._base('graph')}/v1.0/{collection}?{urlencode(params, safe='$,')}"
        return Reply(200, doc)

    # -- Google OAuth 2.0 and the Enterprise License Manager --------------------------------------

    def _google_oauth(
        self, method: str, path: str, query: Query, headers: dict[str, str], body: bytes
    ) -> Reply:
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if method != "POST" or path != "/token" or form.get("grant_type") != JWT_BEARER:
            return Reply(400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type."})
        customer = self.google
        try:
            claims = jwt.decode(
                form.get("assertion", ""), customer.public_key, algorithms=["RS256"], audience=GOOGLE_AUDIENCE
            )
        except jwt.PyJWTError:
            return Reply(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
        if claims.get("iss") != customer.service_account.get("client_email"):
            return Reply(400, {"error": "invalid_grant", "error_description": "Invalid JWT: issuer."})
        if claims.get("sub") != customer.admin_email or GOOGLE_SCOPE not in str(claims.get("scope")).split():
            return Reply(
                401,
                {
                    "error": "unauthorized_client",
                    "error_description": "Client is unauthorized to retrieve access tokens using this "
                    "method, or client not authorized for any of the scopes requested.",
                },
            )
        return Reply(
            200, {"access_token": self._issue("google_licensing"), "expires_in": 3599, "token_type": "Bearer"}
        )

    def _google_licensing(
        self, method: str, path: str, query: Query, headers: dict[str, str], body: bytes
    ) -> Reply:
        if not self._bearer(headers, "google_licensing"):
            return Reply(
                401,
                {
                    "error": {
                        "code": 401,
                        "message": "Request had invalid authentication credentials. "
                        "Expected OAuth 2 access token.",
                        "status": "UNAUTHENTICATED",
                    }
                },
            )
        parts = path.strip("/").split("/")
        # apps/licensing/v1/product/{productId}[/sku/{skuId}]/users
        if (
            parts[:4] != ["apps", "licensing", "v1", "product"]
            or parts[-1] != "users"
            or len(parts) not in (6, 8)
        ):
            return Reply(404, {"error": {"code": 404, "message": "Not Found", "status": "NOT_FOUND"}})
        product_id, sku_id = parts[4], parts[6] if len(parts) == 8 else None
        customer = (query.get("customerId") or [""])[0]
        if customer not in ("my_customer", self.google.customer_id):
            return Reply(
                403,
                {
                    "error": {
                        "code": 403,
                        "message": "Not Authorized to access this resource/api",
                        "status": "PERMISSION_DENIED",
                    }
                },
            )
        if product_id not in self.google.products:
            return Reply(
                400, {"error": {"code": 400, "message": "Invalid productId", "status": "INVALID_ARGUMENT"}}
            )
        special = self._special("google_licensing", "object")
        if special is not None and "pageToken" not in query:
            return special
        items = [
            {
                "kind": "licensing#licenseAssignment",
                "etags": '"fake-etag"',
                "selfLink": f"https://licensing.googleapis.com/apps/licensing/v1/product/{a.get('productId')}"
                f"/sku/{a.get('skuId')}/user/{a.get('userId')}",
                **a,
            }
            for a in self.google.assignments
            if a.get("productId") == product_id and (sku_id is None or a.get("skuId") == sku_id)
        ]
        page, following = self._window(items, _first(query, "pageToken"), _first(query, "maxResults"))
        doc: dict[str, Any] = {
            "kind": "licensing#licenseAssignmentList",
            "etag": '"fake-list-etag"',
            "items": page,
        }
        if following is not None:
            doc["nextPageToken"] = str(following)
        return Reply(200, doc)

    # -- Okta -------------------------------------------------------------------------------------

    def _okta(self, method: str, path: str, query: Query, headers: dict[str, str], body: bytes) -> Reply:
        limits = {
            "X-Rate-Limit-Limit": "600",
            "X-Rate-Limit-Remaining": "599",
            "X-Rate-Limit-Reset": str(int(time.time()) + 60),
        }
        if headers.get("authorization") != f"SSWS {self.okta.api_token}":
            return Reply(
                401,
                {
                    "errorCode": "E0000011",
                    "errorSummary": "Invalid token provided",
                    "errorLink": "E0000011",
                    "errorId": "oaeInvalidToken0001",
                    "errorCauses": [],
                },
                limits,
            )
        parts = path.strip("/").split("/")
        if parts == ["api", "v1", "users"]:
            items = self.okta.users
        elif parts == ["api", "v1", "apps"]:
            special = self._special("okta", "array")
            if special is not None and "after" not in query:
                return special
            items = self.okta.apps
        elif (
            len(parts) == 5
            and parts[:3] == ["api", "v1", "apps"]
            and parts[4] == "users"
            and parts[3] in self.okta.app_users
        ):
            items = self.okta.app_users[parts[3]]
        else:
            return Reply(
                404,
                {"errorCode": "E0000007", "errorSummary": f"Not found: Resource not found: {path}"},
                limits,
            )
        page, following = self._window(items, _first(query, "after"), _first(query, "limit"))
        params = {k: v[0] for k, v in query.items() if k != "after"}
        links = [f'<{self._base("okta")}{path}?{urlencode(params)}>; rel="self"']
        if following is not None:
            after = urlencode({**params, "after": str(following)})
            links.insert(0, f'<{self._base("okta")}{path}?{after}>; rel="next"')
        return Reply(200, page, {**limits, "Link": links})  # Okta sends one Link header per relation

    # -- GitHub -----------------------------------------------------------------------------------

    def _github(self, method: str, path: str, query: Query, headers: dict[str, str], body: bytes) -> Reply:
        limits = {
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": "4990",
            "x-ratelimit-reset": str(int(time.time()) + 3600),
        }
        if not self._bearer(headers, "github", self.github.token):
            return Reply(
                401,
                {
                    "message": "Bad credentials",
                    "documentation_url": "https://docs.github.com/rest",
                    "status": "401",
                },
                limits,
            )
        org = self.github.organization.lower()
        if path.lower() == f"/orgs/{org}/copilot/billing":
            return Reply(200, self.github.billing, limits)
        if path.lower() != f"/orgs/{org}/copilot/billing/seats":
            return Reply(
                404,
                {
                    "message": "Not Found",
                    "documentation_url": "https://docs.github.com/rest",
                    "status": "404",
                },
                limits,
            )
        page_number = int((query.get("page") or ["1"])[0] or 1)
        special = self._special("github", "object")
        if special is not None and page_number == 1:
            return special
        size = min(int((query.get("per_page") or ["30"])[0]), self.page_size)
        seats = self.github.seats
        start = (page_number - 1) * size
        last = max(1, -(-len(seats) // size))
        links = []
        if page_number < last:
            links.append(f'<{self._base("github")}{path}?per_page={size}&page={page_number + 1}>; rel="next"')
            links.append(f'<{self._base("github")}{path}?per_page={size}&page={last}>; rel="last"')
        extra = {"Link": ", ".join(links)} if links else {}
        return Reply(
            200, {"total_seats": len(seats), "seats": seats[start : start + size]}, {**limits, **extra}
        )

    # -- Slack ------------------------------------------------------------------------------------

    def _slack(self, method: str, path: str, query: Query, headers: dict[str, str], body: bytes) -> Reply:
        team = self.slack
        if not self._bearer(headers, "slack", team.token):
            return Reply(200, {"ok": False, "error": "invalid_auth"})
        if path == "/api/auth.test":
            return Reply(
                200,
                {
                    "ok": True,
                    "url": "https://acme.slack.com/",
                    "team": "Acme",
                    "user": "it-admin",
                    "team_id": team.team_id,
                    "user_id": "U0ADMIN01",
                },
            )
        if path != "/api/team.billableInfo":
            return Reply(200, {"ok": False, "error": "unknown_method"})
        if "admin" not in team.scopes:
            return Reply(
                200,
                {"ok": False, "error": "missing_scope", "needed": "admin", "provided": ",".join(team.scopes)},
            )
        special = self._special("slack", "object")
        if special is not None and "cursor" not in query:
            return special
        cursor = (query.get("cursor") or [""])[0]
        offset = base64.b64decode(cursor).decode().removeprefix("user:") if cursor else None
        entries = sorted(team.billable.items())
        page, following = self._window(entries, offset, _first(query, "limit"))
        next_cursor = base64.b64encode(f"user:{following}".encode()).decode() if following is not None else ""
        return Reply(
            200, {"ok": True, "billable_info": dict(page), "response_metadata": {"next_cursor": next_cursor}}
        )

    # -- sample data ------------------------------------------------------------------------------

    def load_sample(self, now: datetime) -> None:
        """A small estate on every provider, with activity relative to `now` (see SAMPLE below)."""

        def days(n: int | None) -> str | None:
            return _iso(now - timedelta(days=n)) if n is not None else None

        ms = self.microsoft
        ms.skus = [
            _sku("05e9a617-0261-4cee-bb44-138d3ef5d965", "SPE_E3", enabled=10, consumed=6),
            _sku("06ebc4ee-1bb5-47dd-8120-11324bc54e06", "SPE_E5", enabled=5, consumed=3, suspended=2),
            _sku("f8a1db68-be16-40ed-86d5-cb42ce701560", "POWER_BI_PRO", enabled=2, consumed=1),
            _sku("0b6f1a2c-3d4e-4f5a-8b9c-0d1e2f3a4b5c", "CONTOSO_CUSTOM_SKU", enabled=3, consumed=0),
        ]
        e3, e5, pbi = (s["skuId"] for s in ms.skus[:3])
        holders = [
            ("adele", [e3, pbi], {"lastSuccessfulSignInDateTime": days(1)}),
            ("alex", [e3], {"lastSignInDateTime": days(5), "lastSuccessfulSignInDateTime": None}),
            ("diego", [e3], {"lastSignInDateTime": days(45), "lastNonInteractiveSignInDateTime": days(10)}),
            ("grady", [e3], {"lastSuccessfulSignInDateTime": days(60)}),
            ("isaiah", [e3], None),
            ("johanna", [e3], {"lastSignInDateTime": None, "lastSuccessfulSignInDateTime": None}),
            ("lee", [e5], {"lastSuccessfulSignInDateTime": days(2)}),
            ("lidia", [e5], {"lastSuccessfulSignInDateTime": days(31)}),
            ("megan", [e5], {"lastSuccessfulSignInDateTime": days(29)}),
            ("nestor", [], {"lastSuccessfulSignInDateTime": days(1)}),
        ]
        ms.users = [
            {
                "id": f"{n:08d}-0000-4000-8000-000000000000",
                "userPrincipalName": f"{name}@contoso.onmicrosoft.com",
                "assignedLicenses": [{"disabledPlans": [], "skuId": sku} for sku in skus],
                "signInActivity": activity,
            }
            for n, (name, skus, activity) in enumerate(holders, start=1)
        ]
        client_email = "inventory@acme-itam.iam.gserviceaccount.com"
        if not self.google.service_account:
            self.google.service_account, self.google.public_key = google_service_account(client_email)
        self.google.assignments = [
            _assignment(f"user{n}@acme.test", "1010020028", "Google Workspace Business Standard")
            for n in range(1, 6)
        ] + [
            _assignment(f"exec{n}@acme.test", "1010020025", "Google Workspace Business Plus")
            for n in range(1, 3)
        ]
        self.okta.users = [
            _okta_user("00u1", "ana@acme.test", days(3)),
            _okta_user("00u2", "ben@acme.test", days(40)),
            _okta_user("00u3", "cai@acme.test", None),
            _okta_user("00u4", "dee@acme.test", days(12)),
            _okta_user("00u5", "eli@acme.test", days(100)),
        ]
        self.okta.apps = [
            _okta_app("0oa1sfdc", "salesforce", "Salesforce.com", "ACTIVE"),
            _okta_app("0oa2zoom", "zoomus", "Zoom", "ACTIVE"),
            _okta_app("0oa3old", "box", "Box", "INACTIVE"),
            _okta_app("0oa4wiki", "acme_wiki_1", "Acme Wiki", "ACTIVE"),
        ]
        self.okta.app_users = {
            "0oa1sfdc": [_app_user(u, f"{u}@sfdc") for u in ("00u1", "00u2", "00u3", "00u9")],
            "0oa2zoom": [_app_user(u, f"{u}@zoom") for u in ("00u1", "00u2", "00u3", "00u4", "00u5")],
            "0oa3old": [_app_user("00u1", "ana")],
            "0oa4wiki": [],
        }
        self.github.billing = {
            "seat_breakdown": {
                "total": 12,
                "added_this_cycle": 2,
                "pending_invitation": 0,
                "pending_cancellation": 1,
                "active_this_cycle": 4,
                "inactive_this_cycle": 3,
            },
            "seat_management_setting": "assign_selected",
            "ide_chat": "enabled",
            "platform_chat": "enabled",
            "cli": "enabled",
            "public_code_suggestions": "block",
            "plan_type": "business",
        }
        activity = [
            ("octocat", 1),
            ("hubot", 3),
            ("monalisa", 20),
            ("defunkt", 35),
            ("mojombo", 90),
            ("pjhyett", None),
            ("wycats", 29),
        ]
        self.github.seats = [_seat(n, login, days(age)) for n, (login, age) in enumerate(activity, start=1)]
        self.slack.billable = {f"U0MEMBER{n:02d}": {"billing_active": n <= 6} for n in range(1, 9)}


def _sku(sku_id: str, part: str, *, enabled: int, consumed: int, suspended: int = 0) -> dict[str, Any]:
    return {
        "accountId": "f2a1b7e0-0000-4000-8000-000000000001",
        "accountName": "Contoso",
        "appliesTo": "User",
        "capabilityStatus": "Enabled",
        "consumedUnits": consumed,
        "id": f"f2a1b7e0-0000-4000-8000-000000000001_{sku_id}",
        "prepaidUnits": {"enabled": enabled, "suspended": suspended, "warning": 0, "lockedOut": 0},
        "servicePlans": [
            {
                "servicePlanId": "113feb6c-3fe4-4440-bddc-54d774bf0318",
                "servicePlanName": "EXCHANGE_S_ENTERPRISE",
                "provisioningStatus": "Success",
                "appliesTo": "User",
            }
        ],
        "skuId": sku_id,
        "skuPartNumber": part,
        "subscriptionIds": ["9ec3d1f4-0000-4000-8000-00000000000a"],
    }


def _assignment(user: str, sku_id: str, sku_name: str) -> dict[str, Any]:
    return {
        "userId": user,
        "productId": "Google-Apps",
        "skuId": sku_id,
        "skuName": sku_name,
        "productName": "Google Workspace",
    }


def _okta_user(user_id: str, login: str, last_login: str | None) -> dict[str, Any]:
    return {
        "id": user_id,
        "status": "ACTIVE",
        "created": "2024-01-10T09:00:00.000Z",
        "activated": "2024-01-10T09:05:00.000Z",
        "statusChanged": "2024-01-10T09:05:00.000Z",
        "lastLogin": last_login,
        "lastUpdated": "2025-02-01T10:00:00.000Z",
        "passwordChanged": "2024-01-10T09:05:00.000Z",
        "type": {"id": "oty1defaulttype"},
        "profile": {
            "firstName": login.split("@")[0].title(),
            "lastName": "Acme",
            "login": login,
            "email": login,
        },
        "credentials": {"provider": {"type": "OKTA", "name": "OKTA"}},
        "_links": {"self": {"href": f"https://acme.okta.com/api/v1/users/{user_id}"}},
    }


def _okta_app(app_id: str, name: str, label: str, status: str) -> dict[str, Any]:
    return {
        "id": app_id,
        "name": name,
        "label": label,
        "status": status,
        "created": "2023-05-01T12:00:00.000Z",
        "lastUpdated": "2025-01-15T08:00:00.000Z",
        "signOnMode": "SAML_2_0",
        "features": [],
        "_links": {"users": {"href": f"https://acme.okta.com/api/v1/apps/{app_id}/users"}},
    }


def _app_user(user_id: str, user_name: str) -> dict[str, Any]:
    return {
        "id": user_id,
        "externalId": None,
        "created": "2024-02-01T10:00:00.000Z",
        "lastUpdated": "2024-02-01T10:00:00.000Z",
        "scope": "USER",
        "status": "ACTIVE",
        "statusChanged": "2024-02-01T10:00:00.000Z",
        "passwordChanged": None,
        "syncState": "DISABLED",
        "credentials": {"userName": user_name},
        "profile": {},
        "_links": {"user": {"href": f"https://acme.okta.com/api/v1/users/{user_id}"}},
    }


def _seat(n: int, login: str, last_activity_at: str | None) -> dict[str, Any]:
    return {
        "created_at": "2025-01-06T12:00:00Z",
        "updated_at": "2025-06-01T12:00:00Z",
        "pending_cancellation_date": None,
        "last_activity_at": last_activity_at,
        "last_activity_editor": "vscode/1.95.0/copilot/1.250.0" if last_activity_at else None,
        "plan_type": "business",
        "assignee": {
            "login": login,
            "id": 1000 + n,
            "node_id": f"MDQ6VXNlcj{n}",
            "type": "User",
            "site_admin": False,
            "url": f"https://api.github.com/users/{login}",
        },
        "assigning_team": None,
    }
