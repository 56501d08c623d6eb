"""Bad input to every call that issue 11 added or changed (``process``, ``time``, ``funcs``, ``errors`` and the
methods of their values), in a local Lua process on a node: each argument position of each call gets each wrong
type (nil, numbers, NaN, infinity, booleans, strings that are empty, huge or look like PIDs, tables, a function,
a coroutine, a table whose metamethods raise, an error value, a channel, a Time, a Duration). The call must
either answer ``nil, err`` (``false, err``) INVALID naming the call or the argument, or raise a Lua error naming
it (caught with ``pcall``; a table's own raising metamethod may be what raised), and the node must stay up: an
``exec`` and a ``spawn`` after each batch work. A value of a type the argument takes may succeed, fail with any
clean error, or block (a long sleep).

The calls run in one child interpreter (a worker holding one node, fed batches of cases on stdin), so that a
regression that aborts or freezes the interpreter fails the test instead of pytest; each case runs in its own
coroutine of the sweep process, with a time limit (a case that blocks is reported as such). ``CALLS`` lists
the calls with their arguments (a valid default, the kinds of value the argument takes, the words a failure must
name); the Lua of the sweep is made from it. One test per call runs every position x every kind of bad value;
a hypothesis test draws sequences of cases (with generated numbers and strings) into one process. The gaps the
sweep found have their own tests at the end (the sweep checks them too now that they are fixed). A failure's
message must stay short (a 4 MiB argument must not make a 4 MiB message). The same sweep, smaller, inside a
workflow: tests/workflows/test_parity_bad_input.py.
"""

from __future__ import annotations

import json
import math
import select
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from isolation_helpers import REPO

# ---------------------------------------------------------------- kinds of bad value

# Each kind is made in Lua by MAKERS (the sweep's E is the case's environment of valid objects).
MAKERS = {
    "nil": "nil",
    "int": "42",
    "negint": "-7",
    "float": "2.5",
    "nan": "0/0",
    "inf": "math.huge",
    "bool": "true",
    "false": "false",
    "str": "'x'",
    "emptystr": "''",
    "pidlike": "'{app:processes@elsewhere|0x00000999}'",   # a well-formed PID of nothing
    "pidbad": "'{garbage'",                               # a string that starts like a PID and is not one
    "huge": "HUGE",                                       # 4 MiB
    "table": "{}",
    "list": "{1, 2, 3}",
    "map": "{a = 1}",
    "function": "function() end",
    "coroutine": "coroutine.create(function() end)",
    "evil": "setmetatable({}, EVIL)",                    # every metamethod raises "boom-..."
    "error": "errors.new('a bad value')",
    "channel": "channel.new(1)",
    "time": "E.time",
    "duration": "E.dur",
}
KINDS = list(MAKERS)

ALL = frozenset(KINDS)
STRS = frozenset({"str", "emptystr", "pidlike", "pidbad", "huge"})
NUMS = frozenset({"int", "negint", "float"})
DUR = NUMS | STRS | {"duration"}             # a duration: nanoseconds, a Go duration string, a Duration
VALUE = ALL - {"function", "coroutine"}      # a value that crosses (a payload, an argument)
TABLES = frozenset({"table", "list", "map", "evil", "error", "channel", "time", "duration"})
NIL = frozenset({"nil"})
NOTHING: frozenset[str] = frozenset()


@attrs.frozen
class Param:
    name: str
    default: str                 # a Lua expression of a valid value (E: the case's environment)
    accepts: frozenset[str]      # kinds that may succeed


@attrs.frozen
class Call:
    name: str                    # as the tests name it ("time:add" for a method)
    fn: str                      # the Lua function called with the arguments (a method: its self first)
    params: tuple[Param, ...]
    names: tuple[str, ...]       # words a failure must name (one of them)

    def positions(self) -> range:
        return range(1, len(self.params) + 1)


def call(name: str, fn: str, *params: tuple[str, str, frozenset[str]], names: tuple[str, ...] = ()) -> Call:
    ps = tuple(Param(*p) for p in params)
    return Call(name, fn, ps, names + tuple(p.name for p in ps))


