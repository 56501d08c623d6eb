return function()
  return nil, errors.new({kind = "INVALID", message = "quantity must be positive", details = {http_status = 422}})
end
