-- Queue.lease: ARGV[1] = {now, limit, expires, token, scan, recheck, parts, spin}. Claims
-- up to `limit` due items (an expired lease is due again: the scavenger), enforcing
-- concurrency keys, run-level slots and throttle; parks blocked items. Fair across
-- partitions as in flow/fairness.py: the `parts` partitions due longest, rotated by the
-- random `spin`, each get an equal share per round. Returns {{item JSON, token}...}.
local req = cjson.decode(ARGV[1])
local now, expires = req.now, req.expires
local due = redis.call('ZRANGEBYSCORE', k_parts(), '-inf', istr(now), 'LIMIT', 0, req.parts)
local parts = {}
for i = 1, #due do parts[i] = due[((i - 1 + req.spin) % #due) + 1] end
local np = math.max(#parts, 1)
local share = math.max(1, math.ceil(req.limit / np))
local per_part = share + math.ceil(req.scan / np)
local out = {}
local n = 0

-- The key whose limit stops `it` from starting now, if any. `own` is 1 when the item
-- still holds its slots (its lease expired: it is being taken over), so it never blocks
-- itself.
local function blocked_by(it, own)
  if it.kind ~= 'call' then return nil end
  for _, l in ipairs(list(opt(it.c))) do
    local used = (tonumber(redis.call('GET', k_inuse(l[1])) or nil) or 0) - own
    if l[2] > 0 and used >= l[2] then
      return l[1]
    end
  end
  local rl = opt(it.rl)
  if rl and rl[2] > 0 then
    if redis.call('SISMEMBER', k_slots(rl[1]), it.run_id) == 0
      and redis.call('SCARD', k_slots(rl[1])) >= rl[2] then
      return rl[1]
    end
  end
  return nil
end

-- Offer item `id` of partition `pt`: lease it (true) or move it to when it may go.
local function take(id, pt)
  local it, h = load_item(id)
  if not it then
    redis.call('ZREM', k_qpart(pt), id)
    return false
  end
  local own = 0
  if h.tok ~= '' then own = 1 end
  local blocker = blocked_by(it, own)
  if blocker then
    if h.blk ~= '' and h.blk ~= blocker then redis.call('SREM', k_parked(h.blk), id) end
    redis.call('HSET', k_item(id), 'blk', blocker)
    redis.call('SADD', k_parked(blocker), id)
    redis.call('ZADD', k_qpart(pt), istr(now + req.recheck), id)
    return false
  end
  local wait_until = throttled_until(opt(it.th), now)
  if wait_until then
    redis.call('ZADD', k_qpart(pt), istr(wait_until), id)
    return false
  end
  -- A lease taken over after expiry keeps holding the slots it held.
  if h.tok == '' then
    for _, key in ipairs(item_keys(it)) do redis.call('INCR', k_inuse(key)) end
  end
  local rl = opt(it.rl)
  if rl then
    redis.call('SADD', k_slots(rl[1]), it.run_id)
    redis.call('SADD', k_runslots(it.run_id), rl[1])
  end
  if it.kind == 'call' then mark_started(it.run_id, it.function_id, now) end
  n = n + 1
  local token = req.token .. '.' .. n
  if h.blk ~= '' then redis.call('SREM', k_parked(h.blk), id) end
  redis.call('HSET', k_item(id), 'tok', token, 'blk', '')
  redis.call('ZADD', k_qpart(pt), istr(expires), id)
  out[n] = {redis.call('HGET', k_item(id), 'j'), token}
  return true
end

local cands, cursor = {}, {}
for i, pt in ipairs(parts) do
  cands[i] = redis.call('ZRANGEBYSCORE', k_qpart(pt), '-inf', istr(now), 'LIMIT', 0, per_part)
  cursor[i] = 1
end
-- Rounds: each partition takes up to `share` items per round; a round that finds no
-- candidate left anywhere ends the call.
local progress = true
while n < req.limit and progress do
  progress = false
  for i, pt in ipairs(parts) do
    local got = 0
    while got < share and n < req.limit and cursor[i] <= #cands[i] do
      local id = cands[i][cursor[i]]
      cursor[i] = cursor[i] + 1
      progress = true
      if take(id, pt) then got = got + 1 end
    end
    if n >= req.limit then break end
  end
end
for _, pt in ipairs(parts) do touch_part(pt) end
return out
