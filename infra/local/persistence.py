"""The local stack keeps its state across Ctrl-C, crashes and restarts (docs/adr/0016).

What is kept: everything the emulator holds (every emulated service's backends: the table and its
items, the user pool with its users and signing keys, queues and their messages, secrets, roles, event
buses, whatever else was created in it), and the stack's own record of the resources it created from
the template. They are written together, as one pickle, to `<state dir>/emulator.pickle` (write to a
temporary file, fsync, rename: a reader sees the old snapshot or the new one, never half of one).

When. A snapshot is taken every `interval_s` (2 s) if the emulator answered a request that may have
changed something since the last one, and once more when the stack stops if anything changed since.
A snapshot is copy-on-write: the emulator's requests share a gate, which the snapshot holds alone for
the moment the process forks (milliseconds); the child pickles its frozen copy of memory and writes
it while the stack goes on serving. A request that only waits (a ReceiveMessage long poll, up to
20 s) sets the gate aside meanwhile (`idle()`), so it holds up neither a snapshot nor the requests
queued behind one. A crash therefore loses at most the writes of the last interval plus the time one
snapshot takes (`last_snapshot_s`, logged with each snapshot).

Restore. On start, a snapshot written by the same emulator version for the same template and
parameters is loaded before the emulator serves a request, and the resources are not created again:
same user pool and keys (tokens issued before still verify), same client, table, queues, secrets.
A snapshot that cannot be read, or was written for another template or emulator version, is moved
aside (`emulator.pickle.unusable-<time>`) with a warning, and the stack starts empty; either all of a
snapshot is restored or none of it.
"""

from __future__ import annotations

import contextlib
import copyreg
import functools
import gc
import hashlib
import importlib
import io
import json
import logging
import os
import pickle
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import moto
from cryptography.hazmat.bindings._rust import openssl as rust_openssl
from cryptography.hazmat.primitives import serialization
from moto.core.base_backend import BackendDict
from moto.sqs.models import Queue as SqsQueue

log = logging.getLogger("infra.local.persistence")

SNAPSHOT_NAME = "emulator.pickle"
_MARK = "__itam_idle__"
FORMAT = 1
DEFAULT_INTERVAL_S = 2.0
# Actions that change nothing worth keeping (a received message comes back after its visibility
# timeout anyway; an assumed-role session is assumed again): they do not call for a snapshot.
READ_ONLY_PREFIXES = (
    "Get",
    "List",
    "Describe",
    "Query",
    "Scan",
    "BatchGet",
    "TransactGet",
    "Receive",
    "Assume",
)

# The gate of the running stack's emulator, for the requests that wait inside it (see idle()).
_gate: Gate | None = None


def _private_key(pem: bytes) -> Any:
    return serialization.load_pem_private_key(pem, password=None)


def _made_anew(obj: Any) -> tuple[Any, tuple[()]]:
    return type(obj), ()


def _condition_made_anew(_: threading.Condition) -> tuple[Any, tuple[()]]:
    return threading.Condition, ()  # its waiters are threads of the process that wrote it


def _as_pem(key: Any) -> tuple[Any, tuple[bytes]]:
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return _private_key, (pem,)


_PRIVATE_KEYS = (
    rust_openssl.rsa.RSAPrivateKey,
    rust_openssl.ec.ECPrivateKey,
    rust_openssl.ed25519.Ed25519PrivateKey,
    rust_openssl.ed448.Ed448PrivateKey,
    rust_openssl.dsa.DSAPrivateKey,
    rust_openssl.x25519.X25519PrivateKey,
    rust_openssl.x448.X448PrivateKey,
)


# By exact type, from a table the pickler reads in C: a hook called for every object
# (`reducer_override`) made a snapshot half as slow again.
_REDUCERS: dict[type, Callable[[Any], Any]] = {
    **copyreg.dispatch_table,
    type(threading.Lock()): _made_anew,
    type(threading.RLock()): _made_anew,
    threading.Condition: _condition_made_anew,
    **dict.fromkeys(_PRIVATE_KEYS, _as_pem),
}


class _Pickler(pickle.Pickler):
    """Pickles the emulator's state: locks are made anew on load, private keys travel as PEM."""

    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.dispatch_table = _REDUCERS


def _backends() -> dict[str, Any]:
    """Every emulated service's backends this process has loaded (the others hold nothing), by
    "<module>:<name>"."""
    found: dict[str, Any] = {}
    seen: set[int] = set()
    for module_name, module in sorted(sys.modules.items()):
        if not module_name.startswith("moto.") or module_name.count(".") != 1 or module is None:
            continue
        for name, value in sorted(vars(module).items()):
            if name.endswith("_backends") and isinstance(value, BackendDict) and id(value) not in seen:
                seen.add(id(value))
                found[f"{module_name}:{name}"] = value
    return found


