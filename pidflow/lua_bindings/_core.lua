-- pidflow Lua core: value metatables, the cooperative scheduler and channels.
--
-- Loaded once per Lua process by _runtime.py with the privileged helpers in P (captured before the sandbox
-- removed `debug`). Every task is a Lua coroutine; a blocking operation parks its task by yielding the private
-- PARK token, which the wrapped coroutine.resume passes up through user coroutines. The Python driver calls
-- S.step(now) and gets back either "done"/"error" or "wait" with the earliest timer deadline.
local P = ...
local raw_create, raw_resume, raw_yield, raw_status = coroutine.create, coroutine.resume, coroutine.yield, coroutine.status
local raw_close, raw_running = coroutine.close, coroutine.running
local sethook, getinfo, traceback = P.sethook, P.getinfo, P.traceback
local hookfn, hookcount, TERM = P.hookfn, P.hookcount, P.TERM
local getmetatable, setmetatable, rawget, type, error, select = getmetatable, setmetatable, rawget, type, error, select
local next = P.raw_next
local math_type, tremove, pack, unpack = math.type, table.remove, table.pack, table.unpack
local PARK = setmetatable({}, {__name = "pidflow.park"})
local S = {PARK = PARK, TERM = TERM}

---------------------------------------------------------------- values
local pid_str = setmetatable({}, {__mode = "k"})
local err_data = setmetatable({}, {__mode = "k"})
local PID_MT = {__name = "pid", __metatable = "pid"}
PID_MT.__tostring = function(p) return pid_str[p] end
PID_MT.__eq = function(a, b) return pid_str[a] ~= nil and pid_str[a] == pid_str[b] end
PID_MT.__index = function() return nil end
local ERR_METHODS = {}
local ERR_MT = {__name = "error", __metatable = "error", __index = ERR_METHODS}
ERR_MT.__tostring = function(e) local d = err_data[e]; return d.kind .. ": " .. d.message end
function ERR_METHODS.kind(e) return err_data[e].kind end
function ERR_METHODS.message(e) return err_data[e].message end
function ERR_METHODS.retryable(e) return err_data[e].retryable end
function ERR_METHODS.details(e) return err_data[e].details end
local ARRAY_MT = {__name = "array"}
S.ARRAY_MT = ARRAY_MT

function S.make_pid(s) local p = setmetatable({}, PID_MT); pid_str[p] = s; return p end
function S.make_error(kind, message, retryable, details)
  local e = setmetatable({}, ERR_MT)
  err_data[e] = {kind = kind, message = message, retryable = retryable, details = details}
  return e
end
function S.flat_map(t)
  local f, n = {}, 0
  for k, v in next, t do f[n + 1] = k; f[n + 2] = v; n = n + 2 end
  return f, n
end
function S.unpack(t, i, j) return unpack(t, i, j) end
function S.empty_array() return setmetatable({}, ARRAY_MT) end
function S.is_error(v) return type(v) == "table" and err_data[v] ~= nil end
function S.is_pid(v) return type(v) == "table" and pid_str[v] ~= nil end

-- classify(t) -> "pid", s | "error", kind, message, retryable, details | "array", n | "map"
-- A table is an array when every key is an integer >= 1 and the largest key n <= 2 * (number of keys); holes
-- become None. An empty table is a map unless it carries ARRAY_MT (made from an empty Python list).
function S.classify(t)
  local s = pid_str[t]
  if s then return "pid", s end
  local d = err_data[t]
  if d then return "error", d.kind, d.message, d.retryable, d.details end
  local n, maxk = 0, 0
  for k in next, t do
    n = n + 1
    if maxk >= 0 and math_type(k) == "integer" and k >= 1 then
      if k > maxk then maxk = k end
    else
      maxk = -1
    end
  end
  if n == 0 then return getmetatable(t) == ARRAY_MT and "array" or "map", 0 end
  if maxk > 0 and maxk <= 2 * n then return "array", maxk end
  return "map", n
end

---------------------------------------------------------------- tasks
local ready, rhead, rtail = {}, 1, 0
local current, main_task = nil, nil
local parked_cos = setmetatable({}, {__mode = "k"})

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
function S.current() return current end

