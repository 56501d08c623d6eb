"""Fuzzing the Lua <-> Python boundary (issue 9): generated values cross both ways (nested tables, big strings, odd
and non-string keys, floats, NaN, integers at the limits) into memory-limited Lua processes. Every crossing
either succeeds or raises a clean :class:`pidflow.Error`; never an interpreter abort, a hang or a stray Python
exception.

The crossings run in one child interpreter (a worker reading pickled cases on stdin), so that a regression that
aborts or freezes shows up as a failed example, not as a dead pytest; a dead worker is replaced.
"""

from __future__ import annotations

import base64
import json
import math
import pickle
import subprocess
import sys
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pidflow import Error, Pid

from isolation_helpers import HERE, REPO

WORKER = textwrap.dedent("""
    import base64, json, pickle, sys, trio
    sys.path.insert(0, {here!r})
    import pidflow
    from pidflow._mailbox import Mailbox
    from pidflow.lua_bindings import register_module
    from lua_helpers import main_body, make_process

    BOX = {{}}
    register_module("box", lambda ctx: ctx.table(inbox=ctx.function(
        lambda: ctx.source_channel(BOX["mailbox"]), raw=True)), replace=True)

    def outcome(coro_fn, expected=None):
        try:
            value = trio.run(coro_fn)
            return {{"ok": True, "value": repr(value), "same": value == expected}}
        except pidflow.Error as exc:
            return {{"ok": False, "kind": exc.kind.value, "message": exc.message}}
        except BaseException as exc:  # the fuzz fails on this
            return {{"ok": False, "stray": type(exc).__name__ + ": " + str(exc)[:300]}}

    for line in sys.stdin:
        how, payload, limit = pickle.loads(base64.b64decode(line))
        if how == "python":      # a Python value as a process's input, returned to Python
            result = outcome(lambda: make_process(main_body("return input"), max_memory=limit).run(payload), payload)
        elif how == "lua":       # a Lua expression, returned to Python
            src = main_body("return " + payload)
            result = outcome(lambda: make_process(src, max_memory=limit).run())
        else:                    # a Python value delivered to a Lua process's mailbox, received and returned
            async def deliver():
                mailbox = BOX["mailbox"] = Mailbox()
                proc = make_process(main_body("return (require('box').inbox():receive())"), modules=["box"],
                                    max_memory=limit)
                out, refused = [], []
                async with trio.open_nursery() as nursery:
                    async def run():
                        try:
                            out.append(("value", await proc.run()))
                        except pidflow.Error as exc:
                            out.append(("error", exc))
                    nursery.start_soon(run)
                    await trio.testing.wait_all_tasks_blocked()
                    try:
                        mailbox.put(payload)
                    except pidflow.Error as exc:   # the sender's error
                        refused.append(exc)
                        proc.terminate()
                if refused:
                    raise refused[0]
                if out[0][0] == "error":
                    raise out[0][1]
                return out[0][1]
            import trio.testing
            result = outcome(deliver)
        print(json.dumps(result), flush=True)
""")


