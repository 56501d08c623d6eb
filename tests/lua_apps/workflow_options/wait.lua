-- Waits for "stop", then answers what it was given and who it is; "fail" ends it with an error (an error
-- value: a raised Lua error fails a workflow *task*, which Temporal retries, not the workflow).
return function(tag)
  local msg = process.inbox():receive()
  if msg:topic() == "fail" then return nil, errors.new{kind = errors.INTERNAL, message = "told to fail"} end
  return {tag = tag, me = process.pid()}
end
