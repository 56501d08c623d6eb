"""Record golden histories of this folder: ``python tests/workflows/histories/record_golden.py [NAME...]``.

Starts a dev server, runs each named scenario once on ``app.yaml`` and saves its history as ``NAME.json`` with
``pidflow.temporal_host._replay`` (``replay_version.json`` is recorded with the first deploy of that workflow,
``replay_version_v1.lua``, so that replaying it with the current code checks that recorded runs keep version 1).
Commit the JSON files; tests/workflows/test_replay.py replays them in every test run.

Histories recorded by an older pidflow are kept as they are, never re-recorded: that they still replay is what
they test. ``replay_sources``, ``replay_pairs``, ``replay_version`` and ``replay_signals_msgpack`` were recorded
before issue 10 (payloads in msgpack, one signal name per kind: ``pidflow.message``, ``pidflow.messages``,
``pidflow.event``); ``replay_signals`` is the same scenario as ``replay_signals_msgpack`` recorded with JSON
payloads and signals named by topic. ``replay_upgrade`` is a run that a pidflow from before issue 10 started and
this one finished: its first half runs in a subprocess on the old code (a tree of commit 7fcc7b0, named by
``PIDFLOW_GOLDEN_OLD_CODE``) before this process starts its worker, so the history holds both encodings and both
signal names, and the second half ran on a worker that replayed the first. Without names, the script records only
the scenarios whose file is missing.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any, Awaitable, Callable

import attrs
import trio

import pidflow
from pidflow import entries
from pidflow.temporal_host import _replay
from pidflow.temporal_host._devserver import DevServer
from pidflow.temporal_host._service import ADDRESS_ENV
from temporalio.client import Client

HERE = Path(__file__).parent
LUA = HERE.parent / "lua"


def registry(version_source: str) -> entries.Registry:
    app = entries.load(HERE / "app.yaml")
    out = entries.Registry()
    for entry in app:
        if entry.id == "app:replay_version":
            entry = attrs.evolve(entry, spec={**entry.spec, "source": f"file://{LUA / version_source}"})
        out.add(entry)
    return out


async def _exit_of(api: Any) -> None:
    await api.events().receive()


async def _ack(api: Any, n: int) -> None:
    message = await api.inbox().receive()
    assert (message.topic, message.data) == ("ack", n), message


async def replay_sources(api: Any) -> pidflow.Pid:
    pid = await api.with_message("go", {"n": 1}).spawn_monitored("app:replay_sources", "app:worker")
    await _exit_of(api)
    return pid


async def replay_pairs(api: Any) -> pidflow.Pid:
    pid = await api.spawn_monitored("app:replay_pairs", "app:worker")
    await _exit_of(api)
    return pid


async def replay_version(api: Any) -> pidflow.Pid:
    pid = await api.spawn_monitored("app:replay_version", "app:worker")
    await _exit_of(api)
    return pid


async def replay_signals(api: Any) -> pidflow.Pid:
    """Every signal a node sends a workflow: a message, bursts (batched by the outbox) of one topic and of two, a
    listened topic carrying values of every wire type, link and unlink, the EXIT of a monitored local process,
    cancel; and the workflow sends a message to another workflow."""

    async def watched(_input: Any) -> Any:
        async for message in pidflow.process.inbox():
            if message.topic == "stop":
                return {"stopped": True, "bytes": b"\xff\x00"}

    local = await api.spawn(watched)
    peer = await api.spawn_monitored("app:replay_sources", "app:worker")  # replay_signals sends it "go"
    pid = await api.spawn_monitored("app:replay_signals", "app:worker", {"watch": local, "peer": peer})
    await api.link(pid)
    await api.send(pid, "hello", {"n": 1, "text": "héllo"})
    await _ack(api, 1)
    # Each burst: the first message goes out alone, the two queued behind it as one batch (of one topic, then
    # of two).
    for i in range(3):
        api.send_nowait(pid, "tick", i)
    await _ack(api, 2)
    for topic, i in (("tock", 0), ("tick", 3), ("tock", 1)):
        api.send_nowait(pid, topic, i)
    await _ack(api, 3)
    await api.send(pid, "order", {
        "pid": local, "bytes": b"\xff\x00", "float": 1.0, "max": 2**63 - 1, "min": -2**63, "sparse": {1: "a", 5: "b"},
        "err": pidflow.Error("NOT_FOUND", "no such order", details={"id": 7}), "nested": [1, [2.5, "x"], {"k": "v"}],
        "dollar": {"$pid": "not a pid"}, "empty": {}, "list": [],
    })
    ready = await api.inbox().receive()
    assert ready.topic == "ready", ready
    await api.unlink(pid)
    await api.send(local, "stop")
    await api.cancel(pid, 60)
    for _ in range(2):
        event = await api.events().receive()
        assert event.result.error is None, event
    return pid


async def replay_funcs_async(api: Any) -> pidflow.Pid:
    """funcs.async: futures run as activities, one with an executor's context, one failing, one cancelled before
    it was scheduled and one while it ran (a cancel request), and a select with a timer."""
    pid = await api.spawn_monitored("app:replay_funcs_async", "app:worker")
    event = await api.events().receive()
    assert event.result.error is None, event
    return pid


async def replay_timers(api: Any) -> pidflow.Pid:
    """The time module: a queued message winning over time.after, time.after winning, timers stopped, reset and
    fired, a ticker's ticks, a sleep, and now/date/parse values."""
    pid = await api.with_message("go", {"n": 1}).spawn_monitored("app:replay_timers", "app:worker")
    event = await api.events().receive()
    assert event.result.error is None, event
    return pid


