-- Flow control (mirrors flow/gcra.py, flow/debounce.py, flow/batching.py and
-- store/sqlite/flow_tx.py) and run creation with its gates.

-- Keys that only matter for a while get a TTL, plus this much for clock skew between the
-- processes (their `now`) and Redis (which expires them).
local SKEW_MS = 60000

-- GCRA: returns allowed, new tat, retry at. Compared as (base - now) * limit > period *
-- burst, which equals gcra.py's cross multiplication and keeps the numbers small.
local function gcra(tat, now, limit, period, burst)
  if limit < 1 then limit = 1 end
  if burst < 0 then burst = 0 end
  if period < 1 then period = 1 end
  local base = now
  if tat and tat > now then base = tat end
  local tolerance = math.floor(period * burst / limit)
  if (base - now) * limit > period * burst then return false, base, base - tolerance end
  local new_tat = base + math.floor((period + limit - 1) / limit)
  local retry = new_tat - tolerance
  if retry < now then retry = now end
  return true, new_tat, retry
end

local function gcra_tat(key) return tonumber(redis.call('GET', k_gcra(key)) or nil) end

-- GCRA at schedule time: the skip reason when over the limit, else nil (slot spent).
local function rate_limited(rate, now)
  if not rate then return nil end
  local ok, tat = gcra(gcra_tat(rate.key), now, rate.limit, rate.period,
    math.floor(math.max(rate.limit, 0) / 10))
  if not ok then return rate.reason end
  -- A TAT in the past is the same as none: the key may expire then.
  redis.call('SET', k_gcra(rate.key), istr(tat), 'PX', istr(tat - now + SKEW_MS))
  return nil
end

-- Throttle at lease time: nil if the start may go now (the slot is spent), else when.
local function throttled_until(th, now)
  if not th then return nil end
  local limit, burst = th[2], th[4]
  local ok, tat, retry = gcra(gcra_tat(th[1]), now, limit, th[3],
    math.max(limit, 1) + math.max(burst, 0) - 1)
  if not ok then return retry end
  redis.call('SET', k_gcra(th[1]), istr(tat), 'PX', istr(tat - now + SKEW_MS))
  return nil
end

local function claim_singleton(s, run_id, now)
  local holder = redis.call('GET', k_single(s.key))
  if holder then
    if s.mode ~= 'cancel' then return 'Singleton' end
    cancel_for_singleton(holder, s.ids, now)
  end
  redis.call('SET', k_single(s.key), run_id)
  redis.call('SADD', k_runsingle(run_id), s.key)
  return nil
end

local function insert_run(nr, status, reason, now)
  local r = nr.run
  local rk = k_run(r.id)
  redis.call('HSET', rk, 'id', r.id, 'fn', r.fn, 'app', r.app, 'ev', r.ev, 'st', status,
    'cr', istr(r.cr), 'rv', '-1', 'di', '0', 'ma', istr(r.ma), 'flow', blob(nr.flow),
    'evs', blob(nr.evs))
  if opt(nr.ev0) then redis.call('HSET', rk, 'ev0', blob(nr.ev0)) end
  local ended = nil
  if ENDED[status] then
    ended = now
    redis.call('HSET', rk, 'en', istr(now))
    index_ended(r.id, now)
  end
  if reason then redis.call('HSET', rk, 'rs', reason) end
  for _, eid in ipairs(list(nr.event_ids)) do
    redis.call('SADD', k_evruns(eid), r.id)
    redis.call('SADD', k_runevs(r.id), eid)  -- trim.lua takes the run out of each again
  end
  outbox({t = 'run', id = r.id, function_id = r.fn, app_id = r.app, event_id = r.ev,
    status = status, created_ms = r.cr, ended_ms = ended, reason = reason,
    max_attempts = r.ma, flow = blob(nr.flow), event_ids = nr.event_ids})
end

