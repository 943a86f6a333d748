"""The GraphQL subset the SDK's own dev tooling queries (protocol.md §7)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tests.e2e.harness import Api, AppProcess, fmt, wait_until

GET_RUN = """
query GetRun($run_id: String!) {
    run(runID: $run_id) {
        output
        status
    }
    runTrigger(runID: $run_id) {
        payloads
    }
}
"""

GET_SPANS = """
query GetHistory($run_id: String!) {
    run(runID: $run_id) {
        trace {
            childrenSpans {
                name
                outputID
            }
        }
    }
}
"""

GET_OUTPUT = """
query GetHistory($output_id: String!) {
    runTraceSpanOutputByID(outputID: $output_id) {
        data
        error {
            message
            name
            stack
        }
    }
}
"""


def _gql(api: Api, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    r = api.http.post("/v0/gql", json={"query": query, "variables": variables})
    assert r.status_code == 200, f"POST /v0/gql: {r.status_code} {r.text[:1000]}"
    body = r.json()
    assert isinstance(body.get("data"), dict), f"gql data must be an object: {body}"
    return dict(body)


def test_gql_run_status_output_and_trigger(api: Api, k: str) -> None:
    eid = api.send_one("e2e/chain", {"k": k, "n": 1})
    run = api.wait_for_run(eid, "Completed")

    body = _gql(api, GET_RUN, {"run_id": run["run_id"]})
    assert not body.get("errors"), fmt(body)
    got = body["data"]["run"]
    assert got["status"] == "COMPLETED", fmt(body)
    assert isinstance(got["output"], str), f"output must be a JSON string: {fmt(body)}"
    assert json.loads(got["output"]) == run["output"], fmt(body)
    payload = json.loads(body["data"]["runTrigger"]["payloads"][0])
    assert payload["name"] == "e2e/chain", payload
    assert payload["data"]["k"] == k, payload
    assert isinstance(payload["ts"], int), payload
    assert isinstance(payload["id"], str), payload


def test_gql_step_spans_and_outputs(api: Api, k: str) -> None:
    eid = api.send_one("e2e/chain", {"k": k, "n": 1})
    run = api.wait_for_run(eid, "Completed")

    def spans() -> list[dict[str, Any]] | None:
        body = _gql(api, GET_SPANS, {"run_id": run["run_id"]})
        if body.get("errors"):
            return None
        children = ((body["data"].get("run") or {}).get("trace") or {}).get(
            "childrenSpans"
        )
        # With Redis + PostgreSQL the trace is read from PostgreSQL, fed by the outbox
        # relay a moment behind the run: wait until the last step's span is there.
        if not children or "c" not in {c["name"] for c in children}:
            return None
        return list(children)

    children = wait_until(spans, 10, message="trace spans for the run")
    by_name = {c["name"]: c for c in children}
    for step in ("a", "b", "c"):
        assert step in by_name, f"no span named {step}: {fmt(children)}"
    out = _gql(api, GET_OUTPUT, {"output_id": by_name["b"]["outputID"]})
    assert not out.get("errors"), fmt(out)
    span_out = out["data"]["runTraceSpanOutputByID"]
    assert json.loads(span_out["data"]) == 20, fmt(out)
    assert span_out.get("error") is None, fmt(out)


def test_gql_failed_run(api: Api, k: str) -> None:
    eid = api.send_one("e2e/nonretriable", {"k": k})
    run = api.wait_for_run(eid, "Failed")
    body = _gql(api, GET_RUN, {"run_id": run["run_id"]})
    got = body["data"]["run"]
    assert got["status"] == "FAILED", fmt(body)
    assert json.loads(got["output"])["name"] == "NonRetriableError", fmt(body)


GET_RUN_FROM_EVENT = """
query GetRunFromEventID($event_id: ID!) {
    event(query: {eventId: $event_id}) {
        functionRuns {
            id
        }
    }
}
"""

RUN_DETAIL = """
query GetRun($runID: String!) {
    run(runID: $runID) {
        id status queuedAt startedAt endedAt eventName output traceID triggerIDs
        function { slug name app { name } }
        app { name url }
        trace {
            name status isRoot outputID
            childrenSpans {
                name status attempts outputID stepOp stepID queuedAt startedAt endedAt duration
                childrenSpans { name status attempts outputID }
            }
        }
    }
}
"""


def test_gql_event_function_runs(api: Api, k: str) -> None:
    eid = api.send_one("e2e/simple", {"k": k})
    run = api.wait_for_run(eid, "Completed")
    body = _gql(api, GET_RUN_FROM_EVENT, {"event_id": eid})
    assert not body.get("errors"), fmt(body)
    assert body["data"]["event"]["functionRuns"] == [{"id": run["run_id"]}], fmt(body)


def _run_detail_when(
    api: Api, run_id: str, ready: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The RUN_DETAIL `run` once `ready(spans by name)` holds. With Redis + PostgreSQL the
    trace is read from PostgreSQL, fed by the outbox relay a moment behind the run."""

    def detail() -> dict[str, Any] | None:
        body = _gql(api, RUN_DETAIL, {"runID": run_id})
        assert not body.get("errors"), fmt(body)
        trace = (body["data"].get("run") or {}).get("trace") or {}
        spans = {c["name"]: c for c in trace.get("childrenSpans") or []}
        return dict(body["data"]["run"]) if ready(spans) else None

    return wait_until(detail, 10, message=f"the trace of run {run_id}")