def method(name: str, self_default: str, self_accepts: frozenset[str], *params, names: tuple[str, ...] = ()) -> Call:
    kind, meth = name.split(":")
    return call(name, f"{self_default}.{meth}", ("self", self_default, self_accepts), *params,
                names=names + (name, meth))


def spawning(name: str, fn: str, names: tuple[str, ...]) -> Call:
    return call(name, fn, ("entry", "'app:ok'", STRS), ("host", "nil", STRS | NIL), ("arg1", "1", VALUE),
                ("arg2", "2", VALUE), names=names)


DEST = ("destination", "E.child", STRS)

CALLS: list[Call] = [
    # -- process
    call("process.send", "process.send", DEST, ("topic", "'t'", STRS), ("payload1", "1", VALUE),
         ("payload2", "2", VALUE), names=("send",)),
    *(spawning(f"process.{n}", f"process.{n}", ("spawn", n)) for n in
      ("spawn", "spawn_monitored", "spawn_linked", "spawn_linked_monitored")),
    spawning("process.exec", "process.exec", ("exec",)),
    call("process.terminate", "process.terminate", DEST, names=("terminate",)),
    call("process.cancel", "process.cancel", DEST, ("deadline", "100", NUMS | STRS | NIL), names=("cancel",)),
    *(call(f"process.{n}", f"process.{n}", DEST, names=(n,)) for n in ("monitor", "unmonitor", "link", "unlink")),
    call("process.listen", "process.listen", ("topic", "E.topic", STRS), ("options", "nil", TABLES | NIL),
         names=("listen",)),
    call("process.unlisten", "process.unlisten", ("channel", "E.listener", NOTHING), names=("unlisten",)),
    call("process.set_options", "process.set_options", ("options", "{trap_links = true}", TABLES),
         names=("set_options",)),
    call("process.get_options", "process.get_options", ("ignored", "nil", ALL), names=("get_options",)),
    call("process.id", "process.id", ("ignored", "nil", ALL), names=("id",)),
    call("process.registry.register", "process.registry.register", ("name", "E.name", STRS),
         ("pid", "nil", NIL | {"pidlike"}), names=("register",)),
    call("process.registry.lookup", "process.registry.lookup", ("name", "E.name", STRS), names=("lookup",)),
    call("process.registry.unregister", "process.registry.unregister", ("name", "E.name", STRS),
         names=("unregister",)),
    call("process.with_options", "process.with_options", ("options", "{}", TABLES), names=("with_options",)),
    call("process.with_name", "process.with_name", ("name", "E.name", STRS - {"emptystr"}), names=("with_name",)),
    call("process.with_message", "process.with_message", ("topic", "'t'", STRS - {"emptystr"}),
         ("value", "1", ALL), names=("with_message",)),
    call("process.with_context", "process.with_context", ("context", "{}", TABLES), names=("with_context",)),
    *(method(f"spawner:{n}", "E.spawner", NOTHING, ("entry", "'app:ok'", STRS), ("host", "nil", STRS | NIL),
             ("arg1", "1", VALUE), names=("spawn", "spawner"))
      for n in ("spawn", "spawn_monitored", "spawn_linked", "spawn_linked_monitored", "exec")),
    *(method(f"spawner:{n}", "E.spawner", NOTHING, (arg, default, accepts), names=("spawner",))
      for n, arg, default, accepts in (("with_options", "options", "{}", TABLES),
                                       ("with_context", "context", "{}", TABLES),
                                       ("with_name", "name", "E.name", STRS - {"emptystr"}),
                                       ("with_message", "topic", "'t'", STRS - {"emptystr"}))),
    # -- time
    *(call(f"time.{n}", f"time.{n}", ("d", default, DUR), names=(f"time.{n}",))
      for n, default in (("sleep", "1"), ("after", "'1h'"), ("timer", "'1h'"), ("ticker", "'1h'"),
                         ("parse_duration", "'1s'"))),
    call("time.unix", "time.unix", ("sec", "0", NUMS), ("nsec", "0", NUMS | NIL), names=("time.unix",)),
    call("time.date", "time.date", *((p, v, NUMS) for p, v in (("year", "2024"), ("month", "1"), ("day", "1"),
                                                                ("hour", "0"), ("minute", "0"), ("second", "0"),
                                                                ("nanosecond", "0"))),
         ("location", "time.utc", NIL), names=("time.date",)),
    call("time.parse", "time.parse", ("layout", "time.RFC3339", STRS), ("value", "'2024-01-01T00:00:00Z'", STRS),
         ("location", "time.utc", NIL), names=("time.parse",)),
    call("time.load_location", "time.load_location", ("name", "'UTC'", STRS), names=("time.load_location",)),
    call("time.fixed_zone", "time.fixed_zone", ("name", "'X'", STRS), ("offset", "3600", NUMS),
         names=("time.fixed_zone",)),
    method("time:add", "E.time", frozenset({"time"}), ("d", "'1s'", DUR)),
    method("time:sub", "E.time", frozenset({"time"}), ("t", "E.time2", frozenset({"time"}))),
    method("time:add_date", "E.time", frozenset({"time"}), ("years", "1", NUMS), ("months", "1", NUMS),
           ("days", "1", NUMS)),
    *(method(f"time:{n}", "E.time", frozenset({"time"}), ("t", "E.time2", frozenset({"time"})))
      for n in ("before", "after", "equal")),
    method("time:format", "E.time", frozenset({"time"}), ("layout", "time.RFC3339", STRS | NIL)),
    method("time:in_location", "E.time", frozenset({"time"}), ("location", "time.utc", NOTHING)),
    *(method(f"time:{n}", "E.time", frozenset({"time"}), ("d", "E.dur", frozenset({"duration"})))
      for n in ("round", "truncate")),
    *(method(f"time:{n}", "E.time", frozenset({"time"}))
      for n in ("format_rfc3339", "unix", "unix_nano", "date", "clock", "year", "month", "day", "hour", "minute",
                "second", "nanosecond", "weekday", "year_day", "is_zero", "utc", "in_local", "location")),
    *(method(f"duration:{n}", "E.dur", frozenset({"duration"}))
      for n in ("nanoseconds", "microseconds", "milliseconds", "seconds", "minutes", "hours")),
    method("location:string", "E.loc", NOTHING),
    *(method(f"{what}:{n}", f"E.{what}", NOTHING) for what in ("timer", "ticker")
      for n in ("channel", "response", "stop")),
    *(method(f"{what}:reset", f"E.{what}", NOTHING, ("d", "'1h'", DUR)) for what in ("timer", "ticker")),
    # -- funcs
    call("funcs.call", "funcs.call", ("entry", "'app:echo'", STRS), ("arg1", "1", VALUE), ("arg2", "2", VALUE),
         names=("funcs.call", "function id")),
    call("funcs.async", "funcs.async", ("entry", "'app:echo'", STRS), ("arg1", "1", VALUE), ("arg2", "2", VALUE),
         names=("funcs.async", "function id")),
    call("funcs.new", "funcs.new", ("ignored", "nil", ALL), names=("funcs.new",)),
    method("executor:with_context", "E.executor", NOTHING, ("context", "{}", TABLES)),
    method("executor:with_options", "E.executor", NOTHING, ("options", "{}", TABLES)),
    *(method(f"executor:{n}", "E.executor", NOTHING, ("entry", "'app:echo'", STRS), ("arg1", "1", VALUE),
             names=("function id", f"funcs.{n}"))
      for n in ("call", "async")),
    *(method(f"future:{n}", "E.future", NOTHING, names=("future:response",))   # (channel is response's alias)
      for n in ("response", "channel", "is_complete", "is_canceled", "result", "error", "cancel")),
    # -- errors
    call("errors.new", "errors.new", ("spec", "'m'", STRS), ("message", "nil", ALL), names=("errors.new",)),
    call("errors.wrap", "errors.wrap", ("err", "E.err", STRS | {"error"}), ("context", "'ctx'", STRS | {"error"}),
         names=("errors.wrap",)),
    call("errors.is", "errors.is", ("err", "E.err", ALL), ("kind", "errors.CONFLICT", STRS | NIL),
         names=("errors.is",)),
    call("errors.call_stack", "errors.call_stack", ("err", "E.err", ALL), names=("errors.call_stack",)),
    *(method(f"error:{n}", "E.err", frozenset({"error"}), names=("err:",))
      for n in ("kind", "message", "retryable", "details", "stack")),
]
# Calls the Lua has but the sweep does not run (for the tests of the gaps the sweep found).
EXTRA_CALLS: list[Call] = [
    # a layout and a value of 2**21 numeric fields each (4 MiB strings)
    call("time.parse(long)", "time.parse", ("layout", "LONG()", STRS), ("value", "LONG()", STRS),
         names=("time.parse",)),
]
BY_NAME = {c.name: c for c in CALLS + EXTRA_CALLS}
assert len(BY_NAME) == len(CALLS + EXTRA_CALLS)


