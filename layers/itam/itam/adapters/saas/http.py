"""The HTTP client the SaaS connectors share.

Every provider response is untrusted input, and every provider may throttle:
- a request goes only to the provider's own origin (scheme, host and port of its base URL); a
  pagination link anywhere else stops the run, and redirects are never followed;
- a body is read in chunks and refused past `max_response_bytes`, so no answer is ever held
  whole when it is too large;
- 429 (and a 403 that is a rate limit: `Retry-After`, `X-RateLimit-Remaining: 0`, or GitHub's
  secondary limit) waits as the provider asks (`Retry-After` in seconds or as an HTTP date, else
  the `X-Rate-Limit-Reset` / `X-RateLimit-Reset` epoch), at most `max_wait` seconds a time;
  5xx and connection failures wait a full-jitter exponential backoff; both at most `max_attempts`
  times in all;
- 401 and 403 end the run with ConnectorAuthError carrying the provider's own message; any other
  refusal, a body that is not JSON, or retries running out end it with ConnectorError;
- pages and records are counted against the run's limits (InventoryLimitExceeded past them);
- secrets (credentials and access tokens) are scrubbed from every message and warning.
"""

from __future__ import annotations

import email.utils
import json
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlencode, urlsplit

import urllib3
from urllib3.exceptions import HTTPError as TransportError

from itam.inventory.errors import ConnectorAuthError, ConnectorError, InventoryLimitExceeded
from itam.inventory.saas import add_warning

USER_AGENT = "itam-saas-inventory/1.0"
AUTH_STATUSES = frozenset({401, 403})
NO_MESSAGE = "no readable error message"
CHUNK = 64 * 1024
RENEW_BEFORE_SECONDS = 300


@dataclass(frozen=True, slots=True)
class SaasLimits:
    """What one collect run may cost: requests, records, bytes, attempts and waiting."""

    max_pages: int = 20_000
    max_records: int = 2_000_000
    max_response_bytes: int = 5 * 1024 * 1024
    max_attempts: int = 6
    max_wait: float = 60.0
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    connect_timeout: float = 5.0
    read_timeout: float = 30.0


# --- small readers --------------------------------------------------------------------------------


def _whole_number(text: str | None) -> int | None:
    """A non-negative integer written in ASCII digits, else None."""
    text = (text or "").strip()
    return int(text) if text.isascii() and text.isdigit() else None


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After value: delay-seconds or an HTTP date (relative to `now`,
    epoch seconds). None when absent or unreadable; never negative."""
    if value is None:
        return None
    seconds = _whole_number(value)
    if seconds is not None:
        return float(seconds)
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now)


def rate_limit_wait(headers: Mapping[str, str], now: float, *, exhausted: bool) -> float | None:
    """Seconds a throttled response asks for: Retry-After first; when the quota is exhausted, the
    epoch of X-Rate-Limit-Reset (Okta) or X-RateLimit-Reset (GitHub). `now` should be the
    response's own Date when it has one."""
    hinted = parse_retry_after(headers.get("retry-after"), now)
    if hinted is not None or not exhausted:
        return hinted
    reset = _whole_number(headers.get("x-rate-limit-reset") or headers.get("x-ratelimit-reset"))
    return max(0.0, reset - now) if reset is not None else None


_LINK = re.compile(r"<([^>]*)>([^,<]*)")


def next_link(value: str | None) -> str | None:
    """The rel="next" target of an RFC 8288 Link header (Okta, GitHub), or None."""
    for match in _LINK.finditer(value or ""):
        for param in match.group(2).split(";"):
            name, _, rel = param.partition("=")
            if name.strip().lower() == "rel" and "next" in rel.strip().strip('"').lower().split():
                return match.group(1).strip()
    return None


def _clean(value: Any, limit: int) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = re.sub(r"[\x00-\x1f\x7f]+", " ", str(value)).strip()
    return text[:limit] or None


