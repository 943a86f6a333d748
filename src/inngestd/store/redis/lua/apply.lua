-- RunState.apply: ARGV[1] = {item_id, token, run_id, now, ack, effects}.
-- Returns {applied (0/1), run status or ''}.
local req = cjson.decode(ARGV[1])
local now = req.now
local it, h = load_item(req.item_id)
if not it or h.tok ~= req.token then return {0, ''} end
local run = get_run(req.run_id)
if not run or ENDED[run.st] then
  delete_item(req.item_id)
  release_keys(item_keys(it))
  return {0, run and run.st or ''}
end
mark_started(run.id, run.fn, now)
local retried = false
for _, e in ipairs(req.effects) do if e.t == 'retry' then retried = true end end
local status = apply_effects(run, req.item_id, req.effects, now)
if req.ack and not retried then delete_item(req.item_id) end
release_keys(item_keys(it))
return {1, status}
