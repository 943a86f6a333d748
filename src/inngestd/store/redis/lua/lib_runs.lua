-- Runs, memoised steps, pauses, finishing (mirrors store/sqlite/runs.py).
-- Run hash fields: id fn app ev st cr sa en out rv di rs ma flow evs ev0.

local function get_run(run_id)
  local v = redis.call('HMGET', k_run(run_id), 'fn', 'st', 'ma', 'flow')
  if not v[1] then return nil end
  local flow = {}
  if v[4] then flow = cjson.decode(v[4]) end
  return {id = run_id, fn = v[1], st = v[2], ma = tonumber(v[3]) or 1, flow = flow}
end

-- A call for `run`, carrying the run's concurrency keys and priority.
local function call_item(run, item_id, due, step_id)
  local it = {id = item_id, run_id = run.id, function_id = run.fn, kind = 'call',
    due_ms = due, step_id = step_id, attempt = 0, max_attempts = run.ma,
    pr = tonumber(opt(run.flow.p)) or 0}
  local c = list(opt(run.flow.c))
  if #c > 0 then it.c = c end
  return it
end

local function discovery(run, key, now)
  return call_item(run, run.id .. ':d:' .. key, now, nil)
end

-- The run's first call begins: RUNNING from now, and its finish timeout starts counting.
local function mark_started(run_id, function_id, now)
  local rk = k_run(run_id)
  if redis.call('HGET', rk, 'st') ~= 'QUEUED' then return end
  redis.call('HSET', rk, 'st', 'RUNNING', 'sa', istr(now))
  outbox({t = 'status', id = run_id, status = 'RUNNING', started_ms = now})
  local flow = redis.call('HGET', rk, 'flow')
  if not flow then return end
  local f = tonumber(opt(cjson.decode(flow).f))
  if f and f ~= 0 then
    insert_item({id = run_id .. ':timeout:finish', run_id = run_id, function_id = function_id,
      kind = 'timeout', due_ms = now + f, ref = 'finish', attempt = 0, max_attempts = 1})
  end
end

-- Write-once memo, stack push, pending drain, and the discovery that follows
-- (`discover` false: memo and stack only, for checkpointed steps).
local function save_step(run, step_id, memo, now, discover)
  local inserted = redis.call('HSETNX', k_steps(run.id), step_id, memo)
  if inserted == 1 then
    local pos = redis.call('RPUSH', k_stack(run.id), step_id) - 1
    outbox({t = 'step', run_id = run.id, step_id = step_id, memo = memo, pos = pos})
  end
  if not discover then return end
  local race = redis.call('HGET', k_pending(run.id), step_id)
  if race then redis.call('HDEL', k_pending(run.id), step_id) end
  if inserted == 0 and not race then return end
  local remaining = redis.call('HLEN', k_pending(run.id))
  if remaining == 0 then redis.call('HSET', k_run(run.id), 'di', '0') end
  if remaining == 0 or race == '1' then insert_item(discovery(run, step_id, now), now) end
end

-- pauses -------------------------------------------------------------------------------------
-- p: {id, run_id, step_id, kind, event_name, expires_ms, after_seq, expression?,
-- correlation_id?, trigger? (blob), timeout_memo? (blob)}
local function insert_pause(run, p, after_seq)
  local key = k_pause(p.id)
  if redis.call('EXISTS', key) == 1 then return end
  redis.call('HSET', key, 'id', p.id, 'run', p.run_id, 'step', p.step_id, 'kind', p.kind,
    'evn', p.event_name, 'exp', istr(p.expires_ms), 'after', istr(after_seq))
  if opt(p.expression) then redis.call('HSET', key, 'expr', p.expression) end
  local corr = opt(p.correlation_id)
  if corr then
    redis.call('HSET', key, 'corr', corr)
    redis.call('SET', k_corr(corr), p.id)
  end
  local trig = blob(p.trigger)
  if trig then redis.call('HSET', key, 'trig', trig) end
  local tm = blob(p.timeout_memo)
  if tm then redis.call('HSET', key, 'tm', tm) end
  redis.call('SADD', k_pauseev(p.event_name), p.id)
  redis.call('SADD', k_runpauses(p.run_id), p.id)
  insert_item({id = p.id .. ':t', run_id = run.id, function_id = run.fn,
    kind = 'pause_timeout', due_ms = p.expires_ms, pause_id = p.id, attempt = 0,
    max_attempts = run.ma})
end

