local M = {}

-- its first n inbox messages as {topic, payload}
function M.first(n)
  local inbox, out = process.inbox(), {}
  for i = 1, n do
    local m = inbox:receive()
    out[i] = {m:topic(), m:payload():data()}
  end
  return out
end

function M.context() return require("ctx").all() end

function M.fail() return nil, errors.new{kind = errors.CONFLICT, message = "child failed", retryable = false} end

-- answers one message to its sender with the same payload, under topic "echo"
function M.echo()
  local m = process.inbox():receive()
  process.send(m:from(), "echo", m:payload():data())
  return "echoed"
end

return M
