"""Deterministic mode (workflows): canonical pairs/next, deterministic os/math (_sandbox.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pidflow.errors import Error

from lua_helpers import DeterministicBackend

pytestmark = pytest.mark.trio

ORDER_SCRIPT = r"""
import json, sys, trio
sys.path.insert(0, sys.argv[1])
from lua_helpers import DeterministicBackend, main_body, run_lua
src = main_body('''
    local t = {}
    for i = 1, 200 do t["key" .. i] = i end
    t[3] = "three"; t[1] = "one"; t[2.5] = "x"; t[true] = "t"
    local order = {}
    for k in pairs(t) do order[#order + 1] = tostring(k) end
    local k, n = nil, 0
    repeat k = next(t, k); n = n + 1 until k == nil
    local enc = require("json").encode({b = 1, a = 2, c = {z = 1, y = 2}})
    return {order = order, steps = n, json = enc}
''')
print(json.dumps(trio.run(lambda: run_lua(src, backend=DeterministicBackend()))))
"""


async def test_pairs_order_is_identical_across_fresh_processes():
    here = str(Path(__file__).parent)
    outs = [
        subprocess.run([sys.executable, "-c", ORDER_SCRIPT, here], capture_output=True, text=True, check=True).stdout
        for _ in range(2)
    ]
    assert outs[0] == outs[1]
    result = json.loads(outs[0])
    assert result["order"][:4] == ["1", "2.5", "3", "key1"]
    assert result["order"][-1] == "true"
    assert result["steps"] == 205
    assert result["json"] == '{"a":2,"b":1,"c":{"y":2,"z":1}}'


async def test_pairs_with_table_keys_fails_clearly(lua):
    with pytest.raises(Error, match="table keys has no deterministic order"):
        await lua("for k in pairs({[{}] = 1}) do end", backend=DeterministicBackend())


async def test_pairs_skips_keys_removed_during_iteration(lua):
    assert await lua("""
        local t, seen = {a = 1, b = 2, c = 3}, {}
        for k in pairs(t) do seen[#seen + 1] = k; t.b = nil end
        return seen
    """, backend=DeterministicBackend()) == ["a", "c"]


async def test_os_time_and_date_come_from_the_backend(lua):
    assert await lua("return {os.time(), os.date('%Y-%m-%d %H:%M:%S')}", backend=DeterministicBackend()) \
        == [1_700_000_000, "2023-11-14 22:13:20"]


async def test_math_random_comes_from_the_backend(lua):
    body = "local r = {} for i = 1, 5 do r[i] = math.random(1, 100) end r[6] = math.random() return r"
    a = await lua(body, backend=DeterministicBackend(seed=1))
    b = await lua(body, backend=DeterministicBackend(seed=1))
    assert a == b and all(1 <= x <= 100 for x in a[:5]) and 0 <= a[5] < 1


@pytest.mark.parametrize("call, message", [
    ("os.clock()", "os.clock is not deterministic"),
    ("math.randomseed(1)", "math.randomseed is not available in workflows"),
    ("os.time({year = 2020, month = 1, day = 1})", "depends on the local timezone"),
])
async def test_non_deterministic_call_fails_clearly(lua, call, message):
    with pytest.raises(Error, match=message):
        await lua(call, backend=DeterministicBackend())


async def test_uuid_and_random_bytes_come_from_the_backend(lua):
    body = "return {require('uuid').v4(), require('crypto').random_bytes(4)}"
    assert await lua(body, backend=DeterministicBackend(seed=3)) == await lua(body, backend=DeterministicBackend(seed=3))
