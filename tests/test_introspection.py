"""Introspection in the core (``pidflow._introspection``, ``Node.processes`` / ``process_info`` / ``tree`` /
``observe`` / ``observer_counters`` / ``bookkeeping``), for local processes: every field of a Python and of a Lua
process (one parked at a known line), supervision trees with restarts (examples/mixed_tree's local children),
a service's child, the events in order, a subscriber that does not read, and the same with bookkeeping off.
Durable processes: tests/workflows/test_introspection_durable.py."""

from __future__ import annotations

import shutil
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
import yaml

import pidflow
from pidflow import ErrorKind, Pid, entries
from pidflow._introspection import ObserverEvent, ProcessInfo

EXAMPLE = Path(__file__).parent.parent / "examples" / "mixed_tree"

CHILDREN = '''
import trio
import pidflow


async def flaky(input):
    """Fails on its first run (a file marks it), then waits."""
    import pathlib
    mark = pathlib.Path(input)
    if not mark.exists():
        mark.write_text("ran")
        raise RuntimeError("first run fails")
    await pidflow.process.inbox().receive()
'''

# Line numbers matter: the test expects the receive on line 4 and the sleep on line 7.
IDLE_LUA = """local time = require("time")
local function main()
  local inbox = process.inbox()
  local first = inbox:receive()
  process.send(first:from(), "got", first:payload():data())
  process.send(first:from(), "again", 2)
  time.sleep("1h")
end
return {main = main}
"""


@pytest.fixture
async def node(autojump_clock: trio.testing.MockClock) -> Any:
    async with pidflow.open_node() as node:
        yield node


def drain(mailbox: pidflow.Mailbox[ObserverEvent]) -> list[ObserverEvent]:
    events = []
    while True:
        try:
            events.append(mailbox.receive_nowait())
        except trio.WouldBlock:
            return events


def brief(events: list[ObserverEvent]) -> list[tuple[str, Pid]]:
    return [(e.kind, e.pid) for e in events]


async def collector(out: list[Any]) -> None:
    """Sets trap_links, answers one 'ping', then waits on its events (its inbox fills up)."""
    api = pidflow.process
    api.set_options(trap_links=True)
    message = await api.inbox().receive()
    await api.send(message.sender, "pong", message.data)
    out.append(await api.events().receive())


async def idle(_input: Any = None) -> None:
    await pidflow.process.inbox().receive()


async def noop(_input: Any = None) -> str:
    return "done"


async def crasher(_input: Any = None) -> None:
    raise RuntimeError("boom")


async def test_a_python_process_is_described_field_by_field(node: pidflow.Node) -> None:
    before = time.time()
    out: list[Any] = []
    pid = await node.process.spawn(collector, None, out)
    other = await node.process.spawn(idle)
    await node.process.register("collector", pid)
    await node.process.link(pid)
    await node.process.send(pid, "ping", 1)
    assert (await node.process.inbox().receive()).topic == "pong"
    await node.process.send(pid, "queued", 1)
    await node.process.send(pid, "queued", 2)

    async def watch(target: Pid) -> None:
        await pidflow.process.monitor(target)
        await pidflow.process.inbox().receive()

    watcher = await node.process.spawn(watch, None, pid)
    await trio.testing.wait_all_tasks_blocked()

    info = await node.process_info(pid)
    root = node.process.pid()
    assert info == ProcessInfo(
        pid=pid, entry=f"{__name__}.collector", host="pidflow:local", parent=root, names=("collector",),
        status="waiting", started_at=info.started_at, mailbox=2, messages_in=3, messages_out=1, restarts=None,
        links=(root,), monitors=(), monitored_by=(watcher,), trap_links=True, lua_where=None, durable=None)
    assert before <= info.started_at <= time.time()  # type: ignore[operator]
    assert (await node.process_info(watcher)).monitors == (pid,)
    assert (await node.process_info(other)).links == ()
    # the root process: messages out counted for top-level code too
    root_info = await node.process_info(root)
    assert root_info.messages_out == 3 and root_info.messages_in == 1 and root_info.links == (pid,)
    assert info.to_json()["pid"] == str(pid) and info.to_json()["links"] == [str(root)]


