"""Pre-emption everywhere (issue 9, point 2): whatever a Lua process does, other processes keep their timers (a 1 s
sleep elsewhere takes < 1.5 s) and ``terminate`` ends it. Each scenario froze the node for good before (C code
the instruction hook never interrupts, a finalizer with hooks off, Lua run by the driver outside the time-sliced
step), so each runs in a child interpreter (isolation_helpers) where a freeze is a timeout, not a hung pytest.

Also here: the Lua port of the pattern matcher (_core_match.lua), which runs the patterns too costly for the C
matcher, gives the C matcher's results and errors."""

from __future__ import annotations

import lupa.lua54 as lupa
import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pidflow.errors import Error
from pidflow.lua_bindings import register_module

from isolation_helpers import run_isolated
from lua_helpers import main_body, make_process

NEIGHBOUR = """
async def main():
    proc = make_process(main_body({body!r}), max_memory=64 * 1024 * 1024)
    out = {{}}

    async def run():
        try:
            out["value"] = await proc.run()
        except Error as exc:
            out["error"] = error_of(exc)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(run)
        await trio.sleep(0.2)
        start = time.perf_counter()
        await trio.sleep(1)
        out["slept"] = time.perf_counter() - start
        start = time.perf_counter()
        proc.terminate()
    out["stopped_in"] = time.perf_counter() - start
    report(**out)

trio.run(main)
"""

HOGS = {
    # C pattern matching that backtracks for centuries
    "backtracking_find": 'return string.find(("a"):rep(200), ".-.-.-.-.-.-b")',
    "backtracking_gsub": 'return (("ab"):rep(500)):gsub("(.-)(.-)(.-)x", "%3")',
    # Lua run while the error is turned into text
    "error_object_with_a_looping_tostring": 'error(setmetatable({}, {__tostring = function() while true do end end}))',
    # one slow instruction after another: hooks counted in instructions would come seconds apart
    "upper_of_a_big_string_in_a_loop": 'local a = ("x"):rep(1e7) while true do local _ = a:upper() end',
    "sort_of_a_big_array_in_a_loop": 'local t = {} for i = 1, 1e6 do t[i] = i end while true do table.sort(t) end',
    "equal_big_strings_in_a_loop": 'local a, b = ("x"):rep(1.5e7), ("x"):rep(1.5e7) while true do local _ = a == b end',
    # C loops over a range the caller chose
    "table_move_over_a_huge_range": 'table.move({}, 1, 1e15, 2)',
    "table_insert_with_a_lying_len": 'table.insert(setmetatable({}, {__len = function() return 1e15 end}), 1, "x")',
    "plain_find_of_a_long_needle": 'local s = ("a"):rep(4e6) return s:find(("a"):rep(2e6) .. "b", 1, true)',
    # pcall cannot keep a terminated process alive
    "pcall_around_a_busy_loop": 'while true do pcall(function() while true do end end) end',
}


@pytest.mark.parametrize("name", sorted(HOGS))
def test_a_hog_neither_delays_other_timers_nor_survives_terminate(name):
    out = run_isolated(NEIGHBOUR.format(body=HOGS[name]), timeout=100)
    assert out["slept"] < 1.5, out
    assert out["error"][0] == "TERMINATED", out
    assert out["stopped_in"] < 1.5, out


def test_a_finalizer_is_refused_so_a_looping_one_cannot_freeze_the_collector():
    # Lua turns hooks off in finalizers: a looping __gc would freeze the node at the next collection
    out = run_isolated("""
        async def main():
            proc = make_process(main_body('''
                local ok, err = pcall(setmetatable, {}, {__gc = function() while true do end end})
                collectgarbage()
                return {ok, err}
            '''))
            report(value=await proc.run())

        trio.run(main)
    """)
    ok, message = out["value"]
    assert ok is False
    assert "__gc metamethods are not available" in message


def test_a_returned_table_is_read_without_running_its_metamethods():
    # the driver reads a returned table outside the step: an __index that loops was run there, unpre-emptible
    out = run_isolated("""
        async def main():
            proc = make_process(main_body(
                'return setmetatable({1, nil, 3}, {__index = function() while true do end end})'))
            report(value=await proc.run())

        trio.run(main)
    """, timeout=30)
    assert out["value"] == [1, None, 3]


