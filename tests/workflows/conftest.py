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


class OwnServer:
    """A dev server of one test: fixed port and SQLite file, so it can be killed and started again with its data
    (the workflows it ran are still there). Nodes opened after ``start`` talk to it (``PIDFLOW_TEMPORAL_ADDRESS``)."""

    def __init__(self, db: Path, monkeypatch: pytest.MonkeyPatch, dynamic_config: dict[str, Any]) -> None:
        from pidflow.temporal_host._devserver import free_port

        self.db = db
        self.port = free_port()
        self.dynamic_config = dynamic_config
        self.server: Any = None
        self._monkeypatch = monkeypatch

    async def start(self) -> None:
        import trio

        from pidflow.temporal_host._devserver import DevServer
        from pidflow.temporal_host._service import ADDRESS_ENV, DEV_DYNAMIC_CONFIG

        self.server = DevServer(db_filename=self.db, port=self.port,
                                dynamic_config={**DEV_DYNAMIC_CONFIG, **self.dynamic_config})
        await trio.to_thread.run_sync(self.server.start)
        self._monkeypatch.setenv(ADDRESS_ENV, self.server.address)

    async def kill(self) -> None:
        """SIGKILL, as a crash or a pulled cable would end it."""
        import os
        import signal

        import trio

        server, self.server = self.server, None
        if server is not None and server.pid is not None:
            os.kill(server.pid, signal.SIGKILL)
            await trio.to_thread.run_sync(server.stop)  # reaps it and removes its log folder


@pytest.fixture
async def own_server(tmp_path: Path, temporal_address: str, monkeypatch: pytest.MonkeyPatch):
    """``server = await own_server(dynamic_config={...})``: an :class:`OwnServer`, started; killed at the end."""
    servers: list[OwnServer] = []

    async def start(dynamic_config: dict[str, Any] | None = None) -> OwnServer:
        server = OwnServer(tmp_path / f"own-{len(servers)}.sqlite", monkeypatch, dict(dynamic_config or {}))
        servers.append(server)
        await server.start()
        return server

    yield start
    for server in servers:
        await server.kill()