async def test_status_is_running_while_the_process_runs_and_exiting_while_it_ends(node: pidflow.Node) -> None:
    seen: list[str] = []

    async def introspective(_input: Any) -> None:
        api = pidflow.process
        seen.append((await api.node.process_info(api.pid())).status)

    await node.process.exec(introspective)
    assert seen == ["running"]

    async def lingering(_input: Any) -> None:
        try:
            await trio.sleep_forever()
        finally:
            with trio.CancelScope(shield=True):
                await trio.sleep(10)

    pid = await node.process.spawn(lingering)
    assert (await node.process_info(pid)).status == "running"  # spawned, its task not run yet
    await trio.testing.wait_all_tasks_blocked()
    assert (await node.process_info(pid)).status == "waiting"
    await node.process.terminate(pid)
    await trio.testing.wait_all_tasks_blocked()
    assert (await node.process_info(pid)).status == "exiting"
    await trio.sleep(11)
    with pytest.raises(pidflow.Error) as err:
        await node.process_info(pid)
    assert err.value.kind is ErrorKind.NOT_FOUND


def lua_app(tmp_path: Path) -> pidflow.Registry:
    (tmp_path / "idle.lua").write_text(IDLE_LUA)
    return entries.from_dicts("app", [
        {"name": "idle", "kind": "process.lua", "source": "file://idle.lua", "method": "main", "modules": ["time"]},
    ], base=tmp_path)


async def test_a_lua_process_tells_the_line_it_waits_at(tmp_path: Path,
                                                         autojump_clock: trio.testing.MockClock) -> None:
    async with pidflow.open_node(lua_app(tmp_path)) as node:
        pid = await node.process.spawn_monitored("app:idle")
        await trio.testing.wait_all_tasks_blocked()
        info = await node.process_info(pid)
        assert (info.entry, info.status, info.lua_where, info.monitored_by) == \
            ("app:idle", "waiting", "idle.lua:4", (node.process.pid(),))
        [listed] = [p for p in node.processes() if p.pid == pid]
        assert listed.lua_where is None and listed == attrs_evolve(info, lua_where=None)  # a listing does not ask Lua

        await node.process.send(pid, "first", 7)
        assert (await node.process.inbox().receive()).data == 7
        await trio.testing.wait_all_tasks_blocked()
        info = await node.process_info(pid)
        assert (info.lua_where, info.messages_in, info.messages_out, info.mailbox) == ("idle.lua:7", 1, 2, 0)
        await node.process.terminate(pid)
        assert (await node.process.events().receive()).result.error.kind is ErrorKind.TERMINATED  # type: ignore[union-attr]


def attrs_evolve(info: ProcessInfo, **changes: Any) -> ProcessInfo:
    import attrs

    return attrs.evolve(info, **changes)


def mixed_tree_local(tmp_path: Path) -> Path:
    """examples/mixed_tree without its durable child: root supervisor with journal (Python), cache (Lua) and
    audit (Python), from the example's own files."""
    for name in ("cache.lua", "tree.py"):
        shutil.copy(EXAMPLE / name, tmp_path / name)
    doc = yaml.safe_load((EXAMPLE / "app.yaml").read_text())
    doc["entries"] = [e for e in doc["entries"] if not e["kind"].startswith(("temporal.", "workflow."))]
    [root] = [e for e in doc["entries"] if e["name"] == "root"]
    root["children"] = [c for c in root["children"] if c["id"] != "orders"]
    (tmp_path / "app.yaml").write_text(yaml.safe_dump(doc))
    return tmp_path / "app.yaml"


async def next_event(mailbox: pidflow.Mailbox[ObserverEvent], kind: str) -> ObserverEvent:
    while True:
        event = await mailbox.receive()
        if event.kind == kind:
            return event


