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
  attempt INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL DEFAULT 1,
  due_ms INTEGER NOT NULL,
  -- due_ms while free, the lease expiry while leased: one index answers "what can I take".
  available_ms INTEGER NOT NULL,
  lease_token TEXT
);
CREATE INDEX IF NOT EXISTS queue_available ON queue(available_ms);
CREATE INDEX IF NOT EXISTS queue_run ON queue(run_id);
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
