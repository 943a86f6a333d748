// The TypeScript SDK app for the e2e tier: the official `inngest` npm package (4.x) served
// with its own Node adapter (`inngest/node`), unchanged; only INNGEST_DEV and
// INNGEST_BASE_URL point it at inngestd.
//
// It serves the same scenarios as ../apps/main_app.py (same function ids, same events, same
// counters), plus TS-only ones (waitForEvent `match`, sendEvent, RetryAfterError).
//
// Every function reads a per-test tag `event.data.k` and counts each step body execution
// under "<fn>:<step>:<k>". Routes besides the serve endpoint /api/inngest:
//   GET  /counts   the counters            GET /records   what recorders received
//   GET  /calls    POSTs the serve endpoint received, per fnId (round trips)
//   POST /send     send the JSON body (an event or a list) through the SDK client
//
// Env: PORT (required), E2E_APP_ID (default "e2e-ts-app"), E2E_CHECKPOINTING=0 turns the
// SDK's async checkpointing off for every function (the per-step protocol). Dev mode unless
// INNGEST_DEV is 0 (or false): then cloud mode, with INNGEST_SIGNING_KEY and
// INNGEST_EVENT_KEY (the shared e2e pass runs it so against `inngestd start`).
//
// Run: INNGEST_DEV=1 INNGEST_BASE_URL=http://127.0.0.1:P PORT=Q node app.mjs
import http from "node:http";

import { Inngest, NonRetriableError, RetryAfterError } from "inngest";
import { serve } from "inngest/node";

const APP_ID = process.env.E2E_APP_ID || "e2e-ts-app";
const CHECKPOINTING = !["0", "false", "off"].includes(
  (process.env.E2E_CHECKPOINTING || "1").toLowerCase(),
);

// Dev mode by default (the SDK itself would default to cloud mode when INNGEST_DEV is unset).
const IS_DEV = !["0", "false"].includes(
  (process.env.INNGEST_DEV ?? "1").trim().toLowerCase(),
);

const inngest = new Inngest({
  id: APP_ID,
  checkpointing: CHECKPOINTING,
  isDev: IS_DEV,
});

const COUNTS = {};
const RECORDS = {};
const CALLS = {};

const kOf = (event) => String(event?.data?.k ?? "");

function count(fn, step, k) {
  const key = `${fn}:${step}:${k}`;
  COUNTS[key] = (COUNTS[key] || 0) + 1;
  return COUNTS[key];
}

const sleepMs = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------- steps

const chain = inngest.createFunction(
  { id: "chain", triggers: [{ event: "e2e/chain" }] },
  async ({ event, step }) => {
    const k = kOf(event);
    count("chain", "call", k); // one per SDK call (the handler replays on every call)
    const base = Number(event.data.n ?? 1);
    const va = await step.run("a", () => {
      count("chain", "a", k);
      return base + 1;
    });
    const vb = await step.run("b", () => {
      count("chain", "b", k);
      return va * 10;
    });
    const vc = await step.run("c", () => {
      count("chain", "c", k);
      return `${va}-${vb}`;
    });
    return { a: va, b: vb, c: vc, sum: va + vb };
  },
);

const parallel = inngest.createFunction(
  { id: "parallel", triggers: [{ event: "e2e/parallel" }] },
  async ({ event, step }) => {
    const k = kOf(event);
    count("parallel", "call", k);
    const results = await Promise.all(
      [1, 2, 3].map((i) =>
        step.run(`p${i}`, () => {
          count("parallel", `p${i}`, k);
          return i * i;
        }),
      ),
    );
    const total = await step.run("after", () => {
      count("parallel", "after", k);
      return results.reduce((a, b) => a + b, 0);
    });
    return { parallel: results, after: total };
  },
);

const sleepFn = inngest.createFunction(
  { id: "sleep", triggers: [{ event: "e2e/sleep" }] },
  async ({ event, step }) => {
    const k = kOf(event);
    const seconds = Number(event.data.seconds ?? 2);
    const t0 = await step.run("before", () => {
      count("sleep", "before", k);
      return Date.now() / 1000;
    });
    await step.sleep("nap", `${seconds}s`);
    const t1 = await step.run("after", () => {
      count("sleep", "after", k);
      return Date.now() / 1000;
    });
    return { before: t0, after: t1 };
  },
);

