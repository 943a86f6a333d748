-- Queue.extend: ARGV[1] = {item_id, token, expires}. Returns 1, or 0 (lease lost).
local req = cjson.decode(ARGV[1])
local tok = redis.call('HGET', k_item(req.item_id), 'tok')
if not tok or tok ~= req.token then return 0 end
redis.call('ZADD', k_avail(), istr(req.expires), req.item_id)
return 1
