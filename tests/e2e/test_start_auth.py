"""`inngestd start`: keys enforced, requests to apps signed, a real SDK app in cloud mode.

One `inngestd start` process (event keys, signing key and fallback) and one Python SDK app
in cloud mode (``INNGEST_DEV=0``, ``INNGEST_SIGNING_KEY``, ``INNGEST_EVENT_KEY``) are shared
by this module. In cloud mode the SDK refuses any request whose signature does not verify
and signs its replies, so a run that completes proves the server's signing; the sync proves
the bearer hash and the ``cloud`` server kind.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.harness import (
    PYTHON,
    REPO_ROOT,
    Api,
    AppProcess,
    ServerProcess,
    fmt,
    fn_slugs,
    free_port,
    shared_backend_args,
    subprocess_env,
    uid,
    wait_until,
)

SECRET = secrets.token_hex(32)
SIGNING_KEY = f"signkey-test-{SECRET}"
FALLBACK_SECRET = secrets.token_hex(32)
FALLBACK_KEY = f"signkey-test-{FALLBACK_SECRET}"
EVENT_KEY = f"evk-{uid()}"
OTHER_EVENT_KEY = f"evk2-{uid()}"
APP_ID = "e2e-cloud-app"
SLUGS = [f"{APP_ID}-steps", f"{APP_ID}-work"]


def _hash(secret_hex: str) -> str:
    return hashlib.sha256(bytes.fromhex(secret_hex)).hexdigest()


BEARER = _hash(SECRET)  # what the Python SDK sends


class CloudAppProcess(AppProcess):
    """In cloud mode the SDK answers an unsigned GET with 401: ready = /counts answers."""

    def _ready(self) -> bool:
        return httpx.get(f"{self.url}/counts", timeout=2).status_code == 200

    @classmethod
    def for_server(cls, port: int, server_url: str, log_path: Path) -> CloudAppProcess:
        """`tests.e2e.apps.cloud_app` in cloud mode with this module's keys."""
        return cls(
            module="cloud_app",
            port=port,
            server_url=server_url,
            log_path=log_path,
            env={
                "INNGEST_DEV": "0",
                "INNGEST_SIGNING_KEY": SIGNING_KEY,
                "INNGEST_EVENT_KEY": EVENT_KEY,
            },
        )


def keyed_server(
    base: Path, name: str, shared: list[str], app_urls: list[str], *extra: str
) -> ServerProcess:
    """`inngestd start` with this module's keys on the `shared` stores (data directory
    `base/name`, made; log `base/name.log`), not started."""
    srv = ServerProcess(
        port=free_port(),
        data_dir=base / name,
        log_path=base / f"{name}.log",
        app_urls=app_urls,
        poll_interval=None,
        command="start",
        extra_args=[
            "--event-key",
            EVENT_KEY,
            "--signing-key",
            SIGNING_KEY,
            *shared,
            *extra,
        ],
    )
    srv.data_dir.mkdir(parents=True)
    return srv


class Start:
    def __init__(self, server: ServerProcess, app: AppProcess) -> None:
        self.server = server
        self.app = app
        self.api = Api(server.url, EVENT_KEY, bearer=BEARER)
        self.anon = httpx.Client(base_url=server.url, timeout=10)

    def close(self) -> None:
        self.api.close()
        self.anon.close()


@pytest.fixture(scope="module", params=["sqlite", "redis+postgres"])
def start(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Start]:
    base = tmp_path_factory.mktemp("e2e-start")
    shared = shared_backend_args() if request.param == "redis+postgres" else []
    app_port = free_port()
    server_port = free_port()
    server = ServerProcess(
        port=server_port,
        data_dir=base / "data",
        log_path=base / "inngestd.log",
        app_urls=[f"http://127.0.0.1:{app_port}/api/inngest"],
        poll_interval=None,
        command="start",
        extra_args=[
            "--event-key",
            EVENT_KEY,
            "--event-key",
            OTHER_EVENT_KEY,
            "--signing-key",
            SIGNING_KEY,
            "--signing-key-fallback",
            FALLBACK_KEY,
            *shared,
        ],
    )
    server.data_dir.mkdir(parents=True)
    app = CloudAppProcess.for_server(app_port, server.url, base / "cloud-app.log")
    st: Start | None = None
    try:
        server.start()
        app.start()
        st = Start(server, app)
        st.api.wait_synced(APP_ID, slugs=SLUGS, timeout=30)
        yield st
    finally:
        if st is not None:
            st.close()
        app.stop()
        server.stop()


