-- The blocking part of the core (see _core.lua): Lua functions that run a Python coroutine while only the
-- calling Lua coroutine parks. Loaded by the first ModuleContext.blocking function a process makes.
local S, park, current, make_ready, pysubmit, room = S, park, current, make_ready, submit, room
local op_waiters = {}

-- pyblocking(fid) -> Lua function: pysubmit(fid, ...) starts a Python coroutine and returns its op id (or nil,
-- err); the caller parks until complete(id, value, err) and then gets `value` or `nil, err`.
function S.pyblocking(fid)
  return function(...)
    room()   -- arguments become Python references: the memory reserve must be free (see the core)
    local id, err = pysubmit(fid, ...)
    if id == nil then return nil, err end
    op_waiters[id] = current()
    return park()
  end
end
function S.complete(id, v, e)
  local task = op_waiters[id]
  op_waiters[id] = nil
  if task then make_ready(task, v, e) end
end
