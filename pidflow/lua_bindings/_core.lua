-- pidflow Lua core, the part every Lua process loads: the cooperative scheduler, the receiving side of channels
-- (all a process parked on its inbox needs), calls into Python, `require` and the lazy globals.
--
-- Loaded once per Lua process by _runtime.py with the privileged helpers in P (captured before the sandbox
-- removed `debug`). Every task is a Lua coroutine; a blocking operation parks its task by yielding the private
-- PARK token, which the wrapped coroutine.resume passes up through user coroutines. The Python driver calls
-- S.step(now) and gets back either "done"/"error" or "wait" with the earliest timer deadline.
--
-- Memory. Every process has its own Lua state, and function prototypes are most of what the core costs per
-- state (~150 bytes to ~1 KiB each, even stripped). So what an idle process does not need lives in *parts*,
-- loaded into the state on first use by need(name):
--   _core_channel.lua    channel.new, send, close, select, case_* (first use of any of them)
--   _core_timers.lua     S.add_timer, S.sleep_until (the `time` module)
--   _core_coroutine.lua  the coroutine.create/resume/wrap/close/spawn and pcall/xpcall wrappers (first
--                        access to one of them: they are absent from `coroutine` and _G until then)
--   _core_values.lua     pid, error and array values and the helpers of the Python conversion (classify ...):
--                        first pid/error made or Lua table converted to Python
--   _core_blocking.lua   S.pyblocking, S.complete: blocking Python calls (process.spawn, funcs.call ...)
--   SANDBOX_GLOBALS_LUA  (in _sandbox.py) the load, collectgarbage and print wrappers: first access
-- Python fetches S's functions through S.export, so a lazy field loads its part whichever side asks.
-- A part is a precompiled chunk whose environment is K: it sees the core's internals and the standard
-- functions captured here, before any user code ran, never the user's globals.
local P = ...
local raw_create, raw_resume, raw_yield, raw_status = coroutine.create, coroutine.resume, coroutine.yield, coroutine.status
local sethook, getinfo, traceback = P.sethook, P.getinfo, P.traceback
local hookfn, hookcount, TERM = P.hookfn, P.hookcount, P.TERM
local getmetatable, setmetatable, rawget, rawset, type, error = getmetatable, setmetatable, rawget, rawset, type, error
local next = P.raw_next
local math_type, tremove, tinsert, pack, unpack = math.type, table.remove, table.insert, table.pack, table.unpack
local G, co_lib = _G, coroutine
local PARK = setmetatable({}, {__name = "pidflow.park"})
local S = {}
-- the environment of the parts
-- (keyed by names the state already holds: a new key string is ~50 bytes per state; the originals of resume,
-- pcall, load ... are the unwrapped ones, which the parts wrap)
local K = {
  S = S, G = G, coroutine = co_lib, PARK = PARK, TERM = TERM, next = next, submit = P.pysubmit,
  resume = raw_resume, yield = raw_yield, status = raw_status, close = coroutine.close, pcall = pcall,
  xpcall = xpcall, load = P.raw_load, collectgarbage = P.raw_gc, print = P.log,
  getmetatable = getmetatable, setmetatable = setmetatable, rawset = rawset, type = type, select = select,
  error = error, tostring = tostring, ipairs = ipairs, math_type = math_type, remove = tremove, insert = tinsert,
  concat = table.concat, pack = pack, unpack = unpack,
}
-- the wrapped versions come from the coroutine part (see the end of this file)
co_lib.create, co_lib.resume, co_lib.wrap, co_lib.close = nil, nil, nil, nil
pcall, xpcall = nil, nil

-- P.part(name) -> a part's bytecode (Python); P.raw_load_bin(bytecode, name, env) -> its chunk
local parts, part_code, load_bin = {}, P.part, P.raw_load_bin
local function need(name)
  if not parts[name] then
    parts[name] = true
    load_bin(part_code(name), name, K)()
  end
end

---------------------------------------------------------------- tasks
local ready, rhead, rtail = {}, 1, 0
local current, main_task = nil, nil

local function new_co(fn)
  local co = raw_create(fn)
  if hookfn then sethook(co, hookfn, "", hookcount) end
  return co
end
local function make_ready(task, a, b)
  task.a, task.b = a, b
  rtail = rtail + 1
  ready[rtail] = task
