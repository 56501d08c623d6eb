-- workflow.attrs: search attributes and memo, as in the spec.
local workflow = require("workflow")

local function main(order)
  local ok, err = workflow.attrs({
    search = {status = "processing", customer_id = order.customer_id, order_total = order.total},
    memo = {notes = "Priority customer", source = "web"},
  })
  if err then return nil, err end
  return {ok = ok}
end

return {main = main}
