"""``pidflow ps``, ``terminate``, ``cancel`` and ``send``: an app's durable processes from the command line, as a
client of the app's Temporal server (here the embedded server of a node that ``pidflow run`` runs), never a
worker; bad arguments are refused before connecting, naming the argument."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from pidflow.temporal_host._converter import DATA_CONVERTER
from pidflow.temporal_host._state_folder import FolderServer, ServerRecord, read_record

ROOT = Path(__file__).resolve().parent.parent

APP = """\
version: "1.0"
namespace: app
entries:
  - {{name: temporal, kind: temporal.client}}
  - {{name: worker, kind: temporal.worker, client: app:temporal, task_queue: {queue}}}
  - {{name: processes, kind: process.host}}
  - {{name: book, kind: workflow.lua, source: file://book.lua, method: main,
     meta: {{temporal: {{workflow: {{worker: app:worker}}}}}}}}
  - {{name: graceful, kind: workflow.lua, source: file://graceful.lua, method: main,
     meta: {{temporal: {{workflow: {{worker: app:worker}}}}}}}}
  - name: root
    kind: supervisor
    children:
      - {{id: book, entry: app:book, host: app:worker, restart: temporary}}
      - {{id: victim, entry: app:book, host: app:worker, restart: temporary}}
      - {{id: graceful, entry: app:graceful, host: app:worker, restart: temporary}}
      - {{id: stubborn, entry: app:book, host: app:worker, restart: temporary}}
"""
BOOK_LUA = """\
-- Counts "order" messages until "close"; CANCEL events are not read: it has to be terminated.
local function main(input)
  local inbox = process.inbox()
  local orders, last = 0, nil
  while true do
    local msg = inbox:receive()
    if msg:topic() == "order" then
      orders, last = orders + 1, msg:payload():data()
    elseif msg:topic() == "close" then
      return {orders = orders, last = last, from = tostring(msg:from())}
    end
  end
end
return {main = main}
"""
GRACEFUL_LUA = """\
-- Ends as soon as it is asked to (CANCEL), with the deadline it was given.
local function main(input)
  local event = process.events():receive()
  return {kind = event.kind, deadline = event.deadline}
