"""Pooled Lua states (``_state_pool``, ``_snapshot``): a ``function.lua`` call, and a ``process.lua`` process once
its entry's processes came and went, runs in a reused Lua state reset to its clean point, and nothing of one call
reaches the next: globals, library tables, metatables, upvalues, module state, the core's queues and timers,
``math.random``'s seed, the Python side. A state whose call raised, hit its memory limit or was cancelled is
dropped; the pool is bounded and never limits concurrency; preemption and ``max_memory`` hold in reused states.

Every isolation test runs on a pool of size 1 and checks that the second call reused the first one's state
(``reused``): a test that ran on two fresh states would prove nothing."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
import trio

import pidflow
from pidflow import entries
from pidflow.errors import Error, ErrorKind
from pidflow.lua_bindings import TrioBackend
from pidflow.lua_bindings._snapshot import PooledRuntime
from pidflow.lua_bindings._state_pool import DEFAULT_POOL_SIZE, RESOURCE, StatePool, check_pool

pytestmark = pytest.mark.trio

# Every call runs `code` (a string) from its argument in the entry's own globals, so one entry serves every test.
RUN_LUA = """
local json = require("json")
local calls = 0   -- an upvalue of the entry's chunk: fresh in every call (the chunk runs again)
local M = {}
function M.run(code, arg)
  calls = calls + 1
  local f = assert(load(code, "=case.lua", "t", _ENV))
  return f(arg, calls)
