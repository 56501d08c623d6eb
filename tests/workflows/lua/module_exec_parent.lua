-- workflow.exec: a synchronous child workflow; its value, or its error with kind/retryable/message.
local workflow = require("workflow")

local function main(input)
  local result, err = workflow.exec(input.child, input.child_input)
  if err then
    return {error = {kind = err:kind(), retryable = err:retryable(), message = err:message()}}
  end
  return {value = result}
end

return {main = main}
