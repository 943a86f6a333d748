-- RunState.apply_run: ARGV[1] = {run_id, now, effects}. Returns {applied, status}.
local req = cjson.decode(ARGV[1])
local run = get_run(req.run_id)
if not run or ENDED[run.st] then return {0, run and run.st or ''} end
mark_started(run.id, run.fn, req.now)
return {1, apply_effects(run, run.id .. ':checkpoint', req.effects, req.now)}
