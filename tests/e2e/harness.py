"""Process and HTTP helpers for the end-to-end tier.

Everything here talks to real processes over real sockets:

* :class:`ServerProcess` runs ``python -m inngestd dev`` with its own data dir
  and log file;
* :class:`AppProcess` runs an SDK app (``tests/e2e/apps/<module>.py``) under
  uvicorn, pointed at a server via ``INNGEST_BASE_URL``;
* :class:`Api` wraps the server's HTTP API (``/e``, ``/v1/...``);
* :func:`wait_until` is the only way tests wait: a deadline and a short poll.

``INNGESTD_TEST_BACKEND=shared`` (:data:`SHARED_BACKEND`) runs the same tests against the
self-hosted production mode: every server is ``inngestd start`` on Redis + PostgreSQL
with :data:`START_EVENT_KEY` and :data:`START_SIGNING_KEY`, every SDK app runs in cloud
mode (``INNGEST_DEV=0`` and those keys: the server signs its calls, the SDK verifies them
and signs its replies), and :class:`Api` sends the event key and the signing key's bearer
token. :func:`server_auth_headers` gives that bearer to tests that use their own client.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import hashlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
PYTHON = (
    str(REPO_ROOT / ".venv" / "bin" / "python")
    if (REPO_ROOT / ".venv" / "bin" / "python").exists()
    else sys.executable
)

#: Statuses after which a run never changes again.
TERMINAL = frozenset({"Completed", "Failed", "Cancelled", "Skipped"})

#: Every process started by the harness that is still alive (for failure reports).
LIVE: list[ServerProcess | AppProcess] = []

T = TypeVar("T")

#: INNGESTD_TEST_BACKEND=shared: every server is `inngestd start` on Redis + PostgreSQL
#: and every app runs in cloud mode (see the module docstring).
SHARED_BACKEND = os.environ.get("INNGESTD_TEST_BACKEND") == "shared"

_START_SECRET = secrets.token_hex(32)
#: The signing key of every `inngestd start` server of the shared pass (and its apps).
START_SIGNING_KEY = f"signkey-test-{_START_SECRET}"
#: What the SDKs send as `Authorization: Bearer ...`: sha256 of the key's bytes.
START_BEARER = hashlib.sha256(bytes.fromhex(_START_SECRET)).hexdigest()
#: The event key `/e/{key}` accepts on those servers (apps get it as INNGEST_EVENT_KEY).
START_EVENT_KEY = f"e2e-evk-{secrets.token_hex(8)}"
#: The event key :class:`Api` sends when the server is `inngestd dev` (any key works).
DEV_EVENT_KEY = "e2e-key"


def default_command() -> str:
    """The server command tests get unless they ask for one: `start` in the shared pass."""
    return "start" if SHARED_BACKEND else "dev"


def start_key_args() -> list[str]:
    """The key flags of the shared pass's `inngestd start` servers."""
    return ["--event-key", START_EVENT_KEY, "--signing-key", START_SIGNING_KEY]


def app_mode_env() -> dict[str, str]:
    """SDK app environment for the backend's server: dev mode, or (shared pass) cloud
    mode with the servers' signing and event keys."""
    if SHARED_BACKEND:
        return {
            "INNGEST_DEV": "0",
            "INNGEST_SIGNING_KEY": START_SIGNING_KEY,
            "INNGEST_EVENT_KEY": START_EVENT_KEY,
        }
    return {"INNGEST_DEV": "1"}


def server_auth_headers() -> dict[str, str]:
    """Headers that authorize a request to the APIs and `/fn/register` of this pass's
    servers: the signing key's bearer token for `inngestd start`, nothing for `dev`."""
    return {"Authorization": f"Bearer {START_BEARER}"} if SHARED_BACKEND else {}


# --------------------------------------------------------------------------- utilities


def uid() -> str:
    """A short unique tag for one test's events and counters."""
    return uuid.uuid4().hex[:12]


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now (never the default 8288)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port != 8288:
            return int(port)


def now_ms() -> int:
    return int(time.time() * 1000)


