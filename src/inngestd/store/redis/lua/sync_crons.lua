-- RunState.sync_crons: ARGV[1] = {items}. Keeps a pending tick per (function, schedule).
local req = cjson.decode(ARGV[1])
local function schedule_of(ref)
  ref = opt(ref) or ''
  local at = string.find(ref, '|', 1, true)
  if not at then return '' end
  return string.sub(ref, at + 1)
end
local wanted, order = {}, {}
for _, it in ipairs(list(req.items)) do
  local k = it.function_id .. '\0' .. schedule_of(it.ref)
  if not wanted[k] then order[#order + 1] = k end
  wanted[k] = it
end
for _, id in ipairs(redis.call('SMEMBERS', k_crons())) do
  local cur = load_item(id)
  if cur then
    local k = cur.function_id .. '\0' .. schedule_of(cur.ref)
    if wanted[k] then wanted[k] = false else delete_item(id) end
  else
    redis.call('SREM', k_crons(), id)
  end
end
for _, k in ipairs(order) do
  if wanted[k] then insert_item(wanted[k], nil) end
end
return 1
