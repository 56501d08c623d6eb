local function main(input)
    local file = io.open("data.txt")
    return file ~= nil
end

return { main = main }
