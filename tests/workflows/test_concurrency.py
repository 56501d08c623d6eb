"""Concurrency inside workflows (spec: 并发工作, 定时器): coroutine.spawn with channels (the worker pool), time.after
in a select, durable timers and elapsed workflow time; the pool's history replays."""

from __future__ import annotations

from typing import Any

import trio

import pidflow
from pidflow.temporal_host._replay import replay


def wf(name: str, source: str, modules: list[str] | None = None) -> dict[str, Any]:
    return {"name": name, "kind": "workflow.lua", "source": f"file://{source}", "modules": modules or []}


async def run(node: pidflow.Node, entry: str, input: Any) -> Any:
    with trio.fail_after(60):
        return await node.process.exec(entry, "app:worker", input)


# -- coroutines and channels ------------------------------------------------------------------------------------------

async def test_worker_pool_processes_every_job_once_across_the_workers(make_app):
    app = make_app([wf("pool", "concurrency_pool.lua", ["time"])])
    async with pidflow.open_node(app) as node:
        result = await run(node, "app:pool", {"workers": 3, "jobs": 6})
    assert result["total"] == 2 * (1 + 2 + 3 + 4 + 5 + 6)
    processed = result["processed"]
    assert sorted(r["job"] for r in processed) == [1, 2, 3, 4, 5, 6]
    assert all(r["result"] == 2 * r["job"] for r in processed)
    # Three workers each slept before their first result, so all three took a job.
    assert {r["worker"] for r in processed} == {1, 2, 3}


async def test_worker_pool_uses_the_default_sizes_without_input(make_app):
    app = make_app([wf("pool", "concurrency_pool.lua", ["time"])])
    async with pidflow.open_node(app) as node:
        result = await run(node, "app:pool", {})
    assert result["total"] == 42
    assert len(result["processed"]) == 6


async def test_worker_pool_history_replays_deterministically(make_app):
    app = make_app([wf("pool", "concurrency_pool.lua", ["time"])])
    async with pidflow.open_node(app) as node:
        pid = await node.process.spawn_monitored("app:pool", "app:worker", {"workers": 4, "jobs": 9})
        with trio.fail_after(60):
            event = await node.process.events().receive()
        assert event.result.error is None
        host = node.hosts["app:worker"]

        async def replay_run() -> Any:
            history = await host.client.get_workflow_handle(pid.id).fetch_history()
            return await replay(node.registry, [history])

        [outcome] = await host.service.aio.run(replay_run)
    # The replay issued the same commands and returned the same value (the order jobs were processed in).
    assert (outcome.ok, outcome.error_type, outcome.message) == (True, None, None)


async def test_coroutines_race_durable_sleeps_against_time_after_deadlines(make_app):
    app = make_app([wf("timeouts", "concurrency_timeouts.lua", ["time"])])
    async with pidflow.open_node(app) as node:
        # The dev server fires timers up to ~1 s late, so the short sleeps and the limit are seconds apart.
        result = await run(node, "app:timeouts", {"delays": ["10ms", "1h", "50ms", "2h"], "limit": "3s"})
    assert result == ["done", "timed_out", "done", "timed_out"]


# -- time.after in select -------------------------------------------------------------------------------------------

async def test_time_after_wins_the_select_when_no_message_comes(make_app):
    app = make_app([wf("after", "concurrency_after.lua", ["time"])])
    async with pidflow.open_node(app) as node:
        result = await run(node, "app:after", {"wait": "100ms"})
    assert result["fired"] == "timer"
    assert result["elapsed_ms"] >= 100


async def test_a_queued_message_wins_the_select_over_a_long_timer(make_app):
    app = make_app([wf("after", "concurrency_after.lua", ["time"])])
    async with pidflow.open_node(app) as node:
        with trio.fail_after(60):
            result = await node.process.with_message("go", {"n": 1}).exec("app:after", "app:worker", {"wait": "1h"})
    assert (result["fired"], result["value"]) == ("message", {"n": 1})


async def test_a_message_sent_while_waiting_wins_the_select_over_a_long_timer(make_app):
    app = make_app([wf("after", "concurrency_after.lua", ["time"])])
    async with pidflow.open_node(app) as node:
        pid = await node.process.spawn_monitored("app:after", "app:worker", {"wait": "1h"})
        await node.process.send(pid, "go", "now")
        with trio.fail_after(60):
            event = await node.process.events().receive()
    assert (event.result.value["fired"], event.result.value["value"]) == ("message", "now")


# -- durable timers ---------------------------------------------------------------------------------------------------

async def test_elapsed_workflow_time_covers_every_durable_sleep(make_app):
    app = make_app([wf("timers", "concurrency_timers.lua", ["time"])])
    async with pidflow.open_node(app) as node:
        result = await run(node, "app:timers", {"sleep": "150ms"})
    assert result["after_string"] >= 150
    assert result["after_both"] >= 250
    assert result["after_both"] >= result["after_string"] + 100


async def test_durable_sleep_takes_a_number_as_nanoseconds(make_app):
    app = make_app([wf("timers", "concurrency_timers.lua", ["time"])])
    async with pidflow.open_node(app) as node:
        result = await run(node, "app:timers", {"sleep": 120_000_000})
    assert result["after_string"] >= 120