# ---------------------------------------------------------------- the sweep, in Lua

SWEEP_LUA = r"""
local time = require("time")
local funcs = require("funcs")
local HUGE = string.rep("h", 4 * 1024 * 1024)
local function LONG() return string.rep("01", 2 * 1024 * 1024) end
local function boom(what) return function() error("boom-" .. what) end end
local EVIL = {__index = boom("index"), __newindex = boom("newindex"), __tostring = boom("tostring"),
              __len = boom("len"), __concat = boom("concat"), __eq = boom("eq"), __lt = boom("lt"),
              __le = boom("le"), __call = boom("call"), __pairs = boom("pairs"), __close = boom("close"),
              __name = "evil"}
local children = {}
local seq = 0

-- the valid objects of one case, made on first use
local MAKE = {
  child = function() local pid = process.spawn("app:wait", nil) children[#children + 1] = pid return pid end,
  name = function() return "sweep-" .. seq end,
  topic = function() return "topic-" .. seq end,
  listener = function() return process.listen("listened-" .. seq) end,
  spawner = function() return process.with_context({k = 1}) end,
  time = function() return time.unix(1700000000, 5) end,
  time2 = function() return time.unix(1600000000, 0) end,
  dur = function() return time.parse_duration("1500ms") end,
  loc = function() return time.fixed_zone("X", 3600) end,
  timer = function() return time.timer("1h") end,
  ticker = function() return time.ticker("1h") end,
  executor = function() return funcs.new():with_context({k = 1}) end,
  future = function() return funcs.async("app:echo", 1) end,
  err = function() return errors.new{kind = errors.CONFLICT, message = "valid"} end,
}
local function env()
  return setmetatable({}, {__index = function(t, k) local v = MAKE[k]() rawset(t, k, v) return v end})
end

--CALLS--

--MAKERS--

local function bad_value(spec, E)
  if type(spec) == "table" then
    if spec.int ~= nil then return math.tointeger(spec.int) or spec.int end
    if spec.float ~= nil then return spec.float + 0.0 end
    return spec.str
  end
  return MAKERS[spec](E)
end

local function is_error(v) return getmetatable(v) == "error" end
local function short(s) if #s > 300 then return s:sub(1, 300) .. "..." end return s end
local function length(v) return type(v) == "string" and #v or 0 end
local function text(v)
  if type(v) == "string" then return short(v) end
  local ok, s = pcall(tostring, v)
  return ok and type(s) == "string" and short(s) or ("(a " .. type(v) .. ")")
end
local function describe(r)
  if not r[1] then
    local e = r[2]
    if is_error(e) then
      return {status = "raised", kind = e:kind(), message = text(e:message()), length = length(e:message())}
    end
    return {status = "raised", kind = "", message = text(e), length = length(e)}
  end
  local v, e = r[2], r[3]
  if (v == nil or v == false) and is_error(e) then
    return {status = "failed", kind = e:kind(), message = text(e:message()), length = length(e:message())}
  end
  return {status = "returned", type = type(v)}
end

local function run_case(case, guard)
  seq = seq + 1
  local c = CALLS[case.call]
  local E = env()
  local args = c.defaults(E)
  if case.pos > 0 then args[case.pos] = bad_value(case.bad, E) end   -- (0: the defaults as they are)
  local done = channel.new(1)
  coroutine.spawn(function()
    done:send(table.pack(pcall(function() return c.fn(E)(table.unpack(args, 1, args.n)) end)))
  end)
  local r = channel.select{done:case_receive(), time.after(math.floor(guard * time.SECOND)):case_receive()}
  if r.channel ~= done then return {status = "blocked"} end
  return describe(r.value)
end

return {main = function(input)
  local cases, guard = input.cases, input.guard
  process.set_options({trap_links = true})   -- children linked by a case and terminated below must not end it
  local out = {}
  for i, case in ipairs(cases) do out[i] = run_case(case, guard) end
  for _, pid in ipairs(children) do process.unlink(pid) process.terminate(pid) end
  return out
end}
"""


