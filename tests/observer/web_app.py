"""The app of the web page tests that run a node in the test's own process (``source: web_app:NAME``): a root
supervisor over a recorder (keeps what it receives in :data:`RECEIVED`), a crasher (fails when told "crash") and
a hoarder (never reads its inbox, so its mailbox grows); optionally a crowd of idle children under another one."""

from __future__ import annotations

from typing import Any

import trio

import pidflow
from pidflow.entries import Registry, from_dicts

#: (topic, data) of every message the recorder received, in order.
RECEIVED: list[tuple[str, Any]] = []


async def recorder(_input: Any = None) -> None:
    async for message in pidflow.process.inbox():
        RECEIVED.append((message.topic, message.data))


async def crasher(_input: Any = None) -> None:
    async for message in pidflow.process.inbox():
        if message.topic == "crash":
            raise ValueError("the crasher was told to crash")


async def hoarder(_input: Any = None) -> None:
    await trio.sleep_forever()


async def idle(_input: Any = None) -> None:
    await pidflow.process.inbox().receive()


def registry(crowd: int = 0) -> Registry:
    """The app; with ``crowd``, a second root supervisor (``app:crowd``) of that many idle children."""
    RECEIVED.clear()
    names = ("recorder", "crasher", "hoarder", "idle")
    children = [{"id": name, "entry": f"app:{name}", "host": "app:processes"} for name in names[:3]]
    entries: list[dict[str, Any]] = [
        {"name": "processes", "kind": "process.host"},
        *({"name": name, "kind": "process.py", "source": f"web_app:{name}"} for name in names),
        {"name": "root", "kind": "supervisor", "strategy": "one_for_one", "intensity": 10, "period": "10s",
         "children": children},
    ]
    if crowd:
        entries.append({"name": "crowd", "kind": "supervisor", "children": [
            {"id": f"idle-{n}", "entry": "app:idle", "host": "app:processes"} for n in range(crowd)]})
    return from_dicts("app", entries)