# --------------------------------------------------------------------------- the SDK


def test_cloud_mode_sdk_syncs_sends_and_runs(start: Start) -> None:
    """Sync (bearer + server kind), an event sent by the SDK client (its event key) and a
    multi-step run with a sleep: every call signed and verified by the SDK."""
    k = uid()
    text = "héllo ✓ 😀 \u2028"
    r = httpx.post(
        f"{start.app.url}/send",
        json={"name": "cloud/steps", "data": {"k": k, "text": text}},
        timeout=15,
    )
    assert r.status_code == 200, f"SDK send failed: {r.status_code} {r.text}"
    ids = r.json()["ids"]
    assert len(ids) == 1, r.json()
    run = start.api.wait_for_run(ids[0], "Completed", timeout=30)
    assert run["output"] == {
        "a": {"z": 1.5, "a": text, "m": [3, 2.25, {"y": None, "b": True}]},
        "b": f"{text}|1.5",
    }, fmt(run)
    counts = httpx.get(f"{start.app.url}/counts", timeout=5).json()
    assert counts.get(f"a:{k}") == 1, counts
    assert counts.get(f"b:{k}") == 1, counts
    log = start.server.log_text()
    assert "signature" not in log.lower(), start.server.log_tail()


def test_responses_say_cloud(start: Start) -> None:
    r = start.anon.get("/health")
    assert r.status_code == 200, r.text
    assert r.headers.get("x-inngest-server-kind") == "cloud"
    assert start.api.http.get("/v1/apps").headers.get("x-inngest-server-kind") == (
        "cloud"
    )


# --------------------------------------------------------------------------- /e/{key}


@pytest.mark.parametrize("key", ["wrong-key", EVENT_KEY + "x", "NO_EVENT_KEY_SET"])
def test_wrong_event_key_is_refused_and_nothing_stored(start: Start, key: str) -> None:
    name = f"e2e-start/refused-{uid()}"
    r = start.anon.post(f"/e/{key}", json={"name": name, "data": {}})
    assert r.status_code == 401, f"{r.status_code} {r.text}"
    assert r.json() == {"status": 401, "error": "Event key not found"}
    # The same request with a good key is stored (so the listing below is meaningful).
    ok_name = f"{name}-ok"
    ok = start.anon.post(f"/e/{OTHER_EVENT_KEY}", json={"name": ok_name, "data": {}})
    assert ok.status_code == 200, ok.text
    assert len(start.api.events(ok_name)) == 1
    assert start.api.events(name) == []


def test_missing_event_key_is_refused(start: Start) -> None:
    r = start.anon.post("/e/", json={"name": "e2e-start/none", "data": {}})
    assert r.status_code == 401, f"{r.status_code} {r.text}"
    assert start.api.events("e2e-start/none") == []


# --------------------------------------------------------------------------- /fn/register


