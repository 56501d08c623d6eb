"""Replay (spec: 确定性, workflow.version()): the committed golden histories replay with temporalio's Replayer
against the current Lua code, an incompatible change is reported as non-determinism, and ``workflow.version``
keeps a run's recorded version. Regenerate the histories with ``python tests/workflows/histories/record_golden.py``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import trio

import pidflow
from pidflow import entries
from pidflow.temporal_host import _replay

HERE = Path(__file__).parent
HISTORIES = HERE / "histories"
LUA = HERE / "lua"
GOLDEN = sorted(p.name for p in HISTORIES.glob("*.json"))


async def replay(history: str, **sources: str) -> _replay.ReplayResult:
    registry = entries.load(HISTORIES / "app.yaml")
    loaded = _replay.load_history(HISTORIES / history)
    overrides = {f"app:{name}": text for name, text in sources.items()}
    [result] = await trio.to_thread.run_sync(lambda: asyncio.run(_replay.replay(registry, [loaded], sources=overrides)))
    return result


def recorded(history: str) -> dict:
    completed, value = _replay._recorded_value(_replay.load_history(HISTORIES / history))
    assert completed
    return value


def test_every_golden_history_is_committed() -> None:
    assert GOLDEN == ["replay_pairs.json", "replay_signals_msgpack.json", "replay_sources.json", "replay_version.json"]


@pytest.mark.parametrize("history", GOLDEN)
async def test_golden_history_replays_against_the_current_code(history):
    result = await replay(history)
    assert result.ok, f"{result.error_type}: {result.message}"


async def test_incompatible_change_to_a_lua_workflow_is_reported_as_nondeterminism():
    result = await replay("replay_sources.json", replay_sources=(LUA / "replay_sources_changed.lua").read_text())
    assert not result.ok
    assert result.error_type == "NondeterminismError"
    assert "Nondeterminism" in result.message


async def test_replay_that_returns_another_value_than_recorded_is_reported():
    source = (LUA / "replay_sources.lua").read_text().replace("os_time = os.time(),", "os_time = os.time() + 1,")
    result = await replay("replay_sources.json", replay_sources=source)
    assert (result.ok, result.error_type) == (False, "ResultMismatch")


async def test_run_recorded_at_version_1_keeps_version_1_when_replayed_with_code_supporting_1_to_2():
    assert recorded("replay_version.json") == {"version": 1, "paid": "old payment"}
    # replay_version.lua asks for version("payment", 1, 2): a new run would take the other branch (one more
    # command), so this replay only matches the history if the recorded version 1 is kept.
    result = await replay("replay_version.json")
    assert result.ok, result.message


async def test_run_recorded_below_the_minimum_supported_version_fails_its_replay():
    result = await replay("replay_version.json", replay_version=(LUA / "replay_version_v3.lua").read_text())
    assert not result.ok
    assert "this run recorded version 1, which the code no longer supports" in result.message


async def test_new_run_gets_the_maximum_supported_version(make_app):
    app = make_app([
        {"name": "versioned", "kind": "workflow.lua", "source": "file://replay_version.lua",
         "modules": ["funcs", "time", "workflow"]},
        {"name": "echo", "kind": "function.lua", "source": "file://replay_functions.lua", "method": "echo"},
    ])
    async with pidflow.open_node(app) as node:
        with trio.fail_after(60):
            result = await node.process.exec("app:versioned", "app:worker")
    assert result == {"version": 2, "paid": "new payment"}
