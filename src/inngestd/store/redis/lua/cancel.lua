-- RunState.cancel: ARGV[1] = {now, cancel}. Returns 1 when the run was cancelled.
local req = cjson.decode(ARGV[1])
if cancel_run(req.cancel, req.now) then return 1 end
return 0