end
return M
"""


def _registry(tmp_path: Path, *, size: int = 1, max_memory: int | None = None,
              modules: tuple[str, ...] = ("json", "time", "ctx", "funcs", "uuid")) -> entries.Registry:
    (tmp_path / "run.lua").write_text(RUN_LUA)
    (tmp_path / "proc.lua").write_text("return {main = function(code) return assert(load(code, '=p.lua'))() end,"
                                       " forever = function() process.inbox():receive() end}")
    fn: dict[str, Any] = {"name": "run", "kind": "function.lua", "source": "file://run.lua", "method": "run",
                          "modules": list(modules), "pool": {"max_size": size}}
    if max_memory is not None:
        fn["max_memory"] = max_memory
    return entries.from_dicts("app", [
        fn,
        {"name": "proc", "kind": "process.lua", "source": "file://proc.lua", "pool": {"max_size": size}},
        {"name": "forever", "kind": "process.lua", "source": "file://proc.lua", "method": "forever"},
    ], base=tmp_path)


def _pool(node: pidflow.Node, entry: str = "app:run") -> StatePool:
    """The entry's pool (the node builds an entry's function or body, and so its pool, on first use)."""
    function = node.registry.get(entry).kind == "function.lua"
    if function:
        node.function(entry)
    else:
        node.resolve_body(entry, "local")
    pool: StatePool = node.resources[RESOURCE][entry, not function]
    return pool


async def _two_calls(tmp_path: Path, first: str, second: str, **kw: Any) -> tuple[Any, Any]:
    """Run ``first`` then ``second`` on one pooled state (checked) and return both results."""
    async with pidflow.open_node(_registry(tmp_path, **kw)) as node:
        a = await node.call("app:run", textwrap.dedent(first))
        b = await node.call("app:run", textwrap.dedent(second))
        pool = _pool(node)
        assert (pool.created, pool.reused, pool.dropped) == (1, 2, 0), "both calls must run on the one pooled state"
    return a, b


# ---------------------------------------------------------------- what a call leaves behind

async def test_globals_set_or_removed_by_a_call_are_back_in_the_next(tmp_path):
    first, second = await _two_calls(tmp_path, """
        leaked = "secret"
        _G.also = 1
        rawset(_G, "raw", 2)
        print, pairs, tostring, require = nil, nil, nil, nil
        return "ok"
    """, """
        return {leaked == nil, also == nil, rawget(_G, "raw") == nil, type(print), type(pairs), type(tostring),
                type(require)}
    """)
    assert first == "ok"
    assert second == [True, True, True, "function", "function", "function", "function"]


async def test_library_tables_changed_by_a_call_are_restored(tmp_path):
    _, second = await _two_calls(tmp_path, """
        string.upper = function() return "evil" end
        string.custom = function() return "leak" end
        table.insert, table.concat = nil, nil
        math.pi, math.huge = 3, 0
        coroutine.spawn = nil
        os.time = function() return 0 end
        utf8.char = nil
        return true
    """, """
        return {("abc"):upper(), string.custom == nil, type(table.insert), table.concat({"a", "b"}),
                math.pi > 3.14, math.huge > 1e308, type(coroutine.spawn), os.time() > 1700000000, utf8.char(65)}
    """)
    assert second == ["ABC", True, "function", "ab", True, True, "function", True, "A"]


async def test_metatables_set_by_a_call_are_restored(tmp_path):
    # _G's own lazy metatable, the string metatable (shared by every string), a library's metatable
    _, second = await _two_calls(tmp_path, """
        getmetatable(_G).__index = function() return "evil global" end
        local smt = getmetatable("")
        smt.__index = {upper = function() return "evil" end}
        smt.__add = function() return "evil add" end
        smt.__len = function() return -1 end
        setmetatable(math, {__index = function() return "evil math" end})
        setmetatable(_G, {__newindex = function() error("no globals") end})
        return true
    """, """
        x = 1   -- _G takes globals again
        local ok, sum = pcall(function() return "1" + "2" end)
        return {undefined_global == nil, ("abc"):upper(), sum, #"abcd", math.nothing == nil, x, type(pcall)}
    """)
    assert second == [True, "ABC", 3, 4, True, 1, "function"]


async def test_upvalues_of_the_entry_and_its_env_are_fresh_in_every_call(tmp_path):
    # `calls` is a local of the entry's chunk: the chunk runs again for each call, so it is 1 every time; a call
    # that replaces _ENV of the code it loads, or assigns the chunk's _ENV, changes nothing for the next
    first, second = await _two_calls(tmp_path, """
        local arg, calls = ...
        _ENV = {}
        return calls
    """, """
        local arg, calls = ...
        return {calls, type(string), type(print)}
    """)
    assert first == 1
    assert second == [1, "table", "function"]


async def test_the_entry_chunks_own_env_assigned_by_a_call_is_restored(tmp_path):
    # _ENV is an upvalue of the entry's chunk, shared with the functions it defines: a method that assigns it
    # changes the chunk's cell, which the reset must put back (the chunk runs again in the next call, with it)
    (tmp_path / "env.lua").write_text("local M = {}\n"
                                      "function M.main(replace) if replace then _ENV = {type = type} end "
                                      "return type(print) end\nreturn M\n")
    registry = entries.from_dicts("app", [{"name": "env", "kind": "function.lua", "source": "file://env.lua",
                                           "pool": {"max_size": 1}}], base=tmp_path)
    async with pidflow.open_node(registry) as node:
        assert await node.call("app:env", True) == "nil"
        assert await node.call("app:env", False) == "function"
        assert _pool(node, "app:env").reused == 2


async def test_module_state_does_not_pass_between_calls(tmp_path):
    # json is built once per pooled state (stateless: its table is restored), channel is the core's table; the
    # others (time, ctx, errors, funcs, uuid) are built per call, on first use
    _, second = await _two_calls(tmp_path, """
        local json = require("json")
        json.encode = function() return "evil" end
        json.extra = true
        channel.new = nil
        require("time").now = function() return "evil" end
        errors.new = nil
        require("ctx").get = function() return "evil" end
        require("uuid").v4 = function() return "evil" end
        return true
    """, """
        local json = require("json")
        return {json.encode({1, 2}), json.extra == nil, type(channel.new), type(require("time").now()),
                type(errors.new), require("ctx").get("nothing"), #require("uuid").v4()}
    """)
    assert second == ["[1,2]", True, "function", "table", "function", None, 36]


async def test_objects_that_modules_hand_out_are_restored(tmp_path):
    # tables a call can only get from a function: the channel module's default case and the empty-array marker
    _, second = await _two_calls(tmp_path, """
        local d = channel.default()
        rawset(d, "leak", "secret")
        local mt = getmetatable(d)
        if type(mt) == "table" then mt.__index = function() return "evil" end end
        return true
    """, """
        local d = channel.default()
        local mt = getmetatable(d)
        return {rawget(d, "leak") == nil, type(mt) ~= "table" or mt.__index == nil}
    """)
    assert second == [True, True]


async def test_timers_and_coroutines_left_by_a_call_never_run_in_the_next(tmp_path):
    # the first call leaves a coroutine parked on a timer and one on a channel nobody sends to; the next call
    # sees neither the global they would set nor any wakeup of theirs
    _, second = await _two_calls(tmp_path, """
        local time = require("time")
        coroutine.spawn(function() time.sleep("20ms"); leaked_by_timer = true end)
        local ch = channel.new()
        coroutine.spawn(function() ch:receive(); leaked_by_channel = true end)
        return true
    """, """
        require("time").sleep("60ms")
        return {leaked_by_timer == nil, leaked_by_channel == nil}
    """)
    assert second == [True, True]


async def test_the_random_generator_is_reseeded_for_every_call(tmp_path):
    # a seeded sequence in the first call must not continue into (or repeat in) the second
    first, second = await _two_calls(tmp_path, """
        math.randomseed(42)
        local out = {}
        for i = 1, 8 do out[i] = math.random(1, 1000000) end
        math.randomseed(42)
        return out
    """, """
        local out = {}
        for i = 1, 8 do out[i] = math.random(1, 1000000) end
        return out
    """)
    assert first != second


async def test_the_context_of_one_call_is_not_the_next_ones(tmp_path):
    async with pidflow.open_node(_registry(tmp_path)) as node:
        code = "return require('ctx').all()"
        a = await node.call("app:run", code, context={"user": "alice", "token": "s3cret"})
        b = await node.call("app:run", code, context={"user": "bob"})
        assert (a, b) == ({"user": "alice", "token": "s3cret"}, {"user": "bob"})
        assert _pool(node).reused == 2


# ---------------------------------------------------------------- the reset is complete

WALK_LUA = """
local H, roots = ...
local getupvalue, getmt = H.getupvalue, H.getmetatable
local format, next, type, tostring = string.format, next, type, tostring
local lines, n, seen, stack = {}, 0, {}, {}
local function id(v)
  local ty = type(v)
  if ty == "table" or ty == "function" or ty == "userdata" or ty == "thread" then return ty .. format(":%p", v) end
  if ty == "string" then return format("%q", v) end
  return ty .. ":" .. tostring(v)
end
local function push(v)
  local ty = type(v)
  if (ty == "table" or ty == "function") and not seen[v] then seen[v] = true; stack[#stack + 1] = v end
end
for i = 1, roots.n do push(roots[i]) end
push(getmt(""))
while #stack > 0 do
  local v = table.remove(stack)
  if type(v) == "table" then
    for k, x in next, v do n = n + 1; lines[n] = id(v) .. " [" .. id(k) .. "] = " .. id(x); push(k); push(x) end
    local mt = getmt(v)
    n = n + 1; lines[n] = id(v) .. " mt " .. id(mt)
    push(mt)
  else
    local i = 1
    while true do
      local name, x = getupvalue(v, i)
      if name == nil then break end
      n = n + 1; lines[n] = id(v) .. " up " .. i .. " = " .. id(x)
      push(x)
      i = i + 1
    end
  end
end
table.sort(lines)
return table.concat(lines, "\\n")
"""

ADVERSARY = """
-- touches all it can reach, and leaves work behind
local time, json = require("time"), require("json")
for k, v in pairs(_G) do if type(v) == "table" and k ~= "_G" then rawset(v, "__leak", {k}) end end
string.format = nil
setmetatable(getmetatable(""), {__index = function() return "x" end})
getmetatable(_G).__newindex = function(t, k, v) rawset(t, k, "evil") end
_G.channel.select = nil
local ok = pcall(error, {code = 1})
coroutine.spawn(function() time.sleep("1h") end)
local ch = channel.new(1); ch:send({big = string.rep("x", 10000)})
for i = 1, 200 do leaked_table = {i, tostring(i)} end
math.randomseed(7)
local s = ("abc"):find("b")
local t = {} table.insert(t, 1) table.sort(t)
_ENV = setmetatable({}, {__index = _G})
return json.encode({ok = ok})
"""


def _fingerprint(rt: PooledRuntime) -> str:
    """Every table (contents, metatable) and every upvalue reachable from the state's roots, by identity: two equal
    fingerprints mean the same objects with the same contents (addresses are stable: the reset puts back the very
    objects of the clean point)."""
    rt.collect()
    roots = [rt.core, rt.env, *rt.main_args[:1]]
    table = rt.lua.table_from({i + 1: v for i, v in enumerate(roots)})
    table[b"n"] = len(roots)
    text: bytes = rt.load_builtin(WALK_LUA, "test.walk")(rt._helpers, table)
    return text.decode("utf-8", "replace")


async def test_after_a_call_that_touched_everything_the_state_is_its_clean_point_again(tmp_path):
    async with pidflow.open_node(_registry(tmp_path)) as node:
        pool = _pool(node)
        proc = pool._idle[0]
        clean = _fingerprint(proc._rt)
        assert "__leak" not in clean
        for _ in range(2):
            assert await node.call("app:run", ADVERSARY) == '{"ok":false}'
            assert pool._idle == [proc] and pool.dropped == 0  # recycled, not dropped
            assert proc._rt.memory_used() < 2 * proc._rt.clean_size  # the call's garbage does not stay
            after = _fingerprint(proc._rt)
            assert after == clean, "\n".join(sorted(set(after.splitlines()) ^ set(clean.splitlines()))[:20])
        # and the Python side holds nothing of the calls: no context, no process, no sources or functions
        assert proc.backend.context == {} and proc.backend.process_api is None
        assert proc._sources == {} and proc._completions == [] and proc._ctx is None
        assert len(proc._fns) == len(proc._rt.clean_fns)


async def test_a_reused_state_runs_many_calls_in_bounded_memory(tmp_path):
    async with pidflow.open_node(_registry(tmp_path)) as node:
        code = "local t = {} for i = 1, 2000 do t[i] = {tostring(i)} end; keep = t; return #t"
        for _ in range(60):
            assert await node.call("app:run", code) == 2000
        pool = _pool(node)
        assert (pool.created, pool.reused) == (1, 60)
        rt = pool._idle[0]._rt
        assert rt.memory_used() <= 2 * rt.clean_size


# ---------------------------------------------------------------- states that are not reused

@pytest.mark.parametrize("code, kind", [
    ("error('boom')", ErrorKind.INTERNAL),
    ("return nil, 'failed softly'", ErrorKind.INTERNAL),
    ("local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 1000) .. i end", ErrorKind.INTERNAL),
])
async def test_a_state_whose_call_failed_is_dropped(tmp_path, code, kind):
    async with pidflow.open_node(_registry(tmp_path, max_memory=4 << 20)) as node:
        pool = _pool(node)
        first = pool._idle[0]
        with pytest.raises(Error) as info:
            await node.call("app:run", code)
        assert info.value.kind is kind
        assert (pool.dropped, pool.idle, pool.live) == (1, 0, 0)
        assert await node.call("app:run", "return 'next'") == "next"  # on a new state
        assert pool.created == 2 and pool._idle[0] is not first


async def test_a_cancelled_call_drops_its_state_and_a_busy_reused_state_is_still_preempted(tmp_path):
    async with pidflow.open_node(_registry(tmp_path)) as node:
        pool = _pool(node)
        assert await node.call("app:run", "local n = 0 for i = 1, 1e6 do n = n + i end return n") == 500000500000
        assert pool.reused == 1
        with trio.move_on_after(0.3) as waited:
            await node.call("app:run", "while true do end")  # on the reused state: the hook still pre-empts it
        assert waited.cancelled_caught
        assert (pool.dropped, pool.live) == (1, 0)


async def test_the_memory_limit_holds_in_a_reused_state(tmp_path):
    async with pidflow.open_node(_registry(tmp_path, max_memory=2 << 20)) as node:
        assert await node.call("app:run", "return #string.rep('x', 100000)") == 100000
        with pytest.raises(Error, match="exceeded its Lua memory limit of 2097152 bytes"):
            await node.call("app:run", "local t = {} for i = 1, 1e6 do t[i] = string.rep('y', 512) .. i end")
        assert _pool(node).reused == 2


async def test_a_small_memory_limit_runs_on_fresh_states(tmp_path):
    async with pidflow.open_node(_registry(tmp_path, size=4, max_memory=512 << 10)) as node:
        for _ in range(3):
            assert await node.call("app:run", "x = (x or 0) + 1 return x") == 1
        pool = _pool(node)
        assert (pool.size, pool.live, pool.reused, pool.created) == (0, 0, 0, 4)


# ---------------------------------------------------------------- bounds and concurrency

async def test_more_concurrent_calls_than_the_pool_holds_all_run_and_the_pool_stays_bounded(tmp_path):
    async with pidflow.open_node(_registry(tmp_path, size=2)) as node:
        results: dict[int, Any] = {}

        async def one(i: int) -> None:
            code = "local i = ... ; mine = i; require('time').sleep('30ms'); return {i, mine}"
            results[i] = await node.call("app:run", code, i)

        async with trio.open_nursery() as nursery:
            for i in range(12):
                nursery.start_soon(one, i)
        assert results == {i: [i, i] for i in range(12)}
        pool = _pool(node)
        assert pool.live == 2 and pool.idle == 2
        assert pool.created == 12  # 2 pooled (one made at build time) and 10 fresh ones, dropped after their call
        assert await node.call("app:run", "return mine") is None


async def test_pool_size_zero_runs_every_call_on_a_fresh_state(tmp_path):
    async with pidflow.open_node(_registry(tmp_path, size=0)) as node:
        for _ in range(3):
            assert await node.call("app:run", "x = (x or 0) + 1 return x") == 1
        pool = _pool(node)
        assert (pool.live, pool.idle, pool.reused) == (0, 0, 0)


async def test_the_pool_key_is_checked():
    assert check_pool(None) == [] and check_pool({"max_size": 4, "type": "lazy", "workers": 2}) == []
    assert check_pool({"max_size": -1}) == ["pool.max_size must be a whole number >= 0, got -1"]
    assert check_pool({"type": "eager"}) == ["pool.type must be one of adaptive, inline, lazy, static, got 'eager'"]
    assert check_pool({"maxsize": 4}) == ["pool: unknown key 'maxsize' (known: max_size, type, workers, size, buffer)"]
    assert check_pool(4) == ["pool must be a mapping (max_size: N), got int"]
    assert DEFAULT_POOL_SIZE == 16


async def test_a_bad_pool_key_fails_the_load_naming_the_entry(tmp_path):
    (tmp_path / "f.lua").write_text("return {main = function() end}")
    with pytest.raises(Error) as info:
        entries.from_dicts("app", [{"name": "f", "kind": "function.lua", "source": "file://f.lua",
                                    "pool": {"max_size": "many"}}], base=tmp_path)
    assert "app:f" in str(info.value.details) and "pool.max_size must be a whole number >= 0, got 'many'" in \
        str(info.value.details)


# ---------------------------------------------------------------- process.lua

async def test_process_lua_states_are_pooled_once_processes_come_and_go(tmp_path):
    async with pidflow.open_node(_registry(tmp_path)) as node:
        pool = _pool(node, "app:proc")
        assert (pool.live, pool.idle) == (0, 0)  # nothing pooled until a process returned
        assert await node.process.exec("app:proc", None, "secret = 'alice' return 'first'") == "first"
        assert (pool.live, pool.idle, pool.returned) == (0, 0, 1)  # (on a fresh state: nothing to keep)
        assert await node.process.exec("app:proc", None, "secret = 'carol' return 'second'") == "second"
        assert (pool.live, pool.idle) == (1, 1)  # the second ran on a new pooled state, kept for the next one
        assert await node.process.exec("app:proc", None, "return secret or 'none'") == "none"
        assert await node.process.exec("app:proc", None, "secret = 'bob' return 'fourth'") == "fourth"
        assert await node.process.exec("app:proc", None, "return secret or 'none'") == "none"
        assert pool.reused == 3 and pool.live == 1


async def test_a_process_entry_whose_processes_never_end_has_no_pooled_state(tmp_path):
    async with pidflow.open_node(_registry(tmp_path)) as node:
        pids = [await node.process.spawn("app:forever") for _ in range(5)]
        await trio.testing.wait_all_tasks_blocked()
        pool = _pool(node, "app:forever")
        assert (pool.live, pool.idle, pool.created) == (0, 0, 6)  # one at build time (compile check), 5 fresh
        for pid in pids:
            await node.process.terminate(pid)


async def test_a_pooled_process_keeps_its_own_pid_and_inbox(tmp_path):
    async with pidflow.open_node(_registry(tmp_path)) as node:
        code = ("process.send(process.pid(), 'self', 7) "
                "return {process.pid(), process.inbox():receive():payload():data()}")
        runs = [await node.process.exec("app:proc", None, code) for _ in range(3)]
        assert [r[1] for r in runs] == [7, 7, 7] and len({r[0] for r in runs}) == 3
        assert _pool(node, "app:proc").reused == 1  # the third ran on the second's state


PROCESS_ADVERSARY = """
-- a process on a pooled state: spoils the process module (built once per state) and uses what it builds per run
local me = process.pid()
local ch = process.listen("topic")           -- a member this run makes (and the module's Python side notes it)
process.unlisten(ch)
process.send(me, "self", 1)                  -- the message constructor, made on the first message
process.inbox():receive()
process.send = function() error("evil send") end
process.pid = function() return "{evil|1}" end
local mt = getmetatable(process)
if type(mt) == "table" then mt.__index = function() return "evil member" end end
process.send_named_leak = true
rawset(_G, "x", 1)
return tostring(me)
"""

PROCESS_CHECK = """
local ch = process.listen("other")          -- the listen member, made again in this run
process.send(process.pid(), "hello", 5)      -- send and pid are the module's own again
local msg = process.inbox():receive()
process.unlisten(ch)
return {msg:payload():data(), process.send_named_leak == nil, x == nil, type(process.spawn), process.pid()}
"""


async def test_a_pooled_process_state_and_its_process_module_are_clean_after_a_run(tmp_path):
    async with pidflow.open_node(_registry(tmp_path)) as node:
        pool = _pool(node, "app:proc")
        await node.process.exec("app:proc", None, "return 1")  # seeds the pool
        await node.process.exec("app:proc", None, "return 2")  # on a new pooled state, kept
        proc = pool._idle[0]
        clean = _fingerprint(proc._rt)
        objects = [(obj, dict(state)) for obj, state in proc._rt.clean_objects]
        assert objects, "the process module was built before the clean point"
        first = await node.process.exec("app:proc", None, PROCESS_ADVERSARY)
        assert pool._idle == [proc] and pool.reused == 1
        assert _fingerprint(proc._rt) == clean
        for obj, state in objects:  # the module's Python side is as it was at the clean point
            assert {name: getattr(obj, name) for name in state} == state
        out = await node.process.exec("app:proc", None, PROCESS_CHECK)
        assert out[:4] == [5, True, True, "function"] and out[4] != first
        assert pool.reused == 2


async def test_pooled_states_are_never_deterministic():
    from lua_helpers import DeterministicBackend, make_process

    with pytest.raises(ValueError, match="cannot be pooled"):
        make_process("return {main = function() end}", backend=DeterministicBackend(), pooled=True)


async def test_a_fresh_pooled_state_is_not_used_before_it_was_rearmed():
    from lua_helpers import make_process

    proc = make_process("return {main = function() return ctx_value end}", modules=[], pooled=True)
    assert await proc.run(None) is None
    assert proc.recycle(TrioBackend())
    proc.rearm(TrioBackend(context={"a": 1}))
    assert await proc.run(None) is None
    with pytest.raises(RuntimeError, match="runs only once"):
        await proc.run(None)
