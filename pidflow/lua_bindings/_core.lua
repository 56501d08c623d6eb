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
--   _core_channel.lua    channel.new, send, close, select, case_* (first use of any of them); S.offer, the
--                        send of a firing timer (never blocks, never raises)
--   _core_timers.lua     S.add_timer, S.cancel_timer, S.sleep_until (the `time` module)
--   _core_coroutine.lua  the coroutine.create/resume/wrap/close/spawn and pcall/xpcall wrappers (first
--                        access to one of them: they are absent from `coroutine` and _G until then)
--   _core_values.lua     error and array values and the helpers of the Python conversion (classify ...):
--                        first error made or Lua table converted to Python (PIDs are plain strings)
--   _core_blocking.lua   S.pyblocking, S.complete: blocking Python calls (process.spawn, funcs.call ...)
--   _core_guards.lua     string.find/match/gmatch/gsub and table.move/insert/remove/sort with bounded C calls
--                        (first access to one of them); _core_match.lua, the Lua pattern matcher they fall back
--                        on (first costly pattern); _core_tick.lua, the allocation tick (a process that computes)
--   _core_where.lua      S.where: the file:line where the main task waits (an observer asks: Node.process_info)
--   SANDBOX_GLOBALS_LUA  (in _sandbox.py) the load, collectgarbage, print and setmetatable wrappers: first access
-- Python fetches S's functions through S.export, so a lazy field loads its part whichever side asks.
-- A part is a precompiled chunk whose environment is K: it sees the core's internals and the standard
-- functions captured here, before any user code ran, never the user's globals.
local P = ...
local raw_create, raw_resume, raw_yield, raw_status = coroutine.create, coroutine.resume, coroutine.yield, coroutine.status
local sethook, getinfo, traceback = P.sethook, P.getinfo, P.traceback
local hookfn, hookcount, TERM = P.hookfn, P.hookcount, P.TERM
local lib = P.lib   -- the raw functions the sandbox took out of the libraries (see _core_guards.lua)
local getmetatable, setmetatable, rawget, rawset, type, error = getmetatable, lib.setmetatable, rawget, rawset, type, error
local next, raw_gc = P.raw_next, P.raw_gc
local math_type, tremove, tinsert, pack, unpack = math.type, lib.remove, lib.insert, table.pack, table.unpack
local G, co_lib, raw_running = _G, coroutine, coroutine.running
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
  concat = table.concat, pack = pack, unpack = unpack, rawget = rawget, running = raw_running,
  string = string, math = math, table = table, tonumber = tonumber,
  -- the raw C functions the guards part wraps (insert, remove and setmetatable are the raw ones above)
  find = lib.find, match = lib.match, gmatch = lib.gmatch, gsub = lib.gsub, move = lib.move, sort = lib.sort,
  getinfo = getinfo, traceback = traceback, rawlen = rawlen,
}
-- the wrapped versions come from the coroutine part (see the end of this file)
co_lib.create, co_lib.resume, co_lib.wrap, co_lib.close, co_lib.running = nil, nil, nil, nil, nil
pcall, xpcall = nil, nil

-- Memory. Python pushes values into the state outside any protected Lua call (a failing allocation there
-- aborts the interpreter, or deadlocks it inside a callback), so lupa's limit is the process's max_memory plus
-- a reserve (_runtime.py), and the reserve is free whenever Lua crosses into Python: Lua code may dip into it
-- between two crossings, never across one. Python checks what it pushes against max_memory (_values.py).
-- Past max_memory after a full collection, the process ends (TERM with oom set: "terminated", true).
local soft_kb, oom = P.soft_kb, false
local function room(no_raise)   -- over max_memory even after a full collection: TERM, or true with no_raise
  if raw_gc("count") <= soft_kb then return false end
  raw_gc("collect")
  if raw_gc("count") <= soft_kb then return false end
  oom = true
  if no_raise then return true end
  error(TERM, 0)
end
K.room = room

-- P.part(name) -> a part's bytecode (Python); P.raw_load_bin(bytecode, name, env) -> its chunk
local parts, part_code, load_bin = {}, P.part, P.raw_load_bin
local function need(name)
  if not parts[name] then
    room()   -- the bytecode is a Python value pushed into the state
    parts[name] = true
    load_bin(part_code(name), name, K)()
  end