def test_gql_run_detail_and_trace_with_retries(api: Api, k: str) -> None:
    eid = api.send_one("e2e/flaky", {"k": k})
    run = api.wait_for_run(eid, "Completed", timeout=40)
    got = _run_detail_when(
        api,
        run["run_id"],
        lambda spans: spans.get("flaky", {}).get("attempts") == 3,
    )
    assert got["id"] == run["run_id"]
    assert got["status"] == "COMPLETED"
    assert got["eventName"] == "e2e/flaky"
    assert got["triggerIDs"] == [eid]
    assert got["function"]["slug"] == "e2e-app-flaky"
    assert got["function"]["app"]["name"] == "e2e-app"
    for key in ("queuedAt", "startedAt", "endedAt"):
        assert got[key].endswith("Z"), fmt(got)
    trace = got["trace"]
    assert trace["isRoot"] is True, fmt(trace)
    assert trace["status"] == "COMPLETED", fmt(trace)
    by_name = {s["name"]: s for s in trace["childrenSpans"]}
    assert by_name["pre"]["status"] == "COMPLETED", fmt(trace)
    flaky = by_name["flaky"]
    assert flaky["attempts"] == 3, fmt(flaky)
    assert flaky["stepOp"] == "RUN"
    assert [c["status"] for c in flaky["childrenSpans"]] == [
        "FAILED",
        "FAILED",
        "COMPLETED",
    ], fmt(flaky)
    # A failed attempt's output is its error.
    first = _gql(api, GET_OUTPUT, {"output_id": flaky["childrenSpans"][0]["outputID"]})
    err = first["data"]["runTraceSpanOutputByID"]["error"]
    assert err["name"] == "ValueError", fmt(first)
    assert "flaky failure 1" in err["message"], fmt(first)
    # The root span's output is the run's return value.
    root = _gql(api, GET_OUTPUT, {"output_id": trace["outputID"]})
    assert json.loads(root["data"]["runTraceSpanOutputByID"]["data"]) == run["output"]

    same = _gql(
        api,
        "query($id: String!) { runTrace(runID: $id) { name childrenSpans { name } } }",
        {"id": run["run_id"]},
    )
    assert [s["name"] for s in same["data"]["runTrace"]["childrenSpans"]] == [
        s["name"] for s in trace["childrenSpans"]
    ]


def test_gql_sleep_span_waits_then_completes(api: Api, k: str) -> None:
    eid = api.send_one("e2e/sleep", {"k": k, "seconds": 1})
    run = api.wait_for_run(eid, "Completed")
    got = _run_detail_when(
        api,
        run["run_id"],
        lambda spans: spans.get("nap", {}).get("status") == "COMPLETED",
    )
    spans = {s["name"]: s for s in got["trace"]["childrenSpans"]}
    nap = spans["nap"]
    assert nap["stepOp"] == "SLEEP", fmt(spans)
    assert nap["status"] == "COMPLETED", fmt(spans)
    assert nap["duration"] >= 900, fmt(nap)


