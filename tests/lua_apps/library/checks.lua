-- The same checks as a local process and as a workflow.
local function main()
  local text = require("text")
  assert(text.shout("hi") == "HI!", "text.shout")
  assert(text.total({1, 2, 3}) == 6, "a nested import")
  assert(text.encode({a = 1}) == '{"a":1}', "the library's own module")
  assert(text.now() > 0, "time through the library")

  -- loaded once per process: the same table, its top level ran once
  assert(require("text") == text, "require returns the cached library")
  assert(TEXT_LOADS == 1, "the library's top level ran " .. tostring(TEXT_LOADS) .. " times")

  -- a library's modules are granted to its importer
  assert(require("json").encode({1}) == "[1]", "json through the library's grant")

  -- lazy: an import nobody required did not run
  assert(UNUSED_LOADED == nil, "app:unused ran")

  -- a failing top level: require raises its error with the library's file:line, and is not cached
  local ok, err = pcall(require, "broken")
  assert(not ok and tostring(err):find("broken.lua:2: broken at load", 1, true), tostring(err))
  local again_ok, again = pcall(require, "broken")
  assert(not again_ok and tostring(again):find("broken.lua:2", 1, true), "a failed require runs again")

  -- a top level that blocks fails its require, not the process
  local bok, berr = pcall(require, "blocking")
  assert(not bok and tostring(berr):find("must not block", 1, true), tostring(berr))

  -- an alias the entry does not import is no module
  local nok, nerr = pcall(require, "mathx_missing")
  assert(not nok and tostring(nerr):find("mathx_missing", 1, true), tostring(nerr))

  return {ok = true, shout = text.shout("lib"), loads = TEXT_LOADS}
end
return {main = main}