const sleepUntilFn = inngest.createFunction(
  { id: "sleep-until", triggers: [{ event: "e2e/sleep-until" }] },
  async ({ event, step }) => {
    const k = kOf(event);
    const untilMs = Number(event.data.until_ms);
    await step.sleepUntil("until", new Date(untilMs));
    const t1 = await step.run("after", () => {
      count("sleep-until", "after", k);
      return Date.now() / 1000;
    });
    return { until_ms: untilMs, after: t1 };
  },
);

const flaky = inngest.createFunction(
  // Step `flaky` fails twice, then succeeds (TS default: 3 retries).
  { id: "flaky", triggers: [{ event: "e2e/flaky" }] },
  async ({ event, step, attempt }) => {
    const k = kOf(event);
    await step.run("pre", () => {
      count("flaky", "pre", k);
      return "pre";
    });
    const out = await step.run("flaky", () => {
      const n = count("flaky", "flaky", k);
      if (n <= 2) throw new Error(`flaky failure ${n}`);
      return { attempts: n, attempt_ctx: attempt };
    });
    return { result: "ok", ...out };
  },
);

const retryAfter = inngest.createFunction(
  // The step asks for a retry in 2 seconds once, then succeeds.
  { id: "retry-after", triggers: [{ event: "e2e/retry-after" }] },
  async ({ event, step }) => {
    const k = kOf(event);
    const out = await step.run("later", () => {
      const n = count("retry-after", "later", k);
      if (n === 1) throw new RetryAfterError(`come back later ${k}`, 2000);
      return { attempts: n, at: Date.now() / 1000 };
    });
    return { result: "ok", ...out };
  },
);

// ---------------------------------------------------------------------------- wait / invoke

const waitFn = inngest.createFunction(
  { id: "wait", triggers: [{ event: "e2e/wait" }] },
  async ({ event, step }) => {
    const k = kOf(event);
    await step.run("before", () => {
      count("wait", "before", k);
      return "waiting";
    });
    const ev = await step.waitForEvent("wait", {
      event: "e2e/wait.reply",
      if: "event.data.id == async.data.id",
      timeout: `${Number(event.data.timeout_s ?? 30)}s`,
    });
    await step.run("after", () => {
      count("wait", "after", k);
      return "done";
    });
    return {
      matched: ev ? { name: ev.name, data: ev.data, id: ev.id } : null,
    };
  },
);

const waitMatch = inngest.createFunction(
  { id: "wait-match", triggers: [{ event: "e2e/wait-match" }] },
  async ({ event, step }) => {
    const k = kOf(event);
    const ev = await step.waitForEvent("wait", {
      event: "e2e/wait-match.reply",
      match: "data.id",
      timeout: `${Number(event.data.timeout_s ?? 30)}s`,
    });
    await step.run("after", () => {
      count("wait-match", "after", k);
      return "done";
    });
    return {
      matched: ev ? { name: ev.name, data: ev.data, id: ev.id } : null,
    };
  },
);

const invoked = inngest.createFunction(
  { id: "invoked", triggers: [{ event: "e2e/invoked.direct" }] },
  async ({ event, step }) => {
    const k = kOf(event);
    const doubled = await step.run("work", () => {
      count("invoked", "work", k);
      return Number(event.data.x ?? 0) * 2;
    });
    return { doubled, k };
  },
);

const invoker = inngest.createFunction(
  { id: "invoker", triggers: [{ event: "e2e/invoke" }] },
  async ({ event, step }) => {
    const k = kOf(event);
    const result = await step.invoke("call", {
      function: invoked,
      data: { x: Number(event.data.x ?? 0), k },
    });
    await step.run("after", () => {
      count("invoker", "after", k);
      return "after";
    });
    return { invoked: result };
  },
);

const sendEventFn = inngest.createFunction(
  { id: "send-event", triggers: [{ event: "e2e/send-event" }] },
  async ({ event, step }) => {
    const k = kOf(event);
    const sent = await step.sendEvent("emit", [
      { name: "e2e/simple", data: { k: `${k}-a`, from: "send-event" } },
      { name: "e2e/simple", data: { k: `${k}-b`, from: "send-event" } },
    ]);
    await step.run("after", () => {
      count("send-event", "after", k);
      return "after";
    });
    return { ids: sent.ids };
  },
);

// ---------------------------------------------------------------------------- failures / cancel