end
K.need = need

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
-- A channel is a handle (an empty table with the metatable CH: what Lua code holds, rawset on it changes nothing
-- pidflow reads) and its state in CHS[handle], out of user code's reach: {h=handle, cap=, count=, recvq=,
-- closed=, src=, make=} plus, for a channel made by channel.new, {buf=, head=, sendq=}; a source channel
-- (src = the driver's id of an external source) is receive-only and never buffers.
local CH = {__name = "channel", __metatable = "channel"}
CH.__index = CH
local CHS = setmetatable({}, {__mode = "k"})
K.CH, K.CHS = CH, CHS   -- (CH's own metatable, LAZY_MT at the end, loads the channel part on first use)
local src_poll = P.src_poll   -- src_poll(id) -> true, more, value... | false, closed | TERM (abort)

-- a waiter is {task=, sel=, ch=state, value=}; a select shares one `sel` among its waiters
local function dequeue(q)
  while #q > 0 do
    local w = tremove(q, 1)
    if not (w.sel and w.sel.done) then return w end
  end
end
local function wake_receiver(w, c, v, ok)
  if w.sel then
    K.finish_sel(w)
    make_ready(w.task, {channel = c.h, value = v, ok = ok})
  else
    make_ready(w.task, v, ok)
  end
end
local function try_recv(c)   -- -> got, value, ok
  local src = c.src
  if not src then return K.try_recv_local(c) end
  if not c.closed then
    if c.dry then return false end  -- the source said it was empty; source_ready says when not
    local got, more, v, b, d = src_poll(src)
    if got then
      if got == TERM then error(TERM, 0) end   -- the driver ends the process (a value over the memory limit)
      if more == false then c.dry = true end
      local make = c.make
      if make then v = make(v, b, d) end   -- built here: no call back into Lua from inside src_poll
      return true, v, true
    end
    if more then c.closed = true end
  end
  if c.closed then return true, nil, false end
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
  local h, c = setmetatable({}, CH), {recvq = {}, src = src, make = make}   -- (no cap, count: never buffers)
  c.h, CHS[h] = h, c
  return h
end

function CH:receive()
  local c = CHS[self]   -- (nil for a table that is no channel: indexing it fails)
  local got, v, ok = try_recv(c)
  if got then return v, ok end
  local q = c.recvq
  q[#q + 1] = {task = current, ch = c}
  return park()
end

-- called by the driver when a pump delivered items (or saw the end) of an external source
function S.source_ready(h)
  local c = CHS[h]
  c.dry = nil
  local w = dequeue(c.recvq)
  while w do
    local got, v, ok = try_recv(c)
    if not got then tinsert(c.recvq, 1, w) return end
    wake_receiver(w, c, v, ok)
    w = dequeue(c.recvq)
  end
end

---------------------------------------------------------------- calls into Python
-- A Python function made for Lua (ModuleContext.function / .blocking) is an id in the driver's table, called
-- through the process's two dispatchers: one Lua closure per function instead of one wrapped Python callable.
-- pyblocking (the blocking calls) is the blocking part.
-- When the driver must end the process from inside pycall (a result over the memory limit), it sets the hook of
-- the calling coroutine to fire at the next instruction (S.sethook, S.hookfn) and stops there.
local pycall = P.pycall
function S.pyfn(fid)
  return function(...)
    if raw_gc("count") > soft_kb then room() end   -- arguments become Python references: reserve free
    return pycall(fid, ...)
  end
end
S.sethook, S.hookfn, S.setmetatable, S.abort, S.clock = sethook, hookfn, setmetatable, TERM, P.clock


---------------------------------------------------------------- the step
-- main(chunk, ...) -> the main task's function: module[method](input), or method(unpack(input)) for varargs.
-- A chunk may return its main function itself instead of a table of methods (`return main`): that function is
-- the entry's main, whatever `method` names.
function S.main(chunk, method, entry, path, varargs)
  return function(input)
    local mod = chunk()
    -- the chunk's top-level function ran: let it go, with the prototypes of the methods nobody references
    chunk = nil
    local f = mod
    if type(mod) == "table" then f = mod[method] end
    if type(f) ~= "function" then
      return nil, S.make_error("INVALID", "entry " .. entry .. ": " .. path .. " must return a function or a table with a function '" .. method .. "'", false)
    end
    if varargs then return f(unpack(input, 1, input.n)) end
    return f(input)
  end
end

-- start(fn, input): the main task runs fn(input) (no argument packing: it is resumed with input); K.co is its
-- coroutine for the where part (an observer asking where the process waits; "co" is a key string the state holds
-- anyway, and K has room: no bytes per process)
function S.start(fn, input)
  main_task = {co = new_co(fn)}
  K.co = main_task.co
  make_ready(main_task, input)
end

-- step(now) -> "done", value, err | "error", errvalue, where, traceback, text | "terminated", oom |
-- "wait", deadline|nil
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
        -- what Python reads becomes references (the reserve must be free); the error's answer is made in the
        -- values part, inside this pre-emptible step (never by Python afterwards: a __tostring is user code)
        if r1 == TERM or room(true) then return "terminated", oom end
        return S.failed(task.co, r1)
      end
      if raw_status(task.co) == "dead" then
        if task == main_task then
          if room(true) then return "terminated", true end
          return "done", r1, r2
        end
      elseif r1 ~= PARK then
        return S.failed(task.co, "coroutine.yield outside a coroutine: the yielded values have no receiver", true)
      end
    end
  end
  return "wait", timers[1] and timers[1].deadline
end

---------------------------------------------------------------- host helpers, require, lazy globals
-- export(name, part) -> S[name], after loading `part` if given: Python fetches core functions by calling this
-- (see Runtime.__getattr__)
function S.export(name, part)
  if part then need(part) end
  return S[name]
end

-- fields of S that a part defines and Lua modules use, loaded on first access (Python names the part of the
-- fields only it uses when it fetches them: export(name, part))
local LAZY_FIELDS = {channel = "channel", add_timer = "timers", sleep_until = "timers", make_error = "values",
                     is_error = "values", ARRAY_MT = "values", failed = "values"}

-- require(name) builds a module once per process through Python (capability-checked there); the always
-- available modules are also globals, built on first access.
local pyreq, lazy_globals, loaded = P.require, P.lazy_globals, {}
local function load_module(name, soft)
  local m = loaded[name]
  if m ~= nil then return m end
  local v, err = pyreq(name, soft)
  if v == TERM then error(TERM, 0) end
  if err ~= nil then error(err, 3) end
  loaded[name] = v
  return v
end
require = function(name)
  if type(name) ~= "string" then error("require expects a module name (a string)", 2) end
  return load_module(name, false)
end
-- One lazy metatable (a function prototype costs every state ~250 bytes) for every table with members loaded
-- on first access: S (LAZY_FIELDS), the coroutine library, CH (the channel part), _G (LAZY_GLOBALS, then the
-- always-available modules), and the string and table libraries (a missing name loads their guarded functions,
-- _core_guards.lua).
local LAZY_GLOBALS = {pcall = "coroutine", xpcall = "coroutine", load = "globals", collectgarbage = "globals",
                      print = "globals", setmetatable = "globals"}
local LAZY_MT = {__index = function(t, k)
  local part
  if t == G then part = LAZY_GLOBALS[k]
  elseif t == S then part = LAZY_FIELDS[k]
  elseif t == co_lib then
    if k == "create" or k == "resume" or k == "wrap" or k == "close" or k == "spawn" or k == "running" then
      part = "coroutine"
    end
  elseif t == CH then part = "channel"
  else part = "guards" end
  if part then
    need(part)
    return rawget(t, k)
  end
  if t == G and lazy_globals[k] then
    local v = load_module(k, true)
    rawset(G, k, v)
    return v
  end
end}
setmetatable(G, LAZY_MT)
setmetatable(S, LAZY_MT)
setmetatable(co_lib, LAZY_MT)
setmetatable(CH, LAZY_MT)
setmetatable(string, LAZY_MT)
setmetatable(table, LAZY_MT)

return S
