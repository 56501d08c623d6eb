-- A local Lua child that keeps a small cache and stops cleanly: it traps links, so its supervisor's shutdown
-- sends CANCEL (and terminates it only if it is still running when `shutdown` has passed).
local function main(input)
  process.set_options({trap_links = true})
  print("mixed_tree: cache started")
  local cache = {}
  local inbox, events = process.inbox(), process.events()
  while true do
    local result = channel.select({inbox:case_receive(), events:case_receive()})
    if result.channel == events then
      if result.value.kind == process.event.CANCEL then
        print("mixed_tree: cache stopping")
        return {entries = #cache}
      end
    else
      local msg = result.value
      if msg:topic() == "put" then table.insert(cache, msg:payload():data()) end
    end
  end
end

return {main = main}