def test_the_global_debug_that_lupa_reads_cannot_be_defined_by_lua_code():
    # lupa looks up the global `debug` (and indexes it) on every call from Python, outside any protected call: a
    # looping __index there froze the node, an erroring one aborted it
    out = run_isolated("""
        async def main():
            proc = make_process(main_body('''
                rawset(_G, "debug", setmetatable({}, {__index = function() error("boom") end}))
                debug = setmetatable({}, {__index = function() while true do end end})
                local ch = channel.new()
                coroutine.spawn(function() require("time").sleep("1ms") ch:send(1) end)
                return ch:receive()
            '''))
            report(value=await proc.run())

        trio.run(main)
    """, timeout=30)
    assert out["value"] == 1


def test_the_hook_survives_lua_code_replacing_the_libraries_it_uses():
    proc = make_process(main_body("""
        string.find, table.sort, setmetatable = nil, nil, nil
        local n = 0
        while true do n = n + 1 end
    """))

    async def main() -> str:
        async with trio.open_nursery() as nursery:
            out: list[str] = []

            async def run() -> None:
                try:
                    await proc.run()
                except Error as exc:
                    out.append(exc.kind.value)

            nursery.start_soon(run)
            await trio.sleep(0.05)
            proc.terminate()
        return out[0]

    assert trio.run(main) == "TERMINATED"


# ---------------------------------------------------------------- the Lua matcher gives the C matcher's answers

register_module("matcher", lambda ctx: ctx.load_lua(
    "local S = ... return {find = S.export('lua_find', 'match'), gsub = S.export('lua_gsub', 'match'), "
    "gmatch = S.export('lua_gmatch', 'match')}", "matcher", ctx.core), replace=True)

COMPARE = main_body("""
  local m = require("matcher")
  local find, gsub, gmatch = string.find, string.gsub, string.gmatch
  local out = {}
  local function pk(...) return table.pack(...) end
  local function show(r)
    local parts = {}
    for i = 1, r.n do parts[i] = tostring(r[i]) end
    return table.concat(parts, ",")
  end
  for i, c in ipairs(input) do
    local s, p = c[1], c[2]
    -- the raw C functions run these small cases (their bound is low); the Lua ones are called directly
    local a = show(pk(pcall(find, s, p)))
    local b = show(pk(pcall(m.find, s, p, 1, true)))
    local a2 = show(pk(pcall(gsub, s, p, "<%0>")))
    local b2 = show(pk(pcall(m.gsub, s, p, "<%0>", #s + 1)))
    local t1, t2 = {}, {}
    local ok1 = pcall(function() for x, y in gmatch(s, p) do t1[#t1 + 1] = tostring(x) .. "|" .. tostring(y) end end)
    local ok2 = pcall(function() for x, y in m.gmatch(s, p, 1) do t2[#t2 + 1] = tostring(x) .. "|" .. tostring(y) end end)
    out[i] = {a == b, a2 == b2, ok1 == ok2 and table.concat(t1, ";") == table.concat(t2, ";"), a, b, a2, b2}
  end
  return out
""")

ATOMS = ["a", "b", ".", "%a", "%d", "%s", "%w", "%W", "[ab]", "[^a]", "[a-c]", "[%a-]", "x", "(", ")", "()",
         "%1", "%b()", "%f[%a]", "%%", "$", "-", "]"]
QUANTIFIERS = ["", "", "*", "+", "-", "?"]
pattern = st.lists(st.tuples(st.sampled_from(ATOMS), st.sampled_from(QUANTIFIERS)), min_size=1, max_size=5).map(
    lambda items: "".join(a + q for a, q in items))
patterns = st.one_of(pattern, pattern.map(lambda p: "^" + p))
subject = st.text(alphabet="ab ()1x-", max_size=14)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(subject, patterns), min_size=1, max_size=40))
def test_the_lua_matcher_gives_the_c_matchers_results_and_errors(cases):
    # ('find' with a pattern without specials is a plain search in C: the guard never sends it to Lua)
    cases = [[s, p] for s, p in cases if any(ch in p for ch in "^$*+?.([%-")]
    if not cases:
        return
    out = trio.run(make_process(COMPARE, modules=["matcher"]).run, cases)
    for (s, p), (find_same, gsub_same, gmatch_same, *shown) in zip(cases, out):
        assert find_same and gsub_same and gmatch_same, (s, p, shown)


