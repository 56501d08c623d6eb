"""Apps for workflow tests: the Lua files live beside the tests (tests/workflows/lua/), the YAML is written
per test with a fresh task queue, and the node talks to the session's dev server."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

LUA = Path(__file__).parent / "lua"


@pytest.fixture
def make_app(tmp_path: Path, task_queue: str, temporal_address: str) -> Callable[..., Path]:
    """``make_app(entries)`` -> path of an app whose worker ``app:worker`` polls this test's task queue.
    Lua sources are named ``file://NAME.lua`` and resolved from tests/workflows/lua; python functions from
    tests/workflows/functions.py (``source: functions:NAME``)."""

    def build(entries: list[dict[str, Any]], extra_yaml: str = "") -> Path:
        base = [
            {"name": "temporal", "kind": "temporal.client"},
            {"name": "worker", "kind": "temporal.worker", "client": "app:temporal", "task_queue": task_queue},
            {"name": "processes", "kind": "process.host"},
        ]
        for entry in entries:
            if str(entry.get("source", "")).startswith("file://"):
                entry["source"] = "file://" + str(LUA / entry["source"][len("file://"):])
            if entry.get("kind") == "workflow.lua":
                entry.setdefault("meta", {}).setdefault("temporal", {}).setdefault("workflow", {})["worker"] = "app:worker"
                entry.setdefault("method", "main")
        for entry in entries:
            if entry.get("kind") == "function.py":
                entry["source"] = entry["source"]
        doc = {"version": "1.0", "namespace": "app", "entries": base + entries}
        path = tmp_path / "app.yaml"
        path.write_text(yaml.safe_dump(doc) + textwrap.dedent(extra_yaml))
        functions = Path(__file__).parent / "functions.py"
        (tmp_path / "functions.py").write_text(functions.read_text())
        return path

    return build
