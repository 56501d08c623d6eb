local function handler()
  local order = nil
  return order.id -- a bug: indexing nil
end
return {handler = handler}
