local mathx = {}
function mathx.sum(list)
  local n = 0
  for _, v in ipairs(list) do n = n + v end
  return n
end
return mathx
