"""Python children of the mixed tree: they announce their start and their stop on stderr."""

from __future__ import annotations

import sys
from typing import Any

import pidflow
from pidflow import EventKind

def _say(line: str) -> None:
    print(f"mixed_tree: {line}", file=sys.stderr, flush=True)


async def announcer(input: dict[str, Any]) -> str:
    """Traps links (so a supervisor's shutdown is a CANCEL it can react to) and stops when cancelled."""
    api = pidflow.process
    api.set_options(trap_links=True)
    _say(f"{input['name']} started")
    async for event in api.events():
        if event.kind is EventKind.CANCEL:
            _say(f"{input['name']} stopping")
            return "stopped"
    return "events closed"
