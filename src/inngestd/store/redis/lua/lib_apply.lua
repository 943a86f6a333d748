-- The effects of one SDK reply (mirrors SQLiteRunState.apply_one and _apply_effects).
-- An effect is {t = kind, ...}; binary values are blob indexes.

local function resume(pause_id, memo, now)
  local p = take_pause(pause_id)
  if not p then return end
  local run = get_run(p.run_id)
  if not run or ENDED[run.st] then return end
  save_step(run, p.step_id, memo, now, true)
end

local function record_span(s)
  local span = {run_id = s.run_id, step_id = s.step_id, name = s.name, op = s.op,
    attempt = s.attempt, started_ms = s.started_ms, ended_ms = s.ended_ms,
    status = s.status, output = blob(s.output)}
  local n = redis.call('INCR', k_spanseq())
  redis.call('RPUSH', k_spans(s.run_id), cjson.encode(span))
  outbox({t = 'span', k = istr(n), span = span})
end

local function apply_one(run, e, now)
  local t = e.t
  if t == 'save' then
    save_step(run, e.step, blob(e.memo), now, e.discover)
  elseif t == 'par' then
    for _, sid in ipairs(list(e.steps)) do
      local race = '0'
      if e.race then race = '1' end
      redis.call('HSETNX', k_pending(run.id), sid, race)
    end
    redis.call('HSET', k_run(run.id), 'di', '1')
  elseif t == 'plan' then
    if redis.call('HEXISTS', k_steps(run.id), e.step) == 0 then
      insert_item(call_item(run, run.id .. ':p:' .. e.step, now, e.step), now)
    end
  elseif t == 'sleep' then
    insert_item({id = run.id .. ':s:' .. e.step, run_id = run.id, function_id = run.fn,
      kind = 'sleep', due_ms = math.max(e['until'], now), step_id = e.step, attempt = 0,
      max_attempts = run.ma}, nil)
  elseif t == 'pause' then
    insert_pause(run, e.pause, last_seq())
  elseif t == 'expire' then
    local p = take_pause(e.pause_id)
    if p and p.kind ~= 'cancel' then save_step(run, p.step_id, p.tm or 'null', now, true) end
  elseif t == 'disc' then
    insert_item(discovery(run, e.key, now), now)
  elseif t == 'rv' then
    redis.call('HSET', k_run(run.id), 'rv', istr(e.version))
  elseif t == 'emit' then
    insert_event(e.event)
  elseif t == 'span' then
    record_span(e.span)
  end
end

-- Apply each effect in order; returns the run's status afterwards.
local function apply_effects(run, item_id, effects, now)
  local status = 'RUNNING'
  for _, e in ipairs(effects) do
    if e.t == 'retry' then
      retry_item(item_id, e.due)
    elseif e.t == 'finish' then
      finish(run, e.status, blob(e.output), opt(e.reason), now)
      status = e.status
    else
      apply_one(run, e, now)
    end
  end
  return status
end
