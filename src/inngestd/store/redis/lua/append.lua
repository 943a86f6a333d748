-- EventLog.append: ARGV[1] = {events = {event...}}; returns the seq of each event.
local req = cjson.decode(ARGV[1])
local out = {}
for i, ev in ipairs(req.events) do out[i] = insert_event(ev) end
return out
