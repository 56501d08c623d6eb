"""OTP ``start_link`` semantics: a supervisor's children start one at a time, in order, each started before the
next begins, and ``start_supervisor`` (or a node with root supervisors) returns only once they all have."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio
import trio.testing

import pidflow
from pidflow import ChildSpec, SupervisorSpec, start_supervisor

from .conftest import write_app

COUNT = 12


def make_announcer(record: list[str]) -> Any:
    async def announcer(name: str) -> None:
        record.append(name)  # before the first wait: that is what "started" covers
        await trio.sleep_forever()

    return announcer


async def test_start_supervisor_returns_once_every_child_started_in_order(node: pidflow.Node) -> None:
    record: list[str] = []
    announcer = make_announcer(record)
    spec = SupervisorSpec(children=tuple(ChildSpec(id=f"c{i}", entry=announcer, input=f"c{i}") for i in range(COUNT)))
    sup = await start_supervisor(node.process, spec)
    assert record == [f"c{i}" for i in range(COUNT)]
    assert [c["id"] for c in await sup.which_children()] == [f"c{i}" for i in range(COUNT)]


async def test_a_restart_of_a_group_starts_children_in_order_too(node: pidflow.Node) -> None:
    record: list[str] = []
    announcer = make_announcer(record)
    spec = SupervisorSpec(children=tuple(ChildSpec(id=f"c{i}", entry=announcer, input=f"c{i}") for i in range(COUNT)),
                          strategy=pidflow.Strategy.ONE_FOR_ALL)
    sup = await start_supervisor(node.process, spec)
    first = (await sup.which_children())[0]["pid"]
    record.clear()
    await node.process.terminate(first)
    await trio.testing.wait_all_tasks_blocked()
    assert record == [f"c{i}" for i in range(COUNT)]


async def test_a_child_that_ends_before_it_waits_still_counts_as_started(node: pidflow.Node) -> None:
    async def quick(_: Any) -> str:
        return "done"

    spec = SupervisorSpec(children=(ChildSpec(id="quick", entry=quick, restart=pidflow.Restart.TEMPORARY),))
    sup = await start_supervisor(node.process, spec)
    await trio.testing.wait_all_tasks_blocked()
    assert await sup.which_children() == []


async def test_lua_children_have_run_up_to_their_first_wait_when_start_supervisor_returns(tmp_path: Path) -> None:
    app = write_app(tmp_path, [{"name": "announcer", "kind": "process.lua", "source": "file://sv_announcer.lua",
                                "modules": ["process"]}])
    async with pidflow.open_node(app) as node:
        me = str(node.process.pid())
        await start_supervisor(node.process, SupervisorSpec(children=tuple(
            ChildSpec(id=f"l{i}", entry="app:announcer", input={"id": f"l{i}", "recorder": me})
            for i in range(COUNT))))
        inbox = node.process.inbox()
        assert [inbox.receive_nowait().data for _ in range(COUNT)] == [f"l{i}" for i in range(COUNT)]


async def test_root_supervisors_have_started_their_children_in_order_when_the_node_is_open(tmp_path: Path) -> None:
    log = tmp_path / "starts.log"
    children = [{"id": f"p{i}", "entry": "app:recorder", "input": {"id": f"p{i}", "log": str(log)}}
                for i in range(COUNT)]
    app = write_app(tmp_path, [{"name": "recorder", "kind": "process.py", "source": "sv_children:recorder"},
                               {"name": "root", "kind": "supervisor", "children": children}])
    async with pidflow.open_node(app):
        assert log.read_text().splitlines() == [f"start p{i}" for i in range(COUNT)]
