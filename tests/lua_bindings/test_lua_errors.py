"""The ``errors`` Lua module and error values (_errors_module.py, the error part of _core_values.lua): kinds,
``errors.new``/``wrap``/``is``/``call_stack``, the methods, ``tostring`` and ``..``, bad arguments, and what
crosses between Lua and Python."""

from __future__ import annotations

import pytest

from pidflow.errors import Error, ErrorKind
from pidflow.lua_bindings import TrioBackend

pytestmark = pytest.mark.trio

KINDS = ["UNKNOWN", "INVALID", "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "UNAVAILABLE", "INTERNAL",
         "CANCELED", "CONFLICT", "TIMEOUT", "RATE_LIMITED"]


# ---------------------------------------------------------------- kinds

async def test_every_kind_of_the_api_is_a_constant(lua):
    out = await lua("local t = {} for _, k in ipairs(input) do t[#t + 1] = errors[k] end return t", KINDS)
    assert out == KINDS


async def test_pidflow_kinds_beyond_the_api_stay(lua):
    assert await lua("return {errors.TERMINATED, errors.NON_DETERMINISTIC}") == ["TERMINATED", "NON_DETERMINISTIC"]


async def test_the_seed_runtimes_kind_spellings_are_read_as_the_constants(lua):
    out = await lua("""
        local e = errors.new{message = "m", kind = "NotFound"}
        local u = errors.new{message = "m", kind = ""}
        return {e:kind(), errors.is(e, "NotFound"), errors.is(e, errors.NOT_FOUND), u:kind(),
                errors.new{message = "m", kind = "RateLimited"}:kind()}
    """)
    assert out == ["NOT_FOUND", True, True, "UNKNOWN", "RATE_LIMITED"]


# ---------------------------------------------------------------- new

async def test_new_with_a_message_is_unknown_with_retryable_and_details_nil(lua):
    out = await lua("""
        local e = errors.new("something went wrong")
        return {e:kind(), e:message(), e:retryable() == nil, e:details() == nil, tostring(e)}
    """)
    assert out == ["UNKNOWN", "something went wrong", True, True, "something went wrong"]


async def test_new_with_a_table_sets_every_field(lua):
    out = await lua("""
        local e = errors.new({message = "user not found", kind = errors.NOT_FOUND, retryable = false,
                              details = {user_id = 123, nested = {a = {1, 2}}}})
        local d = e:details()
        return {e:kind(), e:message(), e:retryable(), d.user_id, d.nested.a[2]}
    """)
    assert out == ["NOT_FOUND", "user not found", False, 123, 2]


async def test_retryable_is_what_the_code_said_or_nil(lua):
    out = await lua("""
        return {errors.new{message = "a", retryable = true}:retryable(),
                errors.new{message = "b", retryable = false}:retryable(),
                errors.new{message = "c", kind = errors.TIMEOUT}:retryable() == nil}
    """)
    assert out == [True, False, True]


async def test_empty_details_are_no_details(lua):
    assert await lua("return errors.new{message = 'e', details = {}}:details() == nil") is True


async def test_new_reads_the_kind_and_message_form_of_the_seed_docs(lua):
    out = await lua("""
        local e = errors.new(errors.TIMEOUT, "Operation timed out")
        local plain = errors.new("not a kind", "ignored")
        return {e:kind(), e:message(), plain:kind(), plain:message()}
    """)
    assert out == ["TIMEOUT", "Operation timed out", "UNKNOWN", "not a kind"]