def _register_body(app_id: str, slug: str) -> dict[str, Any]:
    url = "http://127.0.0.1:9/api/inngest"
    return {
        "appname": app_id,
        "deploy_type": "ping",
        "framework": "fast_api",
        "sdk": "py:v0.5.19",
        "url": url,
        "v": "0.1",
        "functions": [
            {
                "id": slug,
                "name": slug,
                "triggers": [{"event": "e2e-start/hijack"}],
                "steps": {
                    "step": {
                        "id": "step",
                        "name": "step",
                        "runtime": {
                            "type": "http",
                            "url": f"{url}?fnId={slug}&stepId=step",
                        },
                    }
                },
            }
        ],
    }


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": f"Bearer {_hash('abcd')}"},
        {"Authorization": f"Bearer signkey-test-{_hash('abcd')}"},
        {"Authorization": f"Bearer {BEARER[:-2]}"},
        {"Authorization": BEARER},  # no scheme
        {"Cookie": "inngestd_session=v1.9999999999.00"},
    ],
    ids=["none", "other-key", "other-key-ts", "truncated", "no-scheme", "cookie"],
)
def test_register_without_the_key_changes_nothing(
    start: Start, headers: dict[str, str]
) -> None:
    before = start.api.app(APP_ID)
    assert before is not None
    hijack = f"{APP_ID}-hijack"
    r = start.anon.post(
        "/fn/register", json=_register_body(APP_ID, hijack), headers=headers
    )
    assert r.status_code == 401, f"{r.status_code} {r.text}"
    assert r.json()["status"] == 401
    after = start.api.app(APP_ID)
    assert after is not None
    assert fn_slugs(after) == fn_slugs(before) == SLUGS
    assert after.get("url") == before.get("url")


def test_register_with_the_key(start: Start) -> None:
    app_id = f"e2e-start-reg-{uid()}"
    body = _register_body(app_id, f"{app_id}-fn")
    # A dev-mode SDK expects a dev server: refused even with the right key.
    dev = start.anon.post(
        "/fn/register",
        json=body,
        headers={
            "Authorization": f"Bearer {BEARER}",
            "X-Inngest-Expected-Server-Kind": "dev",
        },
    )
    assert dev.status_code == 400, dev.text
    assert "Expected server kind dev, got cloud" in dev.text
    assert start.api.app(app_id) is None
    # TS sends the hash with the key's prefix, and may use the fallback key.
    for bearer in (
        f"signkey-test-{_hash(SECRET)}",
        f"signkey-test-{_hash(FALLBACK_SECRET)}",
    ):
        ok = start.anon.post(
            "/fn/register",
            json=body,
            headers={
                "Authorization": f"Bearer {bearer}",
                "X-Inngest-Expected-Server-Kind": "cloud",
            },
        )
        assert ok.status_code == 200, ok.text
        assert ok.json()["ok"] is True
    start.api.wait_synced(app_id, slugs=[f"{app_id}-fn"], timeout=10)


# --------------------------------------------------------------------------- APIs


API_REQUESTS = [
    ("GET", "/v1/apps", None),
    ("GET", "/v1/events", None),
    ("GET", "/v1/runs", None),
    ("GET", "/v1/functions", None),
    ("GET", "/openapi.json", None),
    ("GET", "/dev", None),
    ("POST", "/v0/gql", {"query": "{ apps { id name } }"}),
]


@pytest.mark.parametrize(("method", "path", "body"), API_REQUESTS)
def test_api_needs_the_signing_key(
    start: Start, method: str, path: str, body: Any
) -> None:
    anon = start.anon.request(method, path, json=body)
    assert anon.status_code == 401, f"{method} {path}: {anon.status_code} {anon.text}"
    assert anon.json()["status"] == 401
    wrong = start.anon.request(
        method, path, json=body, headers={"Authorization": f"Bearer {_hash('ab')}"}
    )
    assert wrong.status_code == 401, wrong.text
    for token in (
        BEARER,
        f"signkey-test-{BEARER}",
        SIGNING_KEY,
        _hash(FALLBACK_SECRET),
    ):
        ok = start.anon.request(
            method, path, json=body, headers={"Authorization": f"Bearer {token}"}
        )
        assert ok.status_code == 200, f"{method} {path} with {token[:20]}: {ok.text}"
    if path == "/v0/gql":
        assert "errors" not in ok.json(), ok.text


