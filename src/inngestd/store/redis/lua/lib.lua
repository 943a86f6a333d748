-- Shared helpers, prepended (after the generated key builders) to every script.
-- Numbers: cjson decodes JSON numbers to doubles and encodes them with 14 significant
-- digits, so ms timestamps and counters survive; values are written to Redis with istr().
local NULL = cjson.null
local ENDED = {COMPLETED = true, FAILED = true, CANCELLED = true, SKIPPED = true}

local function istr(n) return string.format('%.0f', n) end
local function opt(v) if v == nil or v == NULL or v == false then return nil end return v end
-- Binary values (memos, outputs, payloads) travel as extra ARGV entries, by index.
local function blob(i) if opt(i) == nil then return nil end return ARGV[i + 1] end
local function list(t) if type(t) ~= 'table' then return {} end return t end

local function outbox(rec) redis.call('RPUSH', k_outbox(), cjson.encode(rec)) end

-- events -------------------------------------------------------------------------------------
local function insert_event_raw(id, name, user, recv, payload)
  local key = k_ev(id)
  local seq = redis.call('HGET', key, 'seq')
  if seq then return tonumber(seq) end
  seq = redis.call('INCR', k_seq())
  redis.call('HSET', key, 'seq', seq, 'name', name, 'recv', istr(recv), 'payload', payload)
  if user then redis.call('HSET', key, 'user', user) end
  redis.call('ZADD', k_evlog(), seq, id)
  redis.call('ZADD', k_evname(name), seq, id)
  redis.call('ZADD', k_unsched(), seq, id)
  outbox({t = 'event', id = id, seq = seq, name = name, user = user, recv = recv,
    payload = payload})
  return seq
end

-- ev: {id, name, user?, recv, p = blob index of the payload JSON}
local function insert_event(ev)
  return insert_event_raw(ev.id, ev.name, opt(ev.user), ev.recv, blob(ev.p))
end

local function last_seq() return tonumber(redis.call('GET', k_seq()) or 0) or 0 end

-- queue items --------------------------------------------------------------------------------
-- An item is a table {id, run_id, function_id, kind, due_ms, step_id?, attempt,
-- max_attempts, pause_id?, c? = {{key, limit}...}, rl? = {key, limit},
-- th? = {key, limit, period, burst}, pr? = priority ms, ref?} stored as JSON in field j
-- of its hash, next to score (its order), tok (lease token) and blk (the key it is
-- parked on). k_avail() holds when it can next be leased.
local function score_of(it, now)
  local pr = tonumber(opt(it.pr)) or 0
  if pr ~= 0 and it.kind == 'call' and it.due_ms <= now then return it.due_ms - pr end
  return it.due_ms
end

local function insert_item(it, now)
  local key = k_item(it.id)
  if redis.call('EXISTS', key) == 1 then return false end
  local score = score_of(it, now or it.due_ms)
  redis.call('HSET', key, 'j', cjson.encode(it), 'score', istr(score), 'tok', '', 'blk', '')
  redis.call('ZADD', k_avail(), istr(score), it.id)
  if opt(it.run_id) and it.run_id ~= '' then redis.call('SADD', k_runitems(it.run_id), it.id) end
  if it.kind == 'cron' then redis.call('SADD', k_crons(), it.id) end
  return true
end

local function load_item(id)
  local v = redis.call('HMGET', k_item(id), 'j', 'score', 'tok', 'blk')
  if not v[1] then return nil, nil end
  return cjson.decode(v[1]), {score = tonumber(v[2]), tok = v[3] or '', blk = v[4] or ''}
end

local function item_keys(it)
  local out = {}
  for _, l in ipairs(list(opt(it.c))) do out[#out + 1] = l[1] end
  return out
end

-- The item's lease ends: the concurrency slots it held are free again.
local function unhold(it)
  for _, key in ipairs(item_keys(it)) do
    local n = redis.call('DECR', k_inuse(key))
    if n <= 0 then redis.call('DEL', k_inuse(key)) end
  end
end

local function delete_item(id)
  local it, h = load_item(id)
  if not it then return false end
  if h.tok ~= '' then unhold(it) end
  if h.blk ~= '' then redis.call('SREM', k_parked(h.blk), id) end
  redis.call('DEL', k_item(id))
  redis.call('ZREM', k_avail(), id)
  if opt(it.run_id) and it.run_id ~= '' then redis.call('SREM', k_runitems(it.run_id), id) end
  if it.kind == 'cron' then redis.call('SREM', k_crons(), id) end
  return true
end

-- Wake items parked on any of `keys` (a slot was freed), in their original order.
local function release_keys(keys)
  for _, key in ipairs(keys) do
    local pk = k_parked(key)
    for _, id in ipairs(redis.call('SMEMBERS', pk)) do
      local score = redis.call('HGET', k_item(id), 'score')
      if score then
        redis.call('HSET', k_item(id), 'blk', '')
        redis.call('ZADD', k_avail(), score, id)
      end
    end
    redis.call('DEL', pk)
  end
end

-- Requeue the item with attempt + 1 at `due` (its lease, if any, ends).
local function retry_item(id, due)
  local it, h = load_item(id)
  if not it then return end
  if h.tok ~= '' then unhold(it) end
  it.attempt = (tonumber(it.attempt) or 0) + 1
  it.due_ms = due
  redis.call('HSET', k_item(id), 'j', cjson.encode(it), 'score', istr(due), 'tok', '')
  redis.call('ZADD', k_avail(), istr(due), id)
end

-- Insert the item or move it to its new due time (a leased one keeps its lease).
local function move_item(it)
  if insert_item(it, nil) then return end
  local cur, h = load_item(it.id)
  cur.due_ms = it.due_ms
  redis.call('HSET', k_item(it.id), 'j', cjson.encode(cur), 'score', istr(it.due_ms))
  if h.tok == '' then redis.call('ZADD', k_avail(), istr(it.due_ms), it.id) end
end
