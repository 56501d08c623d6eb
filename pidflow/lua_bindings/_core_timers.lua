-- The timers part of the core (see _core.lua): S.add_timer and S.sleep_until, loaded on first use (the `time`
-- module). The core's step fires and removes due timers from the shared sorted array `timers`.
local timers, make_ready, park, current, S, tinsert = timers, make_ready, park, current, S, insert
local timer_seq = 0

local function add_timer(deadline, fn)
  timer_seq = timer_seq + 1
  local t = {deadline = deadline, seq = timer_seq, fn = fn}
  local lo, hi = 1, #timers
  while lo <= hi do
    local mid = (lo + hi) // 2
    local m = timers[mid]
    if m.deadline < deadline or (m.deadline == deadline and m.seq < t.seq) then lo = mid + 1 else hi = mid - 1 end
  end
  tinsert(timers, lo, t)
  return t
end
S.add_timer = add_timer
function S.sleep_until(deadline)
  local task = current()
  add_timer(deadline, function() make_ready(task) end)
  park()
end
