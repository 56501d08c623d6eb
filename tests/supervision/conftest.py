"""Fixtures for supervisor tests: a node on a virtual clock (local children), so restart windows, shutdown
timeouts and the order of starts and stops are exact; the mixed-tree tests use the session's real dev server
through ``make_app`` instead."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Callable

import pytest
import trio.testing
import yaml

import pidflow

LUA = Path(__file__).parent / "lua"
CHILDREN = Path(__file__).parent / "sv_children.py"


@pytest.fixture
async def node(autojump_clock: trio.testing.MockClock) -> AsyncIterator[pidflow.Node]:
    async with pidflow.open_node() as node:
        yield node


def write_app(tmp_path: Path, entries: list[dict[str, Any]], base: list[dict[str, Any]] | None = None) -> Path:
    """An app YAML in ``tmp_path``: ``file://NAME.lua`` sources resolve to tests/supervision/lua, and
    ``sv_children`` (Python children) is importable beside it."""
    for entry in entries:
        source = str(entry.get("source", ""))
        if source.startswith("file://"):
            entry["source"] = "file://" + str(LUA / source[len("file://"):])
    doc = {"version": "1.0", "namespace": "app", "entries": (base or []) + entries}
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(doc))
    (tmp_path / "sv_children.py").write_text(CHILDREN.read_text())
    return path


@pytest.fixture
def make_app(tmp_path: Path, task_queue: str, temporal_address: str) -> Callable[..., Path]:
    """``make_app(entries)``: an app with ``app:temporal``, a worker ``app:worker`` on this test's task queue and
    a local host ``app:processes``; workflow.lua entries run on ``app:worker``."""

    def build(entries: list[dict[str, Any]]) -> Path:
        base = [
            {"name": "temporal", "kind": "temporal.client"},
            {"name": "worker", "kind": "temporal.worker", "client": "app:temporal", "task_queue": task_queue},
            {"name": "processes", "kind": "process.host"},
        ]
        for entry in entries:
            if entry.get("kind") == "workflow.lua":
                entry.setdefault("meta", {}).setdefault("temporal", {}).setdefault("workflow", {})["worker"] = "app:worker"
                entry.setdefault("method", "main")
        return write_app(tmp_path, entries, base)

    return build