local function drop_pause(id)
  local key = k_pause(id)
  local v = redis.call('HMGET', key, 'run', 'step', 'kind', 'evn', 'corr', 'tm')
  if not v[1] then return nil end
  redis.call('DEL', key)
  redis.call('SREM', k_pauseev(v[4]), id)
  if v[5] and redis.call('GET', k_corr(v[5])) == id then redis.call('DEL', k_corr(v[5])) end
  redis.call('SREM', k_runpauses(v[1]), id)
  return {run_id = v[1], step_id = v[2], kind = v[3], tm = v[6] or nil}
end

local function take_pause(id)
  local p = drop_pause(id)
  if p then delete_item(id .. ':t') end
  return p
end

-- finish and cancel --------------------------------------------------------------------------
-- The run has ended at `now`: index it for trimming (trim.lua) with the outbox marker
-- generation it ended in (tg): once the relay has stored a later marker, every outbox
-- record of the run is in PostgreSQL.
local function index_ended(run_id, now)
  redis.call('HSET', k_run(run_id), 'tg', redis.call('GET', k_trimgen()) or '0')
  redis.call('ZADD', k_ended(), istr(now), run_id)
end

local function finish(run, status, output, reason, now)
  local rk = k_run(run.id)
  redis.call('HSET', rk, 'st', status, 'en', istr(now))
  index_ended(run.id, now)
  if output then redis.call('HSET', rk, 'out', output) else redis.call('HDEL', rk, 'out') end
  if reason then redis.call('HSET', rk, 'rs', reason) else redis.call('HDEL', rk, 'rs') end
  redis.call('HSETNX', rk, 'sa', istr(now))
  for _, id in ipairs(redis.call('SMEMBERS', k_runitems(run.id))) do delete_item(id) end
  redis.call('DEL', k_runitems(run.id))
  for _, id in ipairs(redis.call('SMEMBERS', k_runpauses(run.id))) do drop_pause(id) end
  redis.call('DEL', k_runpauses(run.id), k_pending(run.id))
  for _, key in ipairs(redis.call('SMEMBERS', k_runsingle(run.id))) do
    if redis.call('GET', k_single(key)) == run.id then redis.call('DEL', k_single(key)) end
  end
  redis.call('DEL', k_runsingle(run.id))
  local keys = {}
  for _, l in ipairs(list(opt(run.flow.c))) do keys[#keys + 1] = l[1] end
  for _, key in ipairs(redis.call('SMEMBERS', k_runslots(run.id))) do
    redis.call('SREM', k_slots(key), run.id)
    keys[#keys + 1] = key
  end
  redis.call('DEL', k_runslots(run.id))
  release_keys(keys)
  outbox({t = 'status', id = run.id, status = status,
    started_ms = tonumber(redis.call('HGET', rk, 'sa')), ended_ms = now, output = output,
    reason = reason})
end

-- c: {run_id, events = {event...}, reason}
local function cancel_run(c, now)
  local run = get_run(c.run_id)
  if not run or ENDED[run.st] then return false end
  finish(run, 'CANCELLED', nil, opt(c.reason), now)
  for _, ev in ipairs(list(c.events)) do insert_event(ev) end
  return true
end

-- Singleton `cancel` mode: end the active run with its finish events, as
-- domain/finish.py builds them (ids given by the caller).
local function cancel_for_singleton(run_id, ids, now)
  local run = get_run(run_id)
  if not run or ENDED[run.st] then return end
  local v = redis.call('HMGET', k_run(run_id), 'evs', 'ev0')
  local events, first = v[1] or '[]', v[2] or '{}'
  local cid = ''
  local ok, e0 = pcall(cjson.decode, first)
  if ok and type(e0) == 'table' and e0.name == 'inngest/function.invoked'
    and type(e0.data) == 'table' and type(e0.data._inngest) == 'table'
    and type(e0.data._inngest.correlation_id) == 'string' then
    cid = ',"correlation_id":' .. cjson.encode(e0.data._inngest.correlation_id)
  end
  local data = '{"function_id":' .. cjson.encode(run.fn) .. ',"run_id":'
    .. cjson.encode(run_id) .. ',"event":' .. first .. ',"events":' .. events
    .. ',"_inngest":{"status":"CANCELLED"}' .. cid
    .. ',"error":{"error":"function cancelled","name":"Error",'
    .. '"message":"cancelled by a newer singleton run"}}'
  local function payload(name, id)
    return '{"name":' .. cjson.encode(name) .. ',"data":' .. data .. ',"id":'
      .. cjson.encode(id) .. ',"ts":' .. istr(now) .. ',"user":{}}'
  end
  finish(run, 'CANCELLED', nil, 'Singleton', now)
  local fin, can = 'inngest/function.finished', 'inngest/function.cancelled'
  local uid = run_id .. '-cancelled'
  insert_event_raw(ids[1], fin, nil, now, payload(fin, ids[1]))
  insert_event_raw(ids[2], can, uid, now, payload(can, uid))
end
