local function main(input)
  return {input = input}
end

return {main = main}
