"""``supervisor`` entries from YAML: validation names the key, root supervisors start with the node and stop
first (children in reverse order) when it stops, nested supervisor entries, Lua and Python children."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

import pidflow
from pidflow import ErrorKind
from pidflow.supervision import Restart, Strategy, Supervisor, supervisor_spec

from ._support import alive, pids, settle
from .conftest import write_app

PROCESSES = [{"name": "processes", "kind": "process.host"}]


def lua_child() -> dict[str, Any]:
    return {"name": "lua_child", "kind": "process.lua", "source": "file://sv_local_child.lua", "method": "main"}


def py_child() -> dict[str, Any]:
    return {"name": "py_child", "kind": "process.py", "source": "sv_children:recorder"}


def load_problems(app: Path) -> list[str]:
    with pytest.raises(pidflow.Error) as info:
        pidflow.load_entries(app)
    assert info.value.kind is ErrorKind.INVALID
    return list(info.value.details["problems"])


def root(children: list[dict[str, Any]], **flags: Any) -> dict[str, Any]:
    return {"name": "root", "kind": "supervisor", "children": children, **flags}


# -- validation -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("flags", "child", "expected"), [
    ({"strategy": "one_for_some"}, {}, "strategy must be one of one_for_one, one_for_all, rest_for_one, "
                                       "simple_one_for_one, got 'one_for_some'"),
    ({"intensity": -1}, {}, "intensity must be a non-negative integer, got -1"),
    ({"intensity": True}, {}, "intensity must be a non-negative integer, got True"),
    ({"period": "soon"}, {}, "period"),
    ({"auto_start": "yes"}, {}, "auto_start must be a boolean"),
    ({}, {"restart": "sometimes"}, "children[0]: restart must be one of permanent, transient, temporary, "
                                   "got 'sometimes'"),
    ({}, {"shutdown": "forever"}, "children[0].shutdown"),
    ({}, {"options": [1]}, "children[0]: options must be a mapping"),
    ({}, {"colour": "red"}, "children[0]: unknown key 'colour'"),
    ({}, {"id": None}, "children[0]: missing key 'id'"),
])
def test_a_malformed_supervisor_entry_is_reported_naming_the_key(
        tmp_path: Path, flags: dict[str, Any], child: dict[str, Any], expected: str) -> None:
    spec = {"id": "c", "entry": "app:lua_child", "host": "app:processes", **child}
    app = write_app(tmp_path, [lua_child(), root([spec], **flags)], PROCESSES)
    problems = load_problems(app)
    assert any("entry app:root:" in p and expected in p for p in problems), problems


def test_every_problem_of_a_supervisor_entry_is_reported_at_once(tmp_path: Path) -> None:
    children = [{"id": "c", "entry": "app:lua_child"}, {"id": "c", "entry": "app:lua_child", "restart": "never"}]
    app = write_app(tmp_path, [lua_child(), root(children, strategy="simple_one_for_one", intensity="many")],
                    PROCESSES)
    problems = " | ".join(load_problems(app))
    for expected in ("intensity must be", "simple_one_for_one takes exactly one child spec",
                     "children[1]: duplicate child id 'c'", "children[1]: restart must be one of"):
        assert expected in problems


def test_supervisor_spec_fills_defaults_and_qualifies_references() -> None:
    spec = supervisor_spec("app:root", {"strategy": "rest_for_one", "intensity": 4, "period": "30s", "children": [
        {"id": "a", "entry": "worker", "host": "processes", "restart": "transient", "shutdown": "2s"},
        {"id": "b", "entry": "other:thing"},
    ]}, "app")
    assert (spec.strategy, spec.intensity, spec.period, spec.name) == (Strategy.REST_FOR_ONE, 4, 30.0, "app:root")
    a, b = spec.children
    assert (a.entry, a.host, a.restart, a.shutdown) == ("app:worker", "app:processes", Restart.TRANSIENT, 2.0)
    assert (b.entry, b.host, b.restart, b.shutdown) == ("other:thing", None, Restart.PERMANENT, 5.0)


# -- running ----------------------------------------------------------------------------------------------------
async def test_root_supervisors_start_with_the_node_and_run_lua_children(
        tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    children = [{"id": "one", "entry": "app:lua_child", "host": "app:processes"},
                {"id": "two", "entry": "app:lua_child", "host": "app:processes"}]
    app = write_app(tmp_path, [lua_child(), root(children, intensity=2)], PROCESSES)
    async with pidflow.open_node(app) as node:
        await settle()
        [pid] = node.root_supervisors
        sup = Supervisor(node, pid)
        running = await pids(sup)
        assert list(running) == ["one", "two"] and all(alive(node, p) for p in running.values())
        await node.process.send(running["one"], "crash")  # a Lua error ends it abnormally: restarted
        await settle()
        after = await pids(sup)
        assert after["two"] == running["two"]
        assert after["one"] != running["one"] and alive(node, after["one"])
        await node.process.send(after["one"], "ping")
        with trio.fail_after(5):
            reply = await node.process.inbox().receive()
        assert (reply.topic, reply.data) == ("pong", str(after["one"]))


async def test_a_supervisor_entry_with_auto_start_false_or_used_as_a_child_is_not_a_root(
        tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    entries = [
        lua_child(),
        {"name": "inner", "kind": "supervisor", "children": [{"id": "leaf", "entry": "app:lua_child"}]},
        {"name": "outer", "kind": "supervisor", "children": [{"id": "inner", "entry": "app:inner"}]},
        {"name": "manual", "kind": "supervisor", "auto_start": False, "children": [{"id": "x", "entry": "app:lua_child"}]},
    ]
    app = write_app(tmp_path, entries, PROCESSES)
    async with pidflow.open_node(app) as node:
        await settle()
        [outer] = node.root_supervisors
        inner = (await pids(Supervisor(node, outer)))["inner"]
        assert inner is not None
        [leaf] = (await pids(Supervisor(node, inner))).values()
        assert alive(node, leaf)
        manual = await node.process.spawn("app:manual")  # an entry still runs when spawned explicitly
        await settle()
        assert list(await pids(Supervisor(node, manual))) == ["x"]


async def test_a_stopping_node_stops_root_supervisors_first_with_children_in_reverse_order(
        tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    log = tmp_path / "order.log"
    children = [{"id": i, "entry": "app:py_child", "input": {"id": i, "log": str(log)}} for i in ("a", "b", "c")]
    app = write_app(tmp_path, [py_child(), root(children)], PROCESSES)
    async with pidflow.open_node(app) as node:
        await settle()
        sup_pid = node.root_supervisors[0]
        await node.process.monitor(sup_pid)
    assert log.read_text().split("\n")[3:6] == ["stop c", "stop b", "stop a"]
    assert sorted(log.read_text().split("\n")[:3]) == ["start a", "start b", "start c"]
    assert not alive(node, sup_pid)


async def test_python_children_from_yaml_are_restarted_by_strategy(
        tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    log = tmp_path / "order.log"
    children = [{"id": i, "entry": "app:py_child", "input": {"id": i, "log": str(log)}} for i in ("a", "b", "c")]
    app = write_app(tmp_path, [py_child(), root(children, strategy="rest_for_one", intensity=1)], PROCESSES)
    async with pidflow.open_node(app) as node:
        await settle()
        sup = Supervisor(node, node.root_supervisors[0])
        log.write_text("")
        await node.process.send((await pids(sup))["b"], "crash")
        await settle()
        lines = log.read_text().split()
        assert lines[:4] == ["stop", "b", "stop", "c"]
        assert sorted(lines[4:]) == sorted(["start", "b", "start", "c"])