def fingerprint(template_text: str, params: Mapping[str, str]) -> str:
    """What a snapshot must have been written for: the template, its parameters, the emulator version."""
    identity = {"template": template_text, "params": dict(params), "moto": moto.__version__, "format": FORMAT}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def dumps(identity: str, extra: Any) -> bytes:
    """The emulator's state and `extra` (the stack's resources) as one pickle."""
    buffer = io.BytesIO()
    _Pickler(buffer).dump({"identity": identity, "backends": _backends(), "extra": extra})
    return buffer.getvalue()


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data`: temporary file, fsync, rename, fsync of the directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with partial.open("wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    partial.replace(path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def loads(data: io.BufferedIOBase) -> Any:
    """A snapshot read back. The collector is off meanwhile: the million objects of 10,000 assets would
    set off collections that walk all of them, again and again (a third of the time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return pickle.load(data)  # noqa: S301 - the stack's own file, under .local/
    finally:
        if enabled:
            gc.enable()


def restore_backends(saved: Mapping[str, Any]) -> None:
    """Put saved backends in place of the live ones (the live dicts are updated in place: the
    emulator's modules hold references to them). All or nothing: every live one is found first."""
    live = {}
    for where in saved:
        module_name, _, name = where.partition(":")
        found = getattr(importlib.import_module(module_name), name, None)
        if not isinstance(found, BackendDict):
            raise StateError(f"the emulator has no {where}")
        live[where] = found
    for where, backends in saved.items():
        live[where].clear()
        live[where].update(backends)


def forget_state(directory: Path) -> list[Path]:
    """Remove the kept snapshots (the unusable ones set aside and unfinished ones too) from
    `directory`; what was removed."""
    removed = sorted(directory.glob(f"{SNAPSHOT_NAME}*")) if directory.is_dir() else []
    for path in removed:
        path.unlink()
    return removed


class StateError(Exception):
    """A snapshot that cannot be used."""


class Gate:
    """Requests to the emulator share it; a snapshot's fork holds it alone (writers first, so that a
    steady stream of requests cannot keep a snapshot waiting). A request that only waits (a long
    poll) sets it aside meanwhile."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._serving = 0
        self._alone = False
        self._waiting = 0
        self._held = threading.local()

    def _enter(self) -> None:
        with self._changed:
            while self._alone or self._waiting:
                self._changed.wait()
            self._serving += 1

    def _leave(self) -> None:
        with self._changed:
            self._serving -= 1
            self._changed.notify_all()

    @contextlib.contextmanager
    def request(self) -> Iterator[None]:
        self._enter()
        self._held.holding = True
        try:
            yield
        finally:
            self._held.holding = False
            self._leave()

    @contextlib.contextmanager
    def set_aside(self) -> Iterator[None]:
        """While this thread's request only waits, without changing anything, a snapshot may be taken."""
        if not getattr(self._held, "holding", False):
            yield
            return
        self._leave()
        try:
            yield
        finally:
            self._enter()

    @contextlib.contextmanager
    def alone(self) -> Iterator[None]:
        with self._changed:
            self._waiting += 1
            while self._alone or self._serving:
                self._changed.wait()
            self._waiting -= 1
            self._alone = True
        try:
            yield
        finally:
            with self._changed:
                self._alone = False
                self._changed.notify_all()


def idle() -> contextlib.AbstractContextManager[None]:
    """Around a wait inside an emulator request (a long poll, an answer held back): a snapshot need not
    wait for it, nor hold up the requests queued behind it."""
    return _gate.set_aside() if _gate is not None else contextlib.nullcontext()


def _waiting_idle(wait: Callable[[Any, int], None]) -> Callable[[Any, int], None]:
    @functools.wraps(wait)
    def wait_for_messages(queue: Any, timeout: int) -> None:
        with idle():
            wait(queue, timeout)

    setattr(wait_for_messages, _MARK, True)
    return wait_for_messages


def make_long_polls_idle() -> None:
    """SQS ReceiveMessage waiting for messages (WaitTimeSeconds, up to 20 s) waits outside the gate
    (idempotent)."""
    wait = SqsQueue.wait_for_messages
    if not getattr(wait, _MARK, False):
        SqsQueue.wait_for_messages = _waiting_idle(wait)  # type: ignore[method-assign,assignment]


def action_of(environ: dict[str, Any]) -> str | None:
    """The AWS action a WSGI request calls (JSON and query protocols); None for REST calls."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return str(target).rsplit(".", 1)[-1]
    query = parse_qs(environ.get("QUERY_STRING", ""))
    if "Action" in query:
        return str(query["Action"][0])
    if str(environ.get("CONTENT_TYPE", "")).startswith("application/x-www-form-urlencoded"):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        form = parse_qs(body.decode("utf-8", errors="replace"))
        if "Action" in form:
            return str(form["Action"][0])
    return None


def may_change(environ: dict[str, Any]) -> bool:
    """Whether a request may change the emulator's state."""
    action = action_of(environ)
    if action is None:
        return environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD", "OPTIONS")
    return not action.startswith(READ_ONLY_PREFIXES)


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass
class Snapshots:
    """Takes the emulator's snapshots into `directory` and restores the last one."""

    directory: Path
    identity: str
    interval_s: float = DEFAULT_INTERVAL_S

    def __post_init__(self) -> None:
        self.gate = Gate()
        self.extra: Any = None
        self.last_snapshot_s = 0.0
        self.last_pause_s = 0.0
        self._changed = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def path(self) -> Path:
        return self.directory / SNAPSHOT_NAME

    def wrap(self, app: WsgiApp) -> WsgiApp:
        """The emulator's WSGI app, holding the gate and noting changes; its long polls wait idle."""
        global _gate
        _gate = self.gate
        make_long_polls_idle()

        def gated(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            with self.gate.request():
                if not self._changed and may_change(environ):
                    self._changed = True
                return list(app(environ, start_response))

        return gated

    def restore(self) -> Any:
        """Load the last snapshot into the emulator; its `extra`, or None when starting empty."""
        for unfinished in self.directory.glob(f"{SNAPSHOT_NAME}.*.tmp"):  # a crash while writing one
            unfinished.unlink(missing_ok=True)
        if not self.path.is_file():
            return None
        try:
            with self.path.open("rb") as saved:
                state = loads(saved)
            if not isinstance(state, dict) or state.get("identity") != self.identity:
                raise StateError("it was written for another template, parameters or emulator version")
            extra = state["extra"]
            restore_backends(state["backends"])
        except Exception as error:
            aside = self.path.with_name(f"{SNAPSHOT_NAME}.unusable-{int(time.time())}")
            self.path.replace(aside)
            log.warning(
                "the saved state cannot be used (%s): starting empty; it was moved to %s",
                error if isinstance(error, StateError) else f"{type(error).__name__}: {error}",
                aside,
            )
            return None
        return extra

    def save_now(self) -> None:
        """Write a snapshot in this process, requests held meanwhile (at stop)."""
        started = time.monotonic()
        with self.gate.alone():
            data = dumps(self.identity, self.extra)
            self._changed = False
        write_atomically(self.path, data)
        self.last_snapshot_s = time.monotonic() - started
        self.last_pause_s = self.last_snapshot_s

    def save_in_background(self) -> None:
        """Fork with requests held, let the child write its frozen copy; wait for it."""
        started = time.monotonic()
        with self.gate.alone():
            self._changed = False
            with warnings.catch_warnings():
                # Python 3.12+ warns that a forked child of a threaded process may deadlock; this child
                # only pickles (locks are made anew, never acquired) and writes a file.
                warnings.simplefilter("ignore", DeprecationWarning)
                child = os.fork()
            if child == 0:  # the child: pickle the copy of memory, write it, leave without cleanup
                # No collections: they would walk (and so copy) every page of the parent's objects.
                gc.disable()
                status = 0
                try:
                    write_atomically(self.path, dumps(self.identity, self.extra))
                except BaseException:
                    status = 1
                    # Straight to stderr: the logging locks may be held by threads the child has not.
                    os.write(2, traceback.format_exc().encode(errors="replace"))
                os._exit(status)
        self.last_pause_s = time.monotonic() - started
        _, status = os.waitpid(child, 0)
        self.last_snapshot_s = time.monotonic() - started
        if status != 0:
            self._changed = True
            log.error("a snapshot of the local state failed; it will be tried again")
            return
        log.info(
            "state saved",
            extra={
                "seconds": round(self.last_snapshot_s, 3),
                "paused_ms": round(self.last_pause_s * 1000, 1),
                "mb": round(self.path.stat().st_size / 2**20, 2),
            },
        )

    def start(self) -> None:
        """Take snapshots every interval while something changed, until stop()."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._loop, name="local-state", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stopping.wait(self.interval_s):
            if self._changed:
                try:
                    self.save_in_background()
                except OSError:
                    log.exception("a snapshot of the local state failed")

    def stop(self) -> bool:
        """Stop the periodic snapshots and write the last one, unless the kept one is up to date;
        whether one was written."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if not self._changed and self.path.is_file():
            return False
        self.save_now()
        return True
