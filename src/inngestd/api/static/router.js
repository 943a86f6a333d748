// History-API router: server answers every page path with the same shell,
// so deep links (/runs/<id>) and reloads work; in-app links use pushState.

const routes = [];
let current = null;

/** route("/runs/:id", page) — page(view, params, query) returns an optional cleanup fn. */
export function route(pattern, page) {
  const names = [];
  const re = new RegExp("^" + pattern.replace(/:(\w+)(\*)?/g, (_, name, star) => {
    names.push(name);
    return star ? "(.+)" : "([^/]+)";
  }) + "/?$");
  routes.push({ re, names, page });
}

export function navigate(href, { replace = false } = {}) {
  if (href === location.pathname + location.search) return render();
  history[replace ? "replaceState" : "pushState"](null, "", href);
  return render();
}

/** Update the query string without re-rendering (filters). */
export function setQuery(params) {
  const q = new URLSearchParams(params);
  for (const [k, v] of [...q]) if (!v) q.delete(k);
  const s = q.toString();
  history.replaceState(null, "", location.pathname + (s ? `?${s}` : ""));
}

export function render() {
  if (current) {
    try { current(); } catch (err) { console.error(err); }
    current = null;
  }
  const view = document.getElementById("view");
  const path = location.pathname;
  for (const { re, names, page } of routes) {
    const m = path.match(re);
    if (!m) continue;
    const params = Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1])]));
    const section = path.split("/")[1] || "runs";
    for (const a of document.querySelectorAll("[data-nav]")) {
      a.classList.toggle("active", a.dataset.nav === section);
      if (a.dataset.nav === section) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    view.replaceChildren();
    window.scrollTo(0, 0);
    current = page(view, params, new URLSearchParams(location.search)) || null;
    return;
  }
  view.replaceChildren(document.createTextNode("Page not found."));
}

export function start() {
  document.addEventListener("click", (ev) => {
    const a = ev.target.closest("a[data-link]");
    if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey) return;
    ev.preventDefault();
    navigate(a.getAttribute("href"));
  });
  window.addEventListener("popstate", render);
  render();
}
