// Summaries of a function's triggers and flow-control configuration.
import { h } from "./dom.js";

export function triggerChips(triggers) {
  return h("ul.chips.triggers", (triggers || []).map((t) =>
    h("li", t.cron
      ? [h("span.tag.cron", "cron"), " ", h("code", t.cron)]
      : [h("span.tag.event", "event"), " ", h("code", t.event), t.expression ? [" if ", h("code.expr", t.expression)] : null])));
}

const keyed = (s, o) => (o && o.key ? `${s} by ${o.key}` : s);

/** [{label, text}] — one entry per flow-control setting present in the config. */
export function flowControl(config = {}) {
  const c = config || {};
  const out = [];
  const conc = c.concurrency;
  if (conc !== undefined && conc !== null) {
    const list = Array.isArray(conc) ? conc : [typeof conc === "number" ? { limit: conc } : conc];
    for (const item of list) {
      out.push({ label: "concurrency", text: keyed(`${item.limit}${item.scope ? ` (${item.scope.toLowerCase()})` : ""}`, item) });
    }
  }
  if (c.throttle) out.push({ label: "throttle", text: keyed(`${c.throttle.limit}/${c.throttle.period}${c.throttle.burst ? ` burst ${c.throttle.burst}` : ""}`, c.throttle) });
  if (c.rateLimit) out.push({ label: "rate limit", text: keyed(`${c.rateLimit.limit}/${c.rateLimit.period}`, c.rateLimit) });
  if (c.debounce) out.push({ label: "debounce", text: keyed(`${c.debounce.period}${c.debounce.timeout ? ` (max ${c.debounce.timeout})` : ""}`, c.debounce) });
  if (c.batchEvents) out.push({ label: "batch", text: keyed(`${c.batchEvents.maxSize} / ${c.batchEvents.timeout}`, c.batchEvents) });
  if (c.priority && c.priority.run) out.push({ label: "priority", text: c.priority.run });
  if (c.singleton) out.push({ label: "singleton", text: keyed(c.singleton.mode || "skip", c.singleton) });
  if (c.idempotency) out.push({ label: "idempotency", text: c.idempotency });
  for (const cancel of c.cancel || []) {
    out.push({ label: "cancel on", text: `${cancel.event}${cancel.if ? ` if ${cancel.if}` : ""}${cancel.timeout ? ` (${cancel.timeout})` : ""}` });
  }
  if (c.timeouts) {
    const t = [c.timeouts.start && `start ${c.timeouts.start}`, c.timeouts.finish && `finish ${c.timeouts.finish}`].filter(Boolean);
    if (t.length) out.push({ label: "timeouts", text: t.join(", ") });
  }
  return out;
}

export function flowChips(config) {
  const items = flowControl(config);
  if (!items.length) return h("span.muted", "none");
  return h("ul.chips.flow", items.map((f) => h("li", h("span.tag", f.label), " ", f.text)));
}