def test_run_fetch_apis_need_the_key(start: Start) -> None:
    """``/v0/runs/{id}/batch|actions`` (the SDK's use_api) and run cancel."""
    k = uid()
    eid = start.api.send_one("cloud/steps", {"k": k, "text": "x"})
    run = start.api.wait_for_run(eid, "Completed", timeout=30)
    for sub in ("batch", "actions"):
        path = f"/v0/runs/{run['run_id']}/{sub}"
        assert start.anon.get(path).status_code == 401
        ok = start.api.http.get(path)
        assert ok.status_code == 200, ok.text
    assert start.anon.delete(f"/v1/runs/{run['run_id']}").status_code == 401
    assert start.api.run(run["run_id"])["status"] == "Completed"


# --------------------------------------------------------------------------- dashboard


def test_dashboard_login(start: Start) -> None:
    html = {"Accept": "text/html,application/xhtml+xml"}
    with httpx.Client(base_url=start.server.url, timeout=10) as browser:
        page = browser.get("/runs", headers=html)
        assert page.status_code == 303, page.text
        assert page.headers["location"] == "/login?next=%2Fruns"
        assert browser.get("/static/app.js").status_code == 401
        form = browser.get("/login?next=/runs")
        assert form.status_code == 200
        assert 'name="signing_key"' in form.text
        assert 'value="/runs"' in form.text

        bad = browser.post(
            "/login", data={"signing_key": "signkey-test-abcd", "next": "/runs"}
        )
        assert bad.status_code == 401
        assert "not this server" in bad.text
        assert "inngestd_session" not in browser.cookies

        good = browser.post(
            "/login", data={"signing_key": SIGNING_KEY, "next": "//evil.example/x"}
        )
        assert good.status_code == 303, good.text
        assert good.headers["location"] == "/"
        cookie = good.headers["set-cookie"]
        assert re.search(r"(?i)httponly", cookie), cookie
        assert re.search(r"(?i)samesite=strict", cookie), cookie
        assert "inngestd_session" in browser.cookies

        shell = browser.get("/runs", headers=html)
        assert shell.status_code == 200
        assert "<html" in shell.text.lower()
        assert browser.get("/static/app.js").status_code == 200
        apps = browser.get("/v1/apps")
        assert apps.status_code == 200, apps.text
        assert APP_ID in apps.text
        gql = browser.post("/v0/gql", json={"query": "{ apps { id } }"})
        assert gql.status_code == 200, gql.text
        # The dashboard's "Send event" posts to /e/dashboard: the session is enough.
        name = f"e2e-start/dashboard-{uid()}"
        sent = browser.post("/e/dashboard", json={"name": name, "data": {}})
        assert sent.status_code == 200, sent.text
        assert len(start.api.events(name)) == 1
        # A dashboard session is not an SDK credential.
        reg = browser.post("/fn/register", json=_register_body(APP_ID, "x"))
        assert reg.status_code == 401, reg.text

        out = browser.get("/logout")
        assert out.status_code == 303
        assert "inngestd_session" not in browser.cookies
        assert browser.get("/v1/apps").status_code == 401
        gone = browser.post("/e/dashboard", json={"name": f"{name}-out", "data": {}})
        assert gone.status_code == 401, gone.text
        assert start.api.events(f"{name}-out") == []


def test_login_with_the_bare_hex_key(start: Start) -> None:
    with httpx.Client(base_url=start.server.url, timeout=10) as browser:
        r = browser.post("/login", data={"signing_key": FALLBACK_SECRET})
        assert r.status_code == 303
        assert browser.get("/v1/apps").status_code == 200


# --------------------------------------------------------------------------- the CLI


def _cli(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "inngestd", *args],
        cwd=str(REPO_ROOT),
        env=subprocess_env(env),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


