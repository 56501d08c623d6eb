"""The embedded server's life, driven as a user drives it (``pidflow run`` and ``pidflow dev`` as subprocesses, a
real dev server): it dies with its node even on ``kill -9``; one state folder has one server, which a second
node, ``pidflow dev`` and the admin commands find and use; its web UI is served and its address printed."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest
from temporalio.client import Client

from pidflow import Error, ErrorKind
from pidflow.temporal_host._devserver import free_port
from pidflow.temporal_host._state_folder import LOCK_FILE, RECORD_FILE, FolderServer, ServerRecord, read_record

ROOT = Path(__file__).resolve().parents[2]

APP = """\
version: "1.0"
namespace: app
entries:
  - {name: temporal, kind: temporal.client}
  - {name: worker, kind: temporal.worker, client: app:temporal, task_queue: embedded-lifecycle}
  - {name: processes, kind: process.host}
  - {name: idle, kind: process.lua, source: file://idle.lua, method: main}
  - {name: quick, kind: workflow.lua, source: file://quick.lua, method: main,
     meta: {temporal: {workflow: {worker: app:worker}}}}
  - name: root
    kind: supervisor
    children: [{id: idle, entry: app:idle, host: app:processes}]
"""
IDLE_LUA = """\
local function main(input) process.inbox():receive() end
return {main = main}
"""
QUICK_LUA = """\
local function main(input) return {answer = 42} end
return {main = main}
"""


@pytest.fixture
def app(tmp_path: Path) -> Path:
    folder = tmp_path / "app"
    folder.mkdir()
    (folder / "app.yaml").write_text(APP)
    (folder / "idle.lua").write_text(IDLE_LUA)
    (folder / "quick.lua").write_text(QUICK_LUA)
    return folder


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


def _env() -> dict[str, str]:
    """The embedded server, not the session's: no address, no state folder from outside."""
    return {k: v for k, v in os.environ.items() if k not in ("PIDFLOW_TEMPORAL_ADDRESS", "PIDFLOW_STATE_DIR")}


def pidflow(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pidflow.cli", *args], cwd=ROOT, env=_env(), capture_output=True,
                          text=True, timeout=timeout)


def start_pidflow(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "pidflow.cli", *args], cwd=ROOT, env=_env(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for_record(state: Path, proc: subprocess.Popen[str] | None = None, timeout: float = 60) -> ServerRecord:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = read_record(state)
        if record is not None:
            return record
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"pidflow exited with {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.05)
    raise AssertionError(f"no {RECORD_FILE} in {state} after {timeout}s")


def gone(pid: int) -> bool:
    """The process has exited (a zombie waiting for a parent that is not ours to reap it counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def wait_gone(pid: int, timeout: float) -> float:
    began = time.monotonic()
    while not gone(pid):
        if time.monotonic() - began > timeout:
            raise AssertionError(f"process {pid} still runs after {timeout}s")
        time.sleep(0.05)
    return time.monotonic() - began


def servers_on(db: Path) -> list[int]:
    """PIDs of temporal server processes (not their watchdogs) started on ``db``."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"temporal") and str(db).encode() in argv and not gone(int(proc.name)):
            found.append(int(proc.name))
    return found


def cleanup(*procs: subprocess.Popen[str], record: ServerRecord | None = None) -> None:
    """Never leave a node or a server behind: kill what this test started."""
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    if record is not None and not gone(record.server_pid):
        try:
            wait_gone(record.server_pid, 15)
        except AssertionError:
            os.kill(record.server_pid, signal.SIGKILL)


def test_kill_9_of_pidflow_run_takes_its_dev_server_down_within_seconds(app: Path, state: Path) -> None:
    node = start_pidflow("run", str(app), "--state-dir", str(state))
    record = None
    try:
        record = wait_for_record(state, node)
        assert record.owner_pid == node.pid
        assert not gone(record.server_pid)
        assert servers_on(state / "temporal.sqlite") == [record.server_pid]
        node.send_signal(signal.SIGKILL)
        node.wait(timeout=10)
        wait_gone(record.server_pid, timeout=10)
        # The folder is free again: the next node takes it (the stale record is replaced).
        folder = FolderServer(state)
        try:
            fresh = asyncio.run(folder.astart())
            assert folder.owner and fresh.server_pid != record.server_pid and fresh.owner_pid == os.getpid()
        finally:
            folder.stop()
        assert read_record(state) is None
    finally:
        cleanup(node, record=record)


def test_a_second_node_on_the_folder_uses_the_running_server_instead_of_starting_one(app: Path, state: Path) -> None:
    owner = start_pidflow("run", str(app), "--state-dir", str(state))
    record = None
    try:
        record = wait_for_record(state, owner)
        done = pidflow("run", str(app), "--entry", "app:quick", "--state-dir", str(state))
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == {"answer": 42}
        assert f"using process {owner.pid}'s Temporal server of {state.resolve()} at {record.address}" in done.stderr
        assert read_record(state) == record
        assert servers_on(state / "temporal.sqlite") == [record.server_pid]
    finally:
        cleanup(owner, record=record)


def test_a_folder_held_by_a_process_that_serves_nothing_is_refused_naming_the_folder_and_the_holder(
        state: Path) -> None:
    import fcntl

    state.mkdir()
    holder = os.open(state / LOCK_FILE, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        os.write(holder, b"4242\n")
        with pytest.raises(Error) as info:
            asyncio.run(FolderServer(state, wait_timeout=0.3).astart())
    finally:
        os.close(holder)
    assert info.value.kind is ErrorKind.UNAVAILABLE
    assert f"state folder {state.resolve()} is held by process 4242" in info.value.message
    assert "serves nothing yet" in info.value.message
    assert servers_on(state / "temporal.sqlite") == []


def test_a_stale_record_is_replaced_by_the_next_owner(state: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    state.mkdir()
    stale = ServerRecord(address="127.0.0.1:1", ui_url=None, server_pid=int(dead.stdout), owner_pid=int(dead.stdout),
                         db=str(state / "temporal.sqlite"), started=0.0)
    (state / RECORD_FILE).write_text(stale.to_json())
    folder = FolderServer(state)
    try:
        record = asyncio.run(folder.astart())
        assert folder.owner and record != stale and read_record(state) == record
    finally:
        folder.stop()


OWNER = """
import asyncio, sys, time
from pidflow.temporal_host._state_folder import FolderServer
folder = FolderServer(sys.argv[1])
record = asyncio.run(folder.astart())
print(record.server_pid, flush=True)
time.sleep(120)
"""


def test_a_new_owner_waits_until_the_server_of_a_killed_owner_is_gone(state: Path) -> None:
    """The lock is inherited by the server, so it is held until the server itself has exited: two servers never
    share the SQLite file, not even while a killed owner's server is still stopping."""
    owner = subprocess.Popen([sys.executable, "-c", OWNER, str(state)], env=_env(), stdout=subprocess.PIPE, text=True)
    folder = FolderServer(state)
    old = None
    try:
        old = wait_for_record(state, owner)
        owner.kill()
        owner.wait()
        record = asyncio.run(folder.astart())
        assert gone(old.server_pid)
        assert folder.owner and record.server_pid != old.server_pid
    finally:
        folder.stop()
        cleanup(owner, record=old)


def test_dev_on_a_folder_a_node_serves_prints_that_servers_address_and_web_ui(app: Path, state: Path) -> None:
    node = start_pidflow("run", str(app), "--state-dir", str(state))
    record = None
    try:
        record = wait_for_record(state, node)
        done = pidflow("dev", str(app), "--state-dir", str(state), timeout=30)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == (f"the Temporal server of {state.resolve()} already runs (process {node.pid})"
                                       f" at {record.address}; web UI at {record.ui_url}")
        assert servers_on(state / "temporal.sqlite") == [record.server_pid]
    finally:
        cleanup(node, record=record)


def test_run_uses_the_server_dev_runs_on_the_same_database_so_the_ui_shows_its_workflows(app: Path,
                                                                                          state: Path) -> None:
    port, ui_port = free_port(), free_port()
    dev = start_pidflow("dev", str(app), "--state-dir", str(state), "--port", str(port), "--ui-port", str(ui_port))
    record = None
    try:
        record = wait_for_record(state, dev)
        assert record.address == f"127.0.0.1:{port}" and record.ui_url == f"http://127.0.0.1:{ui_port}"
        assert record.db == str((state / "temporal.sqlite").resolve())
        done = pidflow("run", str(app), "--entry", "app:quick", "--state-dir", str(state))
        assert done.returncode == 0, done.stderr
        assert f"using process {dev.pid}'s Temporal server" in done.stderr

        async def quick_runs() -> list[str]:
            client = await Client.connect(record.address)
            return [str(w.status.name) async for w in client.list_workflows("WorkflowType = 'app:quick'")]

        assert asyncio.run(quick_runs()) == ["COMPLETED"]
        dev.send_signal(signal.SIGINT)
        assert dev.wait(timeout=30) == 0
        assert gone(record.server_pid) and read_record(state) is None
    finally:
        cleanup(dev, record=record)


def test_run_serves_the_web_ui_of_its_embedded_server_and_prints_its_address(app: Path, state: Path) -> None:
    ui_port = free_port()
    node = start_pidflow("run", str(app), "--state-dir", str(state), "--ui-port", str(ui_port))
    record = None
    try:
        record = wait_for_record(state, node)
        assert record.ui_url == f"http://127.0.0.1:{ui_port}"
        with urllib.request.urlopen(record.ui_url, timeout=10) as page:
            assert page.status == 200
        node.send_signal(signal.SIGINT)
        assert node.wait(timeout=60) == 0
        assert f"started the Temporal server of {state.resolve()} at {record.address}; web UI at {record.ui_url}" \
            in node.stderr.read()
        assert gone(record.server_pid) and read_record(state) is None
    finally:
        cleanup(node, record=record)
