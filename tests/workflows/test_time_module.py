"""The Lua ``time`` module inside workflows: workflow time, durable timers (a ticker is a chain of them, a stopped
timer leaves none), bad input answered as in local processes, and the golden history ``replay_timers.json``
(timer, ticker, after, now, date ...) replaying against the current code."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import trio
from temporalio.api.enums.v1 import EventType

import pidflow
from pidflow import entries
from pidflow.temporal_host import _replay

from history_helpers import history_events

HISTORIES = Path(__file__).parent / "histories"
TIMERS = {"name": "timers", "kind": "workflow.lua", "source": "file://time_timers.lua", "modules": ["time"]}
REPLAY_TIMERS = {"name": "replay_timers", "kind": "workflow.lua", "source": "file://replay_timers.lua", "modules": ["time"]}


async def run(node: pidflow.Node, entry: str, input: Any, spawner: Any = None) -> tuple[pidflow.Pid, Any]:
    """Run ``entry`` (spawned by ``spawner``, default ``node.process``) to its end: its PID and its result."""
    pid = await (spawner or node.process).spawn_monitored(entry, "app:worker", input)
    with trio.fail_after(60):
        event = await node.process.events().receive()
    assert event.result.error is None, event.result.error
    return pid, event.result.value


def counts(events: list[Any]) -> dict[str, int]:
    kinds = {"started": EventType.EVENT_TYPE_TIMER_STARTED, "fired": EventType.EVENT_TYPE_TIMER_FIRED,
             "canceled": EventType.EVENT_TYPE_TIMER_CANCELED}
    return {name: sum(e.event_type == kind for e in events) for name, kind in kinds.items()}


def check_replay_timers_result(out: dict[str, Any]) -> None:
    assert (out["queued_message_won"], out["after_won"], out["after_closed"], out["default"]) == (True, True, True, True)
    assert out["after_ms"] >= 50
    assert (out["stopped"], out["reset"], out["reset_after_fire"], out["ticker_stopped"]) == (True, True, False, True)
    assert out["timer_ms"] >= out["after_ms"] + 100
    ticks = out["ticks"]
    assert ticks[0] >= 200 and ticks[1] >= 400 and ticks[2] >= 600 and ticks == sorted(ticks)
    assert out["elapsed_ms"] >= out["timer_ms"] + 600 + 10
    assert out["localtz"] == "UTC" and out["start"].endswith("Z")
    assert out["date"] == "Sat, 01 Mar 2025 12:00:00 UTC"  # Feb 29 a year on is March 1, as Go normalizes it
    assert (out["parsed"], out["weekday"], out["duration"]) == ("2024-12-29T09:34:05Z", 4, "1h31m30s")


async def test_every_time_value_is_workflow_time_and_the_run_replays(make_app):
    app = make_app([REPLAY_TIMERS])
    async with pidflow.open_node(app) as node:
        pid, out = await run(node, "app:replay_timers", None, node.process.with_message("go", {"n": 1}))
        check_replay_timers_result(out)
        host = node.hosts["app:worker"]

        async def replay_run() -> Any:
            history = await host.client.get_workflow_handle(pid.id).fetch_history()
            return await _replay.replay(node.registry, [history])

        [outcome] = await host.service.aio.run(replay_run)
    # the replay issued the same commands (timers included) and returned the same value
    assert (outcome.ok, outcome.error_type, outcome.message) == (True, None, None)


async def test_a_ticker_in_a_workflow_is_a_chain_of_durable_timers(make_app):
    app = make_app([TIMERS])
    async with pidflow.open_node(app) as node:
        pid, at = await run(node, "app:timers", {"mode": "ticker", "every": "300ms", "n": 4})
        events = await history_events(node, pid)
    assert len(at) == 4 and all(at[i] >= 300 * (i + 1) for i in range(4)), at
    # one durable timer per tick, each fired; the stopped ticker left none behind
    assert counts(events) == {"started": 4, "fired": 4, "canceled": 0}


async def test_a_timer_stopped_before_it_fires_leaves_no_durable_timer(make_app):
    app = make_app([TIMERS])
    async with pidflow.open_node(app) as node:
        pid, out = await run(node, "app:timers", {"mode": "stopped"})
        events = await history_events(node, pid)
    assert out == {"stopped": True, "closed": True}
    assert counts(events) == {"started": 0, "fired": 0, "canceled": 0}


async def test_timers_shorter_than_a_millisecond_work_in_a_workflow(make_app):
    app = make_app([TIMERS])
    async with pidflow.open_node(app) as node:
        _, out = await run(node, "app:timers", {"mode": "tiny"})
    assert out == ["1ns", "500ns", "999us"]


async def test_bad_input_in_a_workflow_answers_invalid_as_locally(make_app):
    app = make_app([TIMERS])
    async with pidflow.open_node(app) as node:
        _, out = await run(node, "app:timers", {"mode": "bad"})
    assert [(is_nil, kind) for is_nil, kind, _ in out] == [(True, "INVALID")] * 5 + [(True, "NOT_FOUND"), (True, "INVALID")]
    messages = [m for _, _, m in out]
    assert messages[0] == "time.after: duration must be > 0"
    assert messages[1] == 'time.sleep: time: invalid duration "soon"'
    assert messages[2].startswith("time.ticker: a duration is a number of nanoseconds")
    assert messages[3].startswith("time.parse_duration: a duration is a number of nanoseconds")
    assert messages[4] == 'parsing time "yesterday" as "2006-01-02": cannot parse "yesterday" as "2006"'
    assert messages[6] == "time.date: bad argument #1 (year): integer expected, got string"


async def test_the_golden_timers_history_replays_and_holds_its_values():
    registry = entries.load(HISTORIES / "app.yaml")
    history = _replay.load_history(HISTORIES / "replay_timers.json")
    [result] = await trio.to_thread.run_sync(lambda: asyncio.run(_replay.replay(registry, [history])))
    assert result.ok, f"{result.error_type}: {result.message}"
    completed, out = _replay._recorded_value(history)
    assert completed
    check_replay_timers_result(out)
    # after (won), timer (reset), three ticks, sleep: six durable timers fired; the waits a message or a stop
    # cut short were cancelled
    assert counts(list(history.events))["fired"] == 6
