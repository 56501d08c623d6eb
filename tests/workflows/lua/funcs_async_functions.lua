-- Function entries (activities) for test_funcs_async.py and the replay_funcs_async golden history.
local ctx = require("ctx")
local time = require("time")

return {
  echo = function(...) return {...} end,
  context = function() return ctx.all() end,
  fail = function(kind, retryable) return nil, errors.new{kind = kind, message = "failed as asked", retryable = retryable} end,
  plain = function() return nil, errors.new("plain failure") end,
  slow = function(duration, tag) time.sleep(duration) return tag end,
}