const nonretriable = inngest.createFunction(
  {
    id: "nonretriable",
    triggers: [{ event: "e2e/nonretriable" }],
    onFailure: async ({ event, runId }) => {
      // Records the inngest/function.failed event this handler received.
      const original = event.data?.event ?? {};
      const k = String(original?.data?.k ?? "");
      const key = `on_failure:${k}`;
      (RECORDS[key] ||= []).push({
        name: event.name,
        id: event.id,
        data: event.data,
        run_id: runId,
      });
    },
  },
  async ({ event, step }) => {
    const k = kOf(event);
    await step.run("pre", () => {
      count("nonretriable", "pre", k);
      return "pre";
    });
    count("nonretriable", "raise", k);
    throw new NonRetriableError(`nope ${k}`);
  },
);

const exhaust = inngest.createFunction(
  { id: "exhaust", retries: 1, triggers: [{ event: "e2e/exhaust" }] },
  async ({ event, step }) => {
    const k = kOf(event);
    await step.run("boom", () => {
      count("exhaust", "boom", k);
      throw new Error(`boom ${k}`);
    });
  },
);

const cancellable = inngest.createFunction(
  {
    id: "cancellable",
    triggers: [{ event: "e2e/cancellable" }],
    cancelOn: [{ event: "e2e/cancel", if: "event.data.id == async.data.id" }],
  },
  async ({ event, step }) => {
    const k = kOf(event);
    await step.run("start", () => {
      count("cancellable", "start", k);
      return "started";
    });
    await step.sleep("long", "60s");
    await step.run("after", () => {
      count("cancellable", "after", k);
      return "after";
    });
    return "not cancelled";
  },
);

const cancelMatch = inngest.createFunction(
  {
    id: "cancel-match",
    triggers: [{ event: "e2e/cancel-match" }],
    cancelOn: [{ event: "e2e/cancel-match.stop", match: "data.id" }],
  },
  async ({ event, step }) => {
    const k = kOf(event);
    await step.run("start", () => {
      count("cancel-match", "start", k);
      return "started";
    });
    await step.sleep("long", "60s");
    return "not cancelled";
  },
);

const invokeErr = inngest.createFunction(
  // Invokes a failing function (mode=fail) or a slow one with a 2s timeout (mode=timeout)
  // and reports the error the SDK raised.
  { id: "invoke-err", triggers: [{ event: "e2e/invoke-err" }] },
  async ({ event, step }) => {
    const k = kOf(event);
    try {
      if (event.data.mode === "fail") {
        await step.invoke("call", { function: nonretriable, data: { k } });
      } else {
        await step.invoke("call", {
          function: cancellable,
          data: { k, id: `invoked-${k}` },
          timeout: "2s",
        });
      }
    } catch (err) {
      return { caught: true, name: err?.name, message: err?.message };
    }
    return { caught: false };
  },
);

// ---------------------------------------------------------------------------- restart

const SLOW_STEPS = 5;

const slow = inngest.createFunction(
  // 5 steps, each sleeping 0.5s in-process: a run that is easy to kill mid-way.
  { id: "slow", triggers: [{ event: "e2e/slow" }] },
  async ({ event, step }) => {
    const k = kOf(event);
    const out = [];
    for (let i = 0; i < SLOW_STEPS; i++) {
      out.push(
        await step.run(`s${i}`, async () => {
          count("slow", `s${i}`, k);
          await sleepMs(500);
          return i;
        }),
      );
    }
    return out;
  },
);

const simple = inngest.createFunction(
  // No steps: counts each execution and reports when it ran.
  { id: "simple", triggers: [{ event: "e2e/simple" }] },
  async ({ event }) => {
    const k = kOf(event);
    count("simple", "body", k);
    return { k, ran_at: Date.now() / 1000, event_id: event.id, event_ts: event.ts };
  },
);

// ---------------------------------------------------------------------------- triggers

const expr = inngest.createFunction(
  { id: "expr", triggers: [{ event: "e2e/expr", if: "event.data.amount > 100" }] },
  async ({ event }) => {
    count("expr", "body", kOf(event));
    return { amount: event.data.amount };
  },
);

const wild = inngest.createFunction(
  { id: "wild", triggers: [{ event: "e2e/wild.*" }] },
  async ({ event }) => {
    count("wild", "body", kOf(event));
    return { name: event.name };
  },
);

const multi = inngest.createFunction(
  { id: "multi", triggers: [{ event: "e2e/multi.a" }, { event: "e2e/multi.b" }] },
  async ({ event }) => {
    count("multi", "body", kOf(event));
    return { name: event.name };
  },
);

