-- Outbox.drain: ARGV[1] = {c = consumer, n}. Moves up to n records, oldest first, from the
-- outbox to the consumer's processing list and returns them (one call however many there
-- are, nothing to do when the outbox is empty).
local req = cjson.decode(ARGV[1])
local recs = redis.call('LRANGE', k_outbox(), 0, req.n - 1)
if #recs == 0 then return recs end
local wip = k_outboxwip(req.c)
for i = 1, #recs, 1000 do
  redis.call('RPUSH', wip, unpack(recs, i, math.min(i + 999, #recs)))
end
redis.call('LTRIM', k_outbox(), #recs, -1)
return recs
