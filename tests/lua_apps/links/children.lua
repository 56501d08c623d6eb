local M = {}

function M.fail() return nil, errors.new{kind = errors.CONFLICT, message = "child failed", retryable = false} end

function M.ok() return "done" end

-- fails (nil, err) when a "fail" message comes
function M.fail_when_told()
  process.inbox():receive()
  return nil, errors.new{kind = errors.CONFLICT, message = "told to fail", retryable = false}
end

-- does not trap links; its linked child fails, so it ends too
function M.untrapped()
  local host = process.id() == "app:w_untrapped" and "app:worker" or "app:processes"
  local name = process.id() == "app:w_untrapped" and "app:w_fail" or "app:c_fail"
  assert(process.spawn_linked(name, host))
  process.inbox():receive()
  return "not reached"
end

return M
