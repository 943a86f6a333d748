"""REST API v1 against a real server and the real SDK app: every route, pagination,
filters, actions (rerun, invoke, sync, cancel), bad input, and the OpenAPI document."""

from __future__ import annotations

from typing import Any

import httpx

from inngestd.api import openapi
from inngestd.api.app import create_app
from tests.e2e.harness import (
    Api,
    AppProcess,
    ServerProcess,
    fmt,
    server_auth_headers,
    wait_until,
)


def _get(api: Api, path: str, expect: int = 200, **params: Any) -> dict[str, Any]:
    r = api.http.get(path, params=params)
    assert r.status_code == expect, f"GET {path} {params}: {r.status_code} {r.text}"
    body = r.json()
    if expect >= 400:
        assert body["status"] == expect, body
        assert isinstance(body["error"], str), body
    return dict(body)


def _post(api: Api, path: str, body: Any = None, status: int = 200) -> dict[str, Any]:
    r = api.http.post(path, json=body)
    assert r.status_code == status, f"POST {path}: {r.status_code} {r.text}"
    return dict(r.json())


def test_list_runs_pages_filters_and_names(api: Api, k: str) -> None:
    eids = [api.send_one("e2e/simple", {"k": f"{k}-{i}"}) for i in range(5)]
    mine = {api.wait_for_run(e, "Completed")["run_id"] for e in eids}
    nr = api.wait_for_run(api.send_one("e2e/nonretriable", {"k": k}), "Failed")

    seen: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        params: dict[str, Any] = {"limit": 2, "function_id": "e2e-app-simple"}
        if cursor:
            params["cursor"] = cursor
        page = _get(api, "/v1/runs", **params)
        assert len(page["data"]) <= 2
        seen += page["data"]
        cursor = page["cursor"]
        if cursor is None:
            break
    ids = [r["run_id"] for r in seen]
    assert mine <= set(ids), ids
    assert len(ids) == len(set(ids)), ids
    stamps = [(r["queued_at"], r["run_id"]) for r in seen]
    assert stamps == sorted(stamps, reverse=True), "not newest first"
    row = next(r for r in seen if r["run_id"] in mine)
    assert row["function_name"] == "simple"
    assert row["event_name"] == "e2e/simple"
    assert row["status"] == "Completed"
    assert row["app_id"] == "e2e-app"

    failed = _get(api, "/v1/runs", status="failed,cancelled", limit=1000)["data"]
    assert nr["run_id"] in {r["run_id"] for r in failed}
    assert {r["status"] for r in failed} <= {"Failed", "Cancelled"}
    both = _get(
        api, "/v1/runs", status="COMPLETED", function_id="e2e-app-simple", limit=1000
    )["data"]
    assert mine <= {r["run_id"] for r in both}
    assert all(r["function_id"] == "e2e-app-simple" for r in both)
    assert _get(api, "/v1/runs", app_id="no-such-app")["data"] == []
    assert _get(api, "/v1/runs", before="2000-01-01T00:00:00Z")["data"] == []
    recent = _get(api, "/v1/runs", after=row["queued_at"], limit=1000)["data"]
    assert row["run_id"] in {r["run_id"] for r in recent}
    assert all(r["queued_at"] >= row["queued_at"] for r in recent)


def test_list_runs_rejects_bad_filters(api: Api) -> None:
    for params, name in (
        ({"status": "DONE"}, "status"),
        ({"limit": "x"}, "limit"),
        ({"limit": 0}, "limit"),
        ({"after": "yesterday"}, "after"),
        ({"before": "2024-01-01T00:00:00"}, "before"),
        ({"cursor": "garbage!"}, "cursor"),
    ):
        body = _get(api, "/v1/runs", 400, **params)
        assert name in body["error"], (params, body)


def test_run_jobs_steps_cancel_and_rerun(api: Api, k: str) -> None:
    eid = api.send_one("e2e/cancellable", {"k": k, "id": k})
    run = api.wait_for_run(eid, "Running")

    def sleeping() -> list[dict[str, Any]] | None:
        jobs = _get(api, f"/v1/runs/{run['run_id']}/jobs")["data"]
        return [j for j in jobs if j["kind"] == "sleep"] or None

    [job] = wait_until(sleeping, 15, message="the run's sleep job")
    assert job["run_id"] == run["run_id"], job
    assert job["due_at"].endswith("Z"), job
    steps = _get(api, f"/v1/runs/{run['run_id']}/steps")["data"]
    assert [s["name"] for s in steps][:2] == ["start", "long"], fmt(steps)

    r = api.cancel(run["run_id"])
    assert r.status_code == 200, r.text
    assert r.json()["data"]["status"] == "Cancelled", r.text
    assert _get(api, f"/v1/runs/{run['run_id']}/jobs")["data"] == []
    r = api.cancel(run["run_id"])
    assert r.status_code == 409, r.text
    assert "already ended" in r.json()["error"], r.text

    # Rerun the cancelled run: a new run with the same event.
    new = _post(api, f"/v1/runs/{run['run_id']}/rerun")["data"]
    assert new["run_id"] != run["run_id"]
    assert new["event_id"] == eid
    assert new["function_id"] == "e2e-app-cancellable"
    api.wait_run_status(new["run_id"], "Running")
    assert api.http.delete(f"/v0/runs/{new['run_id']}").status_code == 200
    runs = api.runs_for_event(eid)
    assert {r["run_id"] for r in runs} == {run["run_id"], new["run_id"]}


