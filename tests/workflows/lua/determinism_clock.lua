local function main(input)
    local started = os.clock()
    return started
end

return { main = main }
