-- a child that ends with `nil, err`
return {main = function() return nil, errors.new{kind = errors.CONFLICT, message = "child failed", retryable = false} end}
