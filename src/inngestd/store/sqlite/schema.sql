-- inngestd embedded store. Idempotent: applied at every open.
CREATE TABLE IF NOT EXISTS apps (
  id TEXT PRIMARY KEY,
  url TEXT NOT NULL,
  sdk TEXT NOT NULL DEFAULT '',
  framework TEXT NOT NULL DEFAULT '',
  checksum TEXT NOT NULL DEFAULT '',
  synced_ms INTEGER NOT NULL DEFAULT 0,
  error TEXT
);
CREATE TABLE IF NOT EXISTS functions (
  id TEXT PRIMARY KEY,
  app_id TEXT NOT NULL,
  name TEXT NOT NULL,
  url TEXT NOT NULL,
  retries INTEGER NOT NULL,
  config BLOB NOT NULL,
  archived INTEGER NOT NULL DEFAULT 0,
  updated_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS functions_app ON functions(app_id);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  internal_id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  user_id TEXT,
  received_ms INTEGER NOT NULL,
  payload BLOB NOT NULL,
  scheduled INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS events_name ON events(name, seq);
CREATE INDEX IF NOT EXISTS events_unscheduled ON events(seq) WHERE scheduled = 0;
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY,
  function_id TEXT NOT NULL,
  app_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  events BLOB NOT NULL,
  status TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  started_ms INTEGER,
  ended_ms INTEGER,
  output BLOB,
  reason TEXT,
  request_version INTEGER NOT NULL DEFAULT -1,
  disable_immediate INTEGER NOT NULL DEFAULT 0,
  stack_len INTEGER NOT NULL DEFAULT 0,
  flow BLOB,
  max_attempts INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS runs_function ON runs(function_id, created_ms);
CREATE TABLE IF NOT EXISTS run_events (
  event_id TEXT NOT NULL,
  run_id TEXT NOT NULL,
  PRIMARY KEY (event_id, run_id)
);
CREATE TABLE IF NOT EXISTS steps (
  run_id TEXT NOT NULL,
  step_id TEXT NOT NULL,
  position INTEGER NOT NULL,
  memo BLOB NOT NULL,
  PRIMARY KEY (run_id, step_id)
);
CREATE TABLE IF NOT EXISTS pending (
  run_id TEXT NOT NULL,
  step_id TEXT NOT NULL,
  race INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (run_id, step_id)
);
CREATE TABLE IF NOT EXISTS queue (
  id TEXT PRIMARY KEY,
  run_id TEXT NOT NULL,
  function_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  step_id TEXT,
  pause_id TEXT,
  ref TEXT,
  attempt INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL DEFAULT 1,
  due_ms INTEGER NOT NULL,
  -- the order items are taken in: due time, pulled earlier by priority
  score_ms INTEGER NOT NULL,
  -- score_ms while free, the lease expiry while leased, later while blocked by a limit:
  -- one index answers "what can I take now".
  available_ms INTEGER NOT NULL,
  lease_token TEXT,
  ck1 TEXT, cl1 INTEGER, ck2 TEXT, cl2 INTEGER,
  rk TEXT, rl INTEGER,
  throttle TEXT,
  priority_ms INTEGER NOT NULL DEFAULT 0,
  blocked_key TEXT,
  -- domain.queue.partition_of: leasing is fair between partitions
  part TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS queue_available ON queue(available_ms);
CREATE INDEX IF NOT EXISTS queue_part ON queue(part, available_ms);
-- Each partition with items and its earliest available_ms, kept by the triggers below, so
-- a lease finds the partitions with due work without scanning a deep backlog.
CREATE TABLE IF NOT EXISTS queue_parts (
  part TEXT PRIMARY KEY,
  next_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS queue_parts_next ON queue_parts(next_ms);
CREATE TRIGGER IF NOT EXISTS queue_parts_insert AFTER INSERT ON queue BEGIN
  INSERT INTO queue_parts (part, next_ms) VALUES (NEW.part, NEW.available_ms)
  ON CONFLICT(part) DO UPDATE SET next_ms = MIN(next_ms, excluded.next_ms);
END;
CREATE TRIGGER IF NOT EXISTS queue_parts_update AFTER UPDATE OF available_ms ON queue
WHEN OLD.available_ms IS NOT NEW.available_ms BEGIN
  UPDATE queue_parts SET next_ms = (SELECT MIN(available_ms) FROM queue WHERE part = NEW.part)
  WHERE part = NEW.part;
END;
CREATE TRIGGER IF NOT EXISTS queue_parts_delete AFTER DELETE ON queue BEGIN
  DELETE FROM queue_parts WHERE part = OLD.part
  AND NOT EXISTS (SELECT 1 FROM queue WHERE part = OLD.part);
  UPDATE queue_parts SET next_ms = (SELECT MIN(available_ms) FROM queue WHERE part = OLD.part)
  WHERE part = OLD.part;
END;
CREATE INDEX IF NOT EXISTS queue_run ON queue(run_id);
CREATE INDEX IF NOT EXISTS queue_ck1 ON queue(ck1) WHERE ck1 IS NOT NULL AND lease_token IS NOT NULL;
CREATE INDEX IF NOT EXISTS queue_ck2 ON queue(ck2) WHERE ck2 IS NOT NULL AND lease_token IS NOT NULL;
CREATE INDEX IF NOT EXISTS queue_blocked ON queue(blocked_key) WHERE blocked_key IS NOT NULL;
-- Run-level concurrency: a run holds its slot from its first lease to its end.
CREATE TABLE IF NOT EXISTS slots (
  key TEXT NOT NULL,
  run_id TEXT NOT NULL,
  PRIMARY KEY (key, run_id)
);
CREATE INDEX IF NOT EXISTS slots_run ON slots(run_id);
-- GCRA state ("theoretical arrival time") of throttles and rate limits.
CREATE TABLE IF NOT EXISTS gcra (
  key TEXT PRIMARY KEY,
  tat_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS debounces (
  key TEXT PRIMARY KEY,
  id TEXT NOT NULL,
  function_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  event_ts INTEGER NOT NULL,
  first_ms INTEGER NOT NULL,
  due_ms INTEGER NOT NULL,
  deadline_ms INTEGER
);
CREATE TABLE IF NOT EXISTS batches (
  key TEXT PRIMARY KEY,
  id TEXT NOT NULL,
  function_id TEXT NOT NULL,
  size INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  first_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS batch_events (
  batch_id TEXT NOT NULL,
  position INTEGER NOT NULL,
  event_id TEXT NOT NULL,
  PRIMARY KEY (batch_id, position)
);
CREATE TABLE IF NOT EXISTS singletons (
  key TEXT PRIMARY KEY,
  run_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS singletons_run ON singletons(run_id);
CREATE TABLE IF NOT EXISTS pauses (
  id TEXT PRIMARY KEY,
  run_id TEXT NOT NULL,
  step_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  event_name TEXT NOT NULL,
  expression TEXT,
  correlation_id TEXT,
  expires_ms INTEGER NOT NULL,
  after_seq INTEGER NOT NULL,
  trigger BLOB,
  timeout_memo BLOB
);
CREATE INDEX IF NOT EXISTS pauses_event ON pauses(event_name);
CREATE INDEX IF NOT EXISTS pauses_run ON pauses(run_id);
CREATE INDEX IF NOT EXISTS pauses_correlation ON pauses(correlation_id) WHERE correlation_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS idempotency (
  key TEXT PRIMARY KEY,
  run_id TEXT NOT NULL,
  expires_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS spans (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id TEXT NOT NULL,
  step_id TEXT NOT NULL,
  name TEXT NOT NULL,
  op TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  started_ms INTEGER NOT NULL,
  ended_ms INTEGER NOT NULL,
  status TEXT NOT NULL,
  output BLOB
);
CREATE INDEX IF NOT EXISTS spans_run ON spans(run_id, id);
-- History (run listings): keyset pagination on (created_ms, id), newest first, with one
-- index per equality prefix a listing filters on.
CREATE INDEX IF NOT EXISTS runs_created ON runs(created_ms, id);
CREATE INDEX IF NOT EXISTS runs_status_created ON runs(status, created_ms, id);
CREATE INDEX IF NOT EXISTS runs_fn_created ON runs(function_id, created_ms, id);
CREATE INDEX IF NOT EXISTS runs_fn_status_created ON runs(function_id, status, created_ms, id);
CREATE INDEX IF NOT EXISTS runs_app_created ON runs(app_id, created_ms, id);
CREATE INDEX IF NOT EXISTS runs_app_status_created ON runs(app_id, status, created_ms, id);