-- Create the run unless a gate stops it. Returns nil (idempotency: nothing created),
-- 'ok', or the skip reason (the run is stored as SKIPPED).
local function create_run(nr, now)
  local ik = k_idem(nr.ik)
  local exp = tonumber(redis.call('HGET', ik, 'exp') or nil)
  if exp and exp > now then return nil end
  redis.call('HSET', ik, 'run', nr.run.id, 'exp', istr(nr.ie))
  -- Past `exp` the claim means nothing: let Redis drop it.
  redis.call('PEXPIRE', ik, istr(math.max(nr.ie - now, 0) + SKEW_MS))
  local skip = rate_limited(opt(nr.rate), now)
  if not skip and opt(nr.single) then skip = claim_singleton(nr.single, nr.run.id, now) end
  if skip then
    insert_run(nr, 'SKIPPED', skip, now)
    return skip
  end
  insert_run(nr, nr.run.st, nil, now)
  local run = get_run(nr.run.id)
  -- steps: {{step_id, blob index of the memo}...} carried over by a rerun from a step
  for _, st in ipairs(list(nr.steps)) do save_step(run, st[1], blob(st[2]), now, false) end
  insert_item(nr.first, now)
  for _, p in ipairs(list(nr.pauses)) do insert_pause(run, p, p.after_seq) end
  local sto = tonumber(opt(nr.sto))
  if sto and sto ~= 0 then
    insert_item({id = run.id .. ':timeout:start', run_id = run.id, function_id = run.fn,
      kind = 'timeout', due_ms = math.max(now, nr.first.due_ms) + sto, ref = 'start',
      attempt = 0, max_attempts = 1})
  end
  return 'ok'
end

-- debounce and batch -------------------------------------------------------------------------
local function start_item(kind, key, function_id, due)
  return {id = kind .. ':' .. key, run_id = '', function_id = function_id, kind = kind,
    due_ms = due, ref = key, attempt = 0, max_attempts = 1}
end

local function debounce_due(now, period, deadline)
  local due = now + period
  if deadline then due = math.max(math.min(due, deadline), now) end
  return due
end

-- d: {key, fn, event_id, ts, period, timeout?, new_id}
local function debounce_event(d, now)
  local key = k_deb(d.key)
  local v = redis.call('HMGET', key, 'id', 'first', 'due', 'ts', 'dl')
  if not v[1] then
    local deadline = nil
    if opt(d.timeout) then deadline = now + d.timeout end
    local due = debounce_due(now, d.period, deadline)
    redis.call('HSET', key, 'id', d.new_id, 'fn', d.fn, 'ev', d.event_id, 'ts', istr(d.ts),
      'first', istr(now), 'due', istr(due))
    if deadline then redis.call('HSET', key, 'dl', istr(deadline)) end
    move_item(start_item('debounce', d.key, d.fn, due))
    return
  end
  if d.ts < tonumber(v[4]) then return end  -- an older event is ignored
  local due = debounce_due(now, d.period, tonumber(v[5] or nil))
  redis.call('HSET', key, 'ev', d.event_id, 'ts', istr(d.ts), 'due', istr(due))
  move_item(start_item('debounce', d.key, d.fn, due))
end

-- b: {key, fn, event_id, max_size, timeout, new_id}
local function batch_event(b, now)
  local key = k_batch(b.key)
  local v = redis.call('HMGET', key, 'id', 'size')
  local before = 0
  if v[1] then before = tonumber(v[2]) or 0 end
  local size = before + 1
  local fire_now = size >= b.max_size
  local batch_id = v[1] or b.new_id
  if not v[1] then
    redis.call('HSET', key, 'id', batch_id, 'fn', b.fn, 'size', '0', 'first', istr(now))
  end
  if redis.call('LLEN', k_batchev(batch_id)) == before then
    redis.call('RPUSH', k_batchev(batch_id), b.event_id)
  end
  redis.call('HSET', key, 'size', istr(size))
  if not fire_now and size == 1 then
    move_item(start_item('batch', b.key, b.fn, now + b.timeout))
  end
  if fire_now then move_item(start_item('batch', b.key, b.fn, now)) end
end

-- The debounce or batch under `key` as pending_start reads it: id, event ids.
local function pending_start(kind, key)
  if kind == 'debounce' then
    local v = redis.call('HMGET', k_deb(key), 'id', 'ev')
    if not v[1] then return nil end
    return v[1], {v[2]}
  end
  local id = redis.call('HGET', k_batch(key), 'id')
  if not id then return nil end
  return id, redis.call('LRANGE', k_batchev(id), 0, -1)
end

-- Delete the debounce or batch if it is still exactly what was read.
local function consume(kind, seen)
  local id, events = pending_start(kind, seen.key)
  if id ~= seen.id then return false end
  local want = list(seen.event_ids)
  if #events ~= #want then return false end
  for i, e in ipairs(events) do if e ~= want[i] then return false end end
  if kind == 'debounce' then
    redis.call('DEL', k_deb(seen.key))
  else
    redis.call('DEL', k_batch(seen.key), k_batchev(seen.id))
  end
  return true
end
