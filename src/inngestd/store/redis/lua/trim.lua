-- Trim one bounded batch: ARGV[1] = {now, cutoff, batch, remark}. Returns {runs, events}
-- removed.
--
-- A run goes when it ended before `cutoff`, the relay has stored an outbox marker pushed
-- after it ended (its tg is below relayed.g: every record it wrote is in PostgreSQL) and
-- nothing points at it any more (queue items, pauses). An event goes when it was received
-- before `cutoff`, is scheduled and its seq is covered by the same marker. At most `batch`
-- of each are looked at. Then, unless one is in flight (and younger than `remark` ms), a new
-- marker goes into the outbox when anything waits for one; relayed.lua records it once the
-- relay got there.
local req = cjson.decode(ARGV[1])
local now, cutoff, batch = req.now, req.cutoff, req.batch
local rv = redis.call('HMGET', k_relayed(), 'g', 'seq')
local done_g = tonumber(rv[1] or nil) or 0
local done_seq = tonumber(rv[2] or nil) or 0

local runs = 0
local ids = redis.call('ZRANGEBYSCORE', k_ended(), '-inf', '(' .. istr(cutoff), 'LIMIT', 0,
  batch)
for _, id in ipairs(ids) do
  local v = redis.call('HMGET', k_run(id), 'st', 'tg', 'ev')
  local tg = tonumber(v[2] or nil)
  if not v[1] or not ENDED[v[1]] then
    redis.call('ZREM', k_ended(), id)
  elseif tg == nil or tg >= done_g then
    -- Its records may still be in the outbox: wait for a later marker.
  elseif redis.call('EXISTS', k_runitems(id), k_runpauses(id)) > 0 then
    -- Still referenced (a late item is removed when leased): look again a grace later.
    redis.call('ZADD', k_ended(), istr(now), id)
  else
    for _, eid in ipairs(redis.call('SMEMBERS', k_runevs(id))) do
      redis.call('SREM', k_evruns(eid), id)
    end
    if v[3] then redis.call('SREM', k_evruns(v[3]), id) end
    redis.call('DEL', k_run(id), k_steps(id), k_stack(id), k_pending(id), k_spans(id),
      k_runslots(id), k_runsingle(id), k_runevs(id))
    redis.call('ZREM', k_ended(), id)
    runs = runs + 1
  end
end

local events = 0
ids = redis.call('ZRANGEBYSCORE', k_evlog(), '-inf', istr(done_seq), 'LIMIT', 0, batch)
for _, id in ipairs(ids) do
  local v = redis.call('HMGET', k_ev(id), 'recv', 'name')
  if not v[1] then
    redis.call('ZREM', k_evlog(), id)
  elseif tonumber(v[1]) >= cutoff then
    break  -- the log is in arrival order: the rest is younger too
  elseif not redis.call('ZSCORE', k_unsched(), id) then
    redis.call('DEL', k_ev(id), k_evruns(id))
    redis.call('ZREM', k_evlog(), id)
    redis.call('ZREM', k_evname(v[2]), id)
    events = events + 1
  end
end

-- An idle deployment (nothing ended or arrived since the last marker) needs no new one.
local waiting = redis.call('ZCARD', k_ended()) > 0 or last_seq() > done_seq
local m = redis.call('HMGET', k_trimmark(), 'g', 'at')
local mark_g, mark_at = tonumber(m[1] or nil), tonumber(m[2] or nil) or 0
if waiting and (mark_g == nil or mark_g <= done_g or now - mark_at >= req.remark) then
  local g = redis.call('INCR', k_trimgen())
  outbox({t = 'mark', g = g, seq = last_seq()})
  redis.call('HSET', k_trimmark(), 'g', istr(g), 'at', istr(now))
end
return {runs, events}