@pytest.mark.parametrize("call, named", [
    ("errors.new(5)", "bad argument #1 to 'errors.new' (string or table expected, got number)"),
    ("errors.new()", "bad argument #1 to 'errors.new' (string or table expected, got nil)"),
    ("errors.new{kind = errors.INVALID}", "field 'message' must be a string, got nil"),
    ("errors.new{message = 7}", "field 'message' must be a string, got number"),
    ("errors.new{message = 'm', kind = 'WAT'}", "unknown kind 'WAT'"),
    ("errors.new{message = 'm', kind = 3}", "kind must be a string (errors.X), got number"),
    ("errors.new{message = 'm', retryable = 'yes'}", "field 'retryable' must be a boolean or nil, got string"),
    ("errors.new{message = 'm', details = 'd'}", "field 'details' must be a table or nil, got string"),
    ("errors.wrap(nil, 'ctx')", "bad argument #1 to 'errors.wrap' (error or string expected, got nil)"),
    ("errors.wrap(errors.new('x'), 5)", "bad argument #2 to 'errors.wrap' (string expected, got number)"),
    ("errors.is(errors.new('x'), 5)", "bad argument #2 to 'errors.is' (kind must be a string"),
    ("errors.is(errors.new('x'), 'WAT')", "bad argument #2 to 'errors.is' (unknown kind 'WAT')"),
])
async def test_bad_arguments_raise_a_lua_error_naming_the_argument_at_the_callers_line(lua, call, named):
    # (not `return errors.new(...)`: a tail call leaves no frame for the position, in Lua's own checks too)
    out = await lua(f"local ok, err = pcall(function() local v = {call} return v end) return {{ok, err}}")
    assert out[0] is False
    assert named in out[1] and out[1].startswith("test.lua:2: "), out[1]


async def test_an_uncaught_bad_argument_ends_the_process_with_its_line(lua):
    with pytest.raises(Error, match=r"test.lua:2: bad argument #1 to 'errors.new'") as info:
        await lua("errors.new(true)")
    assert info.value.kind is ErrorKind.INTERNAL


# ---------------------------------------------------------------- wrap, is

async def test_wrap_prefixes_the_message_and_keeps_kind_retryable_and_details(lua):
    out = await lua("""
        local inner = errors.new{message = "inner error", kind = errors.INVALID, retryable = true, details = {code = 42}}
        local outer = errors.wrap(inner, "outer context")
        local twice = errors.wrap(outer, "top")
        return {outer:kind(), outer:retryable(), outer:message(), outer:details().code, tostring(outer),
                twice:message(), twice:kind(), inner:message()}
    """)
    assert out == ["INVALID", True, "outer context: inner error", 42, "outer context: inner error",
                   "top: outer context: inner error", "INVALID", "inner error"]


async def test_wrap_of_a_plain_string_is_an_unknown_error(lua):
    out = await lua("""
        local e = errors.wrap("string error", "context")
        return {e:kind(), e:message(), e:retryable() == nil}
    """)
    assert out == ["UNKNOWN", "context: string error", True]


async def test_wrap_keeps_a_retryable_nil_nil(lua):
    assert await lua("return errors.wrap(errors.new('x'), 'c'):retryable() == nil") is True


async def test_is_matches_the_kind_of_error_values_only(lua):
    out = await lua("""
        local e = errors.new{message = "timeout", kind = errors.TIMEOUT}
        return {errors.is(e, errors.TIMEOUT), errors.is(e, errors.NOT_FOUND), errors.is("not an error", errors.TIMEOUT),
                errors.is(nil, errors.TIMEOUT), errors.is({}, errors.TIMEOUT), errors.is(e), errors.is("x")}
    """)
    assert out == [True, False, False, False, False, True, False]


# ---------------------------------------------------------------- strings

async def test_tostring_and_concatenation_give_the_message(lua):
    out = await lua("""
        local e = errors.new{message = "test error", kind = errors.CONFLICT}
        local e2 = errors.new("another error")
        return {tostring(e), "prefix: " .. e, e .. " :suffix", e .. e2, 1 .. e, e .. 2.5}
    """)
    assert out == ["test error", "prefix: test error", "test error :suffix", "test erroranother error",
                   "1test error", "test error2.5"]


async def test_concatenating_an_error_with_what_lua_cannot_concatenate_raises(lua):
    out = await lua("""
        local e = errors.new("x")
        local ok1, err1 = pcall(function() return e .. nil end)
        local ok2, err2 = pcall(function() return {} .. e end)
        return {ok1, err1, ok2, err2}
    """)
    assert out[0] is False and "attempt to concatenate a nil value" in out[1]
    assert out[2] is False and "attempt to concatenate a table value" in out[3]


async def test_print_shows_the_message(lua, caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="pidflow.lua"):
        await lua("print(errors.new{message = 'shown', kind = errors.INVALID})")
    assert "shown" in caplog.text and "INVALID" not in caplog.text


# ---------------------------------------------------------------- stack