def subprocess_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for child processes: the repo's src/ and root importable."""
    env = dict(os.environ)
    paths = [str(REPO_ROOT / "src"), str(REPO_ROOT)]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["PYTHONUNBUFFERED"] = "1"
    for key in [k for k in env if k.startswith("INNGEST_")]:
        del env[key]
    if extra:
        env.update(extra)
    return env


def diagnostics(lines: int = 60) -> str:
    """Log tails of every live harness process, for assertion messages."""
    parts = [p.describe(lines) for p in LIVE]
    return "\n".join(parts) if parts else "(no live e2e processes)"


def wait_until(
    predicate: Callable[[], T],
    timeout: float = 20.0,
    *,
    interval: float = 0.05,
    message: str | Callable[[], str] = "condition",
) -> T:
    """Poll ``predicate`` until it returns something truthy, or fail at the deadline.

    Transport errors (server restarting, app not up yet) count as "not yet".
    AssertionErrors raised by the predicate propagate at once (fail fast).
    """
    deadline = time.monotonic() + timeout
    last: Any = None
    last_exc: BaseException | None = None
    while True:
        try:
            last = predicate()
            last_exc = None
            if last:
                return last
        except (httpx.TransportError, json.JSONDecodeError, KeyError) as exc:
            last_exc = exc
        if time.monotonic() >= deadline:
            what = message() if callable(message) else message
            detail = f"last value: {last!r}"
            if last_exc is not None:
                detail += f"; last error: {last_exc!r}"
            raise AssertionError(
                f"timed out after {timeout:.1f}s waiting for {what}; {detail}\n"
                f"{diagnostics()}"
            )
        time.sleep(interval)


def crockford_ulid(raw: bytes) -> str:
    """Encode 16 bytes as a 26-character ULID (Crockford base32)."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    n = int.from_bytes(raw, "big")
    return "".join(alphabet[(n >> (5 * i)) & 31] for i in reversed(range(26)))


def seeded_ids(seed: str, count: int) -> list[str]:
    """The ids the event API must derive from ``x-inngest-event-id-seed`` (protocol §2)."""
    millis_s, entropy_b64 = seed.split(",", 1)
    millis = int(millis_s)
    entropy = bytearray(base64.b64decode(entropy_b64))
    out = []
    for i in range(1, count + 1):
        e = bytearray(entropy)
        tail = (int.from_bytes(e[6:10], "big") + i) & 0xFFFFFFFF
        e[6:10] = tail.to_bytes(4, "big")
        out.append(crockford_ulid(millis.to_bytes(6, "big") + bytes(e)))
    return out


def ulid_millis(ulid: str) -> int:
    """The timestamp (ms) encoded in a ULID's first 10 characters."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    n = 0
    for ch in ulid[:10].upper():
        n = n * 32 + alphabet.index(ch)
    return n


# --------------------------------------------------------------------------- processes


@atexit.register
def _stop_leftovers() -> None:
    """Safety net: stop every process this harness started that is still alive."""
    for proc in list(LIVE):
        with contextlib.suppress(Exception):
            proc.stop(grace=2)


