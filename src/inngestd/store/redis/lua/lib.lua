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
-- of its hash, next to score (its order), tok (lease token), blk (the key it is parked
-- on) and pt (its partition). k_qpart(pt) holds when it can next be leased; k_parts()
-- holds each partition's earliest such time, so a lease visits only due partitions.

-- The partition an item waits in: the same rule as domain.queue.partition_of.
local function part_of(it)
  local fn = it.function_id or ''
  if it.kind == 'call' then
    for _, l in ipairs(list(opt(it.c))) do
      if l[1] ~= 'f:' .. fn then return l[1] end
    end
    local th = opt(it.th)
    if th and th[1] ~= 'throttle:' .. fn then return th[1] end
  end
  return 'fn:' .. fn
end

-- Keep the partition's place in k_parts() at its earliest item (or drop it when empty).
local function touch_part(pt)
  local first = redis.call('ZRANGE', k_qpart(pt), 0, 0, 'WITHSCORES')
  if first[1] then
    redis.call('ZADD', k_parts(), first[2], pt)
  else
    redis.call('ZREM', k_parts(), pt)
  end
end

-- Item `id` of partition `pt` can next be leased at `score` (an istr() string).
local function avail_set(id, pt, score)
  redis.call('ZADD', k_qpart(pt), score, id)
  touch_part(pt)
end

local function avail_rem(id, pt)
  redis.call('ZREM', k_qpart(pt), id)
  touch_part(pt)
end
local function score_of(it, now)
  local pr = tonumber(opt(it.pr)) or 0
  if pr ~= 0 and it.kind == 'call' and it.due_ms <= now then return it.due_ms - pr end
  return it.due_ms
end

local function insert_item(it, now)
  local key = k_item(it.id)
  if redis.call('EXISTS', key) == 1 then return false end
  local score = score_of(it, now or it.due_ms)
  local pt = part_of(it)
  redis.call('HSET', key, 'j', cjson.encode(it), 'score', istr(score), 'tok', '', 'blk', '',
    'pt', pt)
  avail_set(it.id, pt, istr(score))
  if opt(it.run_id) and it.run_id ~= '' then redis.call('SADD', k_runitems(it.run_id), it.id) end
  if it.kind == 'cron' then redis.call('SADD', k_crons(), it.id) end
  return true
end

local function load_item(id)
  local v = redis.call('HMGET', k_item(id), 'j', 'score', 'tok', 'blk', 'pt')
  if not v[1] then return nil, nil end
  local it = cjson.decode(v[1])
  return it, {score = tonumber(v[2]), tok = v[3] or '', blk = v[4] or '',
    pt = v[5] or part_of(it)}
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
  avail_rem(id, h.pt)
  if opt(it.run_id) and it.run_id ~= '' then redis.call('SREM', k_runitems(it.run_id), id) end
  if it.kind == 'cron' then redis.call('SREM', k_crons(), id) end
  return true
end

-- Wake items parked on any of `keys` (a slot was freed), in their original order.
local function release_keys(keys)
  for _, key in ipairs(keys) do
    local pk = k_parked(key)
    for _, id in ipairs(redis.call('SMEMBERS', pk)) do
      local it, h = load_item(id)
      if it then
        redis.call('HSET', k_item(id), 'blk', '')
        avail_set(id, h.pt, istr(h.score))
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
  avail_set(id, h.pt, istr(due))
end

-- Insert the item or move it to its new due time (a leased one keeps its lease).
local function move_item(it)
  if insert_item(it, nil) then return end
  local cur, h = load_item(it.id)
  cur.due_ms = it.due_ms
  redis.call('HSET', k_item(it.id), 'j', cjson.encode(cur), 'score', istr(it.due_ms))
  if h.tok == '' then avail_set(it.id, h.pt, istr(it.due_ms)) end
end
