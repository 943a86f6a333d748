-- inngestd read side (start mode): apps, functions, events, run history.
-- Applied once by inngestd.store.postgres.migrate, inside its transaction, with
-- search_path set to the target schema. Ids are compared byte-wise (COLLATE "C") so
-- ordering matches SQLite's and the (created_ms, id) keyset is collation-proof.

CREATE TABLE apps (
  id text COLLATE "C" PRIMARY KEY,
  url text NOT NULL,
  sdk text NOT NULL DEFAULT '',
  framework text NOT NULL DEFAULT '',
  checksum text NOT NULL DEFAULT '',
  synced_ms bigint NOT NULL DEFAULT 0,
  error text
);
CREATE INDEX apps_url ON apps (url);

CREATE TABLE functions (
  id text COLLATE "C" PRIMARY KEY,
  app_id text COLLATE "C" NOT NULL,
  name text NOT NULL,
  url text NOT NULL,
  retries integer NOT NULL,
  config bytea NOT NULL,
  archived boolean NOT NULL DEFAULT false,
  updated_ms bigint NOT NULL
);
CREATE INDEX functions_app ON functions (app_id);

-- seq is assigned by the caller (a Redis counter in start mode) or by events_seq.
CREATE SEQUENCE events_seq AS bigint;
CREATE TABLE events (
  seq bigint PRIMARY KEY,
  internal_id text COLLATE "C" NOT NULL UNIQUE,
  name text COLLATE "C" NOT NULL,
  user_id text,
  received_ms bigint NOT NULL,
  payload bytea NOT NULL,
  scheduled boolean NOT NULL DEFAULT false
);
CREATE INDEX events_name ON events (name, seq);
CREATE INDEX events_unscheduled ON events (seq) WHERE NOT scheduled;

CREATE TABLE runs (
  id text COLLATE "C" PRIMARY KEY,
  function_id text COLLATE "C" NOT NULL,
  app_id text COLLATE "C" NOT NULL,
  event_id text COLLATE "C" NOT NULL,
  events bytea NOT NULL,
  status text COLLATE "C" NOT NULL,
  created_ms bigint NOT NULL,
  started_ms bigint,
  ended_ms bigint,
  output bytea,
  reason text,
  request_version integer NOT NULL DEFAULT -1,
  disable_immediate boolean NOT NULL DEFAULT false,
  max_attempts integer NOT NULL DEFAULT 1,
  flow bytea
);
-- Listings: keyset pagination on (created_ms, id), newest first, one index per equality
-- prefix a listing filters on (see inngestd.store.run_listing).
CREATE INDEX runs_created ON runs (created_ms, id);
CREATE INDEX runs_status_created ON runs (status, created_ms, id);
CREATE INDEX runs_fn_created ON runs (function_id, created_ms, id);
CREATE INDEX runs_fn_status_created ON runs (function_id, status, created_ms, id);
CREATE INDEX runs_app_created ON runs (app_id, created_ms, id);
CREATE INDEX runs_app_status_created ON runs (app_id, status, created_ms, id);
-- Retention walks ended runs oldest first.
CREATE INDEX runs_ended ON runs (ended_ms) WHERE ended_ms IS NOT NULL;

CREATE TABLE run_events (
  run_id text COLLATE "C" NOT NULL,
  event_id text COLLATE "C" NOT NULL,
  PRIMARY KEY (run_id, event_id)
);
CREATE INDEX run_events_event ON run_events (event_id);

-- Step memos, write-once (the output of spans recorded before their step finished).
CREATE TABLE steps (
  run_id text COLLATE "C" NOT NULL,
  step_id text COLLATE "C" NOT NULL,
  memo bytea NOT NULL,
  PRIMARY KEY (run_id, step_id)
);

-- id orders a run's spans as recorded and names the output (TraceSpan.output_id);
-- key de-duplicates redelivered records.
CREATE TABLE spans (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id text COLLATE "C" NOT NULL,
  key text COLLATE "C" NOT NULL,
  step_id text COLLATE "C" NOT NULL,
  name text NOT NULL,
  op text NOT NULL,
  attempt integer NOT NULL,
  started_ms bigint NOT NULL,
  ended_ms bigint NOT NULL,
  status text NOT NULL,
  output bytea,
  UNIQUE (run_id, key)
);
CREATE INDEX spans_run ON spans (run_id, id);