def sweep_source() -> str:
    calls = ["local CALLS = {}"]
    for c in CALLS + EXTRA_CALLS:
        defaults = ", ".join(p.default for p in c.params)
        calls.append(f"CALLS[{c.name!r}] = {{fn = function(E) return {c.fn} end, "
                     f"defaults = function(E) return table.pack({defaults}) end}}")
    makers = ["local MAKERS = {}"] + [f"MAKERS[{k!r}] = function(E) return {v} end" for k, v in MAKERS.items()]
    return SWEEP_LUA.replace("--CALLS--", "\n".join(calls)).replace("--MAKERS--", "\n".join(makers))


OTHER_LUA = """
return {
  ok = function(...) return {"ok", select("#", ...), ...} end,
  wait = function() process.inbox():receive() end,
  echo = function(...) return {...} end,
}
"""


def write_app(folder: Path) -> None:
    (folder / "sweep.lua").write_text(sweep_source())
    (folder / "other.lua").write_text(OTHER_LUA)


ENTRIES = [
    {"name": "sweep", "kind": "process.lua", "source": "file://sweep.lua", "modules": ["time", "funcs"]},
    {"name": "ok", "kind": "process.lua", "source": "file://other.lua", "method": "ok"},
    {"name": "wait", "kind": "process.lua", "source": "file://other.lua", "method": "wait"},
    {"name": "echo", "kind": "function.lua", "source": "file://other.lua", "method": "echo"},
]