def test_rerun_completed_run_runs_again(api: Api, app: AppProcess, k: str) -> None:
    run = api.wait_for_run(api.send_one("e2e/chain", {"k": k, "n": 2}), "Completed")
    new = _post(api, f"/v1/runs/{run['run_id']}/rerun")["data"]
    done = api.wait_run_status(new["run_id"], "Completed")
    assert done["output"] == run["output"]
    assert app.count(f"chain:a:{k}") == 2, "a rerun starts from scratch"


def test_rerun_from_a_step_keeps_the_steps_before_it(
    api: Api, app: AppProcess, k: str
) -> None:
    run = api.wait_for_run(api.send_one("e2e/chain", {"k": k, "n": 2}), "Completed")
    steps = {
        s["name"]: s["step_id"]
        for s in _get(api, f"/v1/runs/{run['run_id']}/steps")["data"]
    }
    assert {"a", "b", "c"} <= set(steps), steps

    new = _post(api, f"/v1/runs/{run['run_id']}/rerun", {"from_step": steps["b"]})[
        "data"
    ]
    assert new["run_id"] != run["run_id"]
    done = api.wait_run_status(new["run_id"], "Completed")
    assert done["output"] == run["output"]
    # a's result was carried over; b and c ran again.
    assert app.count(f"chain:a:{k}") == 1
    assert app.count(f"chain:b:{k}") == 2
    assert app.count(f"chain:c:{k}") == 2

    # From the first step: everything runs again.
    again = _post(api, f"/v1/runs/{run['run_id']}/rerun", {"from_step": steps["a"]})[
        "data"
    ]
    api.wait_run_status(again["run_id"], "Completed")
    assert app.count(f"chain:a:{k}") == 2

    bad = _post(
        api, f"/v1/runs/{run['run_id']}/rerun", {"from_step": "nope"}, status=404
    )
    assert "step 'nope' not found" in bad["error"], bad
    bad = _post(api, f"/v1/runs/{run['run_id']}/rerun", {"from_step": 3}, status=400)
    assert "from_step" in bad["error"], bad
    assert len(api.runs_for_event(run["event_id"])) == 3


def test_list_runs_with_a_cel_query(api: Api, k: str) -> None:
    eids = [api.send_one("e2e/chain", {"k": k, "n": n}) for n in (2, 4)]
    runs = [api.wait_for_run(e, "Completed") for e in eids]
    query = f'event.data.k == "{k}" && output.a == 5'  # n=4 gives a=5

    def listed() -> list[dict[str, Any]] | None:
        data = _get(api, "/v1/runs", query=query, limit=5)["data"]
        return data or None

    [row] = wait_until(listed, 10, message="the search to list the run")
    assert row["run_id"] == runs[1]["run_id"]
    body = _get(api, "/v1/runs", 400, query="output.a ==")
    assert "invalid expression" in body["error"], body
    body = _get(api, "/v1/runs", 400, query="steps.a == 1")
    assert "undeclared reference" in body["error"], body


def test_functions_and_app_functions(api: Api) -> None:
    fns = _get(api, "/v1/functions")["data"]
    slugs = [f["slug"] for f in fns]
    assert "e2e-app-chain" in slugs
    assert slugs == sorted(slugs)
    chain = next(f for f in fns if f["slug"] == "e2e-app-chain")
    assert chain["triggers"] == [{"event": "e2e/chain"}]
    assert chain["app_id"] == "e2e-app"
    body = _get(api, "/v1/apps/e2e-app/functions")
    assert body["app"]["id"] == "e2e-app"
    assert {f["slug"] for f in body["data"]} == set(slugs) & {
        f["slug"] for f in body["data"]
    }
    assert "e2e-app-chain" in {f["slug"] for f in body["data"]}
    _get(api, "/v1/apps/nope/functions", 404)