class Worker:
    """One child interpreter running cases; replaced when it dies."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None

    def run(self, how: str, payload: object, limit: int) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen([sys.executable, "-c", WORKER.format(here=str(HERE))], cwd=REPO,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         text=True)
        proc = self.proc
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(base64.b64encode(pickle.dumps((how, payload, limit))).decode() + "\n")
        proc.stdin.flush()
        line = proc.stdout.readline()   # (bounded by the test's timeout: a freeze fails the test)
        if not line:
            err = self.close()
            pytest.fail(f"the worker died ({proc.returncode}) on {how} {payload!r:.200}:\n{err[-3000:]}")
        return json.loads(line)

    def close(self) -> str:
        """Stop the worker; what it wrote on stderr."""
        proc, self.proc = self.proc, None
        if proc is None:
            return ""
        proc.stdin.close()   # type: ignore[union-attr]
        proc.wait(timeout=10)
        err = proc.stderr.read()   # type: ignore[union-attr]
        proc.stdout.close()   # type: ignore[union-attr]
        proc.stderr.close()   # type: ignore[union-attr]
        return err


@pytest.fixture(scope="module")
def worker():
    w = Worker()
    yield w
    w.close()


def _clean(result: dict, what: object, lua_errors: bool = False) -> None:
    """Success, or INVALID, or a memory error (or, for Lua code, the Lua error it raised)."""
    assert "stray" not in result, f"{what!r:.300} -> {result['stray']}"
    if not result["ok"] and not lua_errors:
        assert result["kind"] in ("INVALID", "INTERNAL"), result
        if result["kind"] == "INTERNAL":
            assert "memory limit" in result["message"], result


# ---------------------------------------------------------------- strategies

LIMITS = st.sampled_from([64 * 1024, 256 * 1024, 2 * 1024 * 1024])
scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from([2**63, -(2**63) - 1, 2**64, 10**30]),                # beyond 64 bits: INVALID
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30), st.binary(max_size=30),
    st.sampled_from(["\ud800", "a\x00b", "\u00e9\u4e2d"]),               # a lone surrogate, NUL, non-ASCII
    st.integers(min_value=0, max_value=3 * 1024 * 1024).map(lambda n: "x" * n),   # big strings
    st.builds(lambda i: Pid("app:processes", str(i)), st.integers(0, 9)),
    st.builds(lambda m: Error("NOT_FOUND", m), st.text(max_size=20)),
)
keys = st.one_of(st.text(max_size=10), st.integers(-5, 5), st.floats(allow_nan=True), st.booleans(), st.none(),
                 st.binary(max_size=5), st.tuples(st.integers(0, 3)))
python_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=6), st.tuples(inner, inner),
                            st.dictionaries(keys, inner, max_size=6), st.sets(st.integers(0, 3), max_size=2)),
    max_leaves=25,
)

lua_scalars = st.one_of(
    st.sampled_from(["nil", "true", "false", "0", "-0.0", "1/0", "-1/0", "0/0", "math.maxinteger",
                     "math.mininteger", "math.pi", "2^53", "2^63", "-(2^63)", "'\\0'", "'\\xff\\xfe'",
                     "'\\u{10FFFF}'", "function() end", "coroutine.create(function() end)",
                     "process.inbox()", "errors.new{kind = 'CONFLICT', message = 'm'}",
                     "setmetatable({}, {__index = function() while true do end end})",
                     "setmetatable({1, 2}, {__len = function() return 1e9 end})"]),
    st.integers(min_value=-(2**63), max_value=2**63 - 1).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda f: repr(f) if math.isfinite(f) else "0"),
    st.text(alphabet="ab\n\"'\\", max_size=10).map(lambda s: json.dumps(s).replace("\\u", "\\\\u")),
    st.integers(min_value=0, max_value=3 * 1024 * 1024).map(lambda n: f"('y'):rep({n})"),
)
lua_keys = st.one_of(st.sampled_from(["1", "2", "3", "-1", "0", "1.5", "true", "false", "'k'", "''", "math.huge",
                                      "{}", "2^70", "math.mininteger"]),
                     st.text(alphabet="abc", min_size=1, max_size=4).map(lambda s: f"'{s}'"))
lua_values = st.recursive(
    lua_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6).map(lambda items: "{" + ", ".join(items) + "}"),
        st.lists(st.tuples(lua_keys, inner), max_size=6).map(
            lambda pairs: "(function() local t = {} " + " ".join(f"t[{k}] = {v}" for k, v in pairs) + " return t end)()"),
    ),
    max_leaves=25,
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.data_too_large])


@SETTINGS
@given(python_values, LIMITS)
def test_python_values_cross_into_lua_and_back_or_fail_cleanly(worker, value, limit):
    _clean(worker.run("python", value, limit), value)


@SETTINGS
@given(lua_values, LIMITS)
def test_lua_values_cross_into_python_or_fail_cleanly(worker, expr, limit):
    _clean(worker.run("lua", expr, limit), expr, lua_errors=True)


@SETTINGS
@given(python_values, LIMITS)
def test_python_values_delivered_to_a_lua_mailbox_arrive_or_fail_cleanly(worker, value, limit):
    _clean(worker.run("mailbox", value, limit), value)


json_like = st.recursive(
    st.one_of(st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False), st.text(max_size=20)),
    lambda inner: st.one_of(st.lists(inner, min_size=1, max_size=5),
                            st.dictionaries(st.text(min_size=1, max_size=8), inner, min_size=1, max_size=5)),
    max_leaves=20,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_like)
def test_plain_data_comes_back_unchanged(worker, value):
    result = worker.run("python", value, 32 * 1024 * 1024)
    assert result["ok"] and result["same"], (value, result)