async def replay_parity(api: Any) -> pidflow.Pid:
    """Issue 11's calls together: the registry (a send by name), positional arguments to child workflows and a
    send of several values, timer, ticker, time.after in a select, time.now arithmetic, and funcs.async (a future
    taken in a select, one cancelled)."""
    pid = await api.spawn_monitored("app:replay_parity", "app:worker", {"n": 1})
    event = await api.events().receive()
    assert event.result.error is None, event
    return pid


UPGRADE_ID = f"upgrade-{uuid.uuid4()}"


async def replay_upgrade_started(api: Any) -> pidflow.Pid:
    """The first half of ``replay_upgrade``, run by the old code: start the run and send it one message."""
    pid = await api.with_name(UPGRADE_ID).spawn("app:replay_upgrade", "app:worker", {
        "owner": api.pid(), "bytes": b"\x00\xff", "sparse": {1: "a", 9: "b"}, "float": 2.0})
    await api.send(pid, "before", {"n": 1, "err": pidflow.Error("TIMEOUT", "slow", details={"s": 5})})
    await _ack(api, 1)
    return pid


async def replay_upgrade(api: Any) -> pidflow.Pid:
    """The second half, run by this code once the old node stopped: more messages, then the end."""
    pid = pidflow.Pid("app:worker", UPGRADE_ID)
    await api.monitor(pid)
    await api.send(pid, "after", {"n": 2, "from_old": api.pid()})
    await _ack(api, 2)
    await api.send(pid, "stop")
    event = await api.events().receive()
    assert event.result.error is None, event
    return pid


def start_upgrade_with_old_code(address: str) -> None:
    old = os.environ.get("PIDFLOW_GOLDEN_OLD_CODE")
    if not old:
        raise SystemExit("replay_upgrade: set PIDFLOW_GOLDEN_OLD_CODE to a tree of pidflow before issue 10 "
                         "(e.g. git worktree add /tmp/old 7fcc7b0)")
    env = {**os.environ, "PYTHONPATH": old, ADDRESS_ENV: address, "PIDFLOW_GOLDEN_UPGRADE_ID": UPGRADE_ID}
    subprocess.run([sys.executable, __file__, "--upgrade-first-half"], env=env, check=True, cwd=old)


SCENARIOS: dict[str, Callable[[Any], Awaitable[pidflow.Pid]]] = {
    "replay_sources": replay_sources,
    "replay_pairs": replay_pairs,
    "replay_version": replay_version,
    "replay_signals_msgpack": replay_signals,
    "replay_signals": replay_signals,
    "replay_upgrade": replay_upgrade,
    "replay_timers": replay_timers,
    "replay_funcs_async": replay_funcs_async,
    "replay_parity": replay_parity,
}


async def run_scenarios(names: list[str]) -> dict[str, str]:
    """Scenario name -> workflow id."""
    ids = {}
    with tempfile.TemporaryDirectory() as state:
        async with pidflow.open_node(registry("replay_version_v1.lua"), state_dir=state) as node:
            for name in names:
                scenario = replay_upgrade_started if name == "replay_upgrade_started" else SCENARIOS[name]
                ids[name] = (await scenario(node.process)).id
    return ids


async def save(address: str, ids: dict[str, str]) -> None:
    client = await Client.connect(address, data_converter=_replay.DATA_CONVERTER)
    for name, workflow_id in ids.items():
        _replay.save_history(await _replay.fetch_history(client, workflow_id), HERE / f"{name}.json")
        print("recorded", HERE / f"{name}.json")


def main(argv: list[str]) -> None:
    if argv == ["--upgrade-first-half"]:  # in the subprocess of start_upgrade_with_old_code, on the old code
        global UPGRADE_ID
        UPGRADE_ID = os.environ["PIDFLOW_GOLDEN_UPGRADE_ID"]
        trio.run(run_scenarios, ["replay_upgrade_started"])
        return
    names = argv or [name for name in SCENARIOS if not (HERE / f"{name}.json").exists()]
    unknown = sorted(set(names) - set(SCENARIOS))
    if unknown:
        raise SystemExit(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    if not names:
        print("every golden history is recorded; name the ones to record again")
        return
    server = DevServer()
    server.start()
    try:
        os.environ[ADDRESS_ENV] = server.address
        if "replay_upgrade" in names:
            start_upgrade_with_old_code(server.address)
        ids = trio.run(run_scenarios, names)
        asyncio.run(save(server.address, ids))
    finally:
        server.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