def test_invoke_function(api: Api, k: str) -> None:
    body = _post(
        api, "/v1/functions/e2e-app-invoked/invoke", {"data": {"x": 21, "k": k}}
    )
    eid = body["data"]["event_id"]
    ev = api.event(eid)
    assert ev["name"] == "inngest/function.invoked"
    assert ev["data"]["x"] == 21
    run = api.wait_for_run(eid, "Completed")
    assert run["output"] == {"doubled": 42, "k": k}

    body = _post(api, "/invoke/e2e-app-simple", {"data": {"k": k}})
    assert body["status"] == 200
    run = api.wait_for_run(body["id"], "Completed")
    assert run["function_id"] == "e2e-app-simple"

    _post(api, "/v1/functions/e2e-app-nope/invoke", {"data": {}}, 404)
    _post(api, "/invoke/e2e-app-nope", {}, 404)
    _post(api, "/v1/functions/e2e-app-simple/invoke", {"data": [1]}, 400)
    r = api.http.post("/v1/functions/e2e-app-simple/invoke", content=b"{oops")
    assert r.status_code == 400, r.text
    assert "JSON" in r.json()["error"], r.text


def test_sync_app_by_url(
    server_factory: Any, app_factory: Any, api: Api, k: str
) -> None:
    srv: ServerProcess = server_factory(poll_interval=None)
    own = Api(srv.url)
    try:
        sdk_app = app_factory("main_app", server=srv)
        body = _post(own, "/v1/apps/sync", {"url": sdk_app.serve_url})
        assert body["data"]["id"] == "e2e-app"
        assert body["data"]["error"] is None
        assert len(body["data"]["functions"]) > 10
        # An app that cannot be reached: 404 naming the URL (nothing was synced).
        r = own.http.post(
            "/v1/apps/sync", json={"url": "http://127.0.0.1:9/api/inngest"}
        )
        assert r.status_code == 404, r.text
        assert "127.0.0.1:9" in r.json()["error"], r.text
        # Re-sync of a known app whose server is gone: the listing carries the error.
        sdk_app.stop()
        body = _post(own, "/v1/apps/sync", {"url": sdk_app.serve_url})
        assert body["data"]["error"], fmt(body)
        _post(own, "/v1/apps/sync", {"url": "ftp://x"}, 400)
        _post(own, "/v1/apps/sync", {}, 400)
    finally:
        own.close()


def test_unknown_ids_are_404(api: Api) -> None:
    missing = "01HZZZZZZZZZZZZZZZZZZZZZZZ"
    for path in (
        f"/v1/runs/{missing}",
        f"/v1/runs/{missing}/jobs",
        f"/v1/runs/{missing}/steps",
        f"/v1/events/{missing}",
        f"/v1/events/{missing}/runs",
        "/v1/no-such-route",
    ):
        _get(api, path, 404)
    assert api.http.delete(f"/v1/runs/{missing}").status_code == 404
    _post(api, f"/v1/runs/{missing}/rerun", None, 404)


def test_events_pagination(api: Api, k: str) -> None:
    name = f"e2e/page-{k}"
    sent = [api.send_one(name, {"i": i}) for i in range(5)]
    got: list[str] = []
    cursor = None
    for _ in range(10):
        params: dict[str, Any] = {"name": name, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = _get(api, "/v1/events", **params)
        got += [e["internal_id"] for e in page["data"]]
        cursor = page["cursor"]
        if not cursor:
            break
    assert got == list(reversed(sent))


def test_openapi_lists_exactly_the_routes(api: Api) -> None:
    doc = _get(api, "/openapi.json")
    assert doc["openapi"].startswith("3.")
    documented = {
        (method.upper(), path) for path, ops in doc["paths"].items() for method in ops
    }
    app = create_app(None)  # type: ignore[arg-type]
    live = set(openapi.api_routes(list(app.routes)))
    assert documented == live
    undescribed = live - set(openapi.OPERATIONS)
    assert not undescribed, f"describe these routes in api/openapi.py: {undescribed}"
    stale = set(openapi.OPERATIONS) - live
    assert not stale, f"api/openapi.py describes routes that do not exist: {stale}"
    # Spot-check that the document is usable: parameters and the error schema.
    runs = doc["paths"]["/v1/runs"]["get"]
    assert {p["name"] for p in runs["parameters"]} >= {"status", "cursor", "limit"}
    assert "Error" in doc["components"]["schemas"]


def test_graphql_route_is_served(api: Api) -> None:
    r = httpx.post(
        f"{api.base_url}/v0/gql",
        json={"query": "{ apps { name } }"},
        headers=server_auth_headers(),
    )
    assert r.status_code == 200, r.text
    assert r.json()["data"]["apps"], r.text
