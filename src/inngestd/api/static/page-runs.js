// Runs: filter by status, function, time range and a CEL query; live updates; cursor
// "load more".
import { api } from "./api.js";
import { h, mount, link, when, duration, pageHeader, emptyState, errorBox, statusBadge, TERMINAL } from "./dom.js";
import { setQuery } from "./router.js";
import { poll } from "./poll.js";

const STATUSES = ["Queued", "Running", "Completed", "Failed", "Cancelled", "Skipped"];
const RANGES = [["", "Any time"], ["15m", "Last 15 minutes"], ["1h", "Last hour"], ["24h", "Last 24 hours"], ["7d", "Last 7 days"], ["custom", "Custom…"]];
const RANGE_MS = { "15m": 9e5, "1h": 36e5, "24h": 864e5, "7d": 6048e5 };
const PAGE = 50;

export function runsPage(view, _params, query) {
  const state = {
    status: new Set((query.get("status") || "").split(",").filter(Boolean)),
    fn: query.get("function_id") || "",
    range: query.get("range") || "",
    after: query.get("after") || "",
    before: query.get("before") || "",
    q: query.get("q") || "",
  };
  let rows = [];
  let cursor = null;
  let error = null;

  const tbody = h("tbody");
  const more = h("button#runs-more", { type: "button", hidden: true, onclick: loadMore }, "Load more");
  const count = h("span.muted.small#runs-count");

  const statusBoxes = h("fieldset.statuses", h("legend.sr", "Status"), STATUSES.map((s) => {
    const box = h("input", { type: "checkbox", value: s, checked: state.status.has(s), onchange: () => {
      if (box.checked) state.status.add(s); else state.status.delete(s);
      changed();
    } });
    return h("label.status-filter", { class: `st-${s.toLowerCase()}` }, box, s.toUpperCase());
  }));
  const fnSelect = h("select#runs-function", { "aria-label": "Function", onchange: () => { state.fn = fnSelect.value; changed(); } },
    h("option", { value: "" }, "All functions"));
  const after = h("input#runs-after", { type: "datetime-local", step: 1, value: state.after, "aria-label": "After", onchange: () => { state.after = after.value; changed(); } });
  const before = h("input#runs-before", { type: "datetime-local", step: 1, value: state.before, "aria-label": "Before", onchange: () => { state.before = before.value; changed(); } });
  const search = h("input#runs-query", {
    type: "search", value: state.q, "aria-label": "Search (CEL)",
    placeholder: 'Search: event.data.id == "a1" && output.ok',
    onchange: () => { state.q = search.value.trim(); changed(); },
  });
  const custom = h("span.custom-range", { hidden: state.range !== "custom" }, after, " – ", before);
  const rangeSelect = h("select#runs-range", { "aria-label": "Time range", onchange: () => {
    state.range = rangeSelect.value;
    custom.hidden = state.range !== "custom";
    changed();
  } }, RANGES.map(([v, label]) => h("option", { value: v, selected: v === state.range }, label)));

  mount(view,
    pageHeader("Runs", "Every function run, newest first. Updates live."),
    h("div.toolbar.filters", statusBoxes, fnSelect, rangeSelect, custom, search, h("span.live", h("span.dot"), "live"), count),
    h("table.table.runs",
      h("thead", h("tr", h("th", "Status"), h("th", "Function"), h("th", "Run ID"), h("th", "Trigger"), h("th", "Queued / started"), h("th.num", "Duration"))),
      tbody),
    h("div.more", more));

  api.apps().then(({ data }) => {
    for (const app of data) {
      const group = h("optgroup", { label: app.name });
      for (const fn of app.functions || []) group.append(h("option", { value: fn.id, selected: fn.id === state.fn }, fn.name || fn.slug));
      fnSelect.append(group);
    }
  }).catch(() => {});

  function params(limit, cur) {
    const p = { limit, cursor: cur, function_id: state.fn, status: [...state.status].join(",") };
    if (state.q) p.query = state.q;
    if (state.range === "custom") {
      if (state.after) p.after = new Date(state.after).toISOString();
      if (state.before) p.before = new Date(state.before).toISOString();
    } else if (RANGE_MS[state.range]) {
      p.after = new Date(Date.now() - RANGE_MS[state.range]).toISOString();
    }
    return p;
  }

  function changed() {
    setQuery({ status: [...state.status].join(","), function_id: state.fn, range: state.range,
      after: state.range === "custom" ? state.after : "", before: state.range === "custom" ? state.before : "",
      q: state.q });
    rows = [];
    cursor = null;
    refresh();
  }

  function draw() {
    if (error) {
      mount(tbody, h("tr", h("td", { colSpan: 6 }, errorBox(error))));
    } else if (!rows.length) {
      mount(tbody, h("tr", h("td", { colSpan: 6 }, emptyState("No runs match."))));
    } else {
      mount(tbody, rows.map(runRow));
    }
    more.hidden = !cursor;
    count.textContent = rows.length ? `${rows.length}${cursor ? "+" : ""} runs` : "";
  }

  // Live: re-read the first N rows (N = what is loaded), so statuses update in place
  // and new runs appear on top; "load more" extends N by a page.
  async function refresh() {
    try {
      const res = await api.runs(params(Math.min(Math.max(PAGE, rows.length), 1000)));
      rows = res.data;
      cursor = res.cursor;
      error = null;
    } catch (err) {
      error = err;
    }
    draw();
  }

  async function loadMore() {
    if (!cursor) return;
    more.disabled = true;
    try {
      const res = await api.runs(params(PAGE, cursor));
      rows = [...rows, ...res.data];
      cursor = res.cursor;
      draw();
    } finally {
      more.disabled = false;
    }
  }

  return poll(refresh, 1000);
}

function runRow(r) {
  const start = Date.parse(r.run_started_at);
  const end = r.ended_at ? Date.parse(r.ended_at) : Date.now();
  return h("tr", { dataset: { runId: r.run_id, status: r.status, fn: r.function_id } },
    h("td", statusBadge(r.status), r.reason ? h("div.reason.small", r.reason) : null),
    h("td", link(`/runs/${r.run_id}`, h("strong", r.function_name || r.function_id))),
    h("td", link(`/runs/${r.run_id}`, h("span.mono.small", r.run_id))),
    h("td", r.event_id ? link(`/events/${r.event_id}`, h("span.mono.small", r.event_name || r.event_id)) : h("span.muted", "—")),
    h("td", when(r.run_started_at || r.queued_at)),
    h("td.num", TERMINAL.has(r.status) || r.status === "Running" ? duration(end - start) : "—"));
}
