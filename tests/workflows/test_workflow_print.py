"""Lua ``print`` inside workflows (pidflow/temporal_host/_workflow.py): it goes to logger ``pidflow.lua`` like a
local process's, and what a run prints is printed once, even when Temporal replays the run's history on a new
worker (a restart or a cache eviction replays a run from its start)."""

from __future__ import annotations

import logging

import pytest
import trio

import pidflow

PRINTER = {"name": "printer", "kind": "workflow.lua", "source": "file://workflow_print.lua", "modules": ["time"]}


def printed(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "pidflow.lua"]


async def until_printed(caplog: pytest.LogCaptureFixture, line: str) -> None:
    with trio.fail_after(30):
        while line not in printed(caplog):
            await trio.sleep(0.05)


async def test_print_in_a_workflow_goes_to_the_pidflow_lua_logger(make_app, caplog):
    caplog.set_level(logging.INFO, logger="pidflow.lua")
    app = make_app([dict(PRINTER)])
    async with pidflow.open_node(app) as node:
        pid = await node.process.spawn_monitored("app:printer", "app:worker", "x")
        await until_printed(caplog, "waiting for go")
        await node.process.send(pid, "go", "y")
        with trio.fail_after(30):
            event = await node.process.events().receive()
    assert event.result.value == "done"
    assert printed(caplog) == ["start\tx", "waiting for go", "got\ty"]
    assert {r.levelno for r in caplog.records if r.name == "pidflow.lua"} == {logging.INFO}


async def test_lines_printed_before_a_worker_restart_are_not_printed_again_when_the_new_worker_replays(
        make_app, caplog):
    caplog.set_level(logging.INFO, logger="pidflow.lua")
    app = make_app([dict(PRINTER)])
    async with pidflow.open_node(app) as node:
        pid = await node.process.spawn("app:printer", "app:worker", "x")
        await until_printed(caplog, "waiting for go")
    # A new node, so a new worker: it has never seen the run and replays its history from the start (two
    # workflow tasks that printed) before it runs the new task that the message brings.
    async with pidflow.open_node(app) as node:
        await node.process.monitor(pid)
        await node.process.send(pid, "go", "y")
        with trio.fail_after(30):
            event = await node.process.events().receive()
    assert event.result.value == "done"
    assert printed(caplog) == ["start\tx", "waiting for go", "got\ty"]