# ---------------------------------------------------------------- the worker (one node, in a child interpreter)

WORKER = textwrap.dedent("""
    import json, sys, trio
    from pathlib import Path
    import pidflow
    from pidflow import entries

    ENTRIES = json.loads(sys.argv[2])

    async def main():
        registry = entries.from_dicts("app", ENTRIES, base=Path(sys.argv[1]))
        async with pidflow.open_node(registry) as node:
            while True:
                line = await trio.to_thread.run_sync(sys.stdin.readline)
                if not line:
                    return
                batch = json.loads(line)
                out = {}
                try:
                    with trio.fail_after(120):
                        out["results"] = await node.process.exec("app:sweep", None, batch)
                except pidflow.Error as exc:
                    out["died"] = [exc.kind.value, exc.message[:2000]]
                except BaseException as exc:
                    out["stray"] = type(exc).__name__ + ": " + str(exc)[:2000]
                # the node is still up: an exec and a spawn work after the batch
                try:
                    with trio.fail_after(20):
                        after = await node.process.exec("app:ok", None, ["a", None, 3])
                        pid = await node.process.spawn_monitored("app:ok", None)
                        event = await node.process.events().receive()
                    out["after"] = [after, event.from_ == pid, event.result.error is None]
                except BaseException as exc:
                    out["after"] = type(exc).__name__ + ": " + str(exc)[:2000]
                print(json.dumps(out), flush=True)

    trio.run(main)
""")
NODE_UP = [["ok", 1, ["a", None, 3]], True, True]


