"""A local API Gateway HTTP API: template routes, JWT authorizer, payload 2.0 events, in-process handlers.

Deliberate differences from the managed service: a rejected token gets a problem+json body that says
why (the managed service answers {"message":"Unauthorized"}), and a function's execution environments
are imports of its handler module in this process (each with its own logging state, infra.local.logs),
not processes of their own.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import logging
import queue
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, unquote

from infra.local.iam_rules import calling_function
from infra.local.jwt_verify import JwtVerifier, TokenError, VerifiedToken, bearer_token
from infra.local.logs import LogState, isolate_environments
from infra.local.resources import StackResources
from infra.local.template import (
    ACCOUNT_ID,
    REPO_ROOT,
    Cors,
    FunctionSpec,
    Resolver,
    Route,
    TemplateError,
    api_cors,
    http_routes,
)

log = logging.getLogger("infra.local.gateway")
access_log = logging.getLogger("infra.local.access")

MAX_REQUEST_BYTES = 10 * 1024 * 1024
MAX_LAMBDA_PAYLOAD_BYTES = 6 * 1024 * 1024
JSON = "application/json"
# Execution environments per function: enough for concurrent requests to really race, as on Lambda.
DEFAULT_CONCURRENCY = 10


@dataclass
class Request:
    """An HTTP request as the gateway sees it."""

    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"

    @property
    def raw_path(self) -> str:
        """The path as sent, without the query string."""
        return self.target.split("?", 1)[0] or "/"

    @property
    def raw_query(self) -> str:
        """The query string as sent."""
        return self.target.split("?", 1)[1] if "?" in self.target else ""

    def header(self, name: str) -> str | None:
        """A header's value, duplicates comma-joined; None when absent."""
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return ",".join(values) if values else None


@dataclass
class Response:
    """An HTTP response, plus what the access log reports about it."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    route_key: str = "-"
    auth_error: str = ""
    integration_error: str = ""
    preflight: bool = False
    function_request_id: str | None = None


def json_response(
    status: int, payload: Any, content_type: str = JSON, *, auth_error: str = "", integration_error: str = ""
) -> Response:
    """A response with a JSON body."""
    body = json.dumps(payload).encode()
    return Response(
        status,
        [("content-type", content_type)],
        body,
        auth_error=auth_error,
        integration_error=integration_error,
    )


def api_error(status: int, message: str, *, auth_error: str = "", integration_error: str = "") -> Response:
    """The gateway's own error body, as the managed service words it."""
    return json_response(
        status, {"message": message}, auth_error=auth_error, integration_error=integration_error
    )


# ---------------------------------------------------------------- routing


def _segment_rank(segment: str) -> int:
    if segment.startswith("{") and segment.endswith("+}"):
        return 2
    return 1 if segment.startswith("{") and segment.endswith("}") else 0


def route_priority(route: Route) -> tuple[int, tuple[int, ...], int]:
    """Sort key: literal segments beat {param}, which beats {proxy+}; an explicit method beats ANY."""
    if route.path == "$default":
        return (1, (), 1)
    segments = route.path.lstrip("/").split("/")
    return (0, tuple(_segment_rank(s) for s in segments), int(route.method == "ANY"))


def match_path(template_path: str, raw_path: str) -> dict[str, str] | None:
    """Path parameters if raw_path matches a route path like /v1/assets/{id} or /v1/{proxy+}."""
    if template_path == "$default":
        return {}
    pattern = template_path.lstrip("/").split("/")
    actual = raw_path.lstrip("/").split("/")
    params: dict[str, str] = {}
    for index, segment in enumerate(pattern):
        rank = _segment_rank(segment)
        if rank == 2:
            rest = "/".join(actual[index:])
            if not rest:
                return None
            params[segment[1:-2]] = unquote(rest)
            return params
        if index >= len(actual):
            return None
        if rank == 1:
            if not actual[index]:
                return None
            params[segment[1:-1]] = unquote(actual[index])
        elif unquote(actual[index]) != segment:
            return None
    return params if len(actual) == len(pattern) else None


class RouteTable:
    """Routes in API Gateway priority order."""

    def __init__(self, routes: list[Route]) -> None:
        self.routes = sorted(routes, key=route_priority)

    def match(self, method: str, raw_path: str) -> tuple[Route, dict[str, str]] | None:
        """The most specific route for a request, with its path parameters."""
        for route in self.routes:
            if route.method not in ("ANY", method.upper()):
                continue
            params = match_path(route.path, raw_path)
            if params is not None:
                return route, params
        return None


