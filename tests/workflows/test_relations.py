"""Monitors and links on running workflows, terminate and cancel (spec: 监控与链接, 终止与取消), from top-level
Python (node.process), from a local Lua process, and from inside a workflow."""

from __future__ import annotations

from typing import Any

import pytest
import trio

import pidflow
from pidflow import ErrorKind, EventKind


def wf(name: str, source: str, modules: list[str] | None = None) -> dict[str, Any]:
    return {"name": name, "kind": "workflow.lua", "source": f"file://{source}", "modules": modules or []}


def lua_process(name: str, source: str, modules: list[str] | None = None) -> dict[str, Any]:
    return {"name": name, "kind": "process.lua", "source": f"file://{source}", "method": "main",
            "modules": modules or []}


ENTRIES = [
    wf("long_workflow", "relations_long.lua"),
    wf("graceful_workflow", "relations_graceful.lua", ["time"]),
]


def entries(*more: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(e) for e in ENTRIES] + list(more)


async def next_event(node: pidflow.Node) -> pidflow.Event:
    with trio.fail_after(30):
        return await node.process.events().receive()


async def wait_until_ended(node: pidflow.Node, pid: pidflow.Pid) -> Any:
    """Block until ``pid`` ended, observed by a helper process (so the caller's own events stay untouched)."""

    async def watcher(target: pidflow.Pid) -> Any:
        await pidflow.process.monitor(target)
        event = await pidflow.process.events().receive()
        return event.result.value if event.result.error is None else str(event.result.error)

    with trio.fail_after(30):
        return await node.process.exec(watcher, None, pid)


# -- from top-level Python ----------------------------------------------------------------------------------------

async def test_monitor_after_start_gives_exit_with_the_result(make_app):
    app = make_app(entries())
    async with pidflow.open_node(app) as node:
        pid = await node.process.spawn("app:long_workflow", "app:worker", {"iterations": 100})
        await node.process.monitor(pid)
        await node.process.send(pid, "stop")
        event = await next_event(node)
    assert (event.kind, event.from_) == (EventKind.EXIT, pid)
    assert event.result.error is None
    assert event.result.value == {"stopped": True, "iterations": 100}


async def test_link_after_start_with_trap_links_gives_link_down_on_terminate(make_app):
    app = make_app(entries())
    async with pidflow.open_node(app) as node:
        node.process.set_options(trap_links=True)
        pid = await node.process.spawn("app:long_workflow", "app:worker", {})
        await node.process.link(pid)
        assert await node.process.terminate(pid) is True
        event = await next_event(node)
    assert (event.kind, event.from_) == (EventKind.LINK_DOWN, pid)
    assert event.reason.kind is ErrorKind.TERMINATED


async def test_unmonitor_stops_the_exit_event(make_app):
    app = make_app(entries())
    async with pidflow.open_node(app) as node:
        pid = await node.process.spawn("app:long_workflow", "app:worker", {})
        await node.process.monitor(pid)
        await node.process.unmonitor(pid)
        await node.process.send(pid, "stop")
        assert await wait_until_ended(node, pid) == {"stopped": True}
        # Monitoring the ended workflow again gives exactly one (new) EXIT: the dropped monitor left none.
        await node.process.monitor(pid)
        event = await next_event(node)
        assert (event.kind, event.from_, event.result.value) == (EventKind.EXIT, pid, {"stopped": True})
        with pytest.raises(trio.WouldBlock):
            node.process.events().receive_nowait()


async def test_unlink_stops_the_link_down_event(make_app):
    app = make_app(entries())
    async with pidflow.open_node(app) as node:
        node.process.set_options(trap_links=True)
        pid = await node.process.spawn("app:long_workflow", "app:worker", {})
        await node.process.link(pid)
        await node.process.unlink(pid)
        await node.process.terminate(pid)
        assert "TERMINATED" in await wait_until_ended(node, pid)
        await node.process.monitor(pid)
        event = await next_event(node)
        assert (event.kind, event.from_) == (EventKind.EXIT, pid)
        with pytest.raises(trio.WouldBlock):
            node.process.events().receive_nowait()


async def test_terminate_gives_the_monitoring_caller_exit_with_an_error(make_app):
    app = make_app(entries())
    async with pidflow.open_node(app) as node:
        pid = await node.process.spawn_monitored("app:long_workflow", "app:worker", {})
        assert await node.process.terminate(pid) is True
        event = await next_event(node)
        assert await node.process.terminate(pid) is False  # no longer running
    assert (event.kind, event.from_) == (EventKind.EXIT, pid)
    assert event.result.value is None
    assert event.result.error.kind is ErrorKind.TERMINATED


