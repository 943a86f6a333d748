// The TypeScript SDK variant of bench/app.py, driven by `bench/run.py --sdk typescript`
// (official `inngest` npm 4.x served by its `inngest/node` adapter).
//
// One function, `ten-steps`, triggered by `bench/ten-steps`: ten sequential step.run
// steps, each returning a small object. Every event carries a unique integer `data.i`; the
// app records the wall-clock time (seconds) at which the last step body finished and at
// which the function body returned, keyed by `i`.
//
// Routes besides /api/inngest (same as bench/app.py):
//   GET  /bench/results  {"<i>": {"last_step_at": t, "returned_at": t}}
//   POST /bench/wait     {"ids": [i, ...], "timeout": s} -> {"missing": n} (long-poll)
//   GET  /bench/stats    step bodies / final calls executed, duplicates
//   POST /bench/noop     {"ok": true}
//
// Env: PORT (required); BENCH_CHECKPOINTING=0 turns the SDK's async checkpointing off.
import http from "node:http";

import { Inngest } from "inngest";
import { serve } from "inngest/node";

const STEPS = 10;
const CHECKPOINTING = !["0", "false", "off"].includes(
  (process.env.BENCH_CHECKPOINTING || "1").toLowerCase(),
);
const inngest = new Inngest({ id: "bench", checkpointing: CHECKPOINTING });

const RESULTS = new Map(); // i -> {last_step_at, returned_at}
const STEP_EXECUTIONS = new Map(); // "i:index" -> n
const LAST_STEP_AT = new Map();
const RETURNS = new Map();
let waiters = [];

const nowS = () => Date.now() / 1000;

const tenSteps = inngest.createFunction(
  { id: "ten-steps", retries: 0, triggers: [{ event: "bench/ten-steps" }] },
  async ({ event, step }) => {
    const i = Number(event.data.i);
    let last = null;
    for (let index = 0; index < STEPS; index++) {
      last = await step.run(`step-${index}`, () => {
        const key = `${i}:${index}`;
        STEP_EXECUTIONS.set(key, (STEP_EXECUTIONS.get(key) || 0) + 1);
        if (index === STEPS - 1 && !LAST_STEP_AT.has(i)) LAST_STEP_AT.set(i, nowS());
        return { i, step: index, ok: true };
      });
    }
    // Only reached on the call in which every step is memoized: the final call.
    const now = nowS();
    RETURNS.set(i, (RETURNS.get(i) || 0) + 1);
    if (!RESULTS.has(i)) {
      RESULTS.set(i, { last_step_at: LAST_STEP_AT.get(i) ?? now, returned_at: now });
      const ready = waiters;
      waiters = [];
      for (const w of ready) w();
    }
    return { i, steps: STEPS, last };
  },
);

const handler = serve({ client: inngest, functions: [tenSteps] });

function json(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

async function waitFor(ids, timeoutS) {
  const missing = () => ids.filter((i) => !RESULTS.has(i)).length;
  const deadline = Date.now() + timeoutS * 1000;
  while (missing() > 0 && Date.now() < deadline) {
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
      waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  return missing();
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, "http://localhost");
  try {
    if (url.pathname === "/api/inngest") return await handler(req, res);
    if (url.pathname === "/bench/noop") return json(res, 200, { ok: true });
    if (url.pathname === "/bench/results") {
      return json(res, 200, Object.fromEntries(RESULTS));
    }
    if (url.pathname === "/bench/wait") {
      const body = JSON.parse((await readBody(req)) || "{}");
      const ids = (body.ids || []).map(Number);
      return json(res, 200, { missing: await waitFor(ids, Number(body.timeout ?? 10)) });
    }
    if (url.pathname === "/bench/stats") {
      const dupSteps = new Set();
      let executions = 0;
      for (const [key, n] of STEP_EXECUTIONS) {
        executions += n;
        if (n > 1) dupSteps.add(Number(key.split(":")[0]));
      }
      let returns = 0;
      const dupReturns = [];
      for (const [i, n] of RETURNS) {
        returns += n;
        if (n > 1) dupReturns.push(i);
      }
      return json(res, 200, {
        step_executions: executions,
        returns,
        completed: RESULTS.size,
        duplicate_step_runs: [...dupSteps].sort((a, b) => a - b),
        duplicate_returns: dupReturns.sort((a, b) => a - b),
      });
    }
    return json(res, 404, { error: `no route ${req.method} ${url.pathname}` });
  } catch (err) {
    return json(res, 500, { error: String(err?.stack || err) });
  }
});

const port = Number(process.env.PORT);
if (!port) {
  console.error("PORT is required");
  process.exit(2);
}
server.listen(port, "127.0.0.1");
for (const sig of ["SIGTERM", "SIGINT"]) {
  process.on(sig, () => {
    server.close();
    process.exit(0);
  });
}
