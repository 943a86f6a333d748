// Apps: every synced app, its URL, SDK, sync time and error; sync by URL; re-sync.
import { api } from "./api.js";
import { h, mount, link, when, ago, pageHeader, emptyState, errorBox, toast } from "./dom.js";
import { poll } from "./poll.js";

export function appsPage(view) {
  const list = h("div.cards#apps-list");
  const form = syncForm(() => refresh());
  mount(view,
    pageHeader("Apps", "SDK apps this server calls. Sync an app by its serve URL."),
    form, list);

  let lastJSON = "";
  async function refresh() {
    try {
      const { data } = await api.apps();
      const json = JSON.stringify(data);
      if (json === lastJSON) return;
      lastJSON = json;
      mount(list, data.length ? data.map((app) => appCard(app, refresh)) : emptyState("No apps synced yet."));
    } catch (err) {
      mount(list, errorBox(err));
    }
  }
  return poll(refresh, 3000);
}

function syncForm(done) {
  const input = h("input#sync-url", {
    type: "url", name: "url", required: true, placeholder: "http://127.0.0.1:3000/api/inngest",
    "aria-label": "App URL",
  });
  const button = h("button.primary", { type: "submit" }, "Sync new app");
  return h("form.inline-form#sync-form", {
    onsubmit: async (ev) => {
      ev.preventDefault();
      button.disabled = true;
      try {
        const { data } = await api.syncApp(input.value.trim());
        if (data?.error) toast(`Sync failed: ${data.error}`, "error");
        else toast(`Synced ${data?.name || input.value.trim()}`, "ok");
        input.value = "";
        done();
      } catch (err) {
        toast(err.message, "error");
      } finally {
        button.disabled = false;
      }
    },
  }, input, button);
}

function appCard(app, done) {
  const fns = app.functions || [];
  const resync = h("button", {
    type: "button",
    onclick: async () => {
      resync.disabled = true;
      try {
        const { data } = await api.syncApp(app.url);
        if (data?.error) toast(`Sync failed: ${data.error}`, "error");
        else toast(`Re-synced ${app.name}`, "ok");
        done();
      } catch (err) {
        toast(err.message, "error");
      } finally {
        resync.disabled = false;
      }
    },
  }, "Re-sync");
  return h("article.card.app", { dataset: { app: app.id } },
    h("header.card-head",
      h("div",
        h("h2", app.name || app.id),
        h("a.mono.url", { href: app.url, target: "_blank", rel: "noreferrer" }, app.url)),
      h("div.actions", app.error ? h("span.badge.st-failed", "SYNC ERROR") : h("span.badge.st-completed", "SYNCED"), resync)),
    app.error ? h("div.error-box.sync-error", app.error) : null,
    h("dl.facts",
      fact("SDK", app.sdk || "—"),
      fact("Framework", app.framework || "—"),
      fact("Last synced", app.synced_at ? [when(app.synced_at), " ", h("span.muted", `(${ago(app.synced_at)})`)] : "never"),
      fact("Functions", String(fns.length))),
    fns.length ? h("ul.chips", fns.map((f) => h("li", link(`/functions/${encodeURIComponent(f.slug)}`, f.name || f.slug)))) : null);
}

function fact(label, value) {
  return h("div", h("dt", label), h("dd", value));
}
