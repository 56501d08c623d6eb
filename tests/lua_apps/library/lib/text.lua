-- A library: its top level runs once per process, the first time an importer requires it.
TEXT_LOADS = (TEXT_LOADS or 0) + 1   -- the importer's globals: the checks read it

local mathx = require("mathx")        -- its own import
local json = require("json")          -- its own module (the importer does not list it)
local time = require("time")

local text = {}

function text.shout(s) return string.upper(s) .. "!" end
function text.encode(t) return json.encode(t) end
function text.total(list) return mathx.sum(list) end
function text.now() return time.now():unix() end

return text