async def test_cancel_delivers_a_cancel_event_and_the_workflow_finishes_gracefully(make_app):
    app = make_app(entries())
    async with pidflow.open_node(app) as node:
        pid = await node.process.spawn_monitored("app:graceful_workflow", "app:worker", {})
        assert await node.process.cancel(pid, "5s") is True
        event = await next_event(node)
        me = node.process.pid()
    assert (event.kind, event.from_) == (EventKind.EXIT, pid)
    assert event.result.error is None
    assert event.result.value == {"status": "cancelled", "deadline": 5000, "by": str(me)}


async def test_cancel_terminates_a_workflow_that_ignores_it_after_the_deadline(make_app):
    app = make_app(entries())
    async with pidflow.open_node(app) as node:
        pid = await node.process.spawn_monitored("app:long_workflow", "app:worker", {})
        assert await node.process.cancel(pid, "300ms") is True
        event = await next_event(node)
    assert (event.kind, event.from_) == (EventKind.EXIT, pid)
    assert event.result.error.kind is ErrorKind.CANCELED
    assert "did not stop within its cancel deadline" in event.result.error.message


# -- from a local Lua process ---------------------------------------------------------------------------------------

async def test_lua_process_monitors_a_started_workflow_and_gets_its_exit(make_app):
    app = make_app(entries(lua_process("caller", "relations_monitor_caller.lua")))
    async with pidflow.open_node(app) as node:
        with trio.fail_after(30):
            result = await node.process.exec("app:caller", "app:processes")
    assert result == {"kind": "pid.exit", "same_pid": True, "value": {"stopped": True, "iterations": 100},
                      "has_error": False}


async def test_lua_process_trapping_links_gets_link_down_when_it_terminates_the_workflow(make_app):
    app = make_app(entries(lua_process("caller", "relations_link_caller.lua", ["time"])))
    async with pidflow.open_node(app) as node:
        with trio.fail_after(30):
            result = await node.process.exec("app:caller", "app:processes")
    assert result["kind"] == "pid.link.down"
    assert result["from"] == result["pid"]
    assert result["reason_kind"] == "TERMINATED"


async def test_lua_process_linked_without_trap_dies_with_the_terminated_workflow(make_app):
    app = make_app(entries(lua_process("linker", "relations_link_untrapped.lua")))
    async with pidflow.open_node(app) as node:
        target = await node.process.spawn("app:long_workflow", "app:worker", {})
        linker = await node.process.spawn_monitored("app:linker", "app:processes",
                                                    {"target": str(target), "reply_to": str(node.process.pid())})
        with trio.fail_after(30):
            assert (await node.process.inbox().receive()).topic == "linked"
        await node.process.terminate(target)
        event = await next_event(node)
    assert (event.kind, event.from_) == (EventKind.EXIT, linker)
    assert event.result.error is not None
    assert event.result.error.kind is ErrorKind.TERMINATED
    assert str(target) in event.result.error.message


async def test_lua_process_that_unlinked_survives_the_terminated_workflow(make_app):
    app = make_app(entries(lua_process("linker", "relations_link_untrapped.lua")))
    async with pidflow.open_node(app) as node:
        target = await node.process.spawn("app:long_workflow", "app:worker", {})
        linker = await node.process.spawn_monitored(
            "app:linker", "app:processes", {"target": str(target), "reply_to": str(node.process.pid()), "unlink": True})
        with trio.fail_after(30):
            assert [(await node.process.inbox().receive()).topic for _ in range(2)] == ["linked", "unlinked"]
        await node.process.terminate(target)
        assert "TERMINATED" in await wait_until_ended(node, target)
        await node.process.send(linker, "still there?")
        event = await next_event(node)
    assert (event.kind, event.from_) == (EventKind.EXIT, linker)
    assert event.result.error is None
    assert event.result.value == {"survived": True, "topic": "still there?"}


@pytest.mark.parametrize(("entry", "deadline", "expected"), [
    ("app:graceful_workflow", "5s", {"kind": "pid.exit", "cancel_ok": True,
                                      "value": {"status": "cancelled", "deadline": 5000}}),
    ("app:long_workflow", "300ms", {"kind": "pid.exit", "cancel_ok": True, "error_kind": "CANCELED"}),
], ids=["graceful", "ignored"])
async def test_lua_process_cancels_a_workflow_with_a_deadline(make_app, entry, deadline, expected):
    app = make_app(entries(lua_process("caller", "relations_cancel_caller.lua")))
    async with pidflow.open_node(app) as node:
        with trio.fail_after(30):
            result = await node.process.exec("app:caller", "app:processes", {"entry": entry, "deadline": deadline})
    if "value" in result:
        result["value"].pop("by")
    assert result == expected


# -- from inside a workflow -----------------------------------------------------------------------------------------

