"""Lua <-> Python value conversion (pidflow/lua_bindings/_values.py)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pidflow._pid import Pid
from pidflow.errors import Error, ErrorKind

from lua_helpers import main_body, make_process, run_lua

pytestmark = pytest.mark.trio

ECHO = main_body("return input")

scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.text(),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children.filter(lambda v: v is not None), max_size=5),
        st.dictionaries(st.text(min_size=1), children, max_size=5),
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(values)
async def test_python_values_round_trip_through_lua(value):
    assert await make_process(ECHO).run(value) == value


async def test_integer_and_float_subtypes_are_kept(lua):
    assert await lua("return {math.type(input[1]), math.type(input[2]), 3, 3.0}", [1, 1.0]) == ["integer", "float", 3, 3.0]


async def test_invalid_utf8_string_becomes_bytes(lua):
    assert await lua(r'return "\255\000x"') == b"\xff\x00x"


async def test_bytes_pass_into_lua_as_strings(lua):
    assert await lua("return #input", b"\x00\x01\x02") == 3


async def test_empty_table_becomes_dict_and_empty_list_stays_list(lua):
    assert await lua("return {a = {}, b = input}", []) == {"a": {}, "b": []}


async def test_table_with_holes_becomes_list_with_none(lua):
    assert await lua("return {1, nil, 3}") == [1, None, 3]


async def test_sparse_integer_keys_become_dict(lua):
    assert await lua("return {[1] = 'a', [10] = 'b'}") == {1: "a", 10: "b"}


async def test_mixed_keys_become_dict(lua):
    assert await lua("return {1, 2, x = 3}") == {1: 1, 2: 2, "x": 3}


async def test_none_in_dict_is_dropped(lua):
    assert await lua("return input", {"a": None, "b": 1}) == {"b": 1}


async def test_too_large_integer_is_invalid():
    with pytest.raises(Error, match="does not fit in a Lua integer") as info:
        await run_lua(ECHO, 2**64)
    assert info.value.kind is ErrorKind.INVALID


async def test_a_pid_crosses_as_its_string_and_comes_back_a_str(lua):
    pid = Pid("app:processes", "17", "node-a")
    out = await lua("return {pid = input, t = type(input), s = tostring(input), key = ({[input] = 1})[tostring(input)]}",
                    pid)
    assert out == {"pid": "{app:processes@node-a|17}", "t": "string", "s": "{app:processes@node-a|17}", "key": 1}


async def test_pids_compare_equal_by_string_form(lua):
    assert await lua("return input[1] == input[2]", [Pid("h", "1"), Pid("h", "1")]) is True


async def test_error_value_has_methods_and_round_trips(lua):
    err = Error(ErrorKind.NOT_FOUND, "no such order", retryable=False)
    out = await lua("return {input:kind(), input:message(), input:retryable(), tostring(input), input}", err)
    assert out == ["NOT_FOUND", "no such order", False, "no such order", err]


async def test_function_value_cannot_be_returned(lua):
    with pytest.raises(Error, match="Lua function cannot be converted"):
        await lua("return {f = print}")


async def test_cyclic_table_is_invalid(lua):
    with pytest.raises(Error, match="nested deeper"):
        await lua("local t = {} t.t = t return t")


async def test_nan_float_passes(lua):
    assert math.isnan(await lua("return input", float("nan")))


async def test_as_pid_accepts_string_form():
    from pidflow.lua_bindings import as_pid

    assert as_pid("{app:w|order-1}") == Pid("app:w", "order-1")
    with pytest.raises(Error):
        as_pid(3)