# How long a batch may take before the node counts as frozen. A batch takes well under a second; a call that
# holds the node's event loop (work in Python or C that never yields) makes it take minutes.
ANSWER_WITHIN = 60


class Worker:
    """One child interpreter holding one node; replaced when it dies."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.proc: subprocess.Popen[str] | None = None

    def run(self, cases: list[dict[str, Any]], guard: float = 1.0,
            answer_within: float = ANSWER_WITHIN) -> dict[str, Any]:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen([sys.executable, "-c", WORKER, str(self.folder), json.dumps(ENTRIES)],
                                         cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, text=True)
        proc = self.proc
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps({"cases": cases, "guard": guard}) + "\n")
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], answer_within)
        if not ready:   # the node is frozen (a C or Python call that never yields): kill it, fail
            proc.kill()
            err = self.close()
            pytest.fail(f"the node gave no answer within {answer_within} s on {cases!r:.2000}:\n{err[-4000:]}")
        line = proc.stdout.readline()
        if not line:
            err = self.close()
            pytest.fail(f"the worker (its node) died ({proc.returncode}) on {cases!r:.2000}:\n{err[-4000:]}")
        return json.loads(line)

    def close(self) -> str:
        proc, self.proc = self.proc, None
        if proc is None:
            return ""
        proc.stdin.close()   # type: ignore[union-attr]
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        err = proc.stderr.read()   # type: ignore[union-attr]
        proc.stdout.close()   # type: ignore[union-attr]
        proc.stderr.close()   # type: ignore[union-attr]
        return err


@pytest.fixture(scope="module")
def worker(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep")
    write_app(folder)
    w = Worker(folder)
    yield w
    w.close()


# ---------------------------------------------------------------- judging an outcome

def kind_of(bad: Any) -> str:
    """The kind of a case's bad value (generated numbers and strings are sorted into the named kinds)."""
    if isinstance(bad, str):
        return bad
    if "int" in bad:
        return "int" if bad["int"] >= 0 else "negint"
    if "float" in bad:
        x = bad["float"]
        return "nan" if math.isnan(x) else "inf" if math.isinf(x) else "float"
    s = bad["str"]
    return "emptystr" if s == "" else "str"


# The longest message a failure may have (the bad value is quoted cut short, if at all).
LONGEST_MESSAGE = 1000


def problem(case: dict[str, Any], outcome: dict[str, Any]) -> str | None:
    """Why ``outcome`` breaks the rules for ``case``, or None."""
    c = BY_NAME[case["call"]]
    status = outcome["status"]
    if case["pos"] == 0:   # valid arguments: any clean outcome
        return None if status in ("returned", "failed") else f"{status}: {outcome.get('message')}"
    param = c.params[case["pos"] - 1]
    kind = kind_of(case["bad"])
    if outcome.get("length", 0) > LONGEST_MESSAGE:
        return f"{status} with a message of {outcome['length']} bytes: {outcome['message']}"
    if kind in param.accepts and status != "raised":
        return None   # it may succeed, fail cleanly (any kind) or block; the node's health is checked apart
    if status in ("returned", "blocked") and kind not in param.accepts:
        return f"{status} instead of rejecting it"
    message = outcome["message"]
    if status == "failed" and outcome["kind"] != "INVALID":
        return f"failed with {outcome['kind']} instead of INVALID: {message}"
    if not any(word in message for word in c.names) and not (kind == "evil" and "boom-" in message):
        return f"{status} without naming the call or the argument ({' / '.join(c.names)}): {message}"
    return None


def judge(worker: Worker, cases: list[dict[str, Any]], guard: float = 1.0,
          answer_within: float = ANSWER_WITHIN) -> list[str]:
    out = worker.run(cases, guard, answer_within)
    assert "stray" not in out, out["stray"]
    assert "died" not in out, f"the sweep process died: {out['died']}"
    assert out["after"] == NODE_UP, f"the node is not up after the batch: {out['after']}"
    results = out["results"]
    assert len(results) == len(cases)
    bad = []
    for case, outcome in zip(cases, results):
        why = problem(case, outcome)
        if why:
            bad.append(f"{case['call']} #{case['pos']} ({c_param(case)}) <- {kind_of(case['bad'])}: {why}")
    return bad