async def test_workflow_monitors_another_workflow_and_gets_its_exit(make_app):
    app = make_app(entries(wf("monitor_wf", "relations_wf_monitor.lua")))
    async with pidflow.open_node(app) as node:
        target = await node.process.spawn("app:long_workflow", "app:worker", {"iterations": 3})
        with trio.fail_after(30):
            result = await node.process.exec("app:monitor_wf", "app:worker", {"target": str(target)})
    assert result == {"kind": "pid.exit", "from": str(target), "value": {"stopped": True, "iterations": 3},
                      "has_error": False}


async def test_workflow_trapping_links_gets_link_down_when_it_terminates_a_linked_workflow(make_app):
    app = make_app(entries(wf("link_wf", "relations_wf_link.lua")))
    async with pidflow.open_node(app) as node:
        target = await node.process.spawn("app:long_workflow", "app:worker", {})
        with trio.fail_after(30):
            result = await node.process.exec("app:link_wf", "app:worker",
                                             {"target": str(target), "trap": True, "terminate": True})
    assert result == {"kind": "pid.link.down", "from": str(target), "reason_kind": "TERMINATED"}


async def test_workflow_linked_without_trap_fails_when_the_linked_workflow_is_terminated(make_app):
    app = make_app(entries(wf("link_wf", "relations_wf_link.lua")))
    async with pidflow.open_node(app) as node:
        target = await node.process.spawn("app:long_workflow", "app:worker", {})
        linker = await node.process.spawn_monitored("app:link_wf", "app:worker",
                                                    {"target": str(target), "reply_to": str(node.process.pid())})
        with trio.fail_after(30):
            assert (await node.process.inbox().receive()).topic == "linked"
        await node.process.terminate(target)
        event = await next_event(node)
    assert (event.kind, event.from_) == (EventKind.EXIT, linker)
    assert event.result.error.kind is ErrorKind.TERMINATED
    assert f"linked process {target} failed" in event.result.error.message


async def test_workflow_that_unlinked_survives_the_terminated_workflow(make_app):
    app = make_app(entries(wf("unlink_wf", "relations_wf_unlink.lua")))
    async with pidflow.open_node(app) as node:
        target = await node.process.spawn("app:long_workflow", "app:worker", {})
        linker = await node.process.spawn_monitored("app:unlink_wf", "app:worker",
                                                    {"target": str(target), "reply_to": str(node.process.pid())})
        with trio.fail_after(30):
            assert (await node.process.inbox().receive()).topic == "unlinked"
        await node.process.terminate(target)
        assert "TERMINATED" in await wait_until_ended(node, target)
        await node.process.send(linker, "still there?")
        event = await next_event(node)
    assert (event.kind, event.from_) == (EventKind.EXIT, linker)
    assert event.result.error is None
    assert event.result.value == {"survived": True, "topic": "still there?"}


async def test_workflow_that_unmonitored_gets_no_exit_from_that_workflow(make_app):
    app = make_app(entries(wf("unmonitor_wf", "relations_wf_unmonitor.lua"), wf("watcher", "relations_wf_watcher.lua")))
    async with pidflow.open_node(app) as node:
        target = await node.process.spawn("app:long_workflow", "app:worker", {})
        with trio.fail_after(30):
            result = await node.process.exec("app:unmonitor_wf", "app:worker", {"target": str(target)})
    assert result["first_from"] == result["watcher"]
    assert result["watcher_saw"] == {"kind": "pid.exit", "value": {"stopped": True}}
    assert result["extra"] is False


async def test_workflow_cancel_terminates_a_workflow_that_ignores_it_after_the_deadline(make_app):
    app = make_app(entries(wf("cancel_wf", "relations_wf_cancel.lua")))
    async with pidflow.open_node(app) as node:
        target = await node.process.spawn("app:long_workflow", "app:worker", {})
        with trio.fail_after(30):
            result = await node.process.exec("app:cancel_wf", "app:worker", {"target": str(target), "deadline": "300ms"})
    assert result["kind"] == "pid.exit"
    assert result["cancel_ok"] is True
    assert result["error_kind"] == "CANCELED"
    assert "did not stop within its cancel deadline" in result["error_message"]


async def test_workflow_cancel_lets_a_graceful_workflow_finish(make_app):
    app = make_app(entries(wf("cancel_wf", "relations_wf_cancel.lua")))
    async with pidflow.open_node(app) as node:
        target = await node.process.spawn("app:graceful_workflow", "app:worker", {})
        with trio.fail_after(30):
            result = await node.process.exec("app:cancel_wf", "app:worker", {"target": str(target), "deadline": "5s"})
    assert result["kind"] == "pid.exit"
    assert result["value"]["status"] == "cancelled"
    assert result["value"]["by"].startswith("{app:worker|app-cancel_wf-")