async def test_stack_is_the_lua_traceback_of_where_the_error_was_made(lua):
    out = await lua("""
        local function inner_func() local e = errors.new("stack test") return e end
        local function outer_func() local e = inner_func() return e end
        local err = outer_func()
        local cs = errors.call_stack(err)
        return {err:stack(), cs.frames[1].source, cs.frames[1].line, cs.frames[1].name, cs.frames[2].name}
    """)
    stack, source, line, name, caller = out
    assert stack.startswith("stack traceback:\n")
    assert "test.lua:3: in " in stack and "inner_func" in stack and "test.lua:4: in " in stack
    assert (source, line, name, caller) == ("test.lua", 3, "inner_func", "outer_func")


async def test_a_wrapped_errors_stack_holds_both_places(lua):
    stack = await lua("""
        local inner = errors.new("in")
        local outer = errors.wrap(inner, "out")
        return outer:stack()
    """)
    outer, _, inner = stack.partition("\nwrapped stack traceback:\n")
    assert "test.lua:4: in " in outer and "test.lua:3: in " in inner


async def test_an_error_from_python_has_no_lua_stack_but_its_python_traceback(lua):
    out = await lua("""
        local _, err = require("json").decode(5)
        return {err:kind(), err:stack(), input:stack(), errors.call_stack(err) == nil}
    """, Error(ErrorKind.INTERNAL, "boxed", details={"traceback": "Traceback (most recent call last): ..."}))
    assert out == ["INVALID", "", "Traceback (most recent call last): ...", True]


async def test_error_methods_called_on_something_else_say_so(lua):
    out = await lua("""
        local e = errors.new("x")
        local ok, err = pcall(function() return e.kind() end)
        return {ok, err}
    """)
    assert out[0] is False and "error method called on a nil (use err:kind())" in out[1]


async def test_an_error_value_is_opaque_to_getmetatable(lua):
    assert await lua("return getmetatable(errors.new('x'))") == "error"


# ---------------------------------------------------------------- crossing into Python and back

async def test_a_python_errors_retryable_reaches_lua_as_it_is(lua):
    out = await lua("return {input[1]:retryable(), input[2]:retryable(), input[3]:kind(), input[3]:retryable()}",
                    [Error(ErrorKind.INVALID, "a", retryable=True), Error(ErrorKind.TIMEOUT, "b", retryable=False),
                     Error(ErrorKind.RATE_LIMITED, "c")])
    assert out == [True, False, "RATE_LIMITED", True]


@pytest.mark.parametrize("kind, retryable", [("UNKNOWN", False), ("RATE_LIMITED", True), ("TIMEOUT", True),
                                             ("NOT_FOUND", False)])
async def test_a_lua_error_with_retryable_nil_gets_its_kinds_default_in_python(lua, kind, retryable):
    with pytest.raises(Error) as info:
        await lua(f"return nil, errors.new{{message = 'm', kind = errors.{kind}}}")
    assert (info.value.kind, info.value.retryable) == (ErrorKind(kind), retryable)


async def test_a_lua_errors_explicit_retryable_and_details_cross_into_python(lua):
    with pytest.raises(Error) as info:
        await lua("return nil, errors.new{message = 'm', kind = errors.UNKNOWN, retryable = true, details = {a = 1}}")
    assert (info.value.kind, info.value.retryable, info.value.details) == (ErrorKind.UNKNOWN, True, {"a": 1})


async def test_a_raised_error_object_keeps_its_kind(lua):
    with pytest.raises(Error) as info:
        await lua("error(errors.new{kind = 'CONFLICT', message = 'dup'})")
    assert info.value == Error(ErrorKind.CONFLICT, "dup")


async def test_errors_cross_a_function_call_both_ways():
    from lua_helpers import main_body, make_process

    seen = []

    async def call_function(entry, args, options):
        seen.append(args[0])
        raise Error(ErrorKind.RATE_LIMITED, "quota", retryable=False, details={"left": 0})

    proc = make_process(main_body("""
        local v, err = require("funcs").call("app:limited", errors.new{message = "sent", kind = errors.CONFLICT})
        return {v == nil, err:kind(), err:retryable(), err:message(), err:details().left}
    """), backend=TrioBackend(call_function=call_function))
    assert await proc.run() == [True, "RATE_LIMITED", False, "quota", 0]
    assert seen == [Error(ErrorKind.CONFLICT, "sent", retryable=False)]