async def test_the_tree_shows_a_supervisor_s_children_in_start_order_with_their_restarts(
        tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    async with pidflow.open_node(mixed_tree_local(tmp_path)) as node:
        events = node.observe()
        [root] = node.tree()
        [root_pid] = node.root_supervisors
        assert (root.pid, root.entry, root.child_id, root.host, root.restarts) == \
            (root_pid, "app:root", None, "app:processes", None)
        assert [(c.child_id, c.entry, c.host, c.restarts, c.children) for c in root.children] == [
            ("journal", "app:journal", "app:processes", 0, ()), ("cache", "app:cache", "app:processes", 0, ()),
            ("audit", "app:journal", "app:processes", 0, ())]
        await trio.testing.wait_all_tasks_blocked()
        assert [c.status for c in node.tree()[0].children] == ["waiting"] * 3
        assert root.to_json()["children"][1]["child_id"] == "cache"

        old = root.children[1].pid
        await node.process.terminate(old)
        restart = await next_event(events, "restart")
        new = Pid.parse(restart.details["new_pid"])
        assert brief(drain(events)) == []  # nothing after the restart
        assert (restart.pid, restart.entry, restart.details) == (old, "app:cache", {
            "supervisor_pid": str(root_pid), "child_id": "cache", "old_pid": str(old), "new_pid": str(new),
            "restarts": 1})
        [root] = node.tree()
        assert [(c.child_id, c.pid, c.restarts) for c in root.children] == [
            ("journal", root.children[0].pid, 0), ("cache", new, 1), ("audit", root.children[2].pid, 0)]
        info = await node.process_info(new)
        assert (info.entry, info.parent, info.restarts, info.links, info.monitored_by, info.trap_links) == \
            ("app:cache", root_pid, 1, (root_pid,), (root_pid,), True)
        await trio.testing.wait_all_tasks_blocked()
        assert (await node.process_info(new)).lua_where == "cache.lua:9"
        supervisor = await node.process_info(root_pid)
        assert set(supervisor.monitors) == {c.pid for c in root.children}
        assert node.observer_counters()["restarts"] == 1


async def test_events_come_in_order_spawn_crash_exit_and_restart(tmp_path: Path,
                                                                autojump_clock: trio.testing.MockClock) -> None:
    async with pidflow.open_node(mixed_tree_local(tmp_path)) as node:
        [root] = node.tree()
        events = node.observe()
        pid = await node.process.spawn(crasher)
        await trio.testing.wait_all_tasks_blocked()
        spawn, crash, exit_ = drain(events)
        assert brief([spawn, crash, exit_]) == [("spawn", pid), ("crash", pid), ("exit", pid)]
        assert spawn.details == {"parent": str(node.process.pid()), "host": "app:processes"}
        assert spawn.entry == f"{__name__}.crasher"
        assert crash.details["error"]["kind"] == "INTERNAL" and "RuntimeError: boom" in crash.details["error"]["message"]
        assert "raise RuntimeError" in crash.details["error"]["details"]["traceback"]
        assert exit_.details == {"error": crash.details["error"], "kind": "INTERNAL"}

        ok = await node.process.spawn(noop)
        await trio.testing.wait_all_tasks_blocked()
        assert [(e.kind, e.pid, e.details.get("error")) for e in drain(events)] == [("spawn", ok, None), ("exit", ok, None)]

        journal = root.children[0].pid
        await node.process.terminate(journal)
        seen = [await events.receive()]
        while seen[-1].kind != "restart":
            seen.append(await events.receive())
        new = node.tree()[0].children[0].pid
        assert brief(seen) == [("exit", journal), ("spawn", new), ("restart", journal)]
        assert seen[1].details["parent"] == str(root.pid) and seen[1].entry == "app:journal"
        assert seen[0].to_json() == {"kind": "exit", "pid": str(journal), "entry": "app:journal", "at": seen[0].at,
                                     "details": {"error": seen[0].details["error"], "kind": "TERMINATED"}}


async def test_a_subscriber_that_does_not_read_loses_its_oldest_events_and_blocks_nothing(
        node: pidflow.Node) -> None:
    slow = node.observe(capacity=4)
    reader = node.observe()
    for _ in range(10):
        await node.process.spawn(noop)
    await trio.testing.wait_all_tasks_blocked()
    everything = drain(reader)
    assert len(everything) == 20  # a spawn and an exit each
    assert drain(slow) == everything[-4:]
    assert slow.dropped == 16  # type: ignore[attr-defined]
    assert node.observer_counters()["events_dropped"] == 16
    assert node.observer_counters()["observers"] == 2
    assert node.unobserve(slow) and not node.unobserve(slow)
    await node.process.spawn(noop)
    await trio.testing.wait_all_tasks_blocked()
    with pytest.raises(trio.EndOfChannel):
        slow.receive_nowait()  # closed: nothing more arrives
    assert len(drain(reader)) == 2
    assert node.observer_counters()["events_dropped"] == 16


async def test_counters_total_spawns_exits_by_kind_restarts_and_messages(node: pidflow.Node) -> None:
    start = node.observer_counters()
    assert start == {"spawns": 0, "exits": {}, "restarts": 0, "messages_sent": 0, "messages_delivered": 0,
                     "workflow_signals": 0, "events_dropped": 0, "observers": 0}
    pid = await node.process.spawn(idle)
    await node.process.send(pid, "stop")
    await node.process.exec(noop)
    with pytest.raises(pidflow.Error):
        await node.process.exec(crasher)
    doomed = await node.process.spawn(idle)
    await node.process.terminate(doomed)
    await trio.testing.wait_all_tasks_blocked()
    await node.process.send(doomed, "too late")  # sent, never delivered: it ended
    await trio.testing.wait_all_tasks_blocked()
    counters = node.observer_counters()
    assert counters["spawns"] == 4
    assert counters["exits"] == {"normal": 2, "INTERNAL": 1, "TERMINATED": 1}
    assert (counters["messages_sent"], counters["messages_delivered"]) == (2, 1)


async def test_bookkeeping_off_still_describes_processes_without_counting(node: pidflow.Node) -> None:
    node.bookkeeping = False
    assert node.bookkeeping is False
    events = node.observe()
    out: list[Any] = []
    pid = await node.process.spawn(collector, None, out)
    await node.process.register("quiet", pid)
    await node.process.monitor(pid)
    await node.process.send(pid, "ping", 1)
    await node.process.inbox().receive()
    await trio.testing.wait_all_tasks_blocked()
    info = await node.process_info(pid)
    assert (info.status, info.names, info.monitored_by, info.trap_links, info.entry) == \
        ("waiting", ("quiet",), (node.process.pid(),), True, f"{__name__}.collector")
    assert (info.started_at, info.messages_in, info.messages_out) == (None, 0, 0)
    assert [p.pid for p in node.processes()] == sorted([node.process.pid(), pid], key=str)
    assert drain(events) == []
    assert node.observer_counters()["spawns"] == 0 and node.observer_counters()["messages_sent"] == 0

    node.bookkeeping = True
    await node.process.send(pid, "queued", 2)
    assert (await node.process_info(pid)).messages_in == 1
    await node.process.terminate(pid)
    await trio.testing.wait_all_tasks_blocked()
    assert [e.kind for e in drain(events)] == ["exit"]


async def test_processes_are_sorted_by_pid_string_and_paged(node: pidflow.Node) -> None:
    pids = [await node.process.spawn(idle) for _ in range(11)]
    listed = [p.pid for p in node.processes()]
    assert listed == sorted([node.process.pid(), *pids], key=str) and len(listed) == 12
    assert [p.pid for p in node.processes(offset=2, limit=3)] == listed[2:5]
    assert [p.pid for p in node.processes(offset=10)] == listed[10:]
    assert node.processes(limit=0) == []
    assert [p.pid for p in node.processes(host="pidflow:local")] == listed


async def test_bad_input_is_refused_with_the_argument_named(node: pidflow.Node) -> None:
    for call, kind, match in [
        (lambda: node.processes(offset=-1), ErrorKind.INVALID, "offset"),
        (lambda: node.processes(limit=-2), ErrorKind.INVALID, "limit"),
        (lambda: node.processes(offset="1"), ErrorKind.INVALID, "offset"),  # type: ignore[arg-type]
        (lambda: node.processes(host="app:nowhere"), ErrorKind.NOT_FOUND, "app:nowhere"),
        (lambda: node.observe(capacity=0), ErrorKind.INVALID, "capacity"),
    ]:
        with pytest.raises(pidflow.Error, match=match) as err:
            call()
        assert err.value.kind is kind
    for pid, kind in [("not a pid", ErrorKind.INVALID), (42, ErrorKind.INVALID),
                      ("{pidflow:local|999}", ErrorKind.NOT_FOUND), ("{app:nowhere|1}", ErrorKind.NOT_FOUND),
                      (Pid("pidflow:local", "999", node.name), ErrorKind.NOT_FOUND)]:
        with pytest.raises(pidflow.Error) as err:
            await node.process_info(pid)  # type: ignore[arg-type]
        assert err.value.kind is kind, pid
    assert node.unobserve(pidflow.Mailbox()) is False


async def test_a_service_keeper_shows_its_process_and_its_restarts(tmp_path: Path,
                                                                  autojump_clock: trio.testing.MockClock) -> None:
    (tmp_path / "intro_children.py").write_text(textwrap.dedent(CHILDREN))
    doc = {"version": "1.0", "namespace": "app", "entries": [
        {"name": "flaky", "kind": "process.py", "source": "intro_children:flaky"},
        {"name": "keeper", "kind": "process.service", "process": "app:flaky", "input": str(tmp_path / "mark"),
         "lifecycle": {"auto_start": True, "restart": {"initial_delay": "1s", "jitter": 0}}},
    ]}
    (tmp_path / "app.yaml").write_text(yaml.safe_dump(doc))
    async with pidflow.open_node(tmp_path / "app.yaml") as node:
        events = node.observe()
        restart = await next_event(events, "restart")
        [keeper] = node.tree()
        assert keeper.child_id is None and [(c.child_id, c.entry, c.pid, c.restarts) for c in keeper.children] == \
            [("app:flaky", "app:flaky", Pid.parse(restart.details["new_pid"]), 1)]
        assert restart.details["child_id"] == "app:flaky" and restart.details["supervisor_pid"] == str(keeper.pid)
        assert (await node.process_info(keeper.children[0].pid)).restarts == 1


async def test_a_supervisor_under_a_supervisor_has_its_own_children_in_the_tree(
        tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    shutil.copy(EXAMPLE / "tree.py", tmp_path / "tree.py")
    doc = {"version": "1.0", "namespace": "app", "entries": [
        {"name": "journal", "kind": "process.py", "source": "tree:announcer"},
        {"name": "inner", "kind": "supervisor", "children": [
            {"id": "a", "entry": "app:journal", "input": {"name": "a"}}]},
        {"name": "outer", "kind": "supervisor", "children": [
            {"id": "b", "entry": "app:journal", "input": {"name": "b"}},
            {"id": "inner", "entry": "app:inner"}]},
    ]}
    (tmp_path / "app.yaml").write_text(yaml.safe_dump(doc))
    async with pidflow.open_node(tmp_path / "app.yaml") as node:
        [outer] = node.tree()
        assert outer.entry == "app:outer"
        assert [(c.child_id, c.entry) for c in outer.children] == [("b", "app:journal"), ("inner", "app:inner")]
        assert [(c.child_id, c.entry, c.children) for c in outer.children[1].children] == [("a", "app:journal", ())]
        assert outer.to_json()["children"][1]["children"][0]["child_id"] == "a"
