"""Processes and functions for ``process.service`` apps written from YAML (``source: svc_children:NAME``).

Each writes ``WHAT ID TIME`` lines (TIME: trio's clock, virtual under a MockClock) to the file named by its
input's ``log``, so a test, or another OS process, reads what happened when. A run is told how to end by its
input: ``fail`` (this many first runs raise, a retryable error), ``final`` (raise an error that is not
retryable), ``done`` (return at once); otherwise it runs until CANCEL (``ignore_cancel``: until terminated)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import trio

import pidflow
from pidflow import ErrorKind, EventKind


def note(log: str, what: str, id: str) -> None:
    try:
        now = trio.current_time()
    except RuntimeError:  # an activity outside trio: the time does not matter there
        now = 0.0
    with open(log, "a", encoding="utf-8") as f:
        f.write(f"{what} {id} {now:.3f}\n")


def runs(log: str, id: str) -> int:
    path = Path(log)
    lines = path.read_text().splitlines() if path.exists() else []
    return sum(1 for line in lines if line.startswith(f"start {id} "))


async def worker(input: dict[str, Any]) -> str:
    log, id = input["log"], input["id"]
    note(log, "start", id)
    if runs(log, id) <= input.get("fail", 0):
        raise RuntimeError(f"{id} failed on purpose")
    if input.get("final"):
        raise pidflow.Error(ErrorKind.INVALID, f"{id} cannot work with this input", retryable=False)
    if input.get("done"):
        return "done"
    try:
        with trio.move_on_after(input.get("crash_after", math.inf)):
            async for event in pidflow.process.events():
                if event.kind is EventKind.CANCEL:
                    note(log, "cancel", id)
                    if not input.get("ignore_cancel"):
                        return "cancelled"
    finally:
        note(log, "stop", id)
    raise RuntimeError(f"{id} crashed after running {input['crash_after']}s")


@pidflow.acks_start
async def slow_starter(input: dict[str, Any]) -> str:
    """Says it has started only after ``starts_after`` seconds (a supervisor-like start that takes time)."""
    log, id = input["log"], input["id"]
    note(log, "start", id)
    try:
        await trio.sleep(input["starts_after"])
        pidflow.process.started()
        await trio.sleep_forever()
    finally:
        note(log, "stop", id)
    return "unreachable"


def note_run(log: str, id: str) -> int:
    """A function entry: note a start of ``id`` and say how many runs it has had (the Lua and durable runs')."""
    note(log, "start", id)
    return runs(log, id)