def test_a_costly_pattern_takes_the_lua_path_and_gives_the_same_answer():
    out = trio.run(make_process(main_body("""
        local s = ("a"):rep(300) .. "b"
        return {{s:find(".-.-.-b")}, {s:match("^(a-)(a*)b$")}, (select(2, s:gsub("(a-)a", "%1")))}
    """)).run)
    assert out == [[1, 301], ["", "a" * 300], 300]


async def test_string_and_table_errors_name_the_function_as_stock_lua_does(lua):
    out = await lua("""
        local _, e1 = pcall(string.find, nil, "x")
        local _, e2 = pcall(table.insert, setmetatable({}, {}), {}, 1)
        local _, e3 = pcall(string.gsub, "x", "x", true)
        return {e1, e2, e3}
    """)
    assert "bad argument #1 to 'find' (string expected, got nil)" in out[0]
    assert "bad argument #2 to 'insert' (number expected, got table)" in out[1]
    assert "bad argument #3 to 'gsub'" in out[2]



# ---------------------------------------------------------------- the guarded functions behave as stock Lua's

STOCK_CALLS = """
local function show(ok, ...)
  local parts = {tostring(ok)}
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if type(v) == "string" and not ok then   -- (the name a C function gets depends on how it was called)
      v = v:gsub("^[^:]*:%d+: ", ""):gsub("^(bad argument #%d+ to )'[^']*'", "%1'f'")
    end
    if type(v) == "table" then
      local t = {}
      for k = 0, 6 do t[#t + 1] = tostring(rawget(v, k)) end
      v = table.concat(t, ",")
    end
    parts[#parts + 1] = type(v) .. ":" .. tostring(v)
  end
  return table.concat(parts, "|")
end
local function gm(s, p, i)
  local out = {}
  for a, b in string.gmatch(s, p, i) do out[#out + 1] = tostring(a) .. "," .. tostring(b) end
  return table.concat(out, ";")
end
return function(c)
  local s, p, i, plain, repl, n = c[1], c[2], c[3], c[4], c[5], c[6]
  return {show(pcall(string.find, s, p, i, plain)), show(pcall(string.match, s, p, i)),
          show(pcall(string.gsub, s, p, repl, n)), show(pcall(gm, s, p, i)),
          show(pcall(table.move, {1, 2, 3, 4}, i or 1, n or 3, 2)),
          show(pcall(table.insert, {1, 2, 3}, n or 1, "x")), show(pcall(table.remove, {1, 2, 3}, i))}
end
"""

_args = st.one_of(st.none(), st.integers(-6, 8), st.sampled_from([1.0, 2.5, "2", "x", True]))
_guard_cases = st.tuples(st.text(alphabet="ab()%1 ", max_size=8), patterns | st.text(alphabet="ab.", max_size=3),
                         _args, st.sampled_from([None, True, False, 1]),
                         st.sampled_from(["%0", "<%1>", "%%", "%2", "x", 7, "%"]), _args)


_STOCK = lupa.LuaRuntime(encoding=None)   # stock Lua 5.4, no sandbox
_STOCK_CALLS = _STOCK.execute(STOCK_CALLS)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_guard_cases, min_size=1, max_size=25))
def test_the_guarded_string_and_table_functions_answer_as_stock_lua_does(cases):
    expected = []
    for case in cases:
        args = {i + 1: (v.encode() if isinstance(v, str) else v) for i, v in enumerate(case) if v is not None}
        expected.append([v.decode() for v in _STOCK_CALLS(_STOCK.table_from(args)).values()])
    ours = trio.run(make_process(main_body(
        "local f = load(input.src)() local out = {} for i, c in ipairs(input.cases) do "
        "out[i] = f({c[1], c[2], c[3], c[4], c[5], c[6]}) end return out")).run,
        {"src": STOCK_CALLS, "cases": [list(c) for c in cases]})
    for case, mine, theirs in zip(cases, ours, expected):
        assert mine == theirs, case