class _Proc:
    name = "process"

    def __init__(self, port: int, log_path: Path) -> None:
        self.port = port
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _env(self) -> dict[str, str]:
        return subprocess_env()

    def _ready(self) -> bool:
        raise NotImplementedError

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def describe(self, lines: int = 60) -> str:
        state = "running" if self.alive() else f"exited rc={self.returncode()}"
        return (
            f"----- {self.name} on :{self.port} ({state}), log {self.log_path} "
            f"(last {lines} lines) -----\n{self.log_tail(lines)}"
        )

    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def start(self, timeout: float = 30.0) -> None:
        assert not self.alive(), f"{self.name} already running"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"\n===== start {' '.join(self._command())}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                self._command(),
                cwd=str(REPO_ROOT),
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if self not in LIVE:
            LIVE.append(self)

        def ready() -> bool:
            if not self.alive():
                raise AssertionError(
                    f"{self.name} exited early (rc={self.returncode()}) while starting\n"
                    f"{self.describe(80)}"
                )
            return self._ready()

        try:
            wait_until(
                ready,
                timeout,
                interval=0.05,
                message=f"{self.name} :{self.port} to become ready",
            )
        except BaseException:
            self.stop(grace=2)  # never leak a half-started process
            raise

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        with contextlib.suppress(ValueError):
            LIVE.remove(self)

    def kill9(self) -> None:
        """SIGKILL without any chance to clean up."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)


class ServerProcess(_Proc):
    """One ``inngestd dev`` or ``inngestd start`` process. Restartable on the same port
    and data dir.

    ``command=None`` is :func:`default_command`: ``dev``, or ``start`` in the shared pass,
    where it gets :func:`start_key_args` unless ``extra_args`` has an ``--event-key``. An
    explicit ``command="start"`` takes its keys from ``extra_args``."""

    name = "inngestd"

    def __init__(
        self,
        port: int,
        data_dir: Path,
        log_path: Path,
        app_urls: Iterable[str] = (),
        extra_args: Iterable[str] = (),
        poll_interval: int | None = 1,
        command: str | None = None,
    ) -> None:
        super().__init__(port, log_path)
        self.data_dir = data_dir
        self.app_urls = list(app_urls)
        self.extra_args = list(extra_args)
        if command is None:
            command = default_command()
            if command == "start" and "--event-key" not in self.extra_args:
                self.extra_args += start_key_args()
        # INNGESTD_TEST_BACKEND=shared runs every server on Redis + PostgreSQL (a fresh
        # prefix and schema per server, kept across its restarts).
        if SHARED_BACKEND and "--redis-uri" not in self.extra_args:
            self.extra_args += shared_backend_args()
        self.poll_interval = poll_interval
        self.command = command

    def _command(self) -> list[str]:
        if self.command == "start":
            return self._start_command()
        cmd = [
            PYTHON,
            "-m",
            "inngestd",
            "dev",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            "--no-discovery",
            "--retry-interval",
            "1",
            "--log-level",
            "info",
        ]
        if self.poll_interval is None:
            cmd.append("--no-poll")
        else:
            cmd += ["--poll-interval", str(self.poll_interval)]
        for u in self.app_urls:
            cmd += ["-u", u]
        return cmd + self.extra_args

    def _start_command(self) -> list[str]:
        cmd = [
            PYTHON,
            "-m",
            "inngestd",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--sqlite-dir",
            str(self.data_dir),
            "--retry-interval",
            "1",
            "--log-level",
            "info",
            "--poll-interval",
            str(self.poll_interval or 0),
        ]
        for u in self.app_urls:
            cmd += ["-u", u]
        return cmd + self.extra_args

    def _ready(self) -> bool:
        r = httpx.get(f"{self.url}/health", timeout=2)
        return r.status_code == 200

    def restart(self, timeout: float = 30.0) -> None:
        self.stop()
        self.start(timeout)


class AppProcess(_Proc):
    """An SDK app (``tests.e2e.apps.<module>:app``) served by uvicorn."""

    name = "sdk-app"

    def __init__(
        self,
        module: str,
        port: int,
        server_url: str,
        log_path: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(port, log_path)
        self.module = module
        self.server_url = server_url
        self.extra_env = dict(env or {})
        self.name = f"sdk-app[{module}]"

    @property
    def serve_url(self) -> str:
        """The URL the server must PUT/POST (the SDK's serve endpoint)."""
        return f"{self.url}/api/inngest"

    def _command(self) -> list[str]:
        return [
            PYTHON,
            "-m",
            "uvicorn",
            f"tests.e2e.apps.{self.module}:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
        ]

    def _env(self) -> dict[str, str]:
        env = subprocess_env({**app_mode_env(), "INNGEST_BASE_URL": self.server_url})
        env.update(self.extra_env)
        return env

    @property
    def cloud_mode(self) -> bool:
        """Whether the SDK runs in cloud mode (it verifies the server's signatures)."""
        return self._env().get("INNGEST_DEV", "") in ("", "0", "false")

    def _ready(self) -> bool:
        r = httpx.get(self.serve_url, timeout=2)
        # In cloud mode the SDK may refuse an unsigned inspection: it answers, so it is up.
        return r.status_code == 200 or (self.cloud_mode and r.status_code == 401)

    def counts(self) -> dict[str, int]:
        """How many times each step body actually executed (in-process counters)."""
        r = httpx.get(f"{self.url}/counts", timeout=5)
        r.raise_for_status()
        return dict(r.json())

    def count(self, key: str) -> int:
        return int(self.counts().get(key, 0))

    def records(self) -> dict[str, list[Any]]:
        """What the on_failure handlers (and other recorders) received."""
        r = httpx.get(f"{self.url}/records", timeout=5)
        r.raise_for_status()
        return dict(r.json())

    def sync(self) -> httpx.Response:
        """Ask the SDK to sync itself, as the SDK test suites do (bare PUT)."""
        return httpx.put(self.serve_url, timeout=10)


TS_APP_DIR = REPO_ROOT / "tests" / "e2e" / "ts_app"


def node_deps_problem() -> str | None:
    """Why the TypeScript app cannot start here (None when it can): Node.js missing, or
    ``npm ci`` not run in tests/e2e/ts_app (``make test`` runs it)."""
    import shutil

    if shutil.which("node") is None:
        return "Node.js is not installed"
    if not (TS_APP_DIR / "node_modules" / "inngest" / "package.json").exists():
        return f"run `npm ci` in {TS_APP_DIR} (make test does)"
    return None


class NodeAppProcess(AppProcess):
    """The TypeScript SDK app (tests/e2e/ts_app/app.mjs) on Node.js, served by the SDK's
    own Node adapter. Same routes as the Python app (/counts, /records) plus /calls
    (POSTs to the serve endpoint per fnId) and POST /send (send through the SDK client).

    ``checkpointing=False`` turns the SDK's async checkpointing off (the per-step
    protocol); ``server_url`` may name ``localhost`` (Node may resolve it to ::1)."""

    def __init__(
        self,
        port: int,
        server_url: str,
        log_path: Path,
        *,
        app_id: str = "e2e-ts-app",
        checkpointing: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__("ts_app", port, server_url, log_path, env)
        self.app_id = app_id
        self.checkpointing = checkpointing
        self.name = f"ts-app[{app_id}{'' if checkpointing else ',no-checkpoint'}]"

    def _command(self) -> list[str]:
        return ["node", str(TS_APP_DIR / "app.mjs")]

    def _env(self) -> dict[str, str]:
        env = subprocess_env(
            {
                **app_mode_env(),
                "INNGEST_BASE_URL": self.server_url,
                "PORT": str(self.port),
                "E2E_APP_ID": self.app_id,
                "E2E_CHECKPOINTING": "1" if self.checkpointing else "0",
            }
        )
        env.update(self.extra_env)
        return env

    def calls(self) -> dict[str, int]:
        """How many calls the server made to each function (round trips)."""
        r = httpx.get(f"{self.url}/calls", timeout=5)
        r.raise_for_status()
        return dict(r.json())


# --------------------------------------------------------------------------- API client


class Api:
    """A thin client for the server's HTTP API with deadline-based waits."""

    def __init__(
        self,
        base_url: str,
        event_key: str | None = None,
        *,
        bearer: str | None = None,
    ) -> None:
        """``event_key`` goes in ``/e/{key}``; ``bearer`` is sent as ``Authorization:
        Bearer ...`` (``inngestd start``). Both default to what this pass's servers
        expect: the shared pass's start keys, or any key and no bearer for ``dev``."""
        self.base_url = base_url.rstrip("/")
        if event_key is None:
            event_key = START_EVENT_KEY if SHARED_BACKEND else DEV_EVENT_KEY
        if bearer is None and SHARED_BACKEND:
            bearer = START_BEARER
        self.event_key = event_key
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        self.http = httpx.Client(base_url=self.base_url, timeout=10, headers=headers)

    def close(self) -> None:
        self.http.close()

    # raw -----------------------------------------------------------------
    def post_event_raw(
        self,
        body: Any = None,
        *,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        hdrs = {"content-type": "application/json", **(headers or {})}
        if content is None:
            content = json.dumps(body).encode()
        return self.http.post(f"/e/{self.event_key}", content=content, headers=hdrs)

    # events ----------------------------------------------------------------
    def send(
        self,
        events: Mapping[str, Any] | list[Mapping[str, Any]],
        *,
        headers: Mapping[str, str] | None = None,
    ) -> list[str]:
        """POST events; assert 200 and return the internal ids (one per event)."""
        r = self.post_event_raw(events, headers=headers)
        assert r.status_code == 200, (
            f"POST /e answered {r.status_code}: {r.text}\n{diagnostics()}"
        )
        body = r.json()
        assert body.get("status") == 200, f"event API body lacks status 200: {body}"
        ids = body["ids"]
        expected = len(events) if isinstance(events, list) else 1
        assert isinstance(ids, list), body
        assert len(ids) == expected, f"expected {expected} ids, got {body}"
        return list(ids)

    def send_one(
        self, name: str, data: Mapping[str, Any] | None = None, **fields: Any
    ) -> str:
        return self.send({"name": name, "data": dict(data or {}), **fields})[0]

    def events(self, name: str) -> list[dict[str, Any]]:
        r = self.http.get("/v1/events", params={"name": name})
        assert r.status_code == 200, (
            f"GET /v1/events?name={name}: {r.status_code} {r.text}"
        )
        return list(r.json()["data"])

    def event(self, internal_id: str) -> dict[str, Any]:
        r = self.http.get(f"/v1/events/{internal_id}")
        assert r.status_code == 200, (
            f"GET /v1/events/{internal_id}: {r.status_code} {r.text}"
        )
        return dict(r.json()["data"])

    def runs_for_event(self, internal_id: str) -> list[dict[str, Any]]:
        r = self.http.get(f"/v1/events/{internal_id}/runs")
        if r.status_code == 404:
            return []
        assert r.status_code == 200, (
            f"GET /v1/events/{internal_id}/runs: {r.status_code} {r.text}"
        )
        return list(r.json()["data"])

    # runs ------------------------------------------------------------------
    def run(self, run_id: str) -> dict[str, Any]:
        r = self.http.get(f"/v1/runs/{run_id}")
        assert r.status_code == 200, f"GET /v1/runs/{run_id}: {r.status_code} {r.text}"
        return dict(r.json()["data"])

    def cancel(self, run_id: str) -> httpx.Response:
        return self.http.delete(f"/v1/runs/{run_id}")

    def wait_for_run(
        self,
        event_id: str,
        status: str = "Completed",
        timeout: float = 30.0,
        *,
        function_id: str | None = None,
    ) -> dict[str, Any]:
        """Wait until the event has a run in ``status``; fail fast on another end state."""
        seen: list[dict[str, Any]] = []

        def check() -> dict[str, Any] | None:
            runs = self.runs_for_event(event_id)
            if function_id is not None:
                runs = [r for r in runs if r.get("function_id") == function_id]
            seen[:] = runs
            for run in runs:
                if run.get("status") == status:
                    return run
            ended_other = [
                r
                for r in runs
                if r.get("status") in TERMINAL and r.get("status") != status
            ]
            if ended_other and len(ended_other) == len(runs):
                raise AssertionError(
                    f"run(s) for event {event_id} ended as "
                    f"{[r.get('status') for r in ended_other]}, expected {status}:\n"
                    f"{json.dumps(ended_other, indent=1)[:4000]}\n{diagnostics()}"
                )
            return None

        return wait_until(
            check,
            timeout,
            message=lambda: f"a {status} run for event {event_id}; runs seen: {seen}",
        )

    def wait_run_status(
        self, run_id: str, status: str, timeout: float = 30.0
    ) -> dict[str, Any]:
        last: list[dict[str, Any]] = []

        def check() -> dict[str, Any] | None:
            run = self.run(run_id)
            last[:] = [run]
            if run.get("status") == status:
                return run
            if run.get("status") in TERMINAL:
                raise AssertionError(
                    f"run {run_id} ended as {run.get('status')}, expected {status}: {run}\n"
                    f"{diagnostics()}"
                )
            return None

        return wait_until(
            check, timeout, message=lambda: f"run {run_id} -> {status}; last {last}"
        )

    # system events -----------------------------------------------------------
    def wait_for_system_event(
        self,
        name: str,
        predicate: Callable[[dict[str, Any]], bool],
        timeout: float = 20.0,
    ) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            for ev in self.events(name):
                if predicate(ev):
                    return ev
            return None

        return wait_until(
            check, timeout, message=f"a {name} event matching the predicate"
        )

    # apps --------------------------------------------------------------------
    def apps(self) -> list[dict[str, Any]]:
        r = self.http.get("/v1/apps")
        assert r.status_code == 200, f"GET /v1/apps: {r.status_code} {r.text}"
        return list(r.json()["data"])

    def app(self, app_id: str) -> dict[str, Any] | None:
        for a in self.apps():
            if app_id in (a.get("id"), a.get("name"), a.get("app_id")):
                return a
        return None

    def wait_synced(
        self,
        app_id: str,
        n_functions: int | None = None,
        timeout: float = 30.0,
        *,
        slugs: Iterable[str] | None = None,
        exact: bool = True,
    ) -> dict[str, Any]:
        """Wait until ``app_id`` is listed with ``n_functions`` functions and ``slugs``.

        With ``exact=False`` the listing only has to contain ``slugs``.
        """
        want = set(slugs) if slugs is not None else None
        last: list[Any] = []

        def check() -> dict[str, Any] | None:
            a = self.app(app_id)
            last[:] = [a]
            if a is None:
                return None
            have = fn_slugs(a)
            if want is not None and (
                set(have) != want if exact else not want <= set(have)
            ):
                return None
            if n_functions is not None and len(have) != n_functions:
                return None
            return a

        return wait_until(
            check,
            timeout,
            message=lambda: (
                f"app {app_id} synced with {want or n_functions} functions; last {last}"
            ),
        )


def fn_slugs(app: Mapping[str, Any]) -> list[str]:
    """The function slugs ("<app id>-<fn id>") an app listing holds."""
    return [f.get("slug") or f.get("id") for f in app.get("functions") or []]


def fmt(obj: Any) -> str:
    """Pretty JSON (truncated) for assertion messages."""
    return json.dumps(obj, indent=1, default=str)[:4000]


# --------------------------------------------------------------------------- start mode backends

REDIS_URL = os.environ.get("INNGESTD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_URI = os.environ.get(
    "INNGESTD_TEST_POSTGRES_URI", "postgresql://postgres@127.0.0.1:5432/test"
)


def sync_redis(url: str = REDIS_URL) -> Any:
    """A synchronous client for `url` (a `redis+cluster://` URL gets the cluster client),
    for tests that look at Redis keys directly."""
    import redis

    scheme, _, rest = url.partition("://")
    if scheme.endswith("+cluster"):
        return redis.RedisCluster.from_url(
            f"{scheme.removesuffix('+cluster')}://{rest}"
        )
    return redis.Redis.from_url(url)


# Tags of the prefixes and schemas handed out in this process (`drop_shared_state`).
SHARED_TAGS: list[str] = []


def shared_backend_args() -> list[str]:
    """`inngestd start` flags for Redis + PostgreSQL under a fresh key prefix and schema,
    so servers of different tests never share state."""
    tag = secrets.token_hex(4)
    SHARED_TAGS.append(tag)
    return [
        "--redis-uri",
        REDIS_URL,
        "--postgres-uri",
        POSTGRES_URI,
        "--redis-prefix",
        f"e2e{tag}",
        "--postgres-schema",
        f"e2e_{tag}",
        # A restarted process cannot release its predecessor's leases (another process
        # might hold them): it waits for them to expire, so keep them short in tests.
        "--lease-ms",
        "3000",
    ]


def drop_shared_state(redis_url: str = REDIS_URL) -> None:
    """Delete the Redis keys and PostgreSQL schemas of every `shared_backend_args` tag of
    this process, so a long test session leaves the shared services as it found them
    (and key scans in later tests stay fast)."""
    import asyncio

    import asyncpg

    from inngestd.store.redis.keys import Keys

    tags, SHARED_TAGS[:] = list(SHARED_TAGS), []
    if not tags:
        return
    client = sync_redis(redis_url)
    try:
        for tag in tags:
            pattern = Keys(f"e2e{tag}").pattern()
            batch = list(client.scan_iter(match=pattern, count=1000))
            for i in range(0, len(batch), 500):
                client.delete(*batch[i : i + 500])
    finally:
        client.close()

    async def drop() -> None:
        conn = await asyncpg.connect(POSTGRES_URI)
        try:
            for tag in tags:
                await conn.execute(f"DROP SCHEMA IF EXISTS e2e_{tag} CASCADE")
        finally:
            await conn.close()

    asyncio.run(drop())
