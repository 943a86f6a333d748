// Functions: list with triggers and flow control; detail with full config and "invoke".
import { api } from "./api.js";
import { h, mount, link, pageHeader, emptyState, errorBox, jsonView, toast, parseJSON, when, statusBadge, duration, modalForm } from "./dom.js";
import { triggerChips, flowChips } from "./flow.js";
import { navigate } from "./router.js";
import { poll } from "./poll.js";

async function allFunctions() {
  const { data } = await api.apps();
  return data.flatMap((app) => (app.functions || []).map((fn) => ({ ...fn, app })));
}

export function functionsPage(view) {
  const body = h("div#functions-list", h("p.muted", "Loading…"));
  mount(view, pageHeader("Functions", "Every function of every synced app."), body);
  allFunctions().then((fns) => {
    if (!fns.length) return mount(body, emptyState("No functions yet: sync an app on the Apps page."));
    mount(body, h("table.table",
      h("thead", h("tr", h("th", "Function"), h("th", "App"), h("th", "Triggers"), h("th", "Flow control"), h("th.num", "Retries"))),
      h("tbody", fns.map((fn) => h("tr", { dataset: { slug: fn.slug } },
        h("td", link(`/functions/${encodeURIComponent(fn.slug)}`, h("strong", fn.name || fn.slug)), h("div.mono.muted.small", fn.slug)),
        h("td.nowrap", fn.app.name),
        h("td", triggerChips(fn.triggers)),
        h("td", flowChips(fn.config)),
        h("td.num", fn.retries ?? "—"))))));
  }).catch((err) => mount(body, errorBox(err)));
}

export function functionPage(view, { slug }) {
  mount(view, h("p.muted", "Loading…"));
  let stop = null;
  allFunctions().then((fns) => {
    const fn = fns.find((f) => f.slug === slug || f.id === slug);
    if (!fn) return mount(view, pageHeader("Function not found"), errorBox(`no function ${slug}`));
    const runs = h("div#function-runs");
    mount(view,
      pageHeader(fn.name || fn.slug, h("span.mono", fn.slug), invokeButton(fn)),
      h("section.grid2",
        h("div.card",
          h("h2", "Overview"),
          h("dl.facts",
            h("div", h("dt", "App"), h("dd", link("/apps", fn.app.name))),
            h("div", h("dt", "URL"), h("dd.mono.small", fn.url || "—")),
            h("div", h("dt", "Retries"), h("dd", String(fn.retries ?? "—")))),
          h("h3", "Triggers"), triggerChips(fn.triggers),
          h("h3", "Flow control"), flowChips(fn.config)),
        h("div.card", h("h2", "Configuration"), jsonView(fn.config, "config"))),
      h("section.card", h("h2", "Recent runs"), runs));
    stop = poll(() => recentRuns(runs, fn), 2000);
  }).catch((err) => mount(view, errorBox(err)));
  return () => stop?.();
}

async function recentRuns(box, fn) {
  try {
    const { data } = await api.runs({ function_id: fn.id, limit: 20 });
    mount(box, data.length ? h("table.table.compact", h("tbody", data.map((r) => h("tr",
      h("td", statusBadge(r.status)),
      h("td", link(`/runs/${r.run_id}`, h("span.mono", r.run_id))),
      h("td", when(r.run_started_at)),
      h("td.num", r.ended_at ? duration(Date.parse(r.ended_at) - Date.parse(r.run_started_at)) : "…"))))) :
      emptyState("No runs yet."));
  } catch (err) {
    mount(box, errorBox(err));
    return false;
  }
}

function invokeButton(fn) {
  return h("button.primary#invoke-open", { type: "button", onclick: () => invokeDialog(fn) }, "Invoke");
}

function invokeDialog(fn) {
  const area = h("textarea.code#invoke-data", { rows: 10, spellcheck: false, "aria-label": "Payload data" }, "{\n  \n}");
  const error = h("div.form-error");
  const submit = h("button.primary", { type: "submit" }, "Invoke function");
  const { close } = modalForm(`Invoke ${fn.name || fn.slug}`, [
    h("label", { for: "invoke-data" }, "Event data (JSON)"), area, error,
    h("div.form-actions", submit),
  ], async () => {
    const data = parseJSON(area.value, "data");
    const res = await api.invoke(fn.slug, data);
    toast("Function invoked", "ok");
    close();
    const eventId = res?.data?.event_id;
    if (eventId) navigate(`/events/${eventId}`);
  }, error, submit);
}