def c_param(case: dict[str, Any]) -> str:
    return BY_NAME[case["call"]].params[case["pos"] - 1].name if case["pos"] > 0 else "-"


# ---------------------------------------------------------------- the tests

def test_every_call_and_kind_is_in_the_sweep():
    # the sweep covers what the issue names (one check that the list did not lose a call)
    names = set(BY_NAME)
    for required in ("process.send", "process.spawn_linked_monitored", "process.exec", "process.unlisten",
                     "process.get_options", "process.registry.register", "process.with_message", "spawner:exec",
                     "time.timer", "time.ticker", "time.date", "time:round", "duration:hours", "timer:reset",
                     "ticker:reset", "funcs.async", "executor:async", "future:cancel", "errors.wrap", "error:stack"):
        assert required in names, required
    assert {"nil", "nan", "function", "coroutine", "huge", "evil"} <= set(KINDS)


@pytest.mark.parametrize("name", [c.name for c in CALLS])
def test_every_wrong_type_in_every_position_is_rejected_cleanly(worker, name):
    c = BY_NAME[name]
    cases = [{"call": name, "pos": pos, "bad": kind} for pos in c.positions() for kind in KINDS]
    bad = judge(worker, cases)
    assert not bad, "\n".join(bad)


def test_the_sweep_can_fail():
    # the judge rejects a call that takes a wrong type quietly, and one whose error names neither call nor argument
    assert problem({"call": "time.sleep", "pos": 1, "bad": "table"}, {"status": "returned", "type": "nil"})
    assert problem({"call": "time.sleep", "pos": 1, "bad": "table"},
                   {"status": "failed", "kind": "INVALID", "message": "something went wrong"})
    assert problem({"call": "time.sleep", "pos": 1, "bad": "table"},
                   {"status": "failed", "kind": "INTERNAL", "message": "time.sleep: no"})
    assert problem({"call": "time.sleep", "pos": 1, "bad": "table"},
                   {"status": "failed", "kind": "INVALID", "message": "time.sleep: a duration is ..."}) is None


@st.composite
def cases(draw) -> dict[str, Any]:
    c = draw(st.sampled_from(CALLS))
    pos = draw(st.sampled_from(list(c.positions())))
    bad = draw(st.one_of(
        st.sampled_from(KINDS),
        st.builds(lambda n: {"int": n}, st.integers(-(2**63), 2**63 - 1)),
        st.builds(lambda x: {"float": x}, st.floats(allow_nan=True, allow_infinity=True)),
        st.builds(lambda s: {"str": s}, st.one_of(
            st.text(max_size=40), st.sampled_from(["@events", "{", "{|}", "{app:x|", "1h30m", "-5s", "9999999h",
                                                   "app:", ":x", "app:ok", "NotFound", "UTC", "../etc", "a\x00b"]),
            st.text(alphabet="{}|@:0123456789abcdefxhms.-", max_size=20)))))
    return {"call": c.name, "pos": pos, "bad": bad}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(cases(), min_size=1, max_size=8))
def test_generated_bad_calls_in_one_process_are_rejected_cleanly(worker, batch):
    # several bad calls in one process (state left by one meets the next); generated values: any 64-bit integer,
    # fractions, strings that look like PIDs, durations, kinds, zones, names
    bad = judge(worker, batch, guard=0.3)
    assert not bad, "\n".join(bad)


# ---------------------------------------------------------------- what the sweep found (fixed)

