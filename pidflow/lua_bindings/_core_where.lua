-- The where part of the core (see _core.lua): S.where() -> "file.lua:LINE" where the process's main task waits,
-- or nil when it does not wait there (it runs, or ended). Loaded when an observer first asks for it
-- (Node.process_info, through LuaProcess.lua_where), so a process nobody inspects never pays for it.
-- The main task's coroutine is K.co (set by S.start; a free name here reads K). The innermost frame with a line
-- is user code: pidflow's own chunks are stripped of line information (the core's park, channel receive ...).
local S, getinfo, status = S, getinfo, status
function S.where()
  local main = co
  if main == nil or status(main) ~= "suspended" then return nil end
  for level = 0, 40 do
    local info = getinfo(main, level, "Sl")
    if not info then return nil end
    if info.what ~= "C" and info.currentline and info.currentline > 0 then
      return info.short_src .. ":" .. info.currentline
    end
  end
end
