"""Trigger matching: CEL expression filters, wildcards, several triggers per function."""

from __future__ import annotations

from tests.e2e.harness import Api, AppProcess, fmt


def _barrier(api: Api, k: str) -> None:
    eid = api.send_one("e2e/simple", {"k": f"barrier-{k}"})
    api.wait_for_run(eid, "Completed")


def test_expression_matches(api: Api, app: AppProcess, k: str) -> None:
    eid = api.send_one("e2e/expr", {"k": k, "amount": 150})
    run = api.wait_for_run(eid, "Completed")
    assert run["function_id"] == "e2e-app-expr", fmt(run)
    assert run["output"] == {"amount": 150}, fmt(run)
    assert app.count(f"expr:body:{k}") == 1


def test_expression_filters_out_non_matching_events(
    api: Api, app: AppProcess, k: str
) -> None:
    low = api.send_one("e2e/expr", {"k": k, "amount": 100})
    missing = api.send_one(
        "e2e/expr", {"k": k}
    )  # no amount: the expression errors/is false
    wrong_type = api.send_one("e2e/expr", {"k": k, "amount": "lots"})
    # Same request order: a matching event after them proves they were all evaluated.
    hit = api.send_one("e2e/expr", {"k": f"{k}-hit", "amount": 101})
    api.wait_for_run(hit, "Completed")
    _barrier(api, k)

    for eid in (low, missing, wrong_type):
        assert api.runs_for_event(eid) == [], (
            f"event {fmt(api.event(eid))} should not match"
        )
    assert app.count(f"expr:body:{k}") == 0
    assert app.count(f"expr:body:{k}-hit") == 1


def test_wildcard_trigger(api: Api, app: AppProcess, k: str) -> None:
    a = api.send_one("e2e/wild.one", {"k": f"{k}-1"})
    b = api.send_one("e2e/wild.two.deeper", {"k": f"{k}-2"})
    no = api.send_one("e2e/wildcat", {"k": f"{k}-3"})  # prefix but not "e2e/wild."
    ra = api.wait_for_run(a, "Completed")
    rb = api.wait_for_run(b, "Completed")
    assert ra["function_id"] == "e2e-app-wild", fmt(ra)
    assert ra["output"] == {"name": "e2e/wild.one"}, fmt(ra)
    assert rb["output"] == {"name": "e2e/wild.two.deeper"}, fmt(rb)
    _barrier(api, k)
    assert api.runs_for_event(no) == [], "e2e/wildcat must not match e2e/wild.*"


def test_function_with_two_triggers(api: Api, app: AppProcess, k: str) -> None:
    a = api.send_one("e2e/multi.a", {"k": f"{k}-a"})
    b = api.send_one("e2e/multi.b", {"k": f"{k}-b"})
    c = api.send_one("e2e/multi.c", {"k": f"{k}-c"})
    ra = api.wait_for_run(a, "Completed")
    rb = api.wait_for_run(b, "Completed")
    assert ra["function_id"] == rb["function_id"] == "e2e-app-multi"
    assert ra["output"] == {"name": "e2e/multi.a"}, fmt(ra)
    assert rb["output"] == {"name": "e2e/multi.b"}, fmt(rb)
    assert ra["run_id"] != rb["run_id"]
    _barrier(api, k)
    assert api.runs_for_event(c) == []
    assert app.count(f"multi:body:{k}-a") == 1
    assert app.count(f"multi:body:{k}-b") == 1


def test_event_without_any_trigger_starts_nothing(api: Api, k: str) -> None:
    eid = api.send_one(f"e2e/unrouted-{k}", {"k": k})
    _barrier(api, k)
    assert api.runs_for_event(eid) == []
    assert api.event(eid)["name"] == f"e2e/unrouted-{k}"
