"""App sync: at start, re-sync that adds/removes/updates functions, invalid configs."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import main_app_slugs
from tests.e2e.harness import (
    Api,
    AppProcess,
    ServerProcess,
    fmt,
    fn_slugs,
    free_port,
    server_auth_headers,
    uid,
)

ServerFactory = Callable[..., ServerProcess]
AppFactory = Callable[..., AppProcess]


def _fn(app: dict[str, Any], slug: str) -> dict[str, Any]:
    for f in app.get("functions") or []:
        if (f.get("slug") or f.get("id")) == slug:
            return dict(f)
    raise AssertionError(f"function {slug} not listed: {fmt(app)}")


def test_main_app_synced_at_start(api: Api, app: AppProcess) -> None:
    listed = api.wait_synced("e2e-app", slugs=main_app_slugs(), timeout=20)
    assert sorted(fn_slugs(listed)) == main_app_slugs(), fmt(listed)
    assert listed.get("url") == app.serve_url, fmt(listed)
    assert _fn(listed, "e2e-app-chain").get("name") == "chain", fmt(listed)
    failure = _fn(listed, "e2e-app-nonretriable-failure")
    assert failure.get("name") == "nonretriable (failure)", fmt(failure)


def _sync_stack(
    server_factory: ServerFactory,
    app_factory: AppFactory,
    *,
    poll: bool,
) -> tuple[ServerProcess, int, Api]:
    app_port = free_port()
    server = server_factory(
        [f"http://127.0.0.1:{app_port}/api/inngest"], poll_interval=1 if poll else None
    )
    return server, app_port, Api(server.url)


def _barrier_gamma(api: Api) -> None:
    eid = api.send_one("e2e-sync/gamma", {"k": uid()})
    run = api.wait_for_run(eid, "Completed")
    assert run["output"] == "gamma-v2", fmt(run)


def test_resync_adds_removes_and_updates_functions(
    server_factory: ServerFactory, app_factory: AppFactory
) -> None:
    server, app_port, api = _sync_stack(server_factory, app_factory, poll=True)
    v1 = app_factory(
        "sync_app", server=server, port=app_port, env={"E2E_SYNC_VARIANT": "v1"}
    )
    listed = api.wait_synced("e2e-sync", slugs=["e2e-sync-alpha", "e2e-sync-beta"])
    assert _fn(listed, "e2e-sync-alpha").get("name") == "Alpha v1", fmt(listed)
    run = api.wait_for_run(api.send_one("e2e-sync/alpha", {}), "Completed")
    assert run["output"] == "alpha-v1", fmt(run)
    assert run["function_id"] == "e2e-sync-alpha"

    # Same port, new function set; the server's periodic sync picks it up.
    v1.stop()
    app_factory(
        "sync_app", server=server, port=app_port, env={"E2E_SYNC_VARIANT": "v2"}
    )
    listed = api.wait_synced("e2e-sync", slugs=["e2e-sync-alpha", "e2e-sync-gamma"])
    assert _fn(listed, "e2e-sync-alpha").get("name") == "Alpha v2", fmt(listed)
    assert [
        a
        for a in api.apps()
        if a.get("name") == "e2e-sync" or a.get("id") == "e2e-sync"
    ]

    # Updated trigger: the new event runs alpha, the old one does not; beta is gone.
    old_alpha = api.send_one("e2e-sync/alpha", {})
    beta = api.send_one("e2e-sync/beta", {})
    run = api.wait_for_run(api.send_one("e2e-sync/alpha2", {}), "Completed")
    assert run["output"] == "alpha-v2", fmt(run)
    _barrier_gamma(api)
    assert api.runs_for_event(old_alpha) == [], "alpha still triggered by its old event"
    assert api.runs_for_event(beta) == [], "removed function beta still runs"


def test_resync_by_put_with_polling_disabled(
    server_factory: ServerFactory, app_factory: AppFactory
) -> None:
    server, app_port, api = _sync_stack(server_factory, app_factory, poll=False)
    v1 = app_factory(
        "sync_app", server=server, port=app_port, env={"E2E_SYNC_VARIANT": "v1"}
    )
    # The server's start-up PUT happened before the app listened and it does not poll,
    # so the app asks to be synced itself (a bare PUT, as the SDK test suites do).
    r = v1.sync()
    assert r.status_code == 200, f"PUT {v1.serve_url}: {r.status_code} {r.text}"
    body = r.json()
    assert body.get("ok") is True, f"SDK relayed this /fn/register answer: {body}"
    api.wait_synced("e2e-sync", slugs=["e2e-sync-alpha", "e2e-sync-beta"], timeout=10)

    again = v1.sync().json()
    assert again.get("ok") is True, again
    assert again.get("modified") is False, (
        f"identical re-sync reported modified: {again}"
    )

    v1.stop()
    v2 = app_factory(
        "sync_app", server=server, port=app_port, env={"E2E_SYNC_VARIANT": "v2"}
    )
    r = v2.sync()
    assert r.status_code == 200, r.text
    assert r.json().get("ok") is True, r.json()
    # `modified` may already be false here: with polling off the server still retries its
    # start-up sync until one succeeds, and that retry can reach v2 first.
    listed = api.wait_synced(
        "e2e-sync", slugs=["e2e-sync-alpha", "e2e-sync-gamma"], timeout=10
    )
    assert _fn(listed, "e2e-sync-alpha").get("name") == "Alpha v2", fmt(listed)
    _barrier_gamma(api)


# --------------------------------------------------------------------------- /fn/register


APP_URL = (
    "http://127.0.0.1:9/api/inngest"  # never called: nothing triggers these functions
)


def _fn_config(slug: str, event: str) -> dict[str, Any]:
    return {
        "id": slug,
        "name": slug,
        "triggers": [{"event": event}],
        "steps": {
            "step": {
                "id": "step",
                "name": "step",
                "retries": {"attempts": 2},
                "runtime": {
                    "type": "http",
                    "url": f"{APP_URL}?fnId={slug}&stepId=step",
                },
            }
        },
    }


def _register_body(functions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "appname": "e2e-reg",
        "deploy_type": "ping",
        "framework": "fast_api",
        "sdk": "py:v0.5.19",
        "url": APP_URL,
        "v": "0.1",
        "capabilities": {"connect": "v1", "in_band_sync": "v1", "trust_probe": "v1"},
        "functions": functions,
    }


GOOD = [
    _fn_config("e2e-reg-one", "e2e-reg/one"),
    _fn_config("e2e-reg-two", "e2e-reg/two"),
]


def _bad_expression() -> tuple[dict[str, Any], str, list[str]]:
    f = _fn_config("e2e-reg-badexpr", "e2e-reg/bad")
    f["triggers"][0]["expression"] = "event.data.x == == 1"
    return f, "e2e-reg-badexpr", ["expression"]


def _missing_id() -> tuple[dict[str, Any], str, list[str]]:
    f = _fn_config("e2e-reg-noid", "e2e-reg/bad")
    del f["id"]
    f["name"] = "Nameless"
    return f, "", ["id"]


def _bad_retries() -> tuple[dict[str, Any], str, list[str]]:
    f = _fn_config("e2e-reg-badretries", "e2e-reg/bad")
    f["steps"]["step"]["retries"] = {"attempts": "three"}
    return f, "e2e-reg-badretries", ["retries", "attempts"]


def _no_triggers() -> tuple[dict[str, Any], str, list[str]]:
    f = _fn_config("e2e-reg-notrig", "e2e-reg/bad")
    f["triggers"] = []
    return f, "e2e-reg-notrig", ["trigger"]


@pytest.mark.parametrize(
    "make_bad",
    [_bad_expression, _missing_id, _bad_retries, _no_triggers],
    ids=["bad-expression", "missing-id", "bad-retries-type", "no-triggers"],
)
def test_register_rejects_invalid_function_config(
    server_factory: ServerFactory,
    make_bad: Callable[[], tuple[dict[str, Any], str, list[str]]],
) -> None:
    server = server_factory(poll_interval=None)
    api = Api(server.url)
    auth = server_auth_headers()  # `inngestd start` wants the signing key's bearer
    ok = httpx.post(
        f"{server.url}/fn/register",
        json=_register_body(GOOD),
        headers=auth,
        timeout=10,
    )
    assert ok.status_code == 200, (
        f"valid registration refused: {ok.status_code} {ok.text}"
    )
    assert ok.json().get("ok") is True, ok.text
    api.wait_synced("e2e-reg", slugs=["e2e-reg-one", "e2e-reg-two"], timeout=5)

    bad, slug, fields = make_bad()
    body = _register_body([copy.deepcopy(GOOD[0]), bad])
    r = httpx.post(f"{server.url}/fn/register", json=body, headers=auth, timeout=10)
    assert r.status_code == 400, f"invalid config accepted: {r.status_code} {r.text}"
    err_body = r.json()
    assert err_body.get("status") == 400, err_body
    err = str(err_body.get("error") or "")
    assert err, f"400 without an error message: {err_body}"
    if slug:
        assert slug in err, f"error does not name the function {slug}: {err!r}"
    else:
        assert re.search(r"nameless|\b1\b", err, re.IGNORECASE), (
            f"error does not identify the function without id: {err!r}"
        )
    assert any(f in err.lower() for f in fields), (
        f"error does not name field {fields}: {err!r}"
    )

    # The earlier, valid function set is untouched and the server still works.
    listed = api.app("e2e-reg")
    assert listed is not None
    assert sorted(fn_slugs(listed)) == ["e2e-reg-one", "e2e-reg-two"], fmt(listed)
    assert httpx.get(f"{server.url}/health", timeout=5).status_code == 200


def test_register_rejects_garbage_bodies(server_factory: ServerFactory) -> None:
    server = server_factory(poll_interval=None)
    cases = [
        b"{not json",
        b"[]",
        b'{"url": "http://x/api/inngest", "functions": []}',  # no app name
    ]
    for content in cases:
        r = httpx.post(
            f"{server.url}/fn/register",
            content=content,
            headers={"content-type": "application/json", **server_auth_headers()},
            timeout=10,
        )
        assert r.status_code == 400, f"{content!r}: {r.status_code} {r.text}"
        body = r.json()
        assert body.get("status") == 400, body
        assert body.get("error"), body
    assert httpx.get(f"{server.url}/health", timeout=5).status_code == 200
