-- A workflow that joins input.group of scope input.scope (twice when input.twice), tells input.notify "joined",
-- then waits for one "news" message and returns what it saw (the members, the groups, the news and its sender).
local pg = require("pg")

local function main(input)
  local g = assert(pg.open(input.scope))
  assert(g:join(input.group))
  if input.twice then assert(g:join({input.group, input.group .. "-other"})) end
  process.send(input.notify, "joined", process.pid())
  local msg = process.inbox():receive()
  local members = g:get_members(input.group)
  return {topic = msg:topic(), data = msg:payload():data(), from = msg:from(), members = members,
          groups = g:which_groups(), text = tostring(g)}
end
return {main = main}
