-- The timers part of the core (see _core.lua): S.add_timer, S.cancel_timer and S.sleep_until, loaded on first use
-- (the `time` module). The core's step fires and removes due timers from the shared sorted array `timers`; the
-- driver waits until the first deadline (a durable timer inside workflows), so a cancelled timer is taken out of
-- the array at once rather than left to fire into nothing: it would still wake the process (and, in a workflow,
-- add a timer to its history).
local timers, make_ready, park, current, S, tinsert, tremove = timers, make_ready, park, current, S, insert, remove
local timer_seq = 0

-- the index where timer t is (found) or would go (not found), by (deadline, seq)
local function position(t)
  local deadline, seq = t.deadline, t.seq
  local lo, hi = 1, #timers
  while lo <= hi do
    local mid = (lo + hi) // 2
    local m = timers[mid]
    if m == t then return mid, true end
    if m.deadline < deadline or (m.deadline == deadline and m.seq < seq) then lo = mid + 1 else hi = mid - 1 end
  end
  return lo, false
end

-- add_timer(deadline, fn) -> a timer entry {deadline=, seq=, fn=}: fn() runs in the step once the clock passes
-- deadline (outside any task: it must not block)
local function add_timer(deadline, fn)
  timer_seq = timer_seq + 1
  local t = {deadline = deadline, seq = timer_seq, fn = fn}
  tinsert(timers, (position(t)), t)
  return t
end
S.add_timer = add_timer
-- cancel_timer(t) -> true if t was pending (it will not fire), false if it fired or was cancelled already
function S.cancel_timer(t)
  local i, found = position(t)
  if found then tremove(timers, i) end
  return found
end
function S.sleep_until(deadline)
  local task = current()
  add_timer(deadline, function() make_ready(task) end)
  park()
end