// ---------------------------------------------------------------------------- flow control
// TS-only shapes of the flow-control options (e.g. `concurrency` as a bare number).

// One step that takes `data.work_ms`; returns when it started and ended (seconds).
const timed = (fn) => async ({ event, step }) => {
  const k = kOf(event);
  const span = await step.run("work", async () => {
    count(fn, "work", k);
    const start = Date.now() / 1000;
    await sleepMs(Number(event.data.work_ms ?? 0));
    return { start, end: Date.now() / 1000 };
  });
  return { k, ...span, seq: event.data.seq ?? null };
};

const fcConcurrency = inngest.createFunction(
  { id: "fc-concurrency", concurrency: 1, triggers: [{ event: "e2e-ts/fc-concurrency" }] },
  timed("fc-concurrency"),
);

const fcThrottle = inngest.createFunction(
  {
    id: "fc-throttle",
    throttle: { limit: 1, period: "2s" },
    triggers: [{ event: "e2e-ts/fc-throttle" }],
  },
  timed("fc-throttle"),
);

const fcRateLimit = inngest.createFunction(
  {
    id: "fc-rate-limit",
    rateLimit: { limit: 1, period: "1m", key: "event.data.k" },
    triggers: [{ event: "e2e-ts/fc-rate-limit" }],
  },
  timed("fc-rate-limit"),
);

const fcIdempotency = inngest.createFunction(
  {
    id: "fc-idempotency",
    idempotency: "event.data.order",
    triggers: [{ event: "e2e-ts/fc-idempotency" }],
  },
  timed("fc-idempotency"),
);

const fcDebounce = inngest.createFunction(
  {
    id: "fc-debounce",
    debounce: { period: "2s", key: "event.data.k" },
    triggers: [{ event: "e2e-ts/fc-debounce" }],
  },
  timed("fc-debounce"),
);

const fcBatch = inngest.createFunction(
  {
    id: "fc-batch",
    batchEvents: { maxSize: 3, timeout: "5s", key: "event.data.k" },
    triggers: [{ event: "e2e-ts/fc-batch" }],
  },
  async ({ events }) => {
    const k = kOf(events[0]);
    count("fc-batch", "run", k);
    return { k, seqs: events.map((e) => e.data.seq) };
  },
);

const fcSingleton = inngest.createFunction(
  {
    id: "fc-singleton",
    singleton: { key: "event.data.k", mode: "skip" },
    triggers: [{ event: "e2e-ts/fc-singleton" }],
  },
  timed("fc-singleton"),
);

export const FUNCTIONS = [
  chain,
  parallel,
  sleepFn,
  sleepUntilFn,
  flaky,
  retryAfter,
  waitFn,
  waitMatch,
  invoked,
  invoker,
  sendEventFn,
  invokeErr,
  nonretriable,
  exhaust,
  cancellable,
  cancelMatch,
  slow,
  simple,
  expr,
  wild,
  multi,
  fcConcurrency,
  fcThrottle,
  fcRateLimit,
  fcIdempotency,
  fcDebounce,
  fcBatch,
  fcSingleton,
];

// ---------------------------------------------------------------------------- server

const handler = serve({ client: inngest, functions: FUNCTIONS });

function json(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json" });
  res.end(text);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, "http://localhost");
  try {
    if (url.pathname === "/api/inngest") {
      if (req.method === "POST") {
        const fnId = url.searchParams.get("fnId") || "";
        CALLS[fnId] = (CALLS[fnId] || 0) + 1;
      }
      return await handler(req, res);
    }
    if (url.pathname === "/counts") return json(res, 200, COUNTS);
    if (url.pathname === "/records") return json(res, 200, RECORDS);
    if (url.pathname === "/calls") return json(res, 200, CALLS);
    if (url.pathname === "/send" && req.method === "POST") {
      const payload = JSON.parse((await readBody(req)) || "null");
      const out = await inngest.send(payload);
      return json(res, 200, out);
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
server.listen(port, process.env.HOST || "127.0.0.1", () => {
  console.log(
    `e2e TS app ${APP_ID} on :${port} (checkpointing ${CHECKPOINTING ? "on" : "off"})`,
  );
});
for (const sig of ["SIGTERM", "SIGINT"]) {
  process.on(sig, () => {
    server.close();
    process.exit(0);
  });
}