local function spawn(fn, ...)
  if type(fn) ~= "function" then error("coroutine.spawn expects a function, got " .. type(fn), 2) end
  local args = pack(...)
  local task = {}
  task.co = new_co(function() return fn(unpack(args, 1, args.n)) end)
  make_ready(task)
  return task
end

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
  if parked_cos[co] then return false, "cannot resume a coroutine that is blocked in a channel operation" end
  return pass(co, raw_resume(co, ...))
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
local raw_pcall, raw_xpcall = pcall, xpcall
S.coroutine = {
  create = new_co, resume = resume, wrap = wrap, spawn = function(fn, ...) spawn(fn, ...) end,
  close = function(co) return rethrow(raw_close(co)) end,
}
S.pcall = function(f, ...) return rethrow(raw_pcall(f, ...)) end
S.xpcall = function(f, h, ...)
  return rethrow(raw_xpcall(f, function(e) if e == TERM then return TERM end return h(e) end, ...))
end

---------------------------------------------------------------- timers (sorted array; cancelled lazily)
local timers, timer_seq = {}, 0
local function add_timer(deadline, fn)
  timer_seq = timer_seq + 1
  local t = {deadline = deadline, seq = timer_seq, fn = fn}
  local lo, hi = 1, #timers
  while lo <= hi do
    local mid = (lo + hi) // 2
    local m = timers[mid]
    if m.deadline < deadline or (m.deadline == deadline and m.seq < t.seq) then lo = mid + 1 else hi = mid - 1 end
  end
  table.insert(timers, lo, t)
  return t
end
S.add_timer = add_timer
function S.sleep_until(deadline)
  local task = current
  add_timer(deadline, function() make_ready(task) end)
  park()
end

---------------------------------------------------------------- channels
local CH = {}
CH.__index = CH
CH.__name = "channel"
S.CHANNEL_MT = CH
local src_poll = P.src_poll   -- src_poll(id) -> true, value | false, closed

local function new_channel(cap, src)
  if cap == nil then cap = 0 end
  if math_type(cap) ~= "integer" or cap < 0 then error("channel.new expects a size >= 0, got " .. tostring(cap), 3) end
  return setmetatable({cap = cap, buf = {}, head = 1, count = 0, recvq = {}, sendq = {}, closed = false, src = src}, CH)
end
S.new_channel = new_channel

-- a waiter is {task=, sel=, ch=, value=}; a select shares one `sel` among its waiters
local function dequeue(q)
  while #q > 0 do
    local w = tremove(q, 1)
    if not (w.sel and w.sel.done) then return w end
  end
end
local function unqueue(q, w)
  for i = 1, #q do if q[i] == w then tremove(q, i) return end end
end
local function finish_sel(w)
  local sel = w.sel
  sel.done = true
  for _, o in ipairs(sel.waiters) do if o ~= w then unqueue(o.send and o.ch.sendq or o.ch.recvq, o) end end
end
local function wake_receiver(w, ch, v, ok)
  if w.sel then
    finish_sel(w)
    make_ready(w.task, {channel = ch, value = v, ok = ok})
  else
    make_ready(w.task, v, ok)
  end
end
local function wake_sender(w, ch, ok)
  if w.sel then
    finish_sel(w)
    make_ready(w.task, {channel = ch, ok = ok, send_closed = not ok or nil})
  else
    make_ready(w.task, ok)
  end
end
local function push(ch, v) ch.buf[ch.head + ch.count] = v; ch.count = ch.count + 1 end

local function try_recv(ch)   -- -> got, value, ok
  if ch.count > 0 then
    local v = ch.buf[ch.head]
    ch.buf[ch.head] = nil
    ch.head, ch.count = ch.head + 1, ch.count - 1
    local w = dequeue(ch.sendq)
    if w then push(ch, w.value); wake_sender(w, ch, true) end
    return true, v, true
  end
  local w = dequeue(ch.sendq)
  if w then wake_sender(w, ch, true); return true, w.value, true end
  if ch.src and not ch.closed then
    local got, v = src_poll(ch.src)
    if got then return true, v, true end
    if v then ch.closed = true end
  end
  if ch.closed then return true, nil, false end
  return false