def provider_error(body: bytes) -> tuple[str | None, str]:
    """(code, message) of a provider's error body, whichever documented shape it has: Graph and
    Google APIs {"error": {"code", "message", "status"}}, OAuth token endpoints and Slack {"error",
    "error_description"}, Okta {"errorCode", "errorSummary"}, GitHub {"message"}."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        return None, NO_MESSAGE
    if not isinstance(doc, dict):
        return None, NO_MESSAGE
    error = doc.get("error")
    if isinstance(error, dict):
        # Graph's code is a name; Google's is the HTTP status, with the name in "status"
        named = [c for c in (error.get("code"), error.get("status")) if isinstance(c, str)]
        code, message = named[0] if named else error.get("code"), error.get("message")
    elif isinstance(error, str):
        code, message = error, doc.get("error_description") or error
        needed = _clean(doc.get("needed"), 200)
        message = f"{message} (needed: {needed})" if needed else message
    elif "errorCode" in doc:
        code, message = doc.get("errorCode"), doc.get("errorSummary")
    else:
        code, message = None, doc.get("message")
    return _clean(code, 100), _clean(message, 500) or NO_MESSAGE


def origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an http(s) URL without credentials in it; None for anything else."""
    try:
        parts: SplitResult = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return None
    return parts.scheme, parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80)


def resolve_bases(defaults: Mapping[str, str], overrides: Mapping[str, str] | None) -> dict[str, str]:
    """The provider's base URLs: its fixed ones, or (test configuration only) those in `overrides`
    for the same logical host names."""
    bases = {}
    for name, default in defaults.items():
        value = (overrides or {}).get(name, default)
        if origin(value) is None or urlsplit(value).query or urlsplit(value).fragment:
            raise ValueError(f"endpoint {name!r} must be an http(s) base URL")
        bases[name] = value.rstrip("/")
    return bases


# --- responses -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Response:
    provider: str
    status: int
    headers: Mapping[str, str]
    body: bytes
    path: str

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):
            raise ConnectorError(
                f"{self.provider} answered {self.path} with something that is not JSON",
                code="malformed_response",
            ) from None

    def json_object(self) -> dict[str, Any]:
        doc = self.json()
        if not isinstance(doc, dict):
            raise ConnectorError(
                f"{self.provider} answered {self.path} with JSON that is not an object",
                code="malformed_response",
            )
        return doc

    def json_array(self) -> list[Any]:
        doc = self.json()
        if not isinstance(doc, list):
            raise ConnectorError(
                f"{self.provider} answered {self.path} with JSON that is not an array",
                code="malformed_response",
            )
        return doc


def malformed(provider: str, detail: str) -> ConnectorError:
    """The error for a page whose shape cannot be read."""
    return ConnectorError(f"{provider}: {detail}", code="malformed_response")


def access_token(response: Response) -> tuple[str, int]:
    """(access_token, expires_in) of an OAuth 2.0 token response."""
    doc = response.json_object()
    token, expires = doc.get("access_token"), doc.get("expires_in")
    if not isinstance(token, str) or not re.fullmatch(r"[\x21-\x7e]{1,8192}", token):
        raise malformed(response.provider, "the token endpoint returned no usable access_token")
    if isinstance(expires, str):
        expires = _whole_number(expires)
    return token, expires if isinstance(expires, int) and not isinstance(expires, bool) else 3600


# --- the run: budget, clients, warnings ----------------------------------------------------------


class RunBudget:
    """Pages and records one run has used, against its limits."""

    def __init__(self, provider: str, limits: SaasLimits) -> None:
        self._provider, self._limits = provider, limits
        self.pages = 0
        self.records = 0

    def page(self) -> None:
        self.pages += 1
        if self.pages > self._limits.max_pages:
            raise InventoryLimitExceeded(
                f"{self._provider}: more than {self._limits.max_pages} requests in one run",
                code="too_many_pages",
            )

    def count(self, records: int) -> None:
        self.records += records
        if self.records > self._limits.max_records:
            raise InventoryLimitExceeded(
                f"{self._provider}: more than {self._limits.max_records} records in one run",
                code="too_many_records",
            )


class PageGuard:
    """Stops a pagination that comes back to a cursor or link it has already followed."""

    def __init__(self, provider: str) -> None:
        self._provider = provider
        self._seen: set[str] = set()

    def check(self, cursor: str) -> None:
        if cursor in self._seen:
            raise ConnectorError(
                f"{self._provider}: pagination came back to a page already read", code="pagination_loop"
            )
        self._seen.add(cursor)


