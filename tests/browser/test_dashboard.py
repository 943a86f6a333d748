"""The dashboard in real headless Chromium against a real server and SDK app."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Stack
from tests.e2e.harness import wait_until

pytestmark = pytest.mark.e2e

Shot = Callable[[Page, str], Path]


def _run_id(url: str) -> str:
    match = re.search(r"/runs/([^/?#]+)", url)
    assert match, url
    return match.group(1)


def test_every_page_renders(page: Page, stack: Stack, shot: Shot, k: str) -> None:
    stack.api.wait_for_run(stack.api.send_one("e2e/chain", {"k": k}))

    page.goto("/apps")
    expect(page.get_by_role("heading", name="Apps")).to_be_visible()
    card = page.locator('[data-app="e2e-app"]')
    expect(card).to_contain_text(stack.app.serve_url)
    expect(card).to_contain_text("py:")
    expect(card.locator(".badge")).to_have_text("SYNCED")
    expect(page.locator("nav a.active")).to_have_text("Apps")
    shot(page, "apps")

    page.get_by_role("link", name="Functions", exact=True).click()
    expect(page).to_have_url(re.compile(r"/functions$"))
    row = page.locator('tr[data-slug="e2e-app-cancellable"]')
    expect(row).to_contain_text("e2e/cancellable")
    expect(row).to_contain_text("cancel on")
    expect(page.locator('tr[data-slug="e2e-app-expr"]')).to_contain_text(
        "event.data.amount > 100"
    )
    shot(page, "functions")

    row.get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(r"/functions/e2e-app-cancellable$"))
    expect(page.get_by_role("heading", name="Configuration")).to_be_visible()
    expect(page.locator("pre.config")).to_contain_text('"e2e/cancel"')
    shot(page, "function")

    page.get_by_role("link", name="Events", exact=True).click()
    expect(page.locator("tr[data-name='e2e/chain']").first).to_be_visible()
    expect(page.locator("#event-detail pre.payload")).to_be_visible()
    shot(page, "events")

    page.get_by_role("link", name="Runs", exact=True).click()
    expect(page).to_have_url(re.compile(r"/runs$"))
    expect(page.locator("tr[data-run-id]").first).to_be_visible()
    expect(page.locator("tr[data-status='Completed']").first).to_contain_text(
        "COMPLETED"
    )
    shot(page, "runs")


def test_send_event_from_ui_and_watch_the_run(
    page: Page, stack: Stack, shot: Shot, k: str
) -> None:
    page.goto("/events")
    page.get_by_role("button", name="Send event").click()
    page.locator("#send-name").fill("e2e/chain")
    page.locator("#send-data").fill(json.dumps({"k": k, "n": 2}))
    with page.expect_response("**/e/*") as sent:
        page.locator("#send-submit").click()
    [event_id] = sent.value.json()["ids"]

    # The new event is listed and selected; its run appears and completes, live.
    expect(page).to_have_url(re.compile(f"/events/{event_id}$"))
    expect(page.locator(f"tr[data-id='{event_id}']")).to_be_visible()
    run_item = page.locator("#event-runs li[data-run-id]")
    expect(run_item).to_have_count(1)
    expect(run_item).to_have_attribute("data-status", "Completed", timeout=30_000)
    expect(page.locator("#event-detail pre.payload")).to_contain_text(k)
    shot(page, "event-detail")

    # The runs page lists it, completed.
    run_id = run_item.get_attribute("data-run-id")
    assert run_id
    page.get_by_role("link", name="Runs", exact=True).click()
    expect(page.locator(f"tr[data-run-id='{run_id}']")).to_have_attribute(
        "data-status", "Completed"
    )

    # Its timeline: one bar per step, outputs expandable.
    page.locator(f"tr[data-run-id='{run_id}'] a").first.click()
    expect(page).to_have_url(re.compile(f"/runs/{run_id}$"))
    expect(page.locator("#run-status .badge")).to_have_text("COMPLETED")
    expect(page.locator("pre.run-output")).to_contain_text('"sum": 33')
    steps = page.locator(".tl-item")
    expect(steps.filter(has_text="COMPLETED")).to_have_count(3)
    for name in ("a", "b", "c"):
        expect(page.locator(f".tl-item[data-step='{name}'] .tl-bar")).to_be_visible()
    page.locator(".tl-item[data-step='b'] .tl-row").click()
    expect(page.locator(".tl-item[data-step='b'] pre.step-output")).to_have_text("30")
    expect(page.locator(".tl-item[data-step='b'] .tl-row")).to_have_attribute(
        "aria-expanded", "true"
    )
    page.locator("#trigger-details summary").click()
    expect(page.locator("pre.trigger-payload")).to_contain_text(k)
    shot(page, "run-completed")

    # Deep link straight to the run page (a fresh load, not client-side routing).
    page.goto(f"/runs/{run_id}")
    expect(page.locator("#run-id")).to_have_text(run_id)
    expect(page.locator("nav a.active")).to_have_text("Runs")


def test_cancel_a_sleeping_run(page: Page, stack: Stack, shot: Shot, k: str) -> None:
    event_id = stack.api.send_one("e2e/cancellable", {"k": k, "id": k})
    run = stack.api.wait_for_run(event_id, "Running")

    page.goto(f"/runs/{run['run_id']}")
    expect(page.locator("#run-status .badge")).to_have_text("RUNNING")
    sleeping = page.locator(".tl-item[data-step='long']")
    expect(sleeping).to_have_attribute("data-status", "SLEEPING")
    expect(sleeping.locator(".tl-parked")).to_be_visible()
    shot(page, "run-sleeping")

    page.locator("#run-cancel").click()
    expect(page.locator("#run-status .badge")).to_have_text("CANCELLED")
    expect(page.locator("#run-cancel")).to_be_disabled()
    assert stack.api.run(run["run_id"])["status"] == "Cancelled"
    shot(page, "run-cancelled")

    # The runs list shows it cancelled, and the status filter finds it.
    page.goto("/runs?status=Cancelled")
    expect(page.locator("label.status-filter.st-cancelled input")).to_be_checked()
    row = page.locator(f"tr[data-run-id='{run['run_id']}']")
    expect(row).to_have_attribute("data-status", "Cancelled")
    statuses = page.locator("tr[data-run-id]").evaluate_all(
        "rows => rows.map(r => r.dataset.status)"
    )
    assert set(statuses) == {"Cancelled"}, statuses


def test_rerun_a_finished_run(page: Page, stack: Stack, shot: Shot, k: str) -> None:
    event_id = stack.api.send_one("e2e/simple", {"k": k})
    run = stack.api.wait_for_run(event_id)

    page.goto(f"/runs/{run['run_id']}")
    expect(page.locator("#run-status .badge")).to_have_text("COMPLETED")
    page.locator("#run-rerun").click()

    expect(page).not_to_have_url(re.compile(f"/runs/{run['run_id']}$"))
    new_id = _run_id(page.url)
    assert new_id != run["run_id"]
    expect(page.locator("#run-id")).to_have_text(new_id)
    expect(page.locator("#run-status .badge")).to_have_text("COMPLETED")
    expect(page.locator("pre.run-output")).to_contain_text(k)
    shot(page, "run-rerun")

    rerun = stack.api.run(new_id)
    assert rerun["function_id"] == run["function_id"] == "e2e-app-simple"
    page.goto("/runs?function_id=e2e-app-simple")
    expect(page.locator(f"tr[data-run-id='{new_id}']")).to_be_visible()
    expect(page.locator(f"tr[data-run-id='{run['run_id']}']")).to_be_visible()


def test_rerun_from_a_step(page: Page, stack: Stack, shot: Shot, k: str) -> None:
    run = stack.api.wait_for_run(stack.api.send_one("e2e/chain", {"k": k, "n": 4}))
    page.goto(f"/runs/{run['run_id']}")
    expect(page.locator("#run-status .badge")).to_have_text("COMPLETED")
    page.locator(".tl-item[data-step='b'] .tl-row").click()
    page.locator(".tl-item[data-step='b'] button.rerun-from").click()

    expect(page).not_to_have_url(re.compile(f"/runs/{run['run_id']}$"))
    new_id = _run_id(page.url)
    expect(page.locator("#run-id")).to_have_text(new_id)
    expect(page.locator("#run-status .badge")).to_have_text("COMPLETED")
    # The new run called b and c again; a's result was carried over.
    expect(page.locator(".tl-item[data-step='c']")).to_be_visible()
    shot(page, "run-rerun-from-step")
    assert stack.api.run(new_id)["output"] == run["output"]
    assert stack.app.count(f"chain:a:{k}") == 1
    assert stack.app.count(f"chain:b:{k}") == 2


def test_search_runs_with_cel(page: Page, stack: Stack, shot: Shot, k: str) -> None:
    eids = [stack.api.send_one("e2e/chain", {"k": k, "n": n}) for n in (1, 7)]
    runs = [stack.api.wait_for_run(e) for e in eids]
    page.goto("/runs")
    box = page.locator("#runs-query")
    box.fill(f'event.data.k == "{k}" && output.a > 5')
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]q="))
    expect(page.locator("tr[data-run-id]")).to_have_count(1)
    expect(page.locator(f"tr[data-run-id='{runs[1]['run_id']}']")).to_be_visible()
    shot(page, "runs-search")
    box.fill("output.a >")
    box.press("Enter")
    expect(page.locator(".runs .error-box")).to_contain_text("invalid expression")


def test_failures_and_retries_are_visible(
    page: Page, stack: Stack, shot: Shot, k: str
) -> None:
    flaky = stack.api.wait_for_run(stack.api.send_one("e2e/flaky", {"k": k}))
    failed = stack.api.wait_for_run(
        stack.api.send_one("e2e/nonretriable", {"k": k}),
        "Failed",
        function_id="e2e-app-nonretriable",
    )

    page.goto(f"/runs/{flaky['run_id']}")
    attempts = page.locator(".tl-item[data-step='flaky']")
    expect(attempts).to_have_count(3)
    expect(attempts.filter(has_text="ERRORED")).to_have_count(2)
    expect(attempts.nth(2).locator(".tag.retry")).to_have_text("attempt 3")
    attempts.first.locator(".tl-row").click()
    expect(attempts.first.locator(".step-error")).to_contain_text("flaky failure 1")
    shot(page, "run-retries")

    page.goto(f"/runs/{failed['run_id']}")
    expect(page.locator("#run-status .badge")).to_have_text("FAILED")
    expect(page.locator("#run-error")).to_contain_text(f"nope {k}")
    shot(page, "run-failed")


def test_invoke_a_function_with_a_payload(
    page: Page, stack: Stack, shot: Shot, k: str
) -> None:
    page.goto("/functions/e2e-app-simple")
    page.get_by_role("button", name="Invoke").click()
    page.locator("#invoke-data").fill(json.dumps({"k": k}))
    shot(page, "function-invoke")
    with page.expect_response("**/invoke") as invoked:
        page.get_by_role("button", name="Invoke function").click()
    event_id = invoked.value.json()["data"]["event_id"]

    expect(page).to_have_url(re.compile(f"/events/{event_id}$"))
    expect(page.locator(f"tr[data-id='{event_id}']")).to_contain_text(
        "inngest/function.invoked"
    )
    run_item = page.locator("#event-runs li[data-run-id]")
    expect(run_item).to_have_attribute("data-status", "Completed", timeout=30_000)
    run_id = run_item.get_attribute("data-run-id")
    assert run_id
    assert stack.api.run(run_id)["output"]["k"] == k


def test_resync_and_sync_errors(page: Page, stack: Stack) -> None:
    before = stack.api.app("e2e-app")
    assert before is not None
    page.goto("/apps")
    page.locator('[data-app="e2e-app"]').get_by_role("button", name="Re-sync").click()
    expect(page.locator(".toast.ok")).to_contain_text("Re-synced e2e-app")

    def resynced() -> bool:
        after = stack.api.app("e2e-app")
        return bool(after and after["synced_at"] != before["synced_at"])

    wait_until(resynced, 15, message="e2e-app re-synced")

    page.locator("#sync-url").fill("http://127.0.0.1:9/api/inngest")
    page.get_by_role("button", name="Sync new app").click()
    expect(page.locator(".toast.error")).to_be_visible()


def test_unknown_run_shows_an_error(page: Page, stack: Stack) -> None:
    page.goto("/runs/01NOTAREALRUNID0000000000")
    expect(page.locator(".error-box")).to_contain_text("not found")
