local function main(input)
    math.randomseed(42)
    return math.random()
end

return { main = main }