end
return {main = main}
"""
PIDS = {name: f"{{app:worker|app-root/{name}}}" for name in ("book", "victim", "graceful", "stubborn")}


def write_app(folder: Path, queue: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "app.yaml").write_text(APP.format(queue=queue))
    (folder / "book.lua").write_text(BOOK_LUA)
    (folder / "graceful.lua").write_text(GRACEFUL_LUA)
    return folder


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("PIDFLOW_TEMPORAL_ADDRESS", "PIDFLOW_STATE_DIR")}


def pidflow(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pidflow.cli", *args], cwd=ROOT, env=_env(), capture_output=True,
                          text=True, timeout=timeout)


@attrs.frozen
class Running:
    app: Path
    state: Path
    record: ServerRecord

    def cli(self, command: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return pidflow(command, str(self.app), *args, "--state-dir", str(self.state), timeout=timeout)

    def call(self, fn: Any) -> Any:
        async def main() -> Any:
            return await fn(await Client.connect(self.record.address, data_converter=DATA_CONVERTER))

        return asyncio.run(main())


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """``pidflow run APP``: a node whose root supervisor started four workflows, on its embedded server."""
    base = tmp_path_factory.mktemp("cli-durable")
    app, state = write_app(base / "app", f"cli-durable-{os.getpid()}"), base / "state"
    node = subprocess.Popen([sys.executable, "-m", "pidflow.cli", "run", str(app), "--state-dir", str(state)],
                            cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    record = None
    try:
        deadline = time.monotonic() + 60
        while (record := read_record(state)) is None:
            assert node.poll() is None and time.monotonic() < deadline, node.stderr.read() if node.stderr else ""
            time.sleep(0.05)
        yield Running(app, state, record)
    finally:
        node.send_signal(signal.SIGINT)
        try:
            node.wait(timeout=30)
        except subprocess.TimeoutExpired:
            node.kill()
            node.wait()
        if node.stderr is not None:
            node.stderr.close()
        if record is not None:
            try:
                os.kill(record.server_pid, 0)
            except ProcessLookupError:
                pass
            else:
                os.kill(record.server_pid, signal.SIGKILL)


def _wait_for_ps(running: Running, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    while True:
        done = running.cli("ps", "--json")
        assert done.returncode == 0, done.stderr
        rows = json.loads(done.stdout)
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def test_ps_lists_the_apps_running_workflows_one_line_each(running: Running) -> None:
    rows = _wait_for_ps(running, 4)
    assert {(r["pid"], r["entry"], r["status"]) for r in rows} >= {
        (PIDS["book"], "app:book", "RUNNING"), (PIDS["graceful"], "app:graceful", "RUNNING")}
    assert all(r["started"].endswith("Z") and r["worker"] == "app:worker" for r in rows)
    done = running.cli("ps")
    assert done.returncode == 0, done.stderr
    header, *lines = done.stdout.splitlines()
    assert header.split() == ["PID", "ENTRY", "STATUS", "STARTED"]
    assert len(lines) == len(rows)
    assert any(line.split()[:3] == [PIDS["graceful"], "app:graceful", "RUNNING"] for line in lines)


def test_send_delivers_a_message_that_the_workflow_reads(running: Running) -> None:
    _wait_for_ps(running, 4)
    done = running.cli("send", PIDS["book"], "order", '{"n": 2, "items": ["a", "b"]}')
    assert done.returncode == 0, done.stderr
    assert running.cli("send", PIDS["book"], "close", "null").returncode == 0
    result = running.call(lambda client: client.get_workflow_handle("app-root/book").result())
    assert result == {"orders": 1, "last": {"n": 2, "items": ["a", "b"]}, "from": "nil"}
    after = running.cli("ps", "--all", "--json")
    assert {"pid": PIDS["book"], "status": "COMPLETED"}.items() <= next(
        r for r in json.loads(after.stdout) if r["pid"] == PIDS["book"]).items()
    assert PIDS["book"] not in running.cli("ps").stdout  # running ones only by default


def test_cancel_lets_a_workflow_end_within_the_deadline_and_terminates_one_that_does_not(running: Running) -> None:
    _wait_for_ps(running, 4)
    done = running.cli("cancel", PIDS["graceful"], "--deadline", "20s")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{PIDS['graceful']} stopped within its cancel deadline"
    result = running.call(lambda client: client.get_workflow_handle("app-root/graceful").result())
    assert result == {"kind": "pid.cancel", "deadline": 20000}  # Lua sees milliseconds, as from a node

    began = time.monotonic()
    done = running.cli("cancel", PIDS["stubborn"], "--deadline", "1s")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{PIDS['stubborn']} did not stop within 1s: terminated"
    assert time.monotonic() - began < 30

    async def status(client: Client) -> str:
        return (await client.get_workflow_handle("app-root/stubborn").describe()).status.name

    assert running.call(status) == "TERMINATED"


def test_terminate_ends_a_workflow_and_says_when_it_is_not_running(running: Running) -> None:
    _wait_for_ps(running, 4)
    done = running.cli("terminate", PIDS["victim"], "--reason", "cleaning up")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"terminated {PIDS['victim']}"

    async def status(client: Client) -> str:
        return (await client.get_workflow_handle("app-root/victim").describe()).status.name

    assert running.call(status) == "TERMINATED"
    again = running.cli("terminate", PIDS["victim"])
    assert again.returncode == 1
    assert again.stderr.strip() == f"pidflow: NOT_FOUND: {PIDS['victim']} is not running (it ended: TERMINATED)"
    unknown = running.cli("send", "{app:worker|no-such-workflow}", "x", "1")
    assert unknown.returncode == 1 and "{app:worker|no-such-workflow} is not running" in unknown.stderr


@pytest.mark.parametrize("args, message", [
    (["terminate", "app-root/book"], "PID 'app-root/book' is malformed: expected '{worker|workflow id}'"),
    (["cancel", "{app:processes@node-1a2b|17}"],
     "PID {app:processes@node-1a2b|17} is a local process of node node-1a2b: only durable processes"),
    (["send", "{app:nope|x}", "t", "1"], "PID {app:nope|x}: app:nope is not a temporal.worker entry of the app"
                                         " (its workers: app:worker)"),
    (["send", "{app:worker|x}", "t", "{oops"], "JSON argument '{oops' is not valid JSON"),
    (["send", "{app:worker|x}", "", "1"], "TOPIC must be a non-empty string"),
    (["cancel", "{app:worker|x}", "--deadline", "soon"], "invalid --deadline 'soon'"),
])
def test_bad_arguments_are_refused_before_connecting_naming_the_argument(tmp_path: Path, args: list[str],
                                                                         message: str) -> None:
    app, state = write_app(tmp_path / "app", "unused"), tmp_path / "state"
    command, *rest = args
    done = pidflow(command, str(app), *rest, "--state-dir", str(state))
    assert done.returncode == 1
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not state.exists()  # refused before any server was looked for or started


def test_the_commands_are_clients_only_and_start_the_folders_server_when_none_runs(tmp_path: Path) -> None:
    """No node runs: ``ps`` starts the folder's embedded server for itself and stops it; with a server running
    (here owned by the test), every command acts through the client API, and nothing ever polls the app's task
    queue, so no workflow task of the app ran."""
    queue = f"cli-durable-client-{os.getpid()}"
    app, state = write_app(tmp_path / "app", queue), tmp_path / "state"
    done = pidflow("ps", str(app), "--state-dir", str(state))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and "no running workflows" in done.stderr
    assert read_record(state) is None  # the server it started is stopped

    folder = FolderServer(state)
    record = asyncio.run(folder.astart())
    try:
        async def start(client: Client) -> None:
            await client.start_workflow("app:book", args=[None, {}], id="by-hand", task_queue=queue)

        running = Running(app, state, record)
        running.call(start)
        listed = running.cli("ps", "--json")
        assert [(r["pid"], r["entry"]) for r in json.loads(listed.stdout)] == [("{app:worker|by-hand}", "app:book")]
        assert running.cli("send", "{app:worker|by-hand}", "order", "1").returncode == 0
        assert running.cli("terminate", "{app:worker|by-hand}").returncode == 0

        async def check(client: Client) -> tuple[int, list[str]]:
            response = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
                namespace="default", task_queue=TaskQueue(name=queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW))
            history = await client.get_workflow_handle("by-hand").fetch_history()
            return len(response.pollers), [e.WhichOneof("attributes") for e in history.events]

        pollers, kinds = running.call(check)
        assert pollers == 0
        assert "workflow_task_started_event_attributes" not in kinds  # nobody ran a task of it
        assert "workflow_execution_signaled_event_attributes" in kinds
        assert kinds[-1] == "workflow_execution_terminated_event_attributes"
    finally:
        folder.stop()