START_FLAGS = {
    "--event-key": "INNGESTD_EVENT_KEY",
    "--signing-key": "INNGESTD_SIGNING_KEY",
    "--signing-key-fallback": "INNGESTD_SIGNING_KEY_FALLBACK",
    "--port": "INNGESTD_PORT",
    "--host": "INNGESTD_HOST",
    "--sdk-url": "INNGESTD_SDK_URL",
    "--poll-interval": "INNGESTD_POLL_INTERVAL",
    "--retry-interval": "INNGESTD_RETRY_INTERVAL",
    "--queue-workers": "INNGESTD_QUEUE_WORKERS",
    "--tick": "INNGESTD_TICK",
    "--no-ui": "INNGESTD_NO_UI",
    "--config": "INNGESTD_CONFIG",
    "--shutdown-timeout": "INNGESTD_SHUTDOWN_TIMEOUT",
    "--role": "INNGESTD_ROLE",
    "--log-level": "INNGESTD_LOG_LEVEL",
    "--sqlite-dir": "INNGESTD_SQLITE_DIR",
    "--redis-uri": "INNGESTD_REDIS_URI",
    "--postgres-uri": "INNGESTD_POSTGRES_URI",
}


def test_start_help_documents_every_flag_and_variable() -> None:
    p = _cli("start", "--help")
    assert p.returncode == 0, p.stderr
    text = re.sub(r"\s+", " ", p.stdout)
    missing = [f for f in START_FLAGS if f not in text]
    missing += [v for v in START_FLAGS.values() if v not in text]
    assert not missing, f"start --help does not mention {missing}:\n{p.stdout}"


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--signing-key", "abcd"], {}, "event key is required"),
        (["--event-key", "k"], {}, "signing-key"),
        (["--event-key", "k", "--signing-key", "abc"], {}, "even number"),
        (["--event-key", "k", "--signing-key", "signkey-test-xyz1"], {}, "hexadecimal"),
        (
            [
                "--event-key",
                "k",
                "--signing-key",
                "abcd",
                "--signing-key-fallback",
                "z",
            ],
            {},
            "hexadecimal",
        ),
        (
            [
                "--event-key",
                "k",
                "--signing-key",
                "abcd",
                "--redis-uri",
                "redis://127.0.0.1:6379",
            ],
            {},
            "--redis-uri and --postgres-uri go together",
        ),
        (
            ["--event-key", "k", "--signing-key", "abcd"],
            {"INNGESTD_POSTGRES_URI": "postgres://x@127.0.0.1/db"},
            "--redis-uri and --postgres-uri go together",
        ),
    ],
    ids=[
        "no-event-key",
        "no-signing-key",
        "odd-hex",
        "not-hex",
        "bad-fallback",
        "redis",
        "postgres-env",
    ],
)
def test_start_refuses_bad_configuration(
    args: list[str], env: dict[str, str], message: str
) -> None:
    p = _cli("start", "--port", "0", *args, env=env)
    assert p.returncode != 0, f"started with {args} {env}: {p.stdout} {p.stderr}"
    assert message in re.sub(r"\s+", " ", p.stderr), p.stderr


def _bare_start(
    tmp_path: Path, port: int, env: dict[str, str], *args: str
) -> ServerProcess:
    """`inngestd start` with only `args` on its command line: the rest comes from `env`
    (and whatever config file it names)."""
    server = ServerProcess(
        port=port,
        data_dir=tmp_path / "data",
        log_path=tmp_path / "inngestd.log",
        poll_interval=None,
    )
    command = [PYTHON, "-m", "inngestd", "start", *args]
    server._command = lambda: command  # type: ignore[method-assign]
    server._env = lambda: subprocess_env(env)  # type: ignore[method-assign]
    return server


def test_start_reads_keys_from_the_environment(tmp_path: Path) -> None:
    """INNGESTD_EVENT_KEY holds a comma/space separated list; keys and port from env."""
    port = free_port()
    server = _bare_start(
        tmp_path,
        port,
        {
            "INNGESTD_EVENT_KEY": "alpha, beta gamma",
            "INNGESTD_SIGNING_KEY": "signkey-prod-00ff",
            "INNGESTD_PORT": str(port),
            "INNGESTD_HOST": "127.0.0.1",
            "INNGESTD_SQLITE_DIR": str(tmp_path / "data"),
        },
    )
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            for key in ("alpha", "beta", "gamma"):
                r = http.post(f"/e/{key}", json={"name": "e2e-start/env", "data": {}})
                assert r.status_code == 200, f"{key}: {r.text}"
            assert http.post("/e/delta", json={"name": "x"}).status_code == 401
            bearer = {"Authorization": f"Bearer {_hash('00ff')}"}

            def listed() -> int:
                r = http.get("/v1/events?name=e2e-start/env", headers=bearer)
                assert r.status_code == 200, r.text
                return len(r.json()["data"])

            wait_until(lambda: listed() == 3, 5)
    finally:
        server.stop()


