-- Queue.extend: ARGV[1] = {item_id, token, expires}. Returns 1, or 0 (lease lost).
local req = cjson.decode(ARGV[1])
local it, h = load_item(req.item_id)
if not it or h.tok ~= req.token then return 0 end
avail_set(req.item_id, h.pt, istr(req.expires))
return 1