# ---------------------------------------------------------------- functions


@dataclass
class LambdaContext:
    """The parts of the Lambda context object handlers and their libraries read."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    deadline_ms: int
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's timeout."""
        return max(0, self.deadline_ms - int(time.time() * 1000))


class FunctionTimeoutError(Exception):
    """The handler ran past the function's Timeout."""


@dataclass
class _Environment:
    """One execution environment: its import of the handler module and its own logging state."""

    handler: Callable[[Any, Any], Any]
    logs: LogState


class FunctionRuntime:
    """One function's execution environments: each imports the handler module afresh and runs one
    event at a time, as on Lambda; concurrent requests get more environments, up to `concurrency`."""

    def __init__(
        self,
        spec: FunctionSpec,
        function_name: str,
        region: str,
        root: Path = REPO_ROOT,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self.spec = spec
        self.function_name = function_name
        self.arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{function_name}"
        self.root = root
        self._slots = threading.BoundedSemaphore(max(1, concurrency))
        self._idle: queue.SimpleQueue[_Environment] = queue.SimpleQueue()
        self._created = 0
        self._created_lock = threading.Lock()
        # The environments share this process: each keeps its own logger keys, as a process would.
        isolate_environments()

    def load(self) -> None:
        """Start one execution environment (an import of the handler module) and keep it idle."""
        self._idle.put(self._new_environment())

    def _new_environment(self) -> _Environment:
        """Import the handler module by file path under a module name unique to this environment."""
        code_root = self.root / self.spec.code_uri
        path = code_root / (self.spec.module_name.replace(".", "/") + ".py")
        if not path.is_file():
            raise TemplateError(f"{self.spec.logical_id}: handler module {path} does not exist")
        with self._created_lock:
            # Lambda runs a function from its code root: the handler's sibling packages import by name.
            if str(code_root) not in sys.path:
                sys.path.append(str(code_root))
            self._created += 1
            module_name = f"_itam_local_function_{self.spec.logical_id}_{self._created}"
        module_spec = importlib.util.spec_from_file_location(module_name, path)
        if module_spec is None or module_spec.loader is None:
            raise TemplateError(f"{self.spec.logical_id}: cannot import {path}")
        module: ModuleType = importlib.util.module_from_spec(module_spec)
        logs = LogState()
        # What the module does at import (a Logger's keys appended at init) is this environment's.
        logs.run(module_spec.loader.exec_module, module)
        handler: Callable[[Any, Any], Any] = getattr(module, self.spec.attribute)
        return _Environment(handler, logs)

    def invoke(self, event: Mapping[str, Any], request_id: str | None = None) -> Any:
        """Run the event in an idle environment (or a new one), as Lambda request `request_id` (a new id
        if None); raise FunctionTimeoutError if it overran."""
        with self._slots:
            try:
                environment = self._idle.get_nowait()
            except queue.Empty:
                environment = self._new_environment()
            try:
                started = time.time()
                context = LambdaContext(
                    function_name=self.function_name,
                    memory_limit_in_mb=self.spec.memory_mb,
                    invoked_function_arn=self.arn,
                    aws_request_id=request_id or str(uuid.uuid4()),
                    deadline_ms=int((started + self.spec.timeout_s) * 1000),
                    log_group_name=f"/aws/lambda/{self.function_name}",
                )
                with calling_function(self.spec.logical_id):
                    result = environment.logs.invoke(environment.handler, dict(event), context)
                elapsed = time.time() - started
            finally:
                self._idle.put(environment)
        if elapsed > self.spec.timeout_s:
            raise FunctionTimeoutError(f"Task timed out after {self.spec.timeout_s:.2f} seconds")
        return result


# ---------------------------------------------------------------- events and results


def _event_headers(request: Request) -> tuple[dict[str, str], list[str]]:
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    headers.setdefault("x-forwarded-for", request.source_ip)
    headers.setdefault("x-forwarded-proto", "http")
    return headers, cookies


def _query_parameters(raw_query: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        params[key] = f"{params[key]},{value}" if key in params else value
    return params


def build_event(
    request: Request,
    route: Route,
    path_params: Mapping[str, str],
    *,
    request_id: str,
    api_id: str,
    token: VerifiedToken | None,
    now: float | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API payload format 2.0 event."""
    now = time.time() if now is None else now
    headers, cookies = _event_headers(request)
    host = headers.get("host", "localhost").split(":")[0]
    context: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "apiId": api_id,
        "domainName": host,
        "domainPrefix": host.split(".")[0],
        "http": {
            "method": request.method.upper(),
            "path": unquote(request.raw_path),
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route.route_key,
        "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }
    if token is not None:
        context["authorizer"] = {"jwt": {"claims": token.claims, "scopes": token.scopes}}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
        "headers": headers,
        "requestContext": context,
        "isBase64Encoded": False,
        "stageVariables": None,
    }
    if cookies:
        event["cookies"] = cookies
    if request.raw_query:
        event["queryStringParameters"] = _query_parameters(request.raw_query)
    if path_params:
        event["pathParameters"] = dict(path_params)
    if request.body:
        try:
            event["body"] = request.body.decode("utf-8")
        except UnicodeDecodeError:
            event["body"] = base64.b64encode(request.body).decode("ascii")
            event["isBase64Encoded"] = True
    return event


class IntegrationError(Exception):
    """The function's result is not a valid HTTP API response."""


def _result_headers(result: Mapping[str, Any]) -> list[tuple[str, str]]:
    headers = [(str(k), str(v)) for k, v in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((str(name), str(v)) for v in values)
    headers.extend(("set-cookie", str(c)) for c in result.get("cookies") or [])
    return headers


def result_to_response(result: Any) -> Response:
    """Turn a format 2.0 Lambda result into the HTTP response the HTTP API would send."""
    if not (isinstance(result, dict) and "statusCode" in result):
        # Without a statusCode the HTTP API sends the whole result as a JSON 200.
        try:
            return Response(200, [("content-type", JSON)], json.dumps(result).encode())
        except (TypeError, ValueError) as error:
            raise IntegrationError(f"result is not JSON serialisable: {error}") from None
    status = result["statusCode"]
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise IntegrationError(f"invalid statusCode {status!r}")
    body = result.get("body")
    if body is None:
        payload = b""
    elif not isinstance(body, str):
        raise IntegrationError(f"body must be a string, got {type(body).__name__}")
    elif result.get("isBase64Encoded"):
        try:
            payload = base64.b64decode(body, validate=True)
        except ValueError:
            raise IntegrationError("isBase64Encoded is true but body is not base64") from None
    else:
        payload = body.encode("utf-8")
    return Response(status, _result_headers(result), payload)


# ---------------------------------------------------------------- CORS


def _origin_allowed(cors: Cors, origin: str) -> str | None:
    if origin in cors.allow_origins:
        return origin
    if "*" in cors.allow_origins:
        return origin if cors.allow_credentials else "*"
    return None


def preflight(cors: Cors, request: Request) -> Response:
    """The answer the HTTP API gives an OPTIONS preflight itself when CORS is configured."""
    response = Response(204, preflight=True)
    allowed = _origin_allowed(cors, request.header("origin") or "")
    if allowed:
        response.headers.append(("access-control-allow-origin", allowed))
        if cors.allow_methods:
            response.headers.append(("access-control-allow-methods", ",".join(cors.allow_methods)))
        if cors.allow_headers:
            response.headers.append(("access-control-allow-headers", ",".join(cors.allow_headers)))
        if cors.max_age is not None:
            response.headers.append(("access-control-max-age", str(cors.max_age)))
        if cors.allow_credentials:
            response.headers.append(("access-control-allow-credentials", "true"))
    return response


def apply_cors(cors: Cors, request: Request, response: Response) -> None:
    """Replace the backend's CORS headers with the API's, as the HTTP API does."""
    origin = request.header("origin")
    if not origin:
        return
    response.headers = [(k, v) for k, v in response.headers if not k.lower().startswith("access-control-")]
    allowed = _origin_allowed(cors, origin)
    if not allowed:
        return
    response.headers.append(("access-control-allow-origin", allowed))
    if cors.expose_headers:
        response.headers.append(("access-control-expose-headers", ",".join(cors.expose_headers)))
    if cors.allow_credentials:
        response.headers.append(("access-control-allow-credentials", "true"))


# ---------------------------------------------------------------- the gateway


def unauthorized(detail: str, instance: str) -> Response:
    """401 with an RFC 9457 problem body and a Bearer challenge; the detail never holds the token."""
    response = json_response(
        401,
        {
            "type": "about:blank",
            "title": "Unauthorized",
            "status": 401,
            "detail": detail,
            "instance": instance,
        },
        content_type="application/problem+json",
        auth_error=detail,
    )
    challenge = f'Bearer error="invalid_token", error_description="{detail}"'
    if detail == "missing bearer token":
        challenge = "Bearer"
    response.headers.append(("www-authenticate", challenge))
    return response


class Gateway:
    """Maps one HttpApi's routes to in-process handlers, checking JWTs like the HTTP API authorizer."""

    def __init__(
        self,
        routes: list[Route],
        *,
        runtimes: Mapping[str, FunctionRuntime],
        verifiers: Mapping[str, JwtVerifier],
        api_id: str = "local",
        cors: Cors | None = None,
    ) -> None:
        self.table = RouteTable(routes)
        self.runtimes = dict(runtimes)
        self.verifiers = dict(verifiers)
        self.api_id = api_id
        self.cors = cors
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def from_template(
        cls,
        template: Mapping[str, Any],
        stack: StackResources,
        *,
        moto_url: str,
        root: Path = REPO_ROOT,
        api_logical_id: str | None = None,
    ) -> Gateway:
        """Build the gateway for the template's HttpApi (the only one, or api_logical_id)."""
        routes = http_routes(template)
        api_ids = sorted({r.api_id for r in routes})
        if api_logical_id is None and len(api_ids) > 1:
            raise TemplateError(f"several HttpApis ({api_ids}); choose one with api_logical_id")
        api = api_logical_id or (api_ids[0] if api_ids else "ServerlessHttpApi")
        routes = [r for r in routes if r.api_id == api]
        resolver = stack.resolver()
        runtimes = {
            spec.logical_id: FunctionRuntime(
                spec, resolved_function_name(spec, resolver, stack), stack.region, root
            )
            for spec in {r.function.logical_id: r.function for r in routes}.values()
        }
        verifiers = {
            r.authorizer.name: _verifier(r.authorizer.issuer, r.authorizer.audience, resolver, moto_url)
            for r in routes
            if r.authorizer is not None
        }
        for r in routes:
            if r.authorizer and r.authorizer.identity_source.lower() != "$request.header.authorization":
                raise TemplateError(f"{r.route_key}: only $request.header.Authorization is supported")
        return cls(
            routes,
            runtimes=runtimes,
            verifiers=verifiers,
            api_id=stack.refs.get(api, "local"),
            cors=api_cors(template, api),
        )

    def load_functions(self) -> None:
        """Import every handler now, so a broken module fails at start rather than on first request."""
        for runtime in self.runtimes.values():
            runtime.load()

    def _authorise(self, route: Route, request: Request) -> VerifiedToken | Response | None:
        if route.authorizer is None:
            return None
        try:
            verifier = self.verifiers[route.authorizer.name]
            token = verifier.verify(bearer_token(request.header("authorization")))
        except TokenError as error:
            return unauthorized(str(error), request.raw_path)
        if route.authorization_scopes and not set(route.authorization_scopes) & set(token.scopes or []):
            return api_error(403, "Forbidden", auth_error="insufficient scope")
        return token

    def _integrate(self, route: Route, event: dict[str, Any], request_id: str) -> Response:
        if len(json.dumps(event)) > MAX_LAMBDA_PAYLOAD_BYTES:
            return api_error(
                500, "Internal Server Error", integration_error="event exceeds Lambda's 6 MB payload limit"
            )
        function_request_id = str(uuid.uuid4())
        response = self._invoke(route, event, request_id, function_request_id)
        response.function_request_id = function_request_id
        return response

    def _invoke(
        self, route: Route, event: dict[str, Any], request_id: str, function_request_id: str
    ) -> Response:
        ids = {"correlation_id": request_id, "function_request_id": function_request_id}
        try:
            result = self.runtimes[route.function_id].invoke(event, function_request_id)
            response = result_to_response(result)
        except (FunctionTimeoutError, IntegrationError) as error:
            log.error("integration error: %s", error, extra=ids)
            return api_error(500, "Internal Server Error", integration_error=str(error))
        except Exception as error:
            log.error(
                "handler raised %s",
                type(error).__name__,
                extra={**ids, "traceback": traceback.format_exc()},
            )
            return api_error(500, "Internal Server Error", integration_error=type(error).__name__)
        if len(response.body) > MAX_LAMBDA_PAYLOAD_BYTES:
            return api_error(
                500, "Internal Server Error", integration_error="response exceeds Lambda's 6 MB payload limit"
            )
        return response

    def _dispatch(self, request: Request, request_id: str) -> Response:
        is_preflight = request.method.upper() == "OPTIONS" and request.header("access-control-request-method")
        if self.cors and is_preflight:
            return preflight(self.cors, request)
        if len(request.body) > MAX_REQUEST_BYTES:
            return api_error(413, "Request Entity Too Large")
        matched = self.table.match(request.method, request.raw_path)
        if matched is None:
            return api_error(404, "Not Found")
        route, params = matched
        auth = self._authorise(route, request)
        if isinstance(auth, Response):
            auth.route_key = route.route_key
            return auth
        event = build_event(request, route, params, request_id=request_id, api_id=self.api_id, token=auth)
        response = self._integrate(route, event, request_id)
        response.route_key = route.route_key
        return response

    def handle(self, request: Request) -> Response:
        """Answer one request; adds the request id header, CORS headers and one access log line."""
        started = time.perf_counter()
        request_id = str(uuid.uuid4())
        response = self._dispatch(request, request_id)
        if self.cors and not response.preflight:
            apply_cors(self.cors, request, response)
        response.headers.append(("apigw-requestid", request_id))
        access_log.info(
            "request",
            extra={
                "correlation_id": request_id,
                "function_request_id": response.function_request_id,
                "ip": request.source_ip,
                "method": request.method,
                "path": request.raw_path,
                "route": response.route_key,
                "status": response.status,
                "latency_ms": round((time.perf_counter() - started) * 1000, 1),
                "auth_error": response.auth_error or None,
                "integration_error": response.integration_error or None,
            },
        )
        return response

    # ------------------------------------------------------------ serving

    @property
    def url(self) -> str:
        """The base URL the gateway listens on."""
        if self._server is None:
            raise RuntimeError("gateway not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on host:port (0 picks a free port) in a background thread."""
        handler = type("BoundHandler", (_HttpHandler,), {"gateway": self})
        self._server = _Server((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="gateway", daemon=True)
        self._thread.start()
        log.info("gateway listening", extra={"url": self.url})

    def stop(self) -> None:
        """Stop listening and wait for the server thread."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None


def resolved_function_name(spec: FunctionSpec, resolver: Resolver, stack: StackResources) -> str:
    """A function's name: its placeholder Ref, else its FunctionName resolved, else its logical id."""
    return stack.refs.get(spec.logical_id) or str(resolver.resolve(spec.function_name or spec.logical_id))


def _verifier(issuer_expr: Any, audience_expr: list[Any], resolver: Resolver, moto_url: str) -> JwtVerifier:
    issuer = str(resolver.resolve(issuer_expr))
    audience = [str(resolver.resolve(a)) for a in audience_expr]
    if not issuer.startswith("https://cognito-idp."):
        raise TemplateError(f"issuer {issuer} is not a Cognito user pool, the only kind emulated locally")
    pool_id = issuer.rstrip("/").rsplit("/", 1)[1]
    return JwtVerifier(
        jwks_url=f"{moto_url.rstrip('/')}/{pool_id}/.well-known/jwks.json", issuer=issuer, audience=audience
    )


class _Server(ThreadingHTTPServer):
    # A burst of concurrent clients must queue, not be reset (the stdlib default backlog is 5).
    request_queue_size = 128
    daemon_threads = True


class _HttpHandler(BaseHTTPRequestHandler):
    """Adapts http.server requests to Gateway.handle."""

    gateway: Gateway
    protocol_version = "HTTP/1.1"
    server_version = "itam-local-gateway"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: the gateway writes its own JSON access log."""

    def _read_body(self) -> bytes | None:
        if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
            return self._read_chunked()
        try:
            length = int(self.headers.get("content-length") or 0)
        except ValueError:
            return None
        if length > MAX_REQUEST_BYTES:
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes | None:
        chunks: list[bytes] = []
        total = 0
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline().strip():
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_REQUEST_BYTES:
                return None
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _handle(self) -> None:
        body = self._read_body()
        request = Request(
            method=self.command,
            target=self.path,
            headers=list(self.headers.items()),
            body=body or b"",
            source_ip=self.client_address[0],
            protocol=self.request_version,
        )
        if body is None:
            # The body was not read, so the connection cannot be reused.
            self.close_connection = True
            response = api_error(413, "Request Entity Too Large")
        else:
            response = self.gateway.handle(request)
        self._send(response)

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("content-length", str(len(response.body)))
        if self.close_connection:
            self.send_header("connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def __getattr__(self, name: str) -> Any:
        # Every method reaches the route table, as on API Gateway (ANY routes take methods such as TRACE).
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)
