-- RunState.schedule: ARGV[1] = {now, plans = {{event, new, resumes, cancels, debounces,
-- batches}...}}. Returns, per plan, per new run: '' (not created), 'ok' or a skip reason.
local req = cjson.decode(ARGV[1])
local now = req.now
local out = {}
for i, plan in ipairs(req.plans) do
  local res = {}
  for j, nr in ipairs(list(plan.new)) do res[j] = create_run(nr, now) or '' end
  for _, r in ipairs(list(plan.resumes)) do resume(r.pause_id, blob(r.memo), now) end
  for _, c in ipairs(list(plan.cancels)) do cancel_run(c, now) end
  for _, d in ipairs(list(plan.debounces)) do debounce_event(d, now) end
  for _, b in ipairs(list(plan.batches)) do batch_event(b, now) end
  redis.call('ZREM', k_unsched(), plan.event)
  out[i] = res
end
return out
