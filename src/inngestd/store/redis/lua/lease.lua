-- Queue.lease: ARGV[1] = {now, limit, expires, token, scan, recheck}. Claims up to `limit`
-- due items (an expired lease is due again: the scavenger), enforcing concurrency keys,
-- run-level slots and throttle; parks blocked items. Returns {{item JSON, token}...}.
local req = cjson.decode(ARGV[1])
local now, expires = req.now, req.expires
local ids = redis.call('ZRANGEBYSCORE', k_avail(), '-inf', istr(now), 'LIMIT', 0,
  req.limit + req.scan)
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

for _, id in ipairs(ids) do
  if n >= req.limit then break end
  local it, h = load_item(id)
  if not it then
    redis.call('ZREM', k_avail(), id)
  else
    local own = 0
    if h.tok ~= '' then own = 1 end
    local blocker = blocked_by(it, own)
    if blocker then
      if h.blk ~= '' and h.blk ~= blocker then redis.call('SREM', k_parked(h.blk), id) end
      redis.call('HSET', k_item(id), 'blk', blocker)
      redis.call('SADD', k_parked(blocker), id)
      redis.call('ZADD', k_avail(), istr(now + req.recheck), id)
    else
      local wait_until = throttled_until(opt(it.th), now)
      if wait_until then
        redis.call('ZADD', k_avail(), istr(wait_until), id)
      else
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
        redis.call('ZADD', k_avail(), istr(expires), id)
        out[n] = {redis.call('HGET', k_item(id), 'j'), token}
      end
    end
  end
end
return out
