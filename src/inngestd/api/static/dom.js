// Tiny DOM helpers: element builder, formatting, and shared widgets.

/** h("tag.class#id", {attrs, onclick}, ...children) → Element */
export function h(spec, attrs, ...children) {
  const [tagAndClasses, id] = spec.split("#");
  const [tag, ...classes] = tagAndClasses.split(".");
  const el = document.createElement(tag || "div");
  if (id) el.id = id;
  if (classes.length) el.className = classes.join(" ");
  if (attrs && (typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className += (el.className ? " " : "") + value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key in el && key !== "list" && key !== "form") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

/** Replace all children of el. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A link handled by the client-side router. */
export function link(href, ...children) {
  return h("a", { href, dataset: { link: "" } }, ...children);
}

export function toast(message, kind = "info") {
  const box = document.getElementById("toasts");
  const el = h("div.toast", { class: kind }, message);
  box.append(el);
  setTimeout(() => el.remove(), kind === "error" ? 6000 : 3000);
}

// ---------------------------------------------------------------- formatting

const pad = (n, w = 2) => String(n).padStart(w, "0");

export function fmtTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function ago(iso) {
  if (!iso) return "";
  const s = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  if (s < 5) return "just now";
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

export function duration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "—";
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)}s`;
  const m = Math.floor(ms / 60000);
  if (m < 60) return `${m}m ${Math.round((ms % 60000) / 1000)}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

/** <time> with the local timestamp and a relative hint. */
export function when(iso) {
  if (!iso) return h("span.muted", "—");
  return h("time", { datetime: iso, title: iso }, fmtTime(iso));
}

// ---------------------------------------------------------------- widgets

export const TERMINAL = new Set(["Completed", "Failed", "Cancelled", "Skipped"]);

/** A coloured run status badge (QUEUED / RUNNING / COMPLETED / ...). */
export function statusBadge(status) {
  const s = String(status || "unknown").toUpperCase();
  return h("span.badge", { class: `st-${s.toLowerCase()}`, dataset: { status: s } }, s);
}

/** Pretty, syntax-coloured JSON in a <pre>. */
export function jsonView(value, cls = "") {
  const pre = h("pre.json", { class: cls });
  if (value === undefined) return mount(pre, h("span.muted", "(none)"));
  const text = JSON.stringify(value, null, 2) ?? "null";
  const re = /("(?:\\.|[^"\\])*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;
  let last = 0;
  for (const m of text.matchAll(re)) {
    pre.append(text.slice(last, m.index));
    const cls2 = m[1] ? (m[2] ? "k" : "s") : m[3] ? "b" : "n";
    pre.append(h(`span.j-${cls2}`, m[1] ?? m[0]));
    if (m[2]) pre.append(m[2]);
    last = m.index + m[0].length;
  }
  pre.append(text.slice(last));
  return pre;
}

/** An error ({name, message, stack} or anything): title line, then the stack. */
export function errorView(err) {
  if (!err || typeof err !== "object" || Array.isArray(err) || !("message" in err || "name" in err)) {
    return h("div.error-view", jsonView(err));
  }
  const { name, message, stack, ...rest } = err;
  return h("div.error-view",
    h("div.err-title", `${name || "Error"}: ${typeof message === "string" ? message : JSON.stringify(message)}`),
    Object.keys(rest).length ? h("div.small.muted", Object.entries(rest).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(" · ")) : null,
    stack ? h("pre.stack", String(stack)) : null);
}

/** A page header with a title, optional subtitle and actions. */
export function pageHeader(title, subtitle, ...actions) {
  return h("header.page-head",
    h("div", h("h1", title), subtitle ? h("p.sub", subtitle) : null),
    h("div.actions", actions));
}

export function emptyState(text) {
  return h("div.empty", text);
}

export function errorBox(err) {
  return h("div.error-box", { role: "alert" }, String(err?.message || err));
}

/** A modal dialog built on <dialog>; returns {dialog, close}. */
export function modal(title, body, { onClose } = {}) {
  const dialog = h("dialog.modal",
    h("header.modal-head", h("h2", title),
      h("button.icon", { type: "button", "aria-label": "Close", onclick: () => dialog.close() }, "×")),
    body);
  dialog.addEventListener("close", () => { dialog.remove(); onClose?.(); });
  document.body.append(dialog);
  dialog.showModal();
  return { dialog, close: () => dialog.close() };
}

/** Parse a JSON textarea; throws an Error with a readable message. */
export function parseJSON(text, what = "JSON") {
  const src = text.trim() || "{}";
  try {
    return JSON.parse(src);
  } catch (err) {
    throw new Error(`${what} is not valid JSON: ${err.message}`);
  }
}

/** A modal with a form: fields, and onSubmit (async; its errors show in the form). */
export function modalForm(title, fields, onSubmit, error, submit) {
  const form = h("form.modal-body", {
    onsubmit: async (ev) => {
      ev.preventDefault();
      error.textContent = "";
      submit.disabled = true;
      try {
        await onSubmit();
      } catch (err) {
        error.textContent = err.message;
      } finally {
        submit.disabled = false;
      }
    },
  }, fields);
  const handle = modal(title, form);
  return handle;
}
