"""Converting a Lua value to Python runs outside the pre-emptible step (Python calls the core's helpers), so it
must never run a metamethod of the process's own: an ``__eq`` handed back by ``getmetatable`` through a
``__metatable`` field used to run there, where a loop could not be pre-empted and hung the node."""

from __future__ import annotations

import pytest
import trio

from lua_helpers import main_body, make_process

pytestmark = pytest.mark.trio


async def test_a_returned_table_whose_metatable_names_a_looping_eq_converts_without_running_it():
    proc = make_process(main_body("""
        local evil = setmetatable({}, {__eq = function() while true do end end})
        return {setmetatable({}, {__metatable = evil}), setmetatable({}, {__metatable = evil, __index = evil})}
    """), modules=[])
    with trio.fail_after(5):
        assert await proc.run(None) == [{}, {}]


async def test_an_eq_that_answers_true_does_not_make_a_table_an_array():
    proc = make_process(main_body("""
        local liar = setmetatable({}, {__eq = function() return true end})
        return setmetatable({}, {__metatable = liar})
    """), modules=[])
    assert await proc.run(None) == {}


@pytest.mark.parametrize("n", [1, 31, 32, 33, 100])
async def test_tables_either_side_of_the_one_call_size_convert_the_same_and_raw(n):
    # up to 32 entries a table comes to Python with its contents in one call (classify), beyond that in three
    # (flat_map, unpack): the results must not differ, holes included, and no __index may run in either
    proc = make_process(main_body(f"""
        local n = {n}
        local loop = {{__index = function() while true do end end}}
        local arr, holes, map = setmetatable({{}}, loop), {{}}, setmetatable({{}}, loop)
        for i = 1, n do arr[i] = i * 10; map["k" .. i] = i end
        for i = 1, n, 2 do holes[i] = i end
        return {{arr, holes, map}}
    """), modules=[])
    with trio.fail_after(5):
        arr, holes, mapping = await proc.run(None)
    assert arr == [i * 10 for i in range(1, n + 1)]
    assert holes == [i if i % 2 else None for i in range(1, n + 1 - (n + 1) % 2)]
    assert mapping == {f"k{i}": i for i in range(1, n + 1)}
