-- The relay stored outbox marker ARGV[1] = {g, seq} (and so every record before it):
-- trim.lua may now remove what ended or arrived before that marker. Never moves back.
local req = cjson.decode(ARGV[1])
local cur = tonumber(redis.call('HGET', k_relayed(), 'g') or nil) or 0
if req.g <= cur then return 0 end
redis.call('HSET', k_relayed(), 'g', istr(req.g), 'seq', istr(req.seq))
return 1
