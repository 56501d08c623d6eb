"""Determinism (spec: 确定性; DESIGN "Lua"): replay does not depend on the worker process, the non-deterministic
Lua functions are made deterministic or fail clearly, and a workflow that computes too long fails with an error
that says what to do instead of hanging."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import trio

import pidflow
from history_helpers import terminate, workflow_task_failure
from pidflow.temporal_host import _replay

HERE = Path(__file__).parent
HISTORIES = HERE / "histories"
REPO = HERE.parents[1]

ECHO = {"name": "echo", "kind": "function.lua", "source": "file://replay_functions.lua", "method": "echo"}


def replay_in_fresh_process(history: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "pidflow.temporal_host._replay", "replay", str(HISTORIES / "app.yaml"),
         str(HISTORIES / history)],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, proc.stderr[-3000:]
    return json.loads(lines[-1])


def test_golden_history_that_acts_in_pairs_order_replays_in_fresh_processes() -> None:
    # Lua seeds its string hash per process: three fresh processes would walk this table in different raw
    # orders, and the history's sequence of calls and timers (and its result) would not match.
    for _ in range(3):
        outcome = replay_in_fresh_process("replay_pairs.json")
        assert outcome["ok"], outcome["message"]


def test_golden_pairs_history_recorded_the_canonical_key_order() -> None:
    completed, value = _replay._recorded_value(_replay.load_history(HISTORIES / "replay_pairs.json"))
    assert completed
    assert value["order"] == sorted(value["order"]) and len(value["order"]) == 18
    assert value["next_order"] == value["order"]


async def test_pairs_and_next_walk_string_keys_in_sorted_order_inside_a_workflow(make_app):
    app = make_app([{"name": "walk", "kind": "workflow.lua", "source": "file://replay_pairs.lua",
                     "modules": ["funcs", "time"]}, dict(ECHO)])
    async with pidflow.open_node(app) as node:
        with trio.fail_after(60):
            result = await node.process.exec("app:walk", "app:worker")
    assert result["order"] == sorted(result["order"])
    assert result["next_order"] == result["order"]


def test_replay_safe_sources_give_the_recorded_values_when_replayed_in_a_fresh_process() -> None:
    # time.now, uuid.v4, crypto.random_bytes, os.time, os.date and math.random are in the recorded result;
    # the replay tool fails with ResultMismatch if a replay returns anything else.
    outcome = replay_in_fresh_process("replay_sources.json")
    assert outcome["ok"], outcome["message"]
    completed, value = _replay._recorded_value(_replay.load_history(HISTORIES / "replay_sources.json"))
    assert completed and value["echoed"] == value["uuid"] and value["slept_ms"] >= 100


@pytest.mark.parametrize(("script", "expected"), [
    ("determinism_clock.lua", "os.clock is not deterministic and is not available in workflows"),
    ("determinism_randomseed.lua", "math.randomseed is not available in workflows"),
    ("determinism_io.lua", "global 'io'"),
])
async def test_non_deterministic_lua_call_fails_the_workflow_task_with_a_clear_error(make_app, script, expected):
    app = make_app([{"name": "bad", "kind": "workflow.lua", "source": f"file://{script}"}])
    async with pidflow.open_node(app) as node:
        pid = await node.process.spawn("app:bad", "app:worker")
        failure = await workflow_task_failure(node, pid)
        await terminate(node, pid)
    assert expected in failure
    assert f"{script}:2:" in failure  # the file and line of the call


async def test_workflow_computing_too_long_fails_naming_the_entry_and_pointing_to_funcs_call(make_app):
    app = make_app([{"name": "busy", "kind": "workflow.lua", "source": "file://determinism_busy.lua"}])
    with trio.fail_after(60):  # neither the run nor the worker's shutdown afterwards may hang
        async with pidflow.open_node(app) as node:
            with pytest.raises(pidflow.Error) as info:
                await node.process.exec("app:busy", "app:worker")
    assert "app:busy" in info.value.message
    assert "funcs.call" in info.value.message
    assert info.value.retryable is False
