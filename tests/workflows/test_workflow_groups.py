"""Process groups and workflows: a workflow joins groups of its worker node (recorded local activities), is a
member Python sees and broadcasts to, and leaves them when it ends; a workflow reads members and broadcasts to
local members; the ``pg`` module's bad input inside a workflow; a history with group calls replays in a fresh
process."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import trio

import pidflow
from pidflow import Pid, process
from pidflow.temporal_host import _replay

SCOPE = "app:pg"
ENTRIES = [
    {"name": "pg", "kind": "pg.scope"},
    {"name": "member", "kind": "workflow.lua", "source": "file://wgroups_member.lua", "modules": ["pg"]},
    {"name": "broadcaster", "kind": "workflow.lua", "source": "file://wgroups_broadcaster.lua", "modules": ["pg"]},
]


def app(make_app: Any) -> Path:
    return make_app([dict(e) for e in ENTRIES])


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def until(check: Any) -> None:
    while not check():
        await trio.sleep(0.05)


async def run_member(node: pidflow.Node, group: str) -> tuple[Pid, Any]:
    """A member workflow joins twice, is seen by Python, gets Python's broadcast, ends; its groups go with it."""
    api = node.process
    pid = await api.spawn_monitored("app:member", "app:worker",
                                    {"scope": SCOPE, "group": group, "twice": True, "notify": str(api.pid())})
    joined = await api.inbox().receive()
    assert joined.topic == "joined" and joined.data == str(pid)
    assert api.get_members(group, scope=SCOPE) == [pid, pid]
    assert set(api.which_groups(scope=SCOPE)) >= {group, group + "-other"}
    assert api.get_members(group) == []  # the default scope is another scope
    assert await api.broadcast(group, "news", {"n": 7}, scope=SCOPE) == 1  # one member process, joined twice
    event = await api.events().receive()
    assert event.sender == pid and event.result is not None and event.result.error is None, event
    await until(lambda: not api.get_members(group, scope=SCOPE))
    assert group + "-other" not in api.which_groups(scope=SCOPE)
    return pid, event.result.value


async def test_a_workflow_joins_gets_a_broadcast_and_leaves_its_groups_when_it_ends(make_app: Any) -> None:
    group = unique("g")
    async with pidflow.open_node(app(make_app)) as node:
        with trio.fail_after(90):
            pid, seen = await run_member(node, group)
    assert seen["topic"] == "news" and seen["data"] == {"n": 7} and seen["from"] == str(node.process.pid())
    assert seen["members"] == [str(pid), str(pid)]
    assert group in seen["groups"] and seen["text"] == f"pg.Instance{{{SCOPE}}}"


async def listener(record: list[Any]) -> None:
    async for message in process.inbox():
        record.append((message.topic, message.data, message.sender))


async def test_a_workflow_broadcasts_to_local_members_and_bad_input_is_refused(make_app: Any) -> None:
    group = unique("locals")
    async with pidflow.open_node(app(make_app)) as node:
        api = node.process
        records: list[list[Any]] = [[], []]
        members = [await api.spawn(listener, None, record) for record in records]
        for pid in members:
            await api.join(group, pid, scope=SCOPE)
        with trio.fail_after(60):
            wf = await api.spawn_monitored("app:broadcaster", "app:worker", {"scope": SCOPE, "group": group})
            event = await api.events().receive()
        assert event.result is not None and event.result.error is None, event
        out = event.result.value
        await until(lambda: all(records))
    assert out["members"] == [str(pid) for pid in members] and out["local_members"] == out["members"]
    assert out["broadcast"] is True
    assert records == [[("hello", {"n": 1}, wf)], [("hello", {"n": 1}, wf)]]
    assert out["leave_not_member"] == "INVALID" and out["bad_group"] == "INVALID"
    assert out["bad_scope"] == "NOT_FOUND" and out["not_a_scope"] == "INVALID"
    assert out["monitor"] == "UNAVAILABLE" and out["released"] == "INVALID"


async def test_a_workflow_with_group_calls_replays_in_a_fresh_process(make_app: Any, tmp_path: Path) -> None:
    path = app(make_app)
    async with pidflow.open_node(path) as node:
        with trio.fail_after(90):
            pid, _ = await run_member(node, unique("replayed"))
        host = node.hosts["app:worker"]
        history = await host.service.aio.run(_replay.fetch_history, host.client, pid.id)
    saved = tmp_path / "groups_history.json"
    _replay.save_history(history, saved)
    markers = [e for e in history.events if e.HasField("marker_recorded_event_attributes")]
    assert len(markers) >= 4  # join, join (two groups), get_members, which_groups: recorded local activities
    done = await trio.to_thread.run_sync(lambda: subprocess.run(
        [sys.executable, "-m", "pidflow.temporal_host._replay", "replay", str(path), str(saved)],
        capture_output=True, text=True, timeout=120))
    results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [r["ok"] for r in results] == [True], (results, done.stderr[-3000:])
