-- A workflow that broadcasts to input.group of scope input.scope and reports the answers of the pg calls,
-- bad input included.
local pg = require("pg")

local function kind_of(ok, err) return err and err:kind() or ok end

local function main(input)
  local g = assert(pg.open(input.scope))
  local out = {}
  out.members = g:get_members(input.group)
  out.local_members = g:get_local_members(input.group)
  out.broadcast = g:broadcast(input.group, "hello", {n = 1})
  out.leave_not_member = kind_of(g:leave(input.group))
  out.bad_group = kind_of(g:join(""))
  out.bad_scope = kind_of(pg.open("app:nope"))
  out.not_a_scope = kind_of(pg.open("app:worker"))
  out.monitor = kind_of(g:monitor(input.group))
  g:release()
  out.released = kind_of(g:join(input.group))
  return out
end
return {main = main}