def test_gql_runs_connection_filters_and_pages(api: Api, k: str) -> None:
    eids = [api.send_one("e2e/simple", {"k": f"{k}-{i}"}) for i in range(3)]
    run_ids = {api.wait_for_run(e, "Completed")["run_id"] for e in eids}
    q = """
    query($after: String, $from: Time!) {
      runs(first: 2, after: $after, orderBy: [{field: QUEUED_AT, direction: DESC}],
           filter: {from: $from, status: [COMPLETED], functionIDs: ["e2e-app-simple"]}) {
        edges { cursor node { id status function { slug } } }
        pageInfo { hasNextPage endCursor }
        totalCount
      }
    }
    """
    # With Redis + PostgreSQL the listing is fed by the outbox relay, a moment behind: wait
    # until the three new runs (the function's newest) are listed.
    newest = """
    query($from: Time!) {
      runs(first: 3, orderBy: [{field: QUEUED_AT, direction: DESC}],
           filter: {from: $from, status: [COMPLETED], functionIDs: ["e2e-app-simple"]}) {
        edges { node { id } }
      }
    }
    """
    wait_until(
        lambda: (
            {
                e["node"]["id"]
                for e in (
                    (
                        _gql(api, newest, {"from": "2020-01-01T00:00:00Z"})["data"]
                        or {}
                    ).get("runs")
                    or {}
                ).get("edges", [])
            }
            == run_ids
        ),
        timeout=10,
        message="the run listing to show the three runs",
    )
    seen: list[str] = []
    after = None
    for _ in range(50):
        body = _gql(api, q, {"after": after, "from": "2020-01-01T00:00:00Z"})
        assert not body.get("errors"), fmt(body)
        conn = body["data"]["runs"]
        assert len(conn["edges"]) <= 2
        assert conn["totalCount"] >= 3
        for edge in conn["edges"]:
            assert edge["node"]["status"] == "COMPLETED"
            assert edge["node"]["function"]["slug"] == "e2e-app-simple"
            seen.append(edge["node"]["id"])
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert run_ids <= set(seen), (run_ids, seen)
    assert len(seen) == len(set(seen)), "pages overlap"


def test_gql_apps_functions_and_events(api: Api, k: str) -> None:
    eid = api.send_one("e2e/simple", {"k": k})
    api.wait_for_run(eid, "Completed")
    body = _gql(
        api,
        """query($from: Time!) {
            apps { id name url functionCount functions { slug } }
            functions { slug name app { name } triggers { type value } }
            eventsV2(first: 5, filter: {from: $from, eventNames: ["e2e/simple"]}) {
                edges { cursor node { id name raw receivedAt runs { id status } } }
                pageInfo { hasNextPage endCursor }
            }
        }""",
        {"from": "2020-01-01T00:00:00Z"},
    )
    assert not body.get("errors"), fmt(body)
    app = next(a for a in body["data"]["apps"] if a["name"] == "e2e-app")
    assert app["functionCount"] == len(app["functions"]) > 10
    simple = next(f for f in body["data"]["functions"] if f["slug"] == "e2e-app-simple")
    assert simple["triggers"] == [{"type": "EVENT", "value": "e2e/simple"}]
    edges = body["data"]["eventsV2"]["edges"]
    assert edges[0]["node"]["id"] == eid, fmt(edges)
    assert json.loads(edges[0]["node"]["raw"])["data"]["k"] == k
    assert edges[0]["node"]["runs"][0]["status"] == "COMPLETED"


def test_gql_mutations_invoke_rerun_cancel(api: Api, k: str) -> None:
    body = _gql(
        api,
        'mutation($d: Map) { invokeFunction(functionSlug: "e2e-app-simple", data: $d) }',
        {"d": {"k": k}},
    )
    assert body["data"] == {"invokeFunction": True}, fmt(body)
    invoked = wait_until(
        lambda: [
            e for e in api.events("inngest/function.invoked") if e["data"].get("k") == k
        ],
        10,
        message="the invocation event",
    )
    run = api.wait_for_run(invoked[0]["internal_id"], "Completed")

    body = _gql(
        api, "mutation($id: ULID!) { rerun(runID: $id) }", {"id": run["run_id"]}
    )
    new_id = body["data"]["rerun"]
    assert new_id, fmt(body)
    assert new_id != run["run_id"], fmt(body)
    rerun = api.wait_run_status(new_id, "Completed")
    assert rerun["function_id"] == "e2e-app-simple"

    eid = api.send_one("e2e/cancellable", {"k": k, "id": k})
    sleeping = api.wait_for_run(eid, "Running")
    body = _gql(
        api,
        "mutation($id: ULID!) { cancelRun(runID: $id) { id status } }",
        {"id": sleeping["run_id"]},
    )
    assert body["data"]["cancelRun"] == {
        "id": sleeping["run_id"],
        "status": "CANCELLED",
    }
    again = _gql(
        api,
        "mutation($id: ULID!) { cancelRun(runID: $id) { id } }",
        {"id": sleeping["run_id"]},
    )
    assert "already ended" in again["errors"][0]["message"], fmt(again)


