// The server's own JSON APIs (same origin).

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

async function request(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    throw new ApiError(`server unreachable: ${err.message}`, 0);
  }
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (!res.ok) {
    const msg = json?.error || json?.message || text || res.statusText;
    throw new ApiError(`${method} ${path}: ${res.status} ${msg}`, res.status);
  }
  return json;
}

const qs = (params) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
};

const enc = encodeURIComponent;

export const api = {
  apps: () => request("GET", "/v1/apps"),
  syncApp: (url) => request("POST", "/v1/apps/sync", { url }),
  functions: () => request("GET", "/v1/functions"),
  invoke: (slug, data) => request("POST", `/v1/functions/${enc(slug)}/invoke`, { data }),
  events: (params = {}) => request("GET", `/v1/events${qs(params)}`),
  event: (id) => request("GET", `/v1/events/${enc(id)}`),
  eventRuns: (id) => request("GET", `/v1/events/${enc(id)}/runs`),
  sendEvent: (event) => request("POST", "/e/dashboard", event),
  runs: (params = {}) => request("GET", `/v1/runs${qs(params)}`),
  run: (id) => request("GET", `/v1/runs/${enc(id)}`),
  steps: (id) => request("GET", `/v1/runs/${enc(id)}/steps`),
  cancel: (id) => request("DELETE", `/v1/runs/${enc(id)}`),
  rerun: (id, fromStep) => request("POST", `/v1/runs/${enc(id)}/rerun`,
    fromStep ? { from_step: fromStep } : undefined),
};
