-- The channel part of the core (see _core.lua): channel.new, send, close, select and the select cases, loaded
-- into a process's state on first use. The environment is the core's K: internals and captured standard
-- functions, no user globals.
-- The methods take a channel handle and work on its state (chan(handle); see the core's channels section).
local make_ready, park, current, dequeue, wake_receiver, try_recv = make_ready, park, current, dequeue, wake_receiver, try_recv
local CH, CHS, S, tremove = CH, CHS, S, remove
local function chan(h)   -- the state of a channel handle
  local c = CHS[h]
  if c == nil then error("expected a channel, got " .. type(h), 3) end
  return c
end
local function new_handle(c)
  local h = setmetatable({}, CH)
  c.h, CHS[h] = h, c
  return h
end

function new_local_channel(cap)
  if cap == nil then cap = 0 end
  if math_type(cap) ~= "integer" or cap < 0 then error("channel.new expects a size >= 0, got " .. tostring(cap), 3) end
  return new_handle({cap = cap, buf = {}, head = 1, count = 0, recvq = {}, sendq = {}, closed = false})
end

local function unqueue(q, w)
  for i = 1, #q do if q[i] == w then tremove(q, i) return end end
end
function finish_sel(w)
  local sel = w.sel
  sel.done = true
  for _, o in ipairs(sel.waiters) do if o ~= w then unqueue(o.send and o.ch.sendq or o.ch.recvq, o) end end
end
local function wake_sender(w, ch, ok)
  if w.sel then
    finish_sel(w)
    make_ready(w.task, {channel = ch.h, ok = ok, send_closed = not ok or nil})
  else
    make_ready(w.task, ok)
  end
end
local function push(ch, v) ch.buf[ch.head + ch.count] = v; ch.count = ch.count + 1 end

-- try_recv of a channel made by channel.new (the core's try_recv handles source channels)
function try_recv_local(ch)   -- -> got, value, ok
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

function CH:send(v)
  local c = chan(self)
  if try_send(c, v) then return true end
  local q = c.sendq
  q[#q + 1] = {task = current(), ch = c, value = v, send = true}
  local ok = park()
  if not ok then error("send on closed channel", 2) end
  return true
end
local function close_(c)
  c.closed = true
  local w = dequeue(c.recvq)
  while w do wake_receiver(w, c, nil, false); w = dequeue(c.recvq) end
  w = dequeue(c.sendq)
  while w do wake_sender(w, c, false); w = dequeue(c.sendq) end
end
function CH:close()
  local c = chan(self)
  if c.closed then error("close of closed channel", 2) end
  if c.src then error("cannot close a receive-only channel", 2) end
  close_(c)
end
-- offer(h, v, last) -> whether v was taken: a producer's send that never blocks nor raises (timers and tickers
-- fire outside any task): v goes to a waiting receiver or the buffer, and is dropped when the channel is full or
-- closed (v == nil sends nothing); `last` then closes the channel (unless the user closed it already)
function S.offer(h, v, last)
  local c = chan(h)
  if c.closed then return false end
  local taken = false
  if v ~= nil then
    local w = dequeue(c.recvq)
    if w then wake_receiver(w, c, v, true); taken = true
    elseif c.count < c.cap then push(c, v); taken = true end
  end
  if last then close_(c) end
  return taken
end
function CH:case_receive() return {op = "recv", ch = self} end
function CH:case_send(v) return {op = "send", ch = self, value = v} end
-- queue_lengths(h) -> receivers, senders waiting on a channel (for tests: no select leaves a waiter behind)
function S.queue_lengths(h) local c = chan(h) return #c.recvq, c.sendq and #c.sendq or 0 end
function CH:len() return chan(self).count or 0 end
function CH:capacity() return chan(self).cap or 0 end

local DEFAULT = setmetatable({}, {__name = "default case"})
local function select_(cases)
  if type(cases) ~= "table" then error("channel.select expects a table of cases", 2) end
  local has_default = cases.default == true
  -- the cases as {op, state, value}: a case is plain data the user may build, its channel a handle
  local list, n = {}, 0
  for i = 1, #cases do
    local case = cases[i]
    if case == DEFAULT then has_default = true
    else
      local c = type(case) == "table" and CHS[case.ch]
      if not c or (case.op ~= "recv" and case.op ~= "send") then
        error("channel.select: case " .. i .. " is not a channel case", 2)
      end
      local op, value = case.op, case.value
      n = n + 1
      list[n] = {op, c, value}
      if op == "recv" then
        local got, v, ok = try_recv(c)
        if got then return {channel = c.h, value = v, ok = ok} end
      elseif try_send(c, value) then return {channel = c.h, ok = true} end
    end
  end
  if has_default then return {default = true, ok = true} end
  if n == 0 then error("channel.select with no cases and no default blocks forever", 2) end
  local sel, task = {done = false, waiters = {}}, current()
  for i = 1, n do
    local op, c, value = list[i][1], list[i][2], list[i][3]
    local w = {task = task, sel = sel, ch = c, value = value, send = op == "send"}
    sel.waiters[i] = w
    local q = w.send and c.sendq or c.recvq
    q[#q + 1] = w
  end
  local r = park()
  if r.send_closed then error("send on closed channel", 2) end
  return r
end
S.channel = {new = function(n) return new_local_channel(n) end, select = select_, default = function() return DEFAULT end}