end
S.make_ready = make_ready
local function park() return raw_yield(PARK) end
local function get_current() return current end
S.current = get_current

local function spawn(fn, ...)
  if type(fn) ~= "function" then error("coroutine.spawn expects a function, got " .. type(fn), 2) end
  local args = pack(...)
  local task = {}
  task.co = new_co(function() return fn(unpack(args, 1, args.n)) end)
  make_ready(task)
  return task
end
K.new_co, K.make_ready, K.park, K.current, K.spawn = new_co, make_ready, park, get_current, spawn

-- timers: a sorted array of {deadline=, seq=, fn=} (cancelled lazily); the timers part adds to it
local timers = {}
K.timers = timers

---------------------------------------------------------------- channels (receiving; the rest is the channel part)
-- A channel is {cap=, count=, recvq=, closed=, src=} plus, for a channel made by channel.new, {buf=, head=,
-- sendq=}; a source channel (src = the driver's id of an external source) is receive-only and never buffers.
local CH = {__name = "channel"}
CH.__index = CH
S.CHANNEL_MT, K.CH = CH, CH
setmetatable(CH, {__index = function(_, k) need("channel") return rawget(CH, k) end})
local src_poll = P.src_poll   -- src_poll(id) -> true, more, value... | false, closed

-- a waiter is {task=, sel=, ch=, value=}; a select shares one `sel` among its waiters
local function dequeue(q)
  while #q > 0 do
    local w = tremove(q, 1)
    if not (w.sel and w.sel.done) then return w end
  end
end
local function wake_receiver(w, ch, v, ok)
  if w.sel then
    K.finish_sel(w)
    make_ready(w.task, {channel = ch, value = v, ok = ok})
  else
    make_ready(w.task, v, ok)
  end
end
local function try_recv(ch)   -- -> got, value, ok
  local src = ch.src
  if not src then return K.try_recv_local(ch) end
  if not ch.closed then
    if rawget(ch, "dry") then return false end  -- the source said it was empty; source_ready says when not (rawget: a missing key must not load the channel part through CH.__index)
    local got, more, v, b, c = src_poll(src)
    if got then
      if more == false then rawset(ch, "dry", true) end
      local make = rawget(ch, "make")
      if make then v = make(v, b, c) end   -- built here: no call back into Lua from inside src_poll
      return true, v, true
    end
    if more then ch.closed = true end
  end
  if ch.closed then return true, nil, false end
  return false
end
K.dequeue, K.wake_receiver, K.try_recv = dequeue, wake_receiver, try_recv

-- new_channel(cap) is channel.new (the channel part); new_channel(0, src) a receive-only source channel
-- lazy(loader): a function that asks loader() for its implementation on first call (a per-message
-- constructor that an idle process never needs, without loading its chunk up front)
function S.lazy(loader)
  local f
  return function(a, b, c)
    if not f then f = loader() end
    return f(a, b, c)
  end
end

function S.new_channel(cap, src, make)
  if src == nil then
    need("channel")
    return K.new_local_channel(cap)
  end
  return setmetatable({cap = 0, count = 0, recvq = {}, closed = false, src = src, make = make}, CH)
end

function CH:receive()
  local got, v, ok = try_recv(self)
  if got then return v, ok end
  local q = self.recvq
  q[#q + 1] = {task = current, ch = self}
  return park()
end

-- called by the driver when a pump delivered items (or saw the end) of an external source
function S.source_ready(ch)
  rawset(ch, "dry", nil)
  local w = dequeue(ch.recvq)
  while w do
    local got, v, ok = try_recv(ch)
    if not got then tinsert(ch.recvq, 1, w) return end
    wake_receiver(w, ch, v, ok)
    w = dequeue(ch.recvq)
  end
end

---------------------------------------------------------------- calls into Python
-- A Python function made for Lua (ModuleContext.function / .blocking) is an id in the driver's table, called
-- through the process's two dispatchers: one Lua closure per function instead of one wrapped Python callable.
-- pyblocking (the blocking calls) is the blocking part.
local pycall = P.pycall
function S.pyfn(fid) return function(...) return pycall(fid, ...) end end


---------------------------------------------------------------- the step
-- where(co): "file.lua:LINE" of the innermost Lua frame of a dead coroutine
local function where(co)
  for level = 0, 30 do
    local info = getinfo(co, level, "Sl")
    if not info then break end
    if info.what ~= "C" and info.currentline and info.currentline > 0 then return info.short_src .. ":" .. info.currentline end
  end
end

-- main(chunk, ...) -> the main task's function: module[method](input), or method(unpack(input)) for varargs
function S.main(chunk, method, entry, path, varargs)
  return function(input)
    local mod = chunk()
    -- the chunk's top-level function ran: let it go, with the prototypes of the methods nobody references
    chunk = nil
    local f = type(mod) == "table" and mod[method] or nil
    if type(f) ~= "function" then
      return nil, S.make_error("INVALID", "entry " .. entry .. ": " .. path .. " must return a table with a function '" .. method .. "'", false)
    end
    if varargs then return f(unpack(input, 1, input.n)) end
    return f(input)
  end
end

-- start(fn, input): the main task runs fn(input) (no argument packing: it is resumed with input)
function S.start(fn, input)
  main_task = {co = new_co(fn)}
  make_ready(main_task, input)
end

-- step(now) -> "done", value, err | "error", errvalue, where, traceback | "terminated" | "wait", deadline|nil
-- step(now, ch...) first hands the channels whose sources got items to their waiting receivers (one call from
-- Python per wakeup instead of two)
function S.step(now, ...)
  for i = 1, select("#", ...) do S.source_ready((select(i, ...))) end
  while true do
    while timers[1] and timers[1].deadline <= now do
      local t = tremove(timers, 1)
      t.fn()
    end
    if rhead > rtail then break end
    while rhead <= rtail do
      local task = ready[rhead]
      ready[rhead] = nil
      rhead = rhead + 1
      current = task
      local a, b = task.a, task.b
      task.a, task.b = nil, nil
      local ok, r1, r2 = raw_resume(task.co, a, b)
      current = nil
      if not ok then
        if r1 == TERM then return "terminated" end
        return "error", r1, where(task.co), traceback(task.co, type(r1) == "string" and r1 or nil)
      end
      if raw_status(task.co) == "dead" then
        if task == main_task then return "done", r1, r2 end
      elseif r1 ~= PARK then
        return "error", "coroutine.yield outside a coroutine: the yielded values have no receiver", where(task.co)
      end
    end
  end
  return "wait", timers[1] and timers[1].deadline
end

---------------------------------------------------------------- host helpers, require, lazy globals
S.tostring = tostring
-- export(name, part) -> S[name], after loading `part` if given: Python fetches core functions by calling this
-- (see Runtime.__getattr__)
function S.export(name, part)
  if part then need(part) end
  return S[name]
end

-- fields of S that a part defines and Lua modules use, loaded on first access (Python names the part of the
-- fields only it uses when it fetches them: export(name, part))
local LAZY_FIELDS = {channel = "channel", add_timer = "timers", sleep_until = "timers", make_error = "values",
                     is_error = "values", is_pid = "values", ARRAY_MT = "values"}
setmetatable(S, {__index = function(_, k)
  local part = LAZY_FIELDS[k]
  if part then need(part) return rawget(S, k) end
end})
setmetatable(co_lib, {__index = function(_, k)
  if k == "create" or k == "resume" or k == "wrap" or k == "close" or k == "spawn" then
    need("coroutine")
    return rawget(co_lib, k)
  end
end})

-- require(name) builds a module once per process through Python (capability-checked there); the always
-- available modules are also globals, built on first access.
local pyreq, lazy_globals, loaded = P.require, P.lazy_globals, {}
local function load_module(name, soft)
  local m = loaded[name]
  if m ~= nil then return m end
  local v, err = pyreq(name, soft)
  if err ~= nil then error(err, 3) end
  loaded[name] = v
  return v
end
require = function(name)
  if type(name) ~= "string" then error("require expects a module name (a string)", 2) end
  return load_module(name, false)
end
local LAZY_GLOBALS = {pcall = "coroutine", xpcall = "coroutine", load = "globals", collectgarbage = "globals",
                      print = "globals"}
setmetatable(G, {__index = function(_, k)
  local part = LAZY_GLOBALS[k]
  if part then
    need(part)
    return rawget(G, k)
  end
  if lazy_globals[k] then
    local v = load_module(k, true)
    rawset(G, k, v)
    return v
  end
end})

return S