class HttpClient:
    """Requests to one of a provider's hosts (see the module docstring for what it enforces)."""

    def __init__(
        self,
        session: ProviderSession,
        base_url: str,
        *,
        auth: Callable[[], Mapping[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._session = session
        self._base = base_url
        self._origin = origin(base_url)
        self._auth = auth
        self._headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})}

    @property
    def provider(self) -> str:
        return self._session.provider

    def url(self, path: str, params: Mapping[str, str | int] | None = None) -> str:
        """An absolute URL on this host; `path` must already be quoted."""
        query = f"?{urlencode(params, safe='$,')}" if params else ""
        return f"{self._base}{path}{query}"

    def get(
        self, url: str, *, allow: frozenset[int] = frozenset(), auth_statuses: frozenset[int] = AUTH_STATUSES
    ) -> Response:
        """GET `url` (which must be on this host). Statuses in `allow` are returned, not raised."""
        return self._call("GET", url, None, {}, allow, auth_statuses)

    def post_form(
        self,
        url: str,
        fields: Mapping[str, str],
        *,
        auth_statuses: frozenset[int] = AUTH_STATUSES,
    ) -> Response:
        """POST an application/x-www-form-urlencoded body (OAuth token requests)."""
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return self._call("POST", url, urlencode(fields).encode(), headers, frozenset(), auth_statuses)

    # -- one call, with its retries ---------------------------------------------------------------

    def _call(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: Mapping[str, str],
        allow: frozenset[int],
        auth_statuses: frozenset[int],
    ) -> Response:
        self._check_origin(url)
        session, limits = self._session, self._session.limits
        session.budget.page()
        for attempt in range(1, limits.max_attempts + 1):
            try:
                response = self._send(method, url, body, headers)
            except (TransportError, OSError) as exc:
                problem = ConnectorError(
                    f"{self.provider} could not be reached ({type(exc).__name__})",
                    code="unreachable",
                    retryable=True,
                )
                wait = self._backoff(attempt)
            else:
                if 200 <= response.status < 300 or response.status in allow:
                    return response
                throttled = self._throttled(response)
                if not throttled and response.status < 500:
                    raise self._refused(response, auth_statuses)
                problem = ConnectorError(
                    f"{self.provider} answered HTTP {response.status} for {response.path} "
                    f"{limits.max_attempts} times",
                    code="rate_limited" if throttled else "provider_unavailable",
                    retryable=True,
                )
                wait = self._wait(response, attempt, throttled)
            if attempt < limits.max_attempts:
                session.sleep(wait)
        raise problem

    def _send(self, method: str, url: str, body: bytes | None, headers: Mapping[str, str]) -> Response:
        sent = {**self._headers, **(self._auth() if self._auth else {}), **headers}
        raw = self._session.pool.request(
            method, url, body=body, headers=sent, preload_content=False, redirect=False, retries=False
        )
        try:
            data = self._read(raw, url)
        except BaseException:
            raw.close()  # drop the connection rather than drain an unwanted body
            raise
        raw.release_conn()
        # A header sent more than once (Okta sends one Link header per relation) is joined with ", ".
        headers_seen = {name.lower(): raw.headers.get(name, "") for name in raw.headers}
        return Response(self.provider, raw.status, headers_seen, data, urlsplit(url).path[:200])

    def _read(self, raw: urllib3.BaseHTTPResponse, url: str) -> bytes:
        cap = self._session.limits.max_response_bytes
        too_large = ConnectorError(
            f"{self.provider} answered {urlsplit(url).path[:200]} with more than {cap} bytes",
            code="response_too_large",
        )
        declared = _whole_number(raw.headers.get("content-length"))
        if declared is not None and declared > cap:
            raise too_large
        chunks, size = [], 0
        while chunk := raw.read(CHUNK):
            size += len(chunk)
            if size > cap:
                raise too_large
            chunks.append(chunk)
        return b"".join(chunks)

    def _check_origin(self, url: str) -> None:
        if self._origin is None or origin(url) != self._origin:
            found = origin(url)
            where = found[1] if found else "an unreadable URL"
            raise ConnectorError(
                f"{self.provider} sent a link to another host ({where}); it was not followed",
                code="foreign_link",
            )

    # -- classifying and waiting ------------------------------------------------------------------

    def _throttled(self, response: Response) -> bool:
        if response.status == 429:
            return True
        if response.status != 403:
            return False
        headers = response.headers
        if "retry-after" in headers or "0" in (
            headers.get("x-ratelimit-remaining"),
            headers.get("x-rate-limit-remaining"),
        ):
            return True
        return "rate limit" in provider_error(response.body)[1].lower()

    def _wait(self, response: Response, attempt: int, throttled: bool) -> float:
        limits = self._session.limits
        headers = response.headers
        exhausted = response.status == 429 or "0" in (
            headers.get("x-ratelimit-remaining"),
            headers.get("x-rate-limit-remaining"),
        )
        hinted = rate_limit_wait(headers, self._reference_time(headers), exhausted=throttled and exhausted)
        if hinted is not None:
            return min(hinted, limits.max_wait)
        if throttled and response.status == 403:
            return limits.max_wait  # GitHub: a secondary rate limit without a hint: wait a minute
        return self._backoff(attempt)

    def _reference_time(self, headers: Mapping[str, str]) -> float:
        """The response's Date (reset epochs are the provider's clock), else this host's clock."""
        try:
            when = email.utils.parsedate_to_datetime(headers.get("date", ""))
        except (TypeError, ValueError, IndexError):
            return time.time()
        return when.timestamp() if when is not None else time.time()

    def _backoff(self, attempt: int) -> float:
        limits = self._session.limits
        ceiling = min(limits.backoff_cap, limits.backoff_base * 2 ** (attempt - 1))
        return self._session.rng.uniform(0.0, ceiling)

    def _refused(self, response: Response, auth_statuses: frozenset[int]) -> ConnectorError:
        code, message = provider_error(response.body)
        message = self._session.redact(message)
        if response.status in auth_statuses:
            return ConnectorAuthError(
                f"{self.provider} refused the credentials (HTTP {response.status}): {message}",
                code=code or f"http_{response.status}",
                provider_message=message,
            )
        if 300 <= response.status < 400:
            return ConnectorError(
                f"{self.provider} answered {response.path} with a redirect; it was not followed",
                code="unexpected_redirect",
            )
        return ConnectorError(
            f"{self.provider} answered HTTP {response.status} for {response.path}: {message}",
            code=code or f"http_{response.status}",
        )


