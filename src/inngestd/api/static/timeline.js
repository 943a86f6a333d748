// The step timeline: one row per step attempt, bars drawn to scale against the run's span.
import { h, mount, duration, fmtTime, jsonView, errorView, TERMINAL } from "./dom.js";

const PARKED = new Set(["SLEEPING", "WAITING", "INVOKING"]);
const t = (iso) => (iso ? Date.parse(iso) : null);

/** Compute [{span, start, end, parkedUntil}] and the run window [from, to]. */
export function layout(run, spans, now = Date.now()) {
  const runStart = t(run.run_started_at) ?? Math.min(...spans.map((s) => t(s.started_at)));
  const runEnd = t(run.ended_at) ?? now;
  const rows = spans.map((span, i) => {
    const start = t(span.started_at);
    const end = t(span.ended_at) ?? now;
    let parkedUntil = null;
    if (PARKED.has(span.status)) {
      // A sleep/wait/invoke lasts until the run is next called (the next span starts).
      const next = spans.slice(i + 1).map((s) => t(s.started_at)).find((s) => s >= end);
      parkedUntil = next ?? runEnd;
    }
    return { span, start, end, parkedUntil };
  });
  const from = Math.min(runStart, ...rows.map((r) => r.start));
  const to = Math.max(runEnd, from + 1, ...rows.map((r) => r.parkedUntil ?? r.end));
  return { rows, from, to };
}

function ticks(from, to) {
  const total = to - from;
  const steps = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 15000, 30000, 60000, 120000, 300000, 600000, 1800000, 3600000];
  const step = steps.find((s) => total / s <= 6) ?? total / 6;
  const out = [];
  for (let x = 0; x <= total; x += step) out.push(x);
  return out;
}

const pct = (x, from, to) => `${(((x - from) / (to - from)) * 100).toFixed(3)}%`;

export function memoParts(output, status) {
  if (status === "FAILED" || status === "ERRORED") {
    return { error: output && typeof output === "object" && "error" in output ? output.error : output };
  }
  if (output && typeof output === "object" && !Array.isArray(output)) {
    if ("error" in output) return { error: output.error };
    if ("data" in output) return { data: output.data };
  }
  return { data: output };
}

/**
 * Render into `box`. `expanded` is a Set of row keys kept across refreshes.
 * `rerunFrom(stepId)`, when given, adds "Rerun from this step" to an ended run's steps.
 */
export function renderTimeline(box, run, spans, expanded, rerunFrom = null) {
  if (!spans.length) {
    return mount(box, h("p.muted", run.status === "Queued" ? "Waiting for the first call…" : "No steps recorded."));
  }
  const { rows, from, to } = layout(run, spans);
  const axis = h("div.tl-axis", ticks(from, to).map((x) =>
    h("span.tick", { style: `left:${pct(from + x, from, to)}` }, duration(x))));

  const counts = {};
  const list = rows.map(({ span, start, end, parkedUntil }, index) => {
    counts[span.step_id] = (counts[span.step_id] || 0) + 1;
    const key = `${span.step_id}:${span.attempt}:${counts[span.step_id]}`;
    const st = String(span.status).toLowerCase();
    const bar = h("div.tl-bar", {
      class: `sp-${st}`,
      style: `left:${pct(start, from, to)};width:max(3px, ${pct(from + (end - start), from, to)})`,
      title: `${span.name}: ${duration(end - start)}`,
    });
    const parked = parkedUntil && parkedUntil > end ? h("div.tl-parked", {
      class: `sp-${st}`,
      style: `left:${pct(end, from, to)};width:${pct(from + (parkedUntil - end), from, to)}`,
      title: `${st} ${duration(parkedUntil - end)}`,
    }) : null;
    const open = expanded.has(key);
    const head = h("button.tl-row", {
      type: "button", "aria-expanded": String(open),
      onclick: () => {
        if (expanded.has(key)) expanded.delete(key); else expanded.add(key);
        renderTimeline(box, run, spans, expanded, rerunFrom);
      },
    },
      h("span.tl-label",
        h("span.caret", open ? "▾" : "▸"),
        h("span.tl-name", span.name || span.step_id),
        span.attempt > 0 ? h("span.tag.retry", `attempt ${span.attempt + 1}`) : null,
        h("span.tl-status", { class: `sp-${st}` }, span.status)),
      h("span.tl-track", bar, parked),
      h("span.tl-dur", duration((parkedUntil ?? end) - start)));
    return h("li.tl-item", { dataset: { key, status: span.status, step: span.name } },
      head, open ? details(span, start, end, parkedUntil,
        rerunFrom && TERMINAL.has(run.status) ? rerunFrom : null) : null);
  });
  return mount(box, h("div.timeline",
    h("div.tl-head", h("span.tl-label", "Step"), axis, h("span.tl-dur", duration(to - from))),
    h("ol.tl-list", list)));
}

function details(span, start, end, parkedUntil, rerunFrom) {
  const { data, error } = memoParts(span.output, span.status);
  const rerun = rerunFrom ? h("button.small.rerun-from", {
    type: "button",
    onclick: async () => {
      rerun.disabled = true;
      if (!(await rerunFrom(span.step_id))) rerun.disabled = false;
    },
  }, "Rerun from this step") : null;
  return h("div.tl-details", rerun,
    h("dl.facts.small",
      h("div", h("dt", "Step ID"), h("dd.mono", span.step_id)),
      h("div", h("dt", "Op"), h("dd.mono", span.op)),
      h("div", h("dt", "Attempt"), h("dd", String(span.attempt + 1))),
      h("div", h("dt", "Started"), h("dd", fmtTime(span.started_at))),
      h("div", h("dt", "Ended"), h("dd", fmtTime(span.ended_at))),
      h("div", h("dt", "Call took"), h("dd", duration(end - start))),
      parkedUntil ? h("div", h("dt", span.status.toLowerCase()), h("dd", duration(parkedUntil - end))) : null),
    error !== undefined
      ? [h("h4.err", "Error"), h("div.step-error", errorView(error))]
      : span.output === null || span.output === undefined
        ? h("p.muted.small", "No output.")
        : [h("h4", "Output"), jsonView(data, "step-output")]);
}
