"""The built-in modules: time, json, uuid, crypto, errors, ctx, funcs (_stdlib.py, _durations.py)."""

from __future__ import annotations

import re

import pytest
import trio

from pidflow.errors import Error, ErrorKind
from pidflow.lua_bindings import TrioBackend, parse_duration

pytestmark = pytest.mark.trio


# ---------------------------------------------------------------- time

async def test_time_constants_are_milliseconds(lua):
    assert await lua("local t = require('time') return {t.MILLISECOND, t.SECOND, t.MINUTE, t.HOUR, t.MICROSECOND}") \
        == [1, 1000, 60000, 3600000, 0.001]


@pytest.mark.parametrize("duration, seconds", [("100ms", 0.1), ("5s", 5), ("10m", 600), ("1h", 3600), ("1h30m", 5400), (250, 0.25)])
async def test_sleep_accepts_strings_and_milliseconds(lua, autojump_clock, duration, seconds):
    start = trio.current_time()
    await lua("require('time').sleep(input)", duration)
    assert trio.current_time() - start == pytest.approx(seconds)


async def test_bad_duration_is_invalid_naming_the_value(lua):
    with pytest.raises(Error, match="invalid duration '5 parsecs'") as info:
        await lua("require('time').sleep('5 parsecs')")
    assert info.value.kind is ErrorKind.INVALID


async def test_now_sub_gives_elapsed_milliseconds(lua, autojump_clock):
    backend = TrioBackend()
    clock = iter([1_000_000_000, 2_500_000_000])
    backend.now_ns = lambda: next(clock)
    assert await lua("""
        local time = require("time")
        local start = time.now()
        local d = time.now():sub(start)
        return {d:milliseconds(), d:seconds(), tostring(d), start:unix(), start:unix_nano(), tostring(start)}
    """, backend=backend) == [1500, 1.5, "1.5s", 1, 1_000_000_000, "1970-01-01T00:00:01Z"]


async def test_after_delivers_a_time_value(lua, autojump_clock):
    assert await lua("local time = require('time') local v = time.after(10):receive() return getmetatable(v).__name") == "time"


async def test_duration_from_string_compares(lua):
    assert await lua("local t = require('time') return {t.duration('1m') == t.duration(60000), tostring(t.duration('1h30m'))}") \
        == [True, "1h30m0s"]


async def test_parse_duration_rejects_negative_and_garbage():
    assert parse_duration("1.5s") == 1.5
    for bad in (-1, "", "5", "1x", True, float("inf")):
        with pytest.raises(Error, match="invalid duration"):
            parse_duration(bad)


# ---------------------------------------------------------------- json

async def test_json_round_trip(lua):
    assert await lua("""
        local json = require("json")
        local s = json.encode({a = 1, b = {1, 2.5, "x"}, c = {}, d = true})
        local v = json.decode(s)
        return {v.a, v.b[2], v.d, math.type(v.a)}
    """) == [1, 2.5, True, "integer"]


async def test_json_encode_empty_table_is_object_and_empty_array_is_array(lua):
    assert await lua("local json = require('json') return {json.encode({}), json.encode(json.decode('[]'))}") == ["{}", "[]"]


async def test_json_decode_error_is_nil_err(lua):
    assert await lua("local v, err = require('json').decode('{nope') return {v == nil, err:kind()}") == [True, "INVALID"]


async def test_json_encode_of_function_is_nil_err(lua):
    assert await lua("local v, err = require('json').encode({f = print}) return err:kind()") == "INVALID"


# ---------------------------------------------------------------- uuid, crypto

async def test_uuid_v4_is_a_uuid_string(lua):
    out = await lua("return require('uuid').v4()")
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", out)


async def test_random_bytes_returns_n_bytes(lua):
    assert await lua("return #require('crypto').random_bytes(32)") == 32


async def test_random_bytes_rejects_negative_count(lua):
    assert await lua("local v, err = require('crypto').random_bytes(-1) return err:kind()") == "INVALID"


# ---------------------------------------------------------------- errors

async def test_errors_new_builds_error_with_default_retryable(lua):
    out = await lua("""
        local e1 = errors.new{kind = errors.TIMEOUT, message = "slow"}
        local e2 = errors.new{kind = "NOT_FOUND", message = "gone", retryable = true}
        return {e1:retryable(), e2:retryable(), errors.is(e2, "NOT_FOUND"), errors.is("x"), tostring(e1)}
    """)
    assert out == [True, True, True, False, "TIMEOUT: slow"]


async def test_errors_new_with_unknown_kind_is_invalid(lua):
    with pytest.raises(Error, match="unknown kind 'WAT'") as info:
        await lua("errors.new{kind = 'WAT'}")
    assert info.value.kind is ErrorKind.INVALID


async def test_raised_error_object_keeps_its_kind(lua):
    with pytest.raises(Error) as info:
        await lua("error(errors.new{kind = 'CONFLICT', message = 'dup'})")
    assert info.value == Error(ErrorKind.CONFLICT, "dup")


# ---------------------------------------------------------------- ctx

async def test_ctx_get_and_all_read_the_backend_context(lua):
    backend = TrioBackend(context={"user_id": "user-1", "tenant": "t"})
    assert await lua("local ctx = require('ctx') return {ctx.get('user_id'), ctx.get('missing') == nil, ctx.all()}",
                     backend=backend) == ["user-1", True, {"user_id": "user-1", "tenant": "t"}]


# ---------------------------------------------------------------- funcs

async def test_funcs_call_passes_entry_args_and_options():
    calls = []

    async def call_function(entry, args, options):
        calls.append((entry, args, options))
        return {"id": "pay-1"}

    from lua_helpers import main_body, make_process
    proc = make_process(main_body("""
        local funcs = require("funcs")
        local a = funcs.call("app:charge", {amount = 5}, 2)
        local ex = funcs.new():with_options({["activity.retry_policy"] = {maximum_attempts = 1}})
        local b = ex:call("app:refund", a.id)
        return {a.id, b.id}
    """), backend=TrioBackend(call_function=call_function))
    assert await proc.run() == ["pay-1", "pay-1"]
    assert calls == [
        ("app:charge", [{"amount": 5}, 2], {}),
        ("app:refund", ["pay-1"], {"activity.retry_policy": {"maximum_attempts": 1}}),
    ]


async def test_funcs_call_failure_is_nil_err(lua):
    async def call_function(entry, args, options):
        raise Error(ErrorKind.NOT_FOUND, "no such order", retryable=False)

    assert await lua("""
        local r, err = require("funcs").call("app:x")
        return {r == nil, err:kind(), err:retryable(), err:message()}
    """, backend=TrioBackend(call_function=call_function)) == [True, "NOT_FOUND", False, "no such order"]