end
local function try_send(ch, v)
  if ch.closed then error("send on closed channel", 3) end
  if ch.src then error("cannot send on a receive-only channel", 3) end
  local w = dequeue(ch.recvq)
  if w then wake_receiver(w, ch, v, true); return true end
  if ch.count < ch.cap then push(ch, v); return true end
  return false
end

function CH:receive()
  local got, v, ok = try_recv(self)
  if got then return v, ok end
  local q = self.recvq
  q[#q + 1] = {task = current, ch = self}
  return park()
end
function CH:send(v)
  if try_send(self, v) then return true end
  local q = self.sendq
  q[#q + 1] = {task = current, ch = self, value = v, send = true}
  local ok = park()
  if not ok then error("send on closed channel", 2) end
  return true
end
function CH:close()
  if self.closed then error("close of closed channel", 2) end
  if self.src then error("cannot close a receive-only channel", 2) end
  self.closed = true
  local w = dequeue(self.recvq)
  while w do wake_receiver(w, self, nil, false); w = dequeue(self.recvq) end
  w = dequeue(self.sendq)
  while w do wake_sender(w, self, false); w = dequeue(self.sendq) end
end
function CH:case_receive() return {op = "recv", ch = self} end
function CH:case_send(v) return {op = "send", ch = self, value = v} end
function CH:len() return self.count end
function CH:capacity() return self.cap end

-- called by the driver when a pump delivered items (or saw the end) of an external source
function S.source_ready(ch)
  local w = dequeue(ch.recvq)
  while w do
    local got, v, ok = try_recv(ch)
    if not got then table.insert(ch.recvq, 1, w) return end
    wake_receiver(w, ch, v, ok)
    w = dequeue(ch.recvq)
  end
end

local DEFAULT = setmetatable({}, {__name = "default case"})
local function select_(cases)
  if type(cases) ~= "table" then error("channel.select expects a table of cases", 2) end
  local has_default = cases.default == true
  for i = 1, #cases do
    local c = cases[i]
    if c == DEFAULT then has_default = true
    elseif type(c) ~= "table" or getmetatable(c.ch) ~= CH then error("channel.select: case " .. i .. " is not a channel case", 2)
    elseif c.op == "recv" then
      local got, v, ok = try_recv(c.ch)
      if got then return {channel = c.ch, value = v, ok = ok} end
    elseif try_send(c.ch, c.value) then return {channel = c.ch, ok = true} end
  end
  if has_default then return {default = true} end
  local sel = {done = false, waiters = {}}
  for i = 1, #cases do
    local c = cases[i]
    if c ~= DEFAULT then
      local w = {task = current, sel = sel, ch = c.ch, value = c.value, send = c.op == "send"}
      sel.waiters[#sel.waiters + 1] = w
      local q = w.send and c.ch.sendq or c.ch.recvq
      q[#q + 1] = w
    end
  end
  if #sel.waiters == 0 then error("channel.select with no cases and no default blocks forever", 2) end
  local r = park()
  if r.send_closed then error("send on closed channel", 2) end
  return r
end
S.channel = {new = function(n) return new_channel(n) end, select = select_, default = function() return DEFAULT end}

---------------------------------------------------------------- generic blocking Python operations
local op_waiters = {}
-- blocking(submit) -> Lua function: submit(...) starts a Python coroutine and returns its op id (or nil, err);
-- the caller parks until complete(id, value, err) and then gets `value` or `nil, err`.
function S.blocking(submit)
  return function(...)
    local id, err = submit(...)
    if id == nil then return nil, err end
    op_waiters[id] = current
    return park()
  end
end
function S.complete(id, v, e)
  local task = op_waiters[id]
  op_waiters[id] = nil
  if task then make_ready(task, v, e) end
end

---------------------------------------------------------------- the step
-- where(co): "file.lua:LINE" of the innermost Lua frame of a dead coroutine
local function where(co)
  for level = 0, 30 do
    local info = getinfo(co, level, "Sl")
    if not info then break end
    if info.what ~= "C" and info.currentline and info.currentline > 0 then return info.short_src .. ":" .. info.currentline end
  end
end

function S.start(fn, input)
  main_task = spawn(fn, input)
end

-- step(now) -> "done", value, err | "error", errvalue, where, traceback | "terminated" | "wait", deadline|nil
function S.step(now)
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

return S
