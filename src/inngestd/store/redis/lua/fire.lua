-- RunState.fire: ARGV[1] = {item_id, token, now, kind, consumes?, new?, events,
-- next_items}. Returns 1 (fired) or 0.
local req = cjson.decode(ARGV[1])
local now = req.now
local it, h = load_item(req.item_id)
if not it or h.tok ~= req.token then return 0 end
if opt(req.consumes) and not consume(req.kind, req.consumes) then
  -- Changed since it was read: look again right away (or at its new time).
  unhold(it)
  redis.call('HSET', k_item(req.item_id), 'tok', '')
  avail_set(req.item_id, h.pt, istr(math.max(it.due_ms, now)))
  return 0
end
delete_item(req.item_id)
for _, ev in ipairs(list(req.events)) do insert_event(ev) end
if opt(req.new) then create_run(req.new, now) end
for _, nxt in ipairs(list(req.next_items)) do insert_item(nxt, now) end
return 1
