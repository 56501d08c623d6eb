-- The tick part of the core (see _driver.py, "pacing"): armed at the first hook of a process that computes.
--
-- One instruction can take long (upper, rep, concat, .. of a big string), so a count of instructions can come
-- late; but such instructions allocate as much as they work, and allocation runs the collector. A young
-- sentinel whose __gc is ours (user code has no __gc) is finalized at every collection, re-arms itself, and, at
-- most once per 5 ms of CPU, asks for the hook at the next instruction of the coroutine that allocated (hooks
-- are off in a finalizer; sethook still applies once it returns; it walks the call stack, so not more often).
local setmetatable, sethook, hookfn, clock = setmetatable, S.sethook, S.hookfn, S.clock
local TICK, last = {}, 0
TICK.__gc = function()
  setmetatable({}, TICK)
  local t = clock()
  if t - last >= 0.005 then
    last = t
    sethook(hookfn, "", 1)
  end
end
setmetatable({}, TICK)