class ProviderSession:
    """What one collect run of one provider shares: its hosts, connection pool, retry policy,
    limits, secrets to scrub, and warnings."""

    def __init__(
        self,
        provider: str,
        bases: Mapping[str, str],
        *,
        limits: SaasLimits,
        sleep: Callable[[float], None],
        rng: random.Random,
        secrets: Sequence[str],
        warnings: list[str],
    ) -> None:
        self.provider = provider
        self.limits = limits
        self.sleep = sleep
        self.rng = rng
        self.warnings = warnings
        self.budget = RunBudget(provider, limits)
        self.pool = urllib3.PoolManager(
            num_pools=4,
            maxsize=1,
            retries=False,
            timeout=urllib3.Timeout(connect=limits.connect_timeout, read=limits.read_timeout),
        )
        self._bases = dict(bases)
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def client(
        self,
        host: str,
        *,
        auth: Callable[[], Mapping[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpClient:
        return HttpClient(self, self._bases[host], auth=auth, headers=headers)

    def keep_secret(self, value: str) -> None:
        """Scrub `value` (e.g. an access token obtained during the run) from messages from now on."""
        if len(value) >= 4 and value not in self._secrets:
            self._secrets = sorted([*self._secrets, value], key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text

    def warn(self, message: str) -> None:
        add_warning(self.warnings, self.redact(f"{self.provider}: {message}"))

    def count(self, records: int) -> None:
        self.budget.count(records)

    def close(self) -> None:
        self.pool.clear()


class BearerToken:
    """An OAuth access token, fetched when first needed and again shortly before it expires."""

    def __init__(self, session: ProviderSession, fetch: Callable[[], tuple[str, int]]) -> None:
        self._session = session
        self._fetch = fetch
        self._token: str | None = None
        self._renew_at = 0.0

    def header(self) -> dict[str, str]:
        if self._token is None or time.monotonic() >= self._renew_at:
            token, expires_in = self._fetch()
            self._session.keep_secret(token)
            self._token = token
            self._renew_at = time.monotonic() + max(60, expires_in - RENEW_BEFORE_SECONDS)
        return {"Authorization": f"Bearer {self._token}"}


def link_pages(client: HttpClient, url: str) -> Iterator[Response]:
    """Every page of a listing paged by Link: rel="next" headers (Okta, GitHub)."""
    guard = PageGuard(client.provider)
    following: str | None = url
    while following is not None:
        guard.check(following)
        response = client.get(following)
        yield response
        following = next_link(response.headers.get("link"))
