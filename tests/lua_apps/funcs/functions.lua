-- The function.lua entries the funcs checks call.
local M = {}

function M.greet(name) return "hi " .. name end

function M.context() return require("ctx").all() end

function M.fail(kind, retryable)
  return nil, errors.new{kind = kind, message = "failed as asked", retryable = retryable, details = {asked = kind}}
end

function M.slow(duration, tag)
  require("time").sleep(duration)
  return tag
end

return M
