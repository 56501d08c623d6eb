-- The channel part of the core (see _core.lua): channel.new, send, close, select and the select cases, loaded
-- into a process's state on first use. The environment is the core's K: internals and captured standard
-- functions, no user globals.
local make_ready, park, current, dequeue, wake_receiver, try_recv = make_ready, park, current, dequeue, wake_receiver, try_recv
local CH, S, tremove = CH, S, remove

function new_local_channel(cap)
  if cap == nil then cap = 0 end
  if math_type(cap) ~= "integer" or cap < 0 then error("channel.new expects a size >= 0, got " .. tostring(cap), 3) end
  return setmetatable({cap = cap, buf = {}, head = 1, count = 0, recvq = {}, sendq = {}, closed = false}, CH)
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
    make_ready(w.task, {channel = ch, ok = ok, send_closed = not ok or nil})
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
  if try_send(self, v) then return true end
  local q = self.sendq
  q[#q + 1] = {task = current(), ch = self, value = v, send = true}
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
  local sel, task = {done = false, waiters = {}}, current()
  for i = 1, #cases do
    local c = cases[i]
    if c ~= DEFAULT then
      local w = {task = task, sel = sel, ch = c.ch, value = c.value, send = c.op == "send"}
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
S.channel = {new = function(n) return new_local_channel(n) end, select = select_, default = function() return DEFAULT end}