def test_gql_errors(api: Api) -> None:
    # Unknown run: null and a message.
    body = _gql(api, GET_RUN, {"run_id": "01HZZZZZZZZZZZZZZZZZZZZZZZ"})
    assert body["errors"], fmt(body)
    assert "not found" in body["errors"][0]["message"]
    # Malformed document: 200, data is an object, errors name the problem.
    body = _gql(api, "query { run(runID: ", {})
    assert body["data"] == {}
    assert "Syntax Error" in body["errors"][0]["message"]
    # A field the schema does not have.
    body = _gql(api, "{ nope }", {})
    assert "nope" in body["errors"][0]["message"], fmt(body)
    # Not JSON at all.
    r = api.http.post("/v0/gql", content=b"{not json")
    assert r.status_code == 200, r.text
    assert r.json()["errors"], r.text
    r = api.http.post("/v0/gql", json={"variables": {}})
    assert r.status_code == 200, r.text
    assert r.json()["data"] == {}, r.text
    body = _gql(api, GET_OUTPUT, {"output_id": "not-an-id"})
    assert body["errors"], fmt(body)


RERUN_FROM = """
mutation($id: ULID!, $from: RerunFromStepInput) { rerun(runID: $id, fromStep: $from) }
"""


def test_gql_rerun_from_a_step(api: Api, app: AppProcess, k: str) -> None:
    run = api.wait_for_run(api.send_one("e2e/chain", {"k": k, "n": 3}), "Completed")
    got = _run_detail_when(api, run["run_id"], lambda spans: "c" in spans)
    step_c = {c["name"]: c["stepID"] for c in got["trace"]["childrenSpans"]}["c"]

    body = _gql(api, RERUN_FROM, {"id": run["run_id"], "from": {"stepID": step_c}})
    assert not body.get("errors"), fmt(body)
    done = api.wait_run_status(body["data"]["rerun"], "Completed")
    assert done["output"] == run["output"]
    assert [app.count(f"chain:{s}:{k}") for s in "abc"] == [1, 1, 2]

    for bad, message in [
        ({"stepID": "nope"}, "step 'nope' not found"),
        ({"stepID": step_c, "input": "e30="}, "new input is not supported"),
    ]:
        body = _gql(api, RERUN_FROM, {"id": run["run_id"], "from": bad})
        assert message in body["errors"][0]["message"], fmt(body)


SEARCH_RUNS = """
query($q: String) {
  runs(first: 10, orderBy: [{field: QUEUED_AT, direction: DESC}],
       filter: {from: "2020-01-01T00:00:00Z", functionIDs: ["e2e-app-chain"], query: $q}) {
    edges { node { id } }
    totalCount
  }
}
"""
SEARCH_EVENTS = """
query($q: String) {
  eventsV2(first: 10, filter: {from: "2020-01-01T00:00:00Z", query: $q}) {
    edges { node { id name } }
  }
}
"""


def test_gql_cel_search_of_runs_and_events(api: Api, k: str) -> None:
    eids = [api.send_one("e2e/chain", {"k": k, "n": n}) for n in (1, 5, 9)]
    runs = [api.wait_for_run(e, "Completed") for e in eids]
    query = f'event.data.k == "{k}" && output.sum > 40'  # n=5: 6+60, n=9: 10+100

    def found() -> list[str] | None:
        body = _gql(api, SEARCH_RUNS, {"q": query})
        assert not body.get("errors"), fmt(body)
        ids = [e["node"]["id"] for e in body["data"]["runs"]["edges"]]
        # The listing is fed a moment behind the runs with Redis + PostgreSQL.
        return ids if len(ids) == 2 else None

    ids = wait_until(found, 10, message="the search to list the two runs")
    assert ids == [runs[2]["run_id"], runs[1]["run_id"]]
    body = _gql(api, SEARCH_RUNS, {"q": query})
    assert body["data"]["runs"]["totalCount"] == 2, fmt(body)

    body = _gql(api, SEARCH_EVENTS, {"q": f'event.data.k == "{k}" && event.data.n < 6'})
    assert not body.get("errors"), fmt(body)
    assert [e["node"]["id"] for e in body["data"]["eventsV2"]["edges"]] == [
        eids[1],
        eids[0],
    ]

    bad = _gql(api, SEARCH_RUNS, {"q": "output.sum >"})
    assert "invalid expression" in bad["errors"][0]["message"], fmt(bad)
