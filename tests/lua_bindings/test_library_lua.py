"""``library.lua``: shared Lua code that ``process.lua``, ``function.lua``, ``workflow.lua`` and other libraries
list under ``imports:`` (alias -> entry id) and load with ``require(alias)``: nested imports, one namespace of
aliases per process, a library's modules granted to its importer, loaded once and only when required, bad
input reported at load naming the entry, and inside workflows part of the replayed code."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import trio
import yaml

import pidflow
from pidflow import ErrorKind
from pidflow.temporal_host import _replay

MAIN = "local function main(input)\n{body}\nend\nreturn {{main = main}}\n"


def write_app(folder: Path, entries: list[dict[str, Any]], files: dict[str, str]) -> Path:
    """``app.yaml`` in ``folder`` with ``entries`` (namespace ``app``) and the Lua ``files`` beside it."""
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text))
    (folder / "app.yaml").write_text(yaml.safe_dump({"version": "1.0", "namespace": "app", "entries": entries}))
    return folder / "app.yaml"


def lib(name: str, **spec: Any) -> dict[str, Any]:
    return {"name": name, "kind": "library.lua", "source": f"file://{name}.lua", **spec}


def proc(body: str, files: dict[str, str], name: str = "p", kind: str = "process.lua", **spec: Any) -> dict[str, Any]:
    files[f"{name}.lua"] = MAIN.format(body=textwrap.dedent(body))
    return {"name": name, "kind": kind, "source": f"file://{name}.lua", "method": "main", **spec}


async def run(app: Path, entry: str = "app:p", input: Any = None) -> Any:
    async with pidflow.open_node(app) as node:
        return await node.process.exec(entry, None, input)


def load_problems(app: Path) -> list[str]:
    with pytest.raises(pidflow.Error) as info:
        pidflow.load_entries(app)
    assert info.value.kind is ErrorKind.INVALID
    return list(info.value.details["problems"])


# -- importing ------------------------------------------------------------------------------------------------------
async def test_require_of_an_alias_loads_the_library_and_its_own_imports(tmp_path: Path) -> None:
    files = {
        "greet.lua": """
            local punct = require("punct")   -- the library's own import
            return {hello = function(name) return "hello " .. name .. punct.bang end}
        """,
        "punct.lua": "return {bang = '!'}",
    }
    entries = [lib("greet", imports={"punct": "punct"}), lib("punct"),
               proc('return require("greeting").hello(input)', files, imports={"greeting": "app:greet"})]
    assert await run(write_app(tmp_path, entries, files), input="ada") == "hello ada!"


async def test_a_function_lua_imports_a_library(tmp_path: Path) -> None:
    files = {"twice.lua": "return function(x) return 2 * x end"}
    entries = [lib("twice"), proc('return require("twice")(input)', files, name="f", kind="function.lua",
                                  imports={"twice": "twice"})]
    async with pidflow.open_node(write_app(tmp_path, entries, files)) as node:
        assert await node.call("app:f", 21) == 42


async def test_a_library_runs_once_per_process_in_the_importers_globals(tmp_path: Path) -> None:
    files = {"counted.lua": "LOADS = (LOADS or 0) + 1\nreturn {}"}
    body = """
        local a, b = require("counted"), require("counted")
        return {same = a == b, loads = LOADS}
    """
    entries = [lib("counted"), proc(body, files, imports={"counted": "counted"})]
    app = write_app(tmp_path, entries, files)
    async with pidflow.open_node(app) as node:
        first = await node.process.exec("app:p")
        second = await node.process.exec("app:p")
    assert first == second == {"same": True, "loads": 1}  # each process loads its own copy, once


async def test_an_import_that_is_never_required_never_runs(tmp_path: Path) -> None:
    files = {"heavy.lua": "HEAVY = true\nerror('loaded although nobody required it')"}
    entries = [lib("heavy"), proc("return HEAVY == nil", files, imports={"heavy": "heavy"})]
    assert await run(write_app(tmp_path, entries, files)) is True


async def test_a_library_may_use_its_own_modules_and_grants_them_to_its_importer(tmp_path: Path) -> None:
    files = {"codec.lua": "local json = require('json')\nreturn {enc = json.encode}"}
    body = """
        local codec = require("codec")
        return {codec.enc({1}), require("json").encode({2})}
    """
    entries = [lib("codec", modules=["json"]), proc(body, files, imports={"codec": "codec"})]
    assert await run(write_app(tmp_path, entries, files)) == ["[1]", "[2]"]


async def test_without_the_library_the_module_stays_denied(tmp_path: Path) -> None:
    files: dict[str, str] = {}
    entries = [proc('local ok, err = pcall(require, "json")\nreturn err:kind()', files)]
    assert await run(write_app(tmp_path, entries, files)) == "PERMISSION_DENIED"


async def test_a_library_failing_at_its_top_level_fails_the_require_with_its_file_and_line(tmp_path: Path) -> None:
    files = {"bad.lua": "local x = 1\nerror('bad at load')\n"}
    body = """
        local ok, err = pcall(require, "bad")
        local again_ok = pcall(require, "bad")
        return {ok, err:kind(), err:message(), again_ok}
    """
    entries = [lib("bad"), proc(body, files, imports={"bad": "bad"})]
    ok, kind, message, again_ok = await run(write_app(tmp_path, entries, files))
    assert (ok, kind, again_ok) == (False, "INTERNAL", False)
    assert message == "require('bad'): library app:bad: bad.lua:2: bad at load"


async def test_an_error_object_raised_at_the_top_level_keeps_its_kind(tmp_path: Path) -> None:
    files = {"gone.lua": "error(errors.new{kind = errors.NOT_FOUND, message = 'gone', retryable = false})"}
    body = 'local ok, err = pcall(require, "gone")\nreturn {err:kind(), err:retryable()}'
    entries = [lib("gone"), proc(body, files, imports={"gone": "gone"})]
    assert await run(write_app(tmp_path, entries, files)) == ["NOT_FOUND", False]


async def test_a_top_level_that_blocks_fails_the_require_and_says_why(tmp_path: Path) -> None:
    files = {"sleepy.lua": "require('time').sleep('1ms')\nreturn {}"}
    body = 'local ok, err = pcall(require, "sleepy")\nreturn {ok, tostring(err)}'
    entries = [lib("sleepy", modules=["time"]), proc(body, files, imports={"sleepy": "sleepy"})]
    ok, text = await run(write_app(tmp_path, entries, files))
    assert ok is False and "must not block" in text


async def test_a_looping_top_level_is_preempted_and_terminate_stops_it(tmp_path: Path) -> None:
    files = {"loop.lua": "while true do end"}
    entries = [lib("loop"), proc('require("loop")', files, imports={"loop": "loop"})]
    async with pidflow.open_node(write_app(tmp_path, entries, files)) as node:
        pid = await node.process.spawn_monitored("app:p")
        await trio.sleep(0.05)  # the node's loop runs: the library's loop is pre-empted
        assert await node.process.terminate(pid)
        event = await node.process.events().receive()
    assert event.result.error.kind is ErrorKind.TERMINATED


async def test_an_alias_the_entry_does_not_import_is_denied_as_an_unlisted_module(tmp_path: Path) -> None:
    files: dict[str, str] = {}
    entries = [proc('local ok, err = pcall(require, "nothing")\nreturn err:kind()', files)]
    assert await run(write_app(tmp_path, entries, files)) == "PERMISSION_DENIED"


# -- bad input, at load ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("entries", "expected"), [
    ([lib("l"), {"imports": {"x": "app:nope"}}], "entry app:p: imports.x refers to unknown entry app:nope"),
    ([lib("l"), {"imports": {"x": "app:l2"}}, {"name": "l2", "kind": "process.host"}],
     "entry app:p: imports.x refers to app:l2, a process.host, expected library.lua"),
    ([lib("l"), {"imports": {"json": "app:l"}}],
     "entry app:p: imports.json: the alias is the name of a built-in module"),
    ([lib("l"), {"imports": {"process": "app:l"}}],
     "entry app:p: imports.process: the alias is the name of a built-in module"),
    ([lib("l"), {"imports": ["app:l"]}], "entry app:p: imports must be a mapping of alias to library entry id"),
    ([lib("l"), {"imports": {"x": 5}}], "entry app:p: imports.x: must be a library entry id, got 5"),
    ([lib("l"), {"imports": {7: "app:l"}}], "entry app:p: imports: alias 7 must be a non-empty string"),
    ([lib("l", imports={"l": "app:l"})], "entry app:l: import cycle: app:l -> app:l"),
    ([lib("l", method="main")], "entry app:l: unknown key 'method' for kind library.lua"),
    ([lib("l", modules=["sockets"])], "entry app:l: unknown module 'sockets' in modules"),
])
def test_a_bad_import_is_reported_at_load_naming_the_entry(
        tmp_path: Path, entries: list[dict[str, Any]], expected: str) -> None:
    files = {"l.lua": "return {}"}
    specs = [e for e in entries if "name" in e]
    for extra in (e for e in entries if "name" not in e):
        specs.append(proc("return 1", files, **extra))
    problems = load_problems(write_app(tmp_path, specs, files))
    assert len(problems) == 1, problems
    assert expected in problems[0]


def test_an_import_cycle_is_reported_on_each_library_in_it_and_not_on_importers(tmp_path: Path) -> None:
    files = {"a.lua": "return {}", "b.lua": "return {}"}
    entries = [lib("a", imports={"b": "b"}), lib("b", imports={"a": "a"}),
               proc("return 1", files, imports={"a": "a"})]
    problems = load_problems(write_app(tmp_path, entries, files))
    assert [p.split(": ", 1)[1] for p in problems] == [
        "entry app:a: import cycle: app:a -> app:b -> app:a", "entry app:b: import cycle: app:b -> app:a -> app:b"]


def test_an_alias_naming_two_libraries_in_one_process_is_reported(tmp_path: Path) -> None:
    files = {"a.lua": "return {}", "b.lua": "return {}", "c.lua": "return {}"}
    entries = [lib("a", imports={"util": "b"}), lib("b"), lib("c"),
               proc("return 1", files, imports={"a": "a", "util": "c"})]
    [problem] = load_problems(write_app(tmp_path, entries, files))
    assert ("entry app:p: imports: alias 'util' names app:b (imports of app:a) and app:c (imports of app:p)"
            in problem)


def test_a_syntax_error_in_a_library_is_reported_with_its_file_and_line(tmp_path: Path) -> None:
    files = {"l.lua": "local t = {\nreturn t\n"}
    [problem] = load_problems(write_app(tmp_path, [lib("l")], files))
    assert "entry app:l: source: lua syntax error: l.lua:2:" in problem


async def test_a_node_does_not_start_with_a_broken_import_graph(tmp_path: Path) -> None:
    files = {"l.lua": "return {}"}
    app = write_app(tmp_path, [lib("l", imports={"me": "l"})], files)
    with pytest.raises(pidflow.Error, match="import cycle: app:l -> app:l"):
        async with pidflow.open_node(app):
            pass


def test_pidflow_check_reports_a_bad_import_without_a_traceback(tmp_path: Path) -> None:
    files = {"l.lua": "return {}", "c.lua": "return {}"}
    entries = [lib("l"), proc("return 1", files, imports={"x": "app:missing"}), lib("c", imports={"c": "c"})]
    app = write_app(tmp_path, entries, files)
    done = subprocess.run([sys.executable, "-m", "pidflow", "check", str(app)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1
    assert "entry app:p: imports.x refers to unknown entry app:missing" in done.stdout + done.stderr
    assert "entry app:c: import cycle: app:c -> app:c" in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr


# -- inside workflows -----------------------------------------------------------------------------------------------
WORKFLOW_LIB = """
    local time = require("time")
    local steps = {}
    function steps.run(n)
      local done = {}
      for i = 1, n do
        time.sleep("10ms")          -- a durable timer, recorded in the history
        done[#done + 1] = i
      end
      return done
    end
    return steps
"""


def workflow_app(tmp_path: Path, task_queue: str, library: str) -> Path:
    files = {"steps.lua": library}
    entries = [
        {"name": "temporal", "kind": "temporal.client"},
        {"name": "worker", "kind": "temporal.worker", "client": "app:temporal", "task_queue": task_queue},
        lib("steps", modules=["time"]),
        proc("return require('steps').run(input)", files, name="wf", kind="workflow.lua",
             imports={"steps": "steps"}, meta={"temporal": {"workflow": {"worker": "app:worker"}}}),
    ]
    return write_app(tmp_path, entries, files)


async def replay(app: Path, history: Any) -> _replay.ReplayResult:
    registry = pidflow.load_entries(app)
    [result] = await trio.to_thread.run_sync(lambda: asyncio.run(_replay.replay(registry, [history])))
    return result


async def test_a_workflow_imports_a_library_and_its_change_is_a_change_of_the_workflows_code(
        tmp_path: Path, task_queue: str, temporal_address: str) -> None:
    app = workflow_app(tmp_path, task_queue, WORKFLOW_LIB)
    async with pidflow.open_node(app) as node:
        pid = await node.process.spawn_monitored("app:wf", "app:worker", 2)
        event = await node.process.events().receive()
        assert event.result.value == [1, 2]
        host = node.host(pid.host)
        history = await host.service.aio.run(
            lambda: host.client.get_workflow_handle(pid.id).fetch_history())
    # the library is part of the replayed code: the same library replays, one that waits differently does not
    assert (await replay(app, history)).ok
    workflow_app(tmp_path, task_queue, WORKFLOW_LIB.replace('time.sleep("10ms")', 'time.sleep("10ms")\n'
                                                            '        time.sleep("10ms")'))
    changed = await replay(app, history)
    assert (changed.ok, changed.error_type) == (False, "NondeterminismError")