def test_start_without_ui(tmp_path: Path) -> None:
    """--no-ui (here from INNGESTD_NO_UI, with INNGESTD_TICK): no dashboard and no
    GraphQL; events and the REST API still work."""
    port = free_port()
    server = _bare_start(
        tmp_path,
        port,
        {
            "INNGESTD_EVENT_KEY": "alpha",
            "INNGESTD_SIGNING_KEY": "signkey-prod-00ff",
            "INNGESTD_PORT": str(port),
            "INNGESTD_HOST": "127.0.0.1",
            "INNGESTD_SQLITE_DIR": str(tmp_path / "data"),
            "INNGESTD_NO_UI": "1",
            "INNGESTD_TICK": "200",
        },
    )
    server.start()
    try:
        bearer = {"Authorization": f"Bearer {_hash('00ff')}"}
        with httpx.Client(base_url=server.url, timeout=10, headers=bearer) as http:
            for path in ("/", "/runs", "/static/app.js"):
                assert http.get(path).status_code == 404, path
            gql = http.post("/v0/gql", json={"query": "{ apps { id } }"})
            assert gql.status_code == 404, gql.text
            r = http.post("/e/alpha", json={"name": "e2e-start/no-ui", "data": {}})
            assert r.status_code == 200, r.text
            [event_id] = r.json()["ids"]
            got = http.get(f"/v1/events/{event_id}")
            assert got.status_code == 200, got.text
            assert got.json()["data"]["name"] == "e2e-start/no-ui"
    finally:
        server.stop()


def test_start_reads_a_config_file_below_the_environment(tmp_path: Path) -> None:
    """As Go's CLI: settings from the file named by INNGEST_CONFIG, overridden by Go's
    INNGEST_* variables (and those by flags)."""
    port = free_port()
    config = tmp_path / "conf" / "inngest.yaml"
    config.parent.mkdir()
    config.write_text(
        "event-key: [alpha, beta]\n"
        "signing-key: signkey-prod-00ff\n"
        "host: 127.0.0.1\n"
        "port: 1\n"  # the flag below wins
        f"sqlite-dir: {tmp_path / 'data'}\n"
        "postgres-max-open-conns: 10\n"  # Go-only: accepted, ignored
    )
    env = {"INNGEST_CONFIG": str(config), "INNGEST_EVENT_KEY": "gamma,delta"}
    server = _bare_start(tmp_path, port, env, "--port", str(port))
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            for key in ("gamma", "delta"):
                r = http.post(f"/e/{key}", json={"name": "e2e-start/config"})
                assert r.status_code == 200, f"{key}: {r.text}"
            assert http.post("/e/alpha", json={"name": "x"}).status_code == 401
            bearer = {"Authorization": f"Bearer {_hash('00ff')}"}
            assert http.get("/v1/apps", headers=bearer).status_code == 200
            assert http.get("/v1/apps").status_code == 401
        log = server.log_text()
        assert f"using config file {config}" in log, log
        assert "unknown config keys" not in log, log
        assert (tmp_path / "data").is_dir()
    finally:
        server.stop()


def test_start_refuses_a_bad_config_file(tmp_path: Path) -> None:
    config = tmp_path / "inngest.yaml"
    config.write_text("event-key: [alpha\n")
    p = _cli("start", "--config", str(config))
    assert p.returncode == 2, p.stderr
    assert f"config file {config} is not valid JSON/YAML" in p.stderr, p.stderr
