// Events: live list (1 s), payload viewer, the runs each event started, "send event".
import { api } from "./api.js";
import { h, mount, link, when, ago, pageHeader, emptyState, errorBox, jsonView, statusBadge, toast, parseJSON, modalForm, fmtTime } from "./dom.js";
import { setQuery } from "./router.js";
import { poll } from "./poll.js";

const PAGE = 50;

export function eventsPage(view, params, query) {
  let selected = params.id || null;
  let nameFilter = query.get("name") || "";
  let items = [];
  let cursor = null;
  let stopDetail = null;

  const tbody = h("tbody");
  const more = h("button#events-more", { type: "button", hidden: true, onclick: loadMore }, "Load more");
  const detail = h("aside.detail#event-detail");
  const filter = h("input#event-filter", {
    type: "search", placeholder: "Filter by event name", value: nameFilter, "aria-label": "Event name",
    oninput: () => {
      nameFilter = filter.value.trim();
      setQuery({ name: nameFilter });
      items = [];
      refresh();
    },
  });

  mount(view,
    pageHeader("Events", "Every event received, newest first. Updates live.",
      h("button.primary#send-event-open", { type: "button", onclick: () => sendDialog((id) => { select(id); refresh(); }) }, "Send event")),
    h("div.toolbar", filter, h("span.live", h("span.dot"), "live")),
    h("div.split",
      h("div.list-pane",
        h("table.table.events.clickable",
          h("thead", h("tr", h("th", "Event"), h("th", "Received"), h("th", "ID"))),
          tbody),
        h("div.more", more)),
      detail));

  function row(ev) {
    const href = `/events/${ev.internal_id}`;
    return h("tr", {
      dataset: { id: ev.internal_id, name: ev.name },
      class: ev.internal_id === selected ? "selected" : "",
      onclick: (e) => { e.preventDefault(); select(ev.internal_id); },
    },
      h("td", h("a.event-name", { href, onclick: (e) => e.preventDefault() }, ev.name)),
      h("td", h("span", { title: fmtTime(ev.received_at) }, ago(ev.received_at))),
      h("td.mono.small.muted", ev.internal_id));
  }

  function draw() {
    if (!items.length) {
      mount(tbody, h("tr", h("td", { colSpan: 3 }, emptyState(nameFilter ? `No "${nameFilter}" events.` : "No events yet."))));
    } else {
      mount(tbody, items.map(row));
    }
    more.hidden = !cursor;
  }

  async function refresh() {
    const res = await api.events({ name: nameFilter, limit: PAGE });
    const known = new Set(items.map((e) => e.internal_id));
    const fresh = res.data.filter((e) => !known.has(e.internal_id));
    if (!items.length) {
      items = res.data;
      cursor = res.cursor;
    } else {
      items = [...fresh, ...items];
    }
    draw(); // relative times change too
    if (!selected && items.length) select(items[0].internal_id, { replace: true });
  }

  async function loadMore() {
    if (!cursor) return;
    const res = await api.events({ name: nameFilter, limit: PAGE, cursor });
    items = [...items, ...res.data];
    cursor = res.cursor;
    draw();
  }

  function select(id, { replace = false } = {}) {
    selected = id;
    const q = location.search;
    history[replace ? "replaceState" : "pushState"](null, "", `/events/${id}${q}`);
    for (const tr of tbody.querySelectorAll("tr[data-id]")) tr.classList.toggle("selected", tr.dataset.id === id);
    stopDetail?.();
    stopDetail = showEvent(detail, id);
  }

  if (selected) select(selected, { replace: true });
  else mount(detail, emptyState("Select an event."));
  const stop = poll(refresh, 1000);
  return () => { stop(); stopDetail?.(); };
}

/** The event panel: payload and its runs (polled until they all end). */
function showEvent(box, id) {
  mount(box, h("p.muted", "Loading…"));
  const runs = h("div#event-runs");
  let shown = false;
  return poll(async () => {
    try {
      if (!shown) {
        const { data: ev } = await api.event(id);
        shown = true;
        const { internal_id: _i, received_at: _r, ...payload } = ev;
        mount(box,
          h("header.detail-head", h("h2.mono", ev.name), h("div.small.muted", `received ${fmtTime(ev.received_at)}`)),
          h("dl.facts",
            h("div", h("dt", "Internal ID"), h("dd.mono.small", ev.internal_id)),
            h("div", h("dt", "Event ID"), h("dd.mono.small", ev.id || "—")),
            h("div", h("dt", "Timestamp"), h("dd", when(ev.ts ? new Date(ev.ts).toISOString() : null)))),
          h("h3", "Functions triggered"), runs,
          h("h3", "Payload"), jsonView(payload, "payload"));
      }
      const { data } = await api.eventRuns(id);
      mount(runs, data.length
        ? h("ul.run-list", data.map((r) => h("li", { dataset: { runId: r.run_id, status: r.status } },
          statusBadge(r.status), " ",
          link(`/runs/${r.run_id}`, h("strong", r.function_id)), " ",
          h("span.mono.small.muted", r.run_id),
          r.reason ? h("div.reason", r.reason) : null)))
        : h("p.muted", "No runs (yet)."));
    } catch (err) {
      mount(box, errorBox(err));
      return false;
    }
  }, 1000);
}

function sendDialog(onSent) {
  const name = h("input#send-name", { type: "text", required: true, placeholder: "app/user.created", autocomplete: "off" });
  const data = h("textarea.code#send-data", { rows: 10, spellcheck: false }, "{\n  \n}");
  const error = h("div.form-error");
  const submit = h("button.primary#send-submit", { type: "submit" }, "Send event");
  const { close } = modalForm("Send event", [
    h("label", { for: "send-name" }, "Name"), name,
    h("label", { for: "send-data" }, "Data (JSON object)"), data, error,
    h("div.form-actions", submit),
  ], async () => {
    const payload = { name: name.value.trim(), data: parseJSON(data.value, "data") };
    const res = await api.sendEvent(payload);
    toast(`Sent ${payload.name}`, "ok");
    close();
    if (res?.ids?.[0]) onSent(res.ids[0]);
  }, error, submit);
  name.focus();
}
