"""The built-in modules: json, uuid, crypto, ctx (_stdlib.py); errors and funcs: test_lua_errors.py,
test_lua_funcs.py; time: test_lua_time.py."""

from __future__ import annotations

import re

import pytest

from pidflow.lua_bindings import TrioBackend

pytestmark = pytest.mark.trio


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


# ---------------------------------------------------------------- ctx

async def test_ctx_get_and_all_read_the_backend_context(lua):
    backend = TrioBackend(context={"user_id": "user-1", "tenant": "t"})
    assert await lua("local ctx = require('ctx') return {ctx.get('user_id'), ctx.get('missing') == nil, ctx.all()}",
                     backend=backend) == ["user-1", True, {"user_id": "user-1", "tenant": "t"}]
