"""The sandbox, capabilities, memory limit, syntax errors and preemption (_sandbox.py, _runtime.py, _driver.py)."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from pidflow.errors import Error, ErrorKind
from pidflow.lua_bindings import Budget, TrioBackend, compile_check

from lua_helpers import main_body, make_process

pytestmark = pytest.mark.trio


@pytest.mark.parametrize("name", [
    "io", "debug", "package", "dofile", "loadfile", "python",
    "os.execute", "os.exit", "os.remove", "os.rename", "os.tmpname", "os.getenv", "string.dump",
])
async def test_dangerous_global_is_removed(lua, name):
    assert await lua(f"return {name} == nil") is True


async def test_load_refuses_binary_chunks(lua):
    with pytest.raises(Error, match="only text chunks"):
        await lua('load("x", "x", "b")')


async def test_load_of_text_still_works(lua):
    assert await lua('return load("return 1 + 2")()') == 3


async def test_collectgarbage_stop_is_refused(lua):
    with pytest.raises(Error, match="collectgarbage\\('stop'\\) is not allowed"):
        await lua('collectgarbage("stop")')


async def test_require_of_unlisted_module_is_permission_denied(lua):
    with pytest.raises(Error, match="module json is not allowed for entry app:test") as info:
        await lua('require("json")', modules=[])
    assert info.value.kind is ErrorKind.PERMISSION_DENIED


async def test_an_entrys_modules_are_globals_too_and_unlisted_ones_are_not(lua):
    """Code written for the seed runtime uses its declared modules unrequired (`json.encode(...)`)."""
    out = await lua("""
        local a = json.encode({1})
        local same = json == require("json")
        return {a, same, time == nil, uuid == nil}
    """, modules=["json"])
    assert out == ["[1]", True, True, True]


async def test_require_of_unknown_module_is_not_found(lua):
    with pytest.raises(Error, match="no such module") as info:
        await lua('require("nope")', modules=["nope"])
    assert info.value.kind is ErrorKind.NOT_FOUND


async def test_require_returns_the_same_module_twice(lua):
    assert await lua('return require("time") == require("time")') is True


async def test_python_callable_attributes_are_not_reachable(lua):
    # module functions are Lua closures over the driver's dispatcher: no Python object to index at all
    with pytest.raises(Error, match="attempt to index a function value"):
        await lua('local f = require("uuid").v4 return f.__globals__')


async def test_python_object_attributes_are_refused():
    from pidflow.lua_bindings._runtime import Runtime

    rt = Runtime(max_memory=1 << 22, deterministic=False, check=None, src_poll=print, require=print)
    rt.lua.globals().f = print
    with pytest.raises(Exception, match="cannot access attributes of Python objects"):
        rt.lua.execute("return f.__self__")


async def test_memory_limit_fails_the_process(lua):
    with pytest.raises(Error, match="exceeded its Lua memory limit of 2097152 bytes") as info:
        await lua("local t = {} for i = 1, 1e8 do t[i] = i end", max_memory=2 * 1024 * 1024)
    assert info.value.kind is ErrorKind.INTERNAL and not info.value.retryable


async def test_syntax_error_names_file_and_line():
    with pytest.raises(Error, match=r"lua syntax error: orders/flow.lua:3:") as info:
        compile_check("local x = 1\n\nlocal = 2\n", "orders/flow.lua")
    assert info.value.kind is ErrorKind.INVALID
    assert info.value.details == {"file": "orders/flow.lua", "line": 3}


async def test_compile_check_accepts_valid_source():
    compile_check("return {main = function() end}", "ok.lua")


async def test_process_construction_reports_syntax_error():
    with pytest.raises(Error, match=r"bad.lua:1:") as info:
        make_process("return {", path="bad.lua")
    assert info.value.kind is ErrorKind.INVALID


# ---------------------------------------------------------------- preemption

BUSY = main_body("while true do end")


@pytest.mark.timeout(20)
async def test_busy_loop_does_not_block_other_trio_tasks_and_terminate_stops_it():
    proc = make_process(BUSY)
    ticks = 0
    async with trio.open_nursery() as nursery:
        async def other():
            nonlocal ticks
            for _ in range(20):
                await trio.lowlevel.checkpoint()
                ticks += 1
            proc.terminate()

        nursery.start_soon(other)
        with pytest.raises(Error, match="was terminated") as info:
            await proc.run()
    assert ticks == 20
    assert info.value.kind is ErrorKind.TERMINATED


@pytest.mark.timeout(20)
async def test_cancelling_the_runner_stops_a_busy_loop():
    proc = make_process(BUSY)
    with trio.move_on_after(0.05) as scope:
        await proc.run()
    assert scope.cancelled_caught


@pytest.mark.timeout(20)
async def test_terminate_is_not_caught_by_pcall():
    proc = make_process(main_body("while true do pcall(function() while true do end end) end"))
    async with trio.open_nursery() as nursery:
        async def stop():
            await trio.lowlevel.checkpoint()
            proc.terminate()

        nursery.start_soon(stop)
        with pytest.raises(Error, match="was terminated"):
            await proc.run()


@pytest.mark.timeout(20)
async def test_busy_loop_inside_user_coroutine_is_preempted_too():
    proc = make_process(main_body("local co = coroutine.wrap(function() while true do end end) co()"))
    async with trio.open_nursery() as nursery:
        async def stop():
            for _ in range(5):
                await trio.lowlevel.checkpoint()
            proc.terminate()

        nursery.start_soon(stop)
        with pytest.raises(Error, match="was terminated"):
            await proc.run()


@pytest.mark.timeout(20)
async def test_budget_policy_fails_long_computation_naming_the_entry():
    proc = make_process(BUSY, backend=TrioBackend(preemption=Budget(seconds=0.05)), entry_id="app:order_workflow")
    with pytest.raises(Error, match="app:order_workflow ran Lua for more than 0.05 s.*funcs.call") as info:
        await proc.run()
    assert info.value.kind is ErrorKind.INTERNAL and not info.value.retryable
