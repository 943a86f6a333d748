// Run detail: status, output or error, trigger event, step timeline; Cancel, Rerun and
// Rerun from a step.
import { api } from "./api.js";
import { h, mount, link, when, duration, pageHeader, errorBox, jsonView, errorView, statusBadge, toast, TERMINAL } from "./dom.js";
import { renderTimeline, memoParts } from "./timeline.js";
import { navigate } from "./router.js";
import { poll } from "./poll.js";

export function runPage(view, { id }) {
  const expanded = new Set();
  const head = h("div");
  const facts = h("div.card#run-facts");
  const output = h("div.card#run-output");
  const timeline = h("div#run-timeline");
  const trigger = h("div.card#run-trigger");
  let event = null;
  let lastJSON = "";
  let names = null; // function id → name (the run API has ids only)

  mount(view, head, h("section.grid2", facts, output),
    h("section.card", h("h2", "Timeline"), timeline), trigger);

  async function refresh() {
    let run, spans;
    try {
      [{ data: run }, { data: spans }] = await Promise.all([api.run(id), api.steps(id)]);
    } catch (err) {
      mount(view, pageHeader("Run"), errorBox(err));
      return false;
    }
    if (!event && run.event_id) {
      event = await api.event(run.event_id).then((r) => r.data).catch(() => ({}));
      drawTrigger(trigger, run, event);
    }
    if (!names) {
      names = await api.apps().then(({ data }) => Object.fromEntries(
        data.flatMap((a) => (a.functions || []).map((f) => [f.id, f.name])))).catch(() => ({}));
    }
    run.function_name ??= names[run.function_id];
    const json = JSON.stringify([run, spans]);
    const ended = TERMINAL.has(run.status);
    if (json !== lastJSON) {
      lastJSON = json;
      drawHead(head, run, refresh);
      drawFacts(facts, run, event);
      drawOutput(output, run);
    }
    renderTimeline(timeline, run, spans, expanded, rerunFrom); // running bars grow
    if (ended) return false;
  }

  async function rerunFrom(stepId) {
    try {
      const { data } = await api.rerun(id, stepId);
      toast("Rerun started from the step", "ok");
      navigate(`/runs/${data.run_id}`);
      return true;
    } catch (err) {
      toast(err.message, "error");
      return false;
    }
  }

  let stop = poll(refresh, 1000);
  view.addEventListener("run:changed", () => { stop(); stop = poll(refresh, 1000); });
  return () => stop();
}

function drawHead(box, run, refresh) {
  const ended = TERMINAL.has(run.status);
  const cancel = h("button.danger#run-cancel", {
    type: "button", disabled: ended,
    onclick: async () => {
      cancel.disabled = true;
      try {
        await api.cancel(run.run_id);
        toast("Run cancelled", "ok");
        box.closest("#view")?.dispatchEvent(new Event("run:changed"));
      } catch (err) {
        toast(err.message, "error");
        cancel.disabled = false;
      }
    },
  }, "Cancel");
  const rerun = h("button#run-rerun", {
    type: "button",
    onclick: async () => {
      rerun.disabled = true;
      try {
        const { data } = await api.rerun(run.run_id);
        toast("Rerun started", "ok");
        navigate(`/runs/${data.run_id}`);
      } catch (err) {
        toast(err.message, "error");
        rerun.disabled = false;
      }
    },
  }, "Rerun");
  mount(box, pageHeader(
    [statusBadge(run.status), " ", run.function_name || run.function_id],
    h("span.mono#run-id", run.run_id),
    cancel, rerun));
}

function drawFacts(box, run, event) {
  const start = Date.parse(run.run_started_at);
  const end = run.ended_at ? Date.parse(run.ended_at) : Date.now();
  mount(box, h("h2", "Run"),
    run.reason ? h("div.reason-box", { class: `st-${run.status.toLowerCase()}` },
      h("strong", `${run.status}: `), run.reason) : null,
    h("dl.facts",
      h("div", h("dt", "Status"), h("dd#run-status", statusBadge(run.status))),
      h("div", h("dt", "Function"), h("dd", link(`/functions/${encodeURIComponent(run.function_id)}`, run.function_name || run.function_id))),
      h("div", h("dt", "App"), h("dd", link("/apps", run.app_id))),
      h("div", h("dt", "Trigger"), h("dd", run.event_id
        ? link(`/events/${run.event_id}`, event?.name || run.event_name || run.event_id)
        : h("span.muted", "none"))),
      run.queued_at ? h("div", h("dt", "Queued"), h("dd", when(run.queued_at))) : null,
      h("div", h("dt", "Started"), h("dd", when(run.run_started_at))),
      h("div", h("dt", "Ended"), h("dd", when(run.ended_at))),
      h("div", h("dt", "Duration"), h("dd", `${duration(end - start)}${run.ended_at ? "" : " (so far)"}`))));
}

function drawOutput(box, run) {
  if (!TERMINAL.has(run.status)) {
    return mount(box, h("h2", "Output"), h("p.muted", "The run has not finished."));
  }
  if (run.status === "Failed") {
    const { error } = memoParts(run.output, "FAILED");
    return mount(box, h("h2.err", "Error"), h("div#run-error", errorView(error)));
  }
  if ((run.status === "Cancelled" || run.status === "Skipped") && run.output == null) {
    return mount(box, h("h2", "Output"), h("p.muted", `No output: the run was ${run.status.toLowerCase()}${run.reason ? ` (${run.reason})` : ""}.`));
  }
  return mount(box, h("h2", "Output"), jsonView(run.output ?? null, "run-output"));
}

function drawTrigger(box, run, event) {
  if (!event || !event.name) {
    return mount(box, h("h2", "Trigger event"), h("p.muted", run.event_id ? "Event not found." : "No trigger event (cron or invoke)."));
  }
  const { internal_id: _i, received_at: _r, ...payload } = event;
  return mount(box,
    h("details#trigger-details", { open: false },
      h("summary", h("h2.inline", "Trigger event "), h("span.mono", event.name), " ",
        h("span.small.muted", "(", link(`/events/${event.internal_id}`, "open"), ")")),
      jsonView(payload, "trigger-payload")));
}
