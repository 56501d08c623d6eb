"""Registered names and workflows: a workflow registers a name in its worker's node registry and is found by a
local Lua process; it reaches a local process by name; its names are released when it ends; a durable spawn with
a name registers it; the local activities that carry registry calls replay (issue 11: names)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import trio

import pidflow
from pidflow import ErrorKind, Pid, process
from pidflow.temporal_host import _replay

from module_helpers import describe

ENTRIES = [
    {"name": "holder", "kind": "workflow.lua", "source": "file://names_holder.lua"},
    {"name": "sender", "kind": "workflow.lua", "source": "file://names_sender.lua"},
    {"name": "wait", "kind": "workflow.lua", "source": "file://xh_wait.lua"},
    {"name": "finder", "kind": "process.lua", "source": "file://names_finder.lua", "method": "main"},
    {"name": "continued", "kind": "workflow.lua", "source": "file://names_continued.lua", "modules": ["workflow"]},
    {"name": "parent", "kind": "workflow.lua", "source": "file://names_parent.lua"},
]


def app(make_app: Any) -> Path:
    return make_app([dict(e) for e in ENTRIES])


async def released(node: pidflow.Node, name: str) -> None:
    """Wait until the node has heard of the holder's end (a workflow's end reaches the node over the network)."""
    while node.names.whereis(name) is not None:
        await trio.sleep(0.05)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def test_a_workflow_registers_a_name_a_local_lua_process_finds_and_it_is_released_at_the_end(make_app):
    name = unique("holder")
    async with pidflow.open_node(app(make_app)) as node:
        with trio.fail_after(60):
            wf = await node.process.spawn_monitored("app:holder", "app:worker", {"name": name})
            while node.names.whereis(name) is None:
                await trio.sleep(0.05)
            assert node.process.lookup(name) == wf
            found = await node.process.exec("app:finder", "app:processes", {"name": name})
            exit_event = await node.process.events().receive()
            await released(node, name)
    assert found["found"] == str(wf) and found["exit_from"] == str(wf)
    value = exit_event.result.value
    assert found["value"] == value
    assert value["found_self"] is True and value["first"] == "self" and value["from_self"] is True
    assert value["finish"] == "finish"


async def collector(_input: Any) -> Any:
    message = await process.inbox().receive()
    await process.send(message.sender, "reply", {"got": message.topic})
    stop = await process.inbox().receive()
    return {"sender": str(message.sender), "data": message.data, "stop": stop.topic}


async def run_sender(node: pidflow.Node, target: str) -> tuple[Any, Pid, Any]:
    local = await node.process.spawn_monitored(collector)
    await node.process.register(target, local)
    pid = await node.process.spawn_monitored("app:sender", "app:worker", {"target": target})
    events = [await node.process.events().receive(), await node.process.events().receive()]
    by_pid = {event.from_: event.result for event in events}
    assert by_pid[pid].error is None, by_pid[pid].error
    return by_pid[pid].value, pid, by_pid[local].value


async def test_a_workflow_sends_to_a_local_process_by_name(make_app):
    target = unique("collector")
    async with pidflow.open_node(app(make_app)) as node:
        with trio.fail_after(60):
            result, pid, local = await run_sender(node, target)
        assert node.process.whereis(target) is None  # the local process ended: released at once
    assert local == {"sender": str(pid), "data": {"from": str(pid)}, "stop": "stop"}
    assert result["reply"] == {"got": "hello"} and result["replier_found"] is True
    assert result["exit_from_target"] is True


async def test_what_a_workflow_gets_for_names_nobody_holds_and_names_it_cannot_have(make_app):
    target = unique("collector")
    async with pidflow.open_node(app(make_app)) as node:
        with trio.fail_after(60):
            result, _, _ = await run_sender(node, target)
    assert "ok" not in result["send_missing"] and result["send_missing"]["kind"] == "NOT_FOUND"
    assert "could not resolve" in result["send_missing"]["message"]
    assert result["lookup_missing"] == {"kind": "NOT_FOUND"}
    assert result["monitor_missing"] == {"kind": "NOT_FOUND"}
    assert result["register_held"] == {"kind": "ALREADY_EXISTS"}
    assert result["register_bad"] == {"kind": "INVALID"}
    assert result["unregister_missing"] is False and result["unregister_mine"] is True


async def test_a_workflow_that_used_names_replays_in_a_fresh_process(make_app, tmp_path):
    target = unique("collector")
    path = app(make_app)
    async with pidflow.open_node(path) as node:
        with trio.fail_after(60):
            _, pid, _ = await run_sender(node, target)
        host = node.hosts["app:worker"]
        history = await host.service.aio.run(_replay.fetch_history, host.client, pid.id)
    saved = tmp_path / "names_history.json"
    _replay.save_history(history, saved)
    markers = [e for e in history.events if e.HasField("marker_recorded_event_attributes")]
    assert len(markers) >= 6  # the registry calls are local activities, recorded as markers
    done = await trio.to_thread.run_sync(lambda: subprocess.run(
        [sys.executable, "-m", "pidflow.temporal_host._replay", "replay", str(path), str(saved)],
        capture_output=True, text=True, timeout=120))
    results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [r["ok"] for r in results] == [True], (results, done.stderr[-3000:])


async def test_a_durable_spawn_with_a_name_registers_it_until_the_workflow_ends(make_app):
    name = unique("order")
    async with pidflow.open_node(app(make_app)) as node:
        with trio.fail_after(60):
            pid = await node.process.with_name(name).spawn_monitored("app:wait", "app:worker", {})
            assert pid.id == name and node.process.lookup(name) == pid
            again = await node.process.with_name(name).spawn("app:wait", "app:worker", {})
            assert again == pid and node.names.names_of(pid) == [name]
            await node.process.send(name, "go", 1)  # by name, to the workflow
            await node.process.events().receive()
            await released(node, name)


async def test_a_durable_spawn_with_a_name_another_process_holds_is_already_exists_and_starts_nothing(make_app):
    name = unique("taken")
    async with pidflow.open_node(app(make_app)) as node:
        holder = await node.process.spawn(collector)
        await node.process.register(name, holder)
        with trio.fail_after(60):
            with pytest.raises(pidflow.Error, match=f"name '{name}' is already registered to {holder}") as info:
                await node.process.with_name(name).spawn("app:wait", "app:worker", {})
            assert info.value.kind is ErrorKind.ALREADY_EXISTS
            with pytest.raises(Exception) as missing:
                await describe(node, Pid("app:worker", name))
            assert "not found" in str(missing.value).lower()
        assert node.process.lookup(name) == holder


async def test_a_name_registered_for_a_workflow_from_outside_is_released_when_it_ends(make_app):
    name = unique("watched")
    async with pidflow.open_node(app(make_app)) as node:
        with trio.fail_after(60):
            pid = await node.process.spawn_monitored("app:wait", "app:worker", {})
            await node.process.register(name, pid)
            await node.process.register(name + "-2", pid)
            assert node.names.names_of(pid) == [name, name + "-2"]
            await node.process.terminate(name)
            await node.process.events().receive()
            await released(node, name)
            assert node.process.whereis(name + "-2") is None


async def test_a_failed_durable_spawn_releases_the_name_it_claimed(make_app):
    name = unique("failed")
    async with pidflow.open_node(app(make_app)) as node:
        with trio.fail_after(60):
            with pytest.raises(pidflow.Error):
                await node.process.with_name(name).with_options(
                    {"temporal.workflow.namespace": "no-such-namespace"}).spawn("app:wait", "app:worker", {})
        assert node.process.whereis(name) is None


async def test_a_restarted_workflow_keeps_the_name_its_new_run_registered(make_app):
    # The end of run 1 reaches the node's name watch after it reached our monitor (the name watch started
    # later); the spawn of run 2 in between must keep the name: the watch of run 1 is replaced, not obeyed.
    name = unique("restarted")
    async with pidflow.open_node(app(make_app)) as node:
        with trio.fail_after(60):
            first = await node.process.with_options({"temporal.workflow.id": name}).spawn_monitored(
                "app:wait", "app:worker", {})
            await node.process.register(name, first)
            await node.process.send(first, "go")
            await node.process.events().receive()  # run 1 ended
            second = await node.process.with_name(name).spawn_monitored("app:wait", "app:worker", {})
            assert second == first
            for _ in range(40):  # run 1's end is seen by now; run 2 holds the name all along
                await trio.sleep(0.05)
                assert node.process.whereis(name) == second
            await node.process.send(name, "go")
            await node.process.events().receive()
            await released(node, name)


async def test_a_workflow_keeps_its_name_across_continue_as_new(make_app):
    name = unique("continued")
    async with pidflow.open_node(app(make_app)) as node:
        with trio.fail_after(60):
            pid = await node.process.spawn_monitored("app:continued", "app:worker", {"name": name})
            while True:  # the second run is up once its first workflow task looked the name up
                description = await describe(node, pid)
                if description.run_id != description.raw_description.workflow_execution_info.first_run_id:
                    break
                await trio.sleep(0.05)
            assert node.process.whereis(name) == pid
            await node.process.send(name, "finish")
            event = await node.process.events().receive()
            await released(node, name)
    assert event.result.value == {"found_self": True, "finish": "finish"}


async def test_a_named_child_of_a_workflow_holds_its_name_in_the_node_registry(make_app):
    name, taken = unique("child"), unique("taken")
    async with pidflow.open_node(app(make_app)) as node:
        holder = await node.process.spawn(collector)
        await node.process.register(taken, holder)
        with trio.fail_after(60):
            parent = await node.process.spawn_monitored("app:parent", "app:worker", {"name": name})
            while node.names.whereis(name) is None:
                await trio.sleep(0.05)
            child = node.process.lookup(name)
            assert child.id == name
            await node.process.send(name, "go", 1)   # by name: the child ends, its name is released
            await released(node, name)
            await node.process.send(parent, "stop", 1)
            done = await node.process.events().receive()
            assert done.result.value == {"child": str(child), "stop": "stop"}
            refused = await node.process.spawn_monitored("app:parent", "app:worker", {"name": taken})
            await node.process.send(refused, "stop", 1)
            done = await node.process.events().receive()
        assert done.result.value["error"] == "ALREADY_EXISTS", done.result.value
        assert node.process.lookup(taken) == holder
