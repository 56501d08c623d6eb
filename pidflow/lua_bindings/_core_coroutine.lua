-- The coroutine part of the core (see _core.lua): the wrapped coroutine.create/resume/wrap/close/spawn and
-- pcall/xpcall, installed on first access to one of them. The wrappers keep the scheduler's PARK token and the
-- termination token TERM out of user hands: a park inside a user coroutine travels up to its task and back
-- down, and no pcall catches TERM. A task's own coroutine (the main function's, or one coroutine.spawn made)
-- belongs to the scheduler: Lua code can only reach it through coroutine.running, which marks it, and resume
-- and close refuse a marked one (a resume would hand its parked receive a forged value).
local PARK, TERM, S = PARK, TERM, S
local raw_resume, raw_yield, raw_status, raw_close, raw_pcall, raw_xpcall = resume, yield, status, close, pcall, xpcall
local new_co, spawn, pack, unpack, error, raw_running, current = new_co, spawn, pack, unpack, error, running, current
local parked_cos = setmetatable({}, {__mode = "k"})   -- true: parked in a channel operation; "task": a task

-- coroutine.resume that lets scheduler parks inside user coroutines travel up to the task and back down.
local function pass(co, ok, a, ...)
  if ok and a == PARK and raw_status(co) == "suspended" then
    parked_cos[co] = true
    local x, y = raw_yield(PARK)
    parked_cos[co] = nil
    return pass(co, raw_resume(co, x, y))
  end
  if not ok and a == TERM then error(TERM, 0) end
  return ok, a, ...
end
local function resume(co, ...)
  local mark = parked_cos[co]
  if mark == "task" then return false, "cannot resume a task's coroutine: the scheduler runs it" end
  if mark then return false, "cannot resume a coroutine that is blocked in a channel operation" end
  return pass(co, raw_resume(co, ...))
end
local function running()
  local co, main = raw_running()
  local task = current()
  if task and task.co == co then parked_cos[co] = "task" end
  return co, main
end
local function wrap(fn)
  local co = new_co(fn)
  return function(...)
    local r = pack(resume(co, ...))
    if not r[1] then error(r[2], 0) end
    return unpack(r, 2, r.n)
  end
end
local function rethrow(ok, ...)
  if not ok and ... == TERM then error(TERM, 0) end
  return ok, ...
end

rawset(coroutine, "create", new_co)
rawset(coroutine, "resume", resume)
rawset(coroutine, "wrap", wrap)
rawset(coroutine, "spawn", function(fn, ...) spawn(fn, ...) end)
rawset(coroutine, "running", running)
rawset(coroutine, "close", function(co)
  if parked_cos[co] == "task" then error("cannot close a task's coroutine: the scheduler runs it", 2) end
  return rethrow(raw_close(co))
end)
rawset(G, "pcall", function(f, ...) return rethrow(raw_pcall(f, ...)) end)
rawset(G, "xpcall", function(f, h, ...)
  return rethrow(raw_xpcall(f, function(e) if e == TERM then return TERM end return h(e) end, ...))
end)
