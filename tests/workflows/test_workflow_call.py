"""``call`` / ``reply`` across hosts: a local Python process calls a workflow that replies, a workflow calls a
local Python process (answers, error answers, a timeout whose late reply is dropped, a dead target, bad input),
and the history of a calling workflow replays in a fresh process (the reference comes from workflow.uuid4, the
timeout is a durable timer)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import trio

import pidflow
from pidflow import Error, ErrorKind, Pid, process
from pidflow.temporal_host import _replay

ENTRIES = [
    {"name": "server", "kind": "workflow.lua", "source": "file://wcall_server.lua"},
    {"name": "client", "kind": "workflow.lua", "source": "file://wcall_client.lua", "modules": ["time"]},
]


def app(make_app: Any) -> Path:
    return make_app([dict(e) for e in ENTRIES])


async def adder(_input: Any) -> None:
    """A local callee: add [a, b]; fail (an error answer); slow (answers after 1 s)."""
    async for message in process.inbox():
        if message.topic == "add":
            await process.reply(message, message.data[0] + message.data[1])
        elif message.topic == "fail":
            await process.reply(message, error=Error(ErrorKind.CONFLICT, "refused", retryable=False))
        elif message.topic == "slow":
            await trio.sleep(1)
            await process.reply(message, "late")


async def test_a_local_process_calls_a_workflow_that_replies(make_app: Any) -> None:
    async with pidflow.open_node(app(make_app)) as node:
        with trio.fail_after(60):
            pid = await node.process.spawn_monitored("app:server", "app:worker", {})
            assert await node.process.call(pid, "add", [2, 3], timeout=30) == 5
            with pytest.raises(Error, match="refused") as info:
                await node.process.call(pid, "fail", timeout=30)
            assert info.value.kind is ErrorKind.CONFLICT and info.value.retryable is False
            await node.process.send(pid, "stop")
            event = await node.process.events().receive()
            assert event.sender == pid and event.result is not None and event.result.value == 2
            with pytest.raises(Error, match="ended without replying") as info:
                await node.process.call(pid, "add", [1, 1], timeout=30)  # its end is known: answered at once
            assert info.value.kind is ErrorKind.NOT_FOUND


async def test_a_call_to_a_workflow_with_a_payload_that_cannot_cross_is_invalid_naming_it(make_app: Any) -> None:
    async with pidflow.open_node(app(make_app)) as node:
        with trio.fail_after(60):
            pid = await node.process.spawn("app:server", "app:worker", {})
            with pytest.raises(Error) as info:
                await node.process.call(pid, "add", object(), timeout=30)
            assert info.value.kind is ErrorKind.INVALID and info.value.details["argument"] == "payload"
            assert await node.process.call(pid, "add", [1, 1], timeout=30) == 2
            await node.process.send(pid, "stop")


async def run_client(node: pidflow.Node) -> tuple[Pid, Any]:
    callee = await node.process.spawn(adder)
    await node.process.register(f"adder-{callee.id}", callee)
    dead = await node.process.spawn(adder)
    await node.process.terminate(dead)
    pid = await node.process.spawn_monitored("app:client", "app:worker",
                                             {"target": f"adder-{callee.id}", "dead": str(dead)})
    event = await node.process.events().receive()
    assert event.sender == pid and event.result is not None and event.result.error is None, event
    return pid, event.result.value


async def test_a_workflow_calls_a_local_process(make_app: Any) -> None:
    async with pidflow.open_node(app(make_app)) as node:
        with trio.fail_after(90):
            _, out = await run_client(node)
    assert out["add"] == {"value": 5}
    assert out["fail"]["kind"] == "CONFLICT" and out["fail"]["message"] == "refused"
    assert out["slow"]["kind"] == "TIMEOUT" and out["slow"]["reason"] == "timeout"
    assert out["after"] == {"value": 42}  # not the late "slow" reply
    assert out["inbox_empty"] is True
    assert out["dead"]["kind"] == "NOT_FOUND" and out["dead"]["reason"] == "noproc"
    assert out["self"]["kind"] == "INVALID" and "call self" in out["self"]["message"]
    assert out["bad_timeout"]["kind"] == "INVALID" and "timeout" in out["bad_timeout"]["message"]


async def test_a_workflow_that_called_replays_in_a_fresh_process(make_app: Any, tmp_path: Path) -> None:
    path = app(make_app)
    async with pidflow.open_node(path) as node:
        with trio.fail_after(90):
            pid, _ = await run_client(node)
        host = node.hosts["app:worker"]
        history = await host.service.aio.run(_replay.fetch_history, host.client, pid.id)
    saved = tmp_path / "call_history.json"
    _replay.save_history(history, saved)
    done = await trio.to_thread.run_sync(lambda: subprocess.run(
        [sys.executable, "-m", "pidflow.temporal_host._replay", "replay", str(path), str(saved)],
        capture_output=True, text=True, timeout=120))
    results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [r["ok"] for r in results] == [True], (results, done.stderr[-3000:])