def test_a_value_that_cannot_cross_names_the_call(worker):
    # was: INVALID "a Lua function cannot be converted to data" (for a coroutine too), from the value rules,
    # before the call's own checks: neither the call nor the argument was named. Now "process.send: argument #3:
    # a Lua function cannot ...", and a coroutine is a thread
    cases = [{"call": call, "pos": pos, "bad": bad} for call, pos, bad in (
        ("process.send", 3, "function"), ("process.send", 4, "coroutine"), ("process.spawn", 3, "coroutine"),
        ("process.exec", 4, "function"), ("process.terminate", 1, "function"), ("process.listen", 2, "function"),
        ("process.registry.register", 1, "coroutine"), ("funcs.call", 2, "function"),
        ("executor:async", 3, "coroutine"))]
    problems = judge(worker, cases)
    assert not problems, "\n".join(problems)
    for case, outcome in zip(cases, worker.run(cases)["results"]):
        what = "a Lua thread" if case["bad"] == "coroutine" else "a Lua function"
        assert f"argument #{case['pos'] - case['call'].startswith('executor:')}: {what} cannot" in outcome["message"], \
            (case, outcome)


def test_a_method_called_with_a_wrong_self_names_it(worker):
    # a dot call (t.unix()) or another object as self: was "?:-1: attempt to index a nil value" (neither the
    # method nor the caller's line), or a table of any kind was taken as the object (timer.channel({}) -> nil),
    # where the Future and error methods checked their self ("bad argument #1 to 'future:result' ...")
    cases = [{"call": call, "pos": 1, "bad": bad} for call, bad in (
        ("time:format", "str"),        # t.format(time.RFC3339): the layout taken as the Time
        ("time:unix", "nil"),          # t.unix()
        ("duration:hours", "nil"),     # d.hours()
        ("location:string", "int"),
        ("timer:stop", "nil"), ("timer:channel", "table"), ("ticker:stop", "int"),
        ("spawner:with_name", "int"), ("executor:with_context", "int"))]
    problems = judge(worker, cases)
    assert not problems, "\n".join(problems)


def test_a_date_out_of_range_names_the_call(worker):
    # was: INVALID "integer N does not fit in a Lua integer (64-bit)", naming neither call nor argument
    cases = [{"call": "time:add_date", "pos": 2, "bad": {"int": 292277024573}},   # years: valid, too many
             {"call": "time.date", "pos": 1, "bad": {"int": 2**63 - 1}}]
    problems = judge(worker, cases)
    assert not problems, "\n".join(problems)


def test_parsing_a_long_layout_and_value_does_not_freeze_the_node(worker):
    # time.parse runs in Python on the node's event loop, and it consumed the value by slicing it once per field:
    # quadratic in the length. A layout and a value of 2**21 fields (4 MiB each, within max_memory) took about a
    # minute and a half, during which no process of the node ran. Now it walks the value by index, and layouts
    # and values over 64 KiB are refused (nil, INVALID). (A single 4 MiB layout was quadratic too, in
    # _time_layout._std_at; fixed with this sweep: time.parse #1 and time:format #2 "huge".)
    problems = judge(worker, [{"call": "time.parse(long)", "pos": 0, "bad": "nil"}], guard=30, answer_within=30)
    assert not problems, "\n".join(problems)


async def test_round_to_a_long_duration_takes_the_nearer_multiple(lua):
    # Go's Round(d): the nearer multiple of d counted from the zero time; r + r overflowed for d > 2**62 ns, and
    # the later multiple was never taken (fixed with this sweep)
    out = await lua("""
        local time = require("time")
        local d = time.parse_duration(math.maxinteger)
        local t = time.unix(1700000000, 0)
        local down, up = t:truncate(d), t:truncate(d):add(d)
        return {t:round(d):equal(up), t:sub(down) > up:sub(t), time.unix(-62135596800 + 1):round(d):equal(
                time.unix(-62135596800 + 1):truncate(d))}
    """)
    assert out == [True, True, True]


async def test_sub_of_times_further_apart_than_64_bit_nanoseconds_saturates(lua):
    # the difference of the seconds overflowed before the saturation check: -1s instead of the longest Duration
    out = await lua("""
        local time = require("time")
        local far, near = time.unix(math.maxinteger), time.unix(math.mininteger)
        return {far:sub(near):nanoseconds() == math.maxinteger, near:sub(far):nanoseconds() == math.mininteger,
                time.unix(10):sub(time.unix(4)):seconds()}
    """)
    assert out == [True, True, 6.0]
