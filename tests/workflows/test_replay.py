"""Replay (spec: 确定性, workflow.version()): the committed golden histories replay with temporalio's Replayer
against the current Lua code, an incompatible change is reported as non-determinism, and ``workflow.version``
keeps a run's recorded version; histories recorded with msgpack payloads and one signal name per kind (before
issue 10) replay as those recorded with JSON payloads and signals named by topic do. Record missing histories with
``python tests/workflows/histories/record_golden.py`` (it never re-records the ones that test old encodings)."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest
import trio

import pidflow
from pidflow import Error, Pid, entries
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
    assert GOLDEN == ["replay_funcs_async.json", "replay_pairs.json", "replay_parity.json", "replay_signals.json",
                      "replay_signals_msgpack.json", "replay_sources.json", "replay_timers.json", "replay_upgrade.json",
                      "replay_version.json"]


@pytest.mark.parametrize("history", GOLDEN)
async def test_golden_history_replays_against_the_current_code(history):
    result = await replay(history)
    assert result.ok, f"{result.error_type}: {result.message}"


def test_every_golden_history_replays_in_a_fresh_process() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pidflow.temporal_host._replay", "replay", str(HISTORIES / "app.yaml"),
         *(str(HISTORIES / name) for name in GOLDEN)],
        cwd=HERE.parents[1], capture_output=True, text=True, timeout=120,
    )
    results = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert [Path(r["file"]).name for r in results] == GOLDEN, proc.stderr[-3000:]
    assert all(r["ok"] for r in results), results
    assert proc.returncode == 0


def signals_and_encodings(history: str) -> list[tuple[str, str]]:
    """(signal name, payload encoding) of each signal the run received or sent, from the history file as stored."""
    doc = json.loads((HISTORIES / history).read_text())
    out = []
    for event in doc["history"]["events"]:
        attrs = (event.get("workflowExecutionSignaledEventAttributes")
                 or event.get("signalExternalWorkflowExecutionInitiatedEventAttributes"))
        if attrs:
            encoding = base64.b64decode(attrs["input"]["payloads"][0]["metadata"]["encoding"]).decode()
            out.append((attrs["signalName"], encoding))
    return out


def test_golden_signal_histories_hold_the_old_and_the_new_signal_names_and_encodings() -> None:
    old = ["pidflow.link", "pidflow.message", "pidflow.messages", "pidflow.messages", "pidflow.message",
           "pidflow.unlink", "pidflow.event", "pidflow.cancel", "pidflow.message"]
    assert signals_and_encodings("replay_signals_msgpack.json") == [(name, "binary/msgpack") for name in old]
    new = ["pidflow.link", "msg:hello", "msgs:tick", "pidflow.messages", "msg:order", "pidflow.unlink",
           "event:EXIT", "pidflow.cancel", "msg:go"]
    assert signals_and_encodings("replay_signals.json") == [(name, "json/plain") for name in new]


@pytest.mark.parametrize("history", ["replay_signals_msgpack.json", "replay_signals.json"])
def test_values_of_every_wire_type_decode_the_same_from_both_encodings(history: str) -> None:
    value = recorded(history)
    order = value["order"]
    pid = order.pop("pid")
    assert isinstance(pid, Pid) and pid.node is not None
    assert order == {"bytes": b"\xff\x00", "float": 1.0, "max": 2**63 - 1, "min": -2**63, "sparse": {1: "a", 5: "b"},
                     "err": Error("NOT_FOUND", "no such order"), "nested": [1, [2.5, "x"], {"k": "v"}],
                     "dollar": {"$pid": "not a pid"}, "empty": {}, "list": []}
    assert type(order["float"]) is float and order["err"].details == {"id": 7}
    assert value["events"]["EXIT"] == {"from": pid, "value": {"stopped": True, "bytes": b"\xff\x00"}}
    own = value["own"]
    assert (own["float"], type(own["float"]), own["int"], type(own["int"])) == (1.0, float, 1, int)
    assert own["sparse"] == {1: "a", 7: "b"} and own["half"] == {0.5: True}
    assert own["err"] == Error("CONFLICT", "busy", retryable=True)
    assert [m["topic"] for m in value["burst"]] == ["tick", "tick", "tick", "tock", "tick", "tock"]


def test_a_run_started_before_issue_10_went_on_receiving_after_the_upgrade() -> None:
    # Its first half ran on the old code, the second on a worker that replayed the first (record_golden.py).
    assert signals_and_encodings("replay_upgrade.json") == [
        ("pidflow.message", "binary/msgpack"), ("msg:after", "json/plain"), ("msg:stop", "json/plain")]
    value = recorded("replay_upgrade.json")
    owner = value["input"].pop("owner")
    assert value["input"] == {"bytes": b"\x00\xff", "sparse": {1: "a", 9: "b"}, "float": 2.0}
    before, after = value["got"]
    assert (before["topic"], before["from"]) == ("before", owner)
    assert before["data"] == {"n": 1, "err": Error("TIMEOUT", "slow")} and before["data"]["err"].details == {"s": 5}
    assert after["topic"] == "after" and after["data"]["n"] == 2 and isinstance(after["from"], Pid)


async def test_incompatible_change_to_a_lua_workflow_is_reported_as_nondeterminism():
    result = await replay("replay_sources.json", replay_sources=(LUA / "replay_sources_changed.lua").read_text())
    assert not result.ok
    assert result.error_type == "NondeterminismError"
    assert "Nondeterminism" in result.message


def test_the_parity_run_recorded_issue_11s_calls_together() -> None:
    # What replay_parity.lua saw when it was recorded: the replays above reproduce every value of it.
    value = recorded("replay_parity.json")
    assert value["id"] == "app:replay_parity" and value["input"] == {"n": 1}
    # registry: a send by name reached the run, two values as the list; the name is gone once unregistered
    assert (value["register"], value["lookup_is_me"], value["sent"]) == (True, True, True)
    assert value["by_name"] == ["by-name", ["a", 2], True]
    assert value["unregister"] == [True, False]
    assert value["after_unregister"] == [True, "NOT_FOUND", True, "NOT_FOUND"]
    # positional arguments: a nil in the middle kept, a trailing one too; the child's send of two values
    assert value["child"] == {"reply": ["from-child", [4, "nil"], True],
                              "exit": ["pid.exit", True, {"n": 4, "args": ["a", "nil", 3, {"k": "v"}]}, True]}
    assert value["exec"] == {"n": 2, "args": ["nil", "b"]}
    # timers (workflow time): each wait at least its duration, ticks in order, time.after won its select
    timer_ms, stopped_after_fire = value["timer"]
    assert timer_ms >= 100 and stopped_after_fire is False
    assert value["ticks"] == sorted(value["ticks"]) and value["ticks"][0] >= 50 and len(set(value["ticks"])) == 3
    assert (value["ticker_stopped"], value["after_won"]) == (True, True)
    # funcs.async: the future won its select against a far time.after; the other was cancelled
    assert value["future"] == [True, ["x", 2], True]
    assert value["cancelled"] == [True, True, "CANCELED", "CANCELED", True]
    assert value["elapsed_ms"] >= timer_ms + value["ticks"][-1]
    assert value["arith"][:4] == [True, True, True, True] and value["arith"][5] is True


def _parity_changed(change: str) -> str:
    """replay_parity.lua with one change that issues other commands than the recorded run."""
    source = (LUA / "replay_parity.lua").read_text()
    if change == "timers_before_children":
        # the same calls, the timers' block moved before the children's: a timer where a child was started
        start, middle, end = (source.index(marker) for marker in (
            "    -- positional arguments:", "    -- timers:", "    -- funcs.async:"))
        changed = source[:start] + source[middle:end] + source[start:middle] + source[end:]
    else:
        old, new = {
            "one_tick_more": ("for i = 1, 3 do out.ticks[i]", "for i = 1, 4 do out.ticks[i]"),
            "no_cancel": ("local cancelled = slow:cancel()", "local cancelled = true"),
            "no_unregister": ("out.unregister = {process.registry.unregister(NAME), process.registry.unregister(NAME)}",
                              "out.unregister = {true, false}"),
        }[change]
        assert source.count(old) == 1, old
        changed = source.replace(old, new)
    assert changed != source
    return changed


@pytest.mark.parametrize("change", ["timers_before_children", "one_tick_more", "no_cancel"])
async def test_a_changed_parity_workflow_fails_its_replay_as_nondeterminism(change):
    result = await replay("replay_parity.json", replay_parity=_parity_changed(change))
    assert (result.ok, result.error_type) == (False, "NondeterminismError"), result.message
    assert "Nondeterminism" in result.message


async def test_a_parity_workflow_without_its_registry_calls_fails_its_replay_as_nondeterminism():
    # Temporal hands a local activity the recorded answer of the same sequence number before it compares the
    # activity types, so the lookup after the removed unregisters reads an unregister's answer (true). The port
    # sees that it is no lookup's answer and waits for Temporal's comparison (it used to hand `true` to the Lua
    # code as the holder's PID: a Lua error, and a send to it crashed a delivery task)
    result = await replay("replay_parity.json", replay_parity=_parity_changed("no_unregister"))
    assert (result.ok, result.error_type) == (False, "NondeterminismError"), result.message
    assert "'pidflow.name.unregister' does not match" in result.message and "'pidflow.name.lookup'" in result.message


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
