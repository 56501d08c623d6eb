"""``examples/mixed_tree`` run as a user runs it (``pidflow run APP --observe``, a child process on the session's
Temporal dev server), and helpers to read an observer's JSON API and event stream."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs
import httpx
import trio
from temporalio.client import Client

from pidflow.observer._api import pid_path
from pidflow.temporal_host._devserver import DevServer

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "examples" / "mixed_tree"
WORKFLOW_ID = "app-root/orders"
TOKEN = "observer-test-token"
OBSERVER_LINE = "pidflow: observer at "


@attrs.define
class RunningApp:
    """``pidflow run examples/mixed_tree --observe 127.0.0.1:0`` with a token (from the environment)."""

    proc: subprocess.Popen[str]
    url: str
    lines: "queue.Queue[str]"
    seen: list[str]
    env: dict[str, str]
    reader: threading.Thread | None = None

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {TOKEN}"}

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers=self.auth, timeout=30)

    def read_until(self, predicate: Any, timeout: float = 60) -> str:
        """The first line (after those seen) for which ``predicate(line)``; fails after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"timed out; the app printed {self.seen[-20:]}") from None
            if line == "<eof>":
                raise AssertionError(f"pidflow ended early; it printed {self.seen[-30:]}")
            self.seen.append(line)
            if predicate(line):
                return line

    def assert_running(self) -> None:
        assert self.proc.poll() is None, self.seen[-30:]


def _pump(stream: Any, out: "queue.Queue[str]") -> None:
    for line in stream:
        out.put(line.rstrip("\n"))
    out.put("<eof>")


def start(dev_server: DevServer, state: Path) -> RunningApp:
    """Start the app in ``state`` and wait until its observer listens and its tree has started."""
    env = {**os.environ, "PIDFLOW_TEMPORAL_ADDRESS": dev_server.address, "PIDFLOW_STATE_DIR": str(state),
           "PIDFLOW_OBSERVER_TOKEN": TOKEN}
    proc = subprocess.Popen([sys.executable, "-m", "pidflow", "run", str(APP), "--observe", "127.0.0.1:0"],
                            cwd=state, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True)
    reader.start()
    app = RunningApp(proc, "", lines, [], env, reader)
    try:
        line = app.read_until(lambda line: line.startswith(OBSERVER_LINE))
        app.url = line[len(OBSERVER_LINE):].strip()
        app.read_until(lambda line: line.startswith("pidflow: node "))
    except BaseException:
        stop(app, dev_server)
        raise
    return app


def stop(app: RunningApp, dev_server: DevServer) -> None:
    """SIGINT, as Ctrl-C; the node must stop cleanly (exit 0). The durable child is terminated afterwards."""
    try:
        if app.proc.poll() is None:
            app.proc.send_signal(signal.SIGINT)
            assert app.proc.wait(timeout=60) == 0, app.seen[-30:]
    finally:
        if app.proc.poll() is None:
            app.proc.kill()
            app.proc.wait()
        if app.reader is not None:
            app.reader.join(timeout=10)
        if app.proc.stdout is not None:
            app.proc.stdout.close()
        asyncio.run(_terminate_workflow(dev_server.address))


async def _terminate_workflow(address: str) -> None:
    client = await Client.connect(address)
    try:
        await client.get_workflow_handle(WORKFLOW_ID).terminate("test cleanup")
    except Exception:  # noqa: BLE001 - already closed is fine
        pass


async def get_json(client: httpx.AsyncClient, path: str, **params: Any) -> Any:
    answer = await client.get(path, params=params or None)
    assert answer.status_code == 200, answer.text
    return answer.json()


def process_path(pid: str, action: str = "") -> str:
    return f"/api/processes/{pid_path(pid)}" + (f"/{action}" if action else "")


class EventStream:
    """A server-sent event stream read over a plain socket (HTTP/1.0: the body is the raw stream, ended by the
    server closing): httpx's streaming is a chain of async generators that trio reports as never finalized
    when a test stops reading early. Use :func:`open_events`."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self._stream = stream
        self._buffer = b""
        self.status = 0
        self.headers: dict[str, str] = {}

    async def _line(self) -> str | None:
        while b"\n" not in self._buffer:
            chunk = await self._stream.receive_some(65536)
            if not chunk:
                return None
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode().rstrip("\r")

    async def _head(self) -> None:
        status = await self._line()
        assert status is not None, "the server closed the connection without answering"
        self.status = int(status.split()[1])
        while (line := await self._line()):
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()

    async def next(self) -> tuple[str, Any] | None:
        """The next ``(event, data)``; a comment is ``(":", text)``; None when the stream ended."""
        event, data = "message", []
        while True:
            line = await self._line()
            if line is None:
                return None
            if line.startswith(":"):
                return ":", line[1:].strip()
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
            elif line == "" and data:
                return event, json.loads("\n".join(data))


@asynccontextmanager
async def open_events(url: str, headers: dict[str, str] | None = None,
                      path: str = "/api/events") -> AsyncIterator[EventStream]:
    """``GET /api/events`` of the observer at ``url``; the connection is closed on leaving."""
    where = urlsplit(url)
    assert where.hostname is not None and where.port is not None
    stream = await trio.open_tcp_stream(where.hostname, where.port)
    try:
        lines = [f"GET {path} HTTP/1.0", f"Host: {where.netloc}", "Accept: text/event-stream",
                 *(f"{k}: {v}" for k, v in (headers or {}).items())]
        await stream.send_all(("\r\n".join(lines) + "\r\n\r\n").encode())
        events = EventStream(stream)
        await events._head()
        yield events
    finally:
        await stream.aclose()
