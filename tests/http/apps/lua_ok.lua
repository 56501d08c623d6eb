return function()
  return {ok = true, answer = 42}
end
