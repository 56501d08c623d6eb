"""``process.service``: a process kept running by its lifecycle. Started with the node (``auto_start``) in
declaration order and stopped in reverse; restarted with exponential backoff and jitter after a failed run;
done after a normal end or an error that is not retryable; gives up after ``max_attempts``; ``start_timeout``
and ``stop_timeout``; a workflow kept running as well as a local process; bad input reported at load."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
import yaml

import pidflow
from pidflow import ErrorKind, EventKind
from pidflow.supervision import Lifecycle, RestartPolicy, ServiceSpec, service_spec

HERE = Path(__file__).parent
LUA = HERE / "lua"


def write_app(tmp_path: Path, entries: list[dict[str, Any]]) -> Path:
    """An app in ``tmp_path`` with a local host, ``app:worker`` (svc_children:worker), ``app:note_run`` and the
    given entries; ``file://NAME.lua`` resolves to tests/supervision/lua."""
    for entry in entries:
        source = str(entry.get("source", ""))
        if source.startswith("file://"):
            entry["source"] = "file://" + str(LUA / source[len("file://"):])
    base = [{"name": "processes", "kind": "process.host"},
            {"name": "worker", "kind": "process.py", "source": "svc_children:worker"},
            {"name": "slow", "kind": "process.py", "source": "svc_children:slow_starter"},
            {"name": "note_run", "kind": "function.py", "source": "svc_children:note_run"}]
    doc = {"version": "1.0", "namespace": "app", "entries": base + entries}
    (tmp_path / "app.yaml").write_text(yaml.safe_dump(doc))
    (tmp_path / "svc_children.py").write_text((HERE / "svc_children.py").read_text())
    return tmp_path / "app.yaml"


def service(name: str, process: str = "app:worker", *, input: Any = None, **lifecycle: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, "kind": "process.service", "process": process,
                            "lifecycle": {"auto_start": True, **lifecycle}}
    if input is not None:
        spec["input"] = input
    return spec


def lines(log: Path) -> list[tuple[str, str, float]]:
    out = []
    for line in log.read_text().splitlines() if log.exists() else []:
        what, id, at = line.split()
        out.append((what, id, float(at)))
    return out


def starts(log: Path, id: str) -> list[float]:
    return [at for what, who, at in lines(log) if what == "start" and who == id]


async def ended(node: Any, pid: pidflow.Pid) -> Any:
    """The EXIT result of ``pid`` (a service's keeper), monitored from the node's root process."""
    await node.process.monitor(pid)
    async for event in node.process.events():
        if event.kind is EventKind.EXIT and event.from_ == pid:
            return event.result
    raise AssertionError("unreachable")


def load_problems(app: Path) -> list[str]:
    with pytest.raises(pidflow.Error) as info:
        pidflow.load_entries(app)
    assert info.value.kind is ErrorKind.INVALID
    return list(info.value.details["problems"])


# -- the spec -------------------------------------------------------------------------------------------------------
def test_defaults_are_the_seed_runtimes() -> None:
    spec = service_spec("app:svc", {"process": "worker"}, "app")
    assert spec == ServiceSpec(name="app:svc", process="app:worker", host=None, args=(None,), lifecycle=Lifecycle(
        auto_start=False, start_timeout=10.0, stop_timeout=10.0, stable_threshold=5.0,
        restart=RestartPolicy(initial_delay=1.0, max_delay=90.0, backoff_factor=2.0, jitter=0.1, max_attempts=0)))


def test_durations_are_strings_or_milliseconds_and_input_lists_are_positional_arguments() -> None:
    spec = service_spec("app:svc", {"process": "other:worker", "host": "processes", "input": ["a", 2], "lifecycle": {
        "start_timeout": "2s", "stop_timeout": 1500, "restart": {"initial_delay": "250ms", "max_delay": "1m",
                                                                 "backoff_factor": 3, "jitter": 0, "max_attempts": 4}}},
                        "app")
    assert (spec.process, spec.host, spec.args) == ("other:worker", "app:processes", ("a", 2))
    assert (spec.lifecycle.start_timeout, spec.lifecycle.stop_timeout) == (2.0, 1.5)
    assert spec.lifecycle.restart == RestartPolicy(0.25, 60.0, 3.0, 0.0, 4)
    assert service_spec("app:s", {"process": "w", "input": {"k": 1}}, "app").args == ({"k": 1},)


def test_the_delay_grows_by_the_factor_up_to_the_cap_and_jitter_spreads_it() -> None:
    policy = RestartPolicy(initial_delay=1.0, max_delay=10.0, backoff_factor=2.0, jitter=0.0)
    assert [policy.delay(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    jittered = RestartPolicy(initial_delay=4.0, max_delay=90.0, backoff_factor=2.0, jitter=0.25)
    assert jittered.delay(2, uniform=lambda a, b: a) == 6.0 and jittered.delay(2, uniform=lambda a, b: b) == 10.0
    samples = {jittered.delay(1) for _ in range(200)}
    assert min(samples) >= 3.0 and max(samples) <= 5.0 and len(samples) > 1


@pytest.mark.parametrize(("spec", "expected"), [
    ({"process": 5}, "process must be an entry id, got 5"),
    ({"process": "app:worker", "host": ""}, "host must be an entry id, got ''"),
    ({"process": "app:worker", "lifecycle": "always"}, "lifecycle must be a mapping of"),
    ({"process": "app:worker", "lifecycle": {"auto_start": "yes"}}, "lifecycle.auto_start must be true or false"),
    ({"process": "app:worker", "lifecycle": {"start_timeout": "soon"}}, "invalid lifecycle.start_timeout 'soon'"),
    ({"process": "app:worker", "lifecycle": {"stop_timeout": -5}}, "invalid lifecycle.stop_timeout -5: must not be"),
    ({"process": "app:worker", "lifecycle": {"start_timeout": 0}}, "lifecycle.start_timeout must be a positive"),
    ({"process": "app:worker", "lifecycle": {"colour": 1}}, "lifecycle: unknown key 'colour'"),
    ({"process": "app:worker", "lifecycle": {"requires": ["app:db"]}},
     "lifecycle.requires is not supported by pidflow: services start in declaration order"),
    ({"process": "app:worker", "lifecycle": {"restart": []}}, "lifecycle.restart must be a mapping"),
    ({"process": "app:worker", "lifecycle": {"restart": {"tries": 3}}}, "lifecycle.restart: unknown key 'tries'"),
    ({"process": "app:worker", "lifecycle": {"restart": {"initial_delay": "fast"}}},
     "invalid lifecycle.restart.initial_delay 'fast'"),
    ({"process": "app:worker", "lifecycle": {"restart": {"max_delay": 0}}},
     "lifecycle.restart.max_delay must be a positive duration, got 0"),
    ({"process": "app:worker", "lifecycle": {"restart": {"backoff_factor": 0}}},
     "lifecycle.restart.backoff_factor must be a number >= 1"),
    ({"process": "app:worker", "lifecycle": {"restart": {"backoff_factor": -2}}},
     "lifecycle.restart.backoff_factor must be a number >= 1"),
    ({"process": "app:worker", "lifecycle": {"restart": {"jitter": 1.5}}},
     "lifecycle.restart.jitter must be a number from 0 to 1"),
    ({"process": "app:worker", "lifecycle": {"restart": {"max_attempts": -1}}},
     "lifecycle.restart.max_attempts must be a non-negative integer"),
    ({"process": "app:worker", "lifecycle": {"restart": {"max_attempts": 2.5}}},
     "lifecycle.restart.max_attempts must be a non-negative integer"),
    ({"process": "app:nothing"}, "process refers to unknown entry app:nothing"),
    ({"process": "app:note_run"}, "process refers to app:note_run, a function.py, expected a process"),
    ({"process": "app:worker", "host": "app:note_run"}, "host refers to app:note_run, a function.py, expected a host"),
    ({"process": "app:worker", "args": [1]}, "unknown key 'args' for kind process.service"),
    ({}, "missing key 'process'"),
])
def test_a_bad_service_entry_is_reported_at_load_naming_the_entry_and_key(
        tmp_path: Path, spec: dict[str, Any], expected: str) -> None:
    problems = load_problems(write_app(tmp_path, [{"name": "svc", "kind": "process.service", **spec}]))
    assert len(problems) == 1, problems
    assert "entry app:svc: " + expected in problems[0]


def test_pidflow_check_reports_every_problem_of_a_service(tmp_path: Path) -> None:
    app = write_app(tmp_path, [service("svc", "app:ghost", stop_timeout="never", restart={"jitter": -1})])
    done = subprocess.run([sys.executable, "-m", "pidflow", "check", str(app)], capture_output=True, text=True,
                          timeout=60)
    out = done.stdout + done.stderr
    assert done.returncode == 1
    for expected in ("entry app:svc: invalid lifecycle.stop_timeout 'never'", "entry app:svc: lifecycle.restart.jitter",
                     "entry app:svc: process refers to unknown entry app:ghost"):
        assert expected in out
    assert "Traceback" not in out


# -- starting and stopping --------------------------------------------------------------------------------------------
async def test_services_start_in_declaration_order_and_stop_in_reverse(
        tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    log = tmp_path / "run.log"
    entries = [service(name, input={"log": str(log), "id": name}) for name in ("a", "b", "c")]
    entries.append({"name": "off", "kind": "process.service", "process": "app:worker",
                    "input": {"log": str(log), "id": "off"}})  # auto_start is false by default
    async with pidflow.open_node(write_app(tmp_path, entries)) as node:
        assert list(node.services) == ["app:a", "app:b", "app:c"]
        assert [(w, who) for w, who, _ in lines(log)] == [("start", "a"), ("start", "b"), ("start", "c")]
    assert [(w, who) for w, who, _ in lines(log)][3:] == [
        ("cancel", "c"), ("stop", "c"), ("cancel", "b"), ("stop", "b"), ("cancel", "a"), ("stop", "a")]


async def test_a_process_that_ignores_cancel_is_terminated_at_stop_timeout(
        tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    log = tmp_path / "run.log"
    entries = [service("svc", input={"log": str(log), "id": "svc", "ignore_cancel": True}, stop_timeout="3s")]
    async with pidflow.open_node(write_app(tmp_path, entries)) as node:
        await trio.sleep(1)
        keeper = node.services["app:svc"].pid
    assert [what for what, _, _ in lines(log)] == ["start", "cancel", "stop"]
    (_, _, cancelled), (_, _, stopped) = lines(log)[1:]
    assert stopped - cancelled == pytest.approx(3.0)
    assert not node.route(keeper).is_alive(keeper)


async def test_a_start_that_takes_longer_than_start_timeout_is_a_failed_run(
        tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    log = tmp_path / "run.log"
    entries = [service("svc", "app:slow", input={"log": str(log), "id": "svc", "starts_after": 2.5},
                       start_timeout="2s", stop_timeout="1s",
                       restart={"initial_delay": "1s", "jitter": 0, "max_attempts": 3})]
    async with pidflow.open_node(write_app(tmp_path, entries)) as node:
        result = await ended(node, node.services["app:svc"].pid)
    assert result.error.kind is ErrorKind.INTERNAL
    assert "gave up after 3 failed runs of app:slow" in result.error.message
    assert "did not start within 2s (start_timeout)" in result.error.message
    # starts at 0, 3 (after 1s), 7 (after 2s); a late start is cancelled once it has started (at 2.5, 5.5) and
    # terminated at stop_timeout; the last one ends with its keeper (linked), which gives up at 9
    assert [(w, at) for w, _, at in lines(log)] == [("start", 0.0), ("start", 3.0), ("stop", 3.5), ("stop", 6.5),
                                                    ("start", 7.0), ("stop", 9.0)]


# -- restarting -----------------------------------------------------------------------------------------------------
async def test_a_failed_run_is_restarted_with_exponential_backoff(
        tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    log = tmp_path / "run.log"
    entries = [service("svc", input={"log": str(log), "id": "svc", "fail": 4},
                       restart={"initial_delay": "1s", "backoff_factor": 2, "max_delay": "5s", "jitter": 0})]
    async with pidflow.open_node(write_app(tmp_path, entries)) as node:
        keeper = node.services["app:svc"].pid
        await trio.sleep(60)
        assert node.route(keeper).is_alive(keeper)
    # runs 1-4 fail at once; the waits are 1, 2, 4, then capped at 5
    assert starts(log, "svc") == [0.0, 1.0, 3.0, 7.0, 12.0]


async def test_jitter_spreads_each_delay_within_its_fraction(
        tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    log = tmp_path / "run.log"
    entries = [service("svc", input={"log": str(log), "id": "svc", "fail": 6},
                       restart={"initial_delay": "10s", "backoff_factor": 1, "jitter": 0.5})]
    async with pidflow.open_node(write_app(tmp_path, entries)):
        await trio.sleep(200)
    at = starts(log, "svc")
    waits = [b - a for a, b in zip(at, at[1:])]
    assert len(waits) == 6 and all(5.0 <= w <= 15.0 for w in waits), waits
    assert len(set(waits)) > 1  # spread, not all the same


async def test_a_service_gives_up_after_max_attempts_with_a_crash_report(
        tmp_path: Path, autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture) -> None:
    log = tmp_path / "run.log"
    entries = [service("svc", input={"log": str(log), "id": "svc", "fail": 100},
                       restart={"initial_delay": "1s", "jitter": 0, "max_attempts": 3})]
    async with pidflow.open_node(write_app(tmp_path, entries)) as node:
        result = await ended(node, node.services["app:svc"].pid)
    assert starts(log, "svc") == [0.0, 1.0, 3.0]
    assert result.error.kind is ErrorKind.INTERNAL and result.error.details == {"service": "app:svc", "attempts": 3}
    assert "service app:svc gave up after 3 failed runs of app:worker (max_attempts)" in result.error.message
    assert "svc failed on purpose" in result.error.message
    assert any("service app:svc gives up" in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)


@pytest.mark.parametrize(("crash_after", "expected"), [(15, [0.0, 1.0, 17.0, 33.0]), (5, [0.0, 1.0])])
async def test_a_run_longer_than_stable_threshold_resets_the_count_of_failed_runs(
        tmp_path: Path, autojump_clock: trio.testing.MockClock, crash_after: float, expected: list[float]) -> None:
    log = tmp_path / "run.log"
    input = {"log": str(log), "id": "svc", "fail": 1, "crash_after": crash_after}
    entries = [service("svc", input=input, stable_threshold="10s",
                       restart={"initial_delay": "1s", "jitter": 0, "max_attempts": 2})]
    async with pidflow.open_node(write_app(tmp_path, entries)) as node:
        keeper = node.services["app:svc"].pid
        await trio.sleep(40)
        # runs of 15s count as stable: each crash is the first failure in a row; runs of 5s are not: 2 in a row
        assert node.route(keeper).is_alive(keeper) is (crash_after == 15)
    assert starts(log, "svc") == expected


async def test_a_normal_end_ends_the_service_without_restart(
        tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    log = tmp_path / "run.log"
    entries = [service("svc", input={"log": str(log), "id": "svc", "done": True}, restart={"initial_delay": "1s"})]
    async with pidflow.open_node(write_app(tmp_path, entries)) as node:
        result = await ended(node, node.services["app:svc"].pid)
        await trio.sleep(10)
    assert result.error is None and result.value == "done"
    assert starts(log, "svc") == [0.0]


async def test_an_error_that_is_not_retryable_ends_the_service(
        tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    log = tmp_path / "run.log"
    entries = [service("svc", input={"log": str(log), "id": "svc", "final": True})]
    async with pidflow.open_node(write_app(tmp_path, entries)) as node:
        result = await ended(node, node.services["app:svc"].pid)
    assert starts(log, "svc") == [0.0]
    assert (result.error.kind, result.error.retryable) == (ErrorKind.INVALID, False)
    assert result.error.message == "service app:svc: app:worker failed (not retryable): svc cannot work with this input"


async def test_a_lua_process_is_restarted_and_gets_its_input_as_positional_arguments(
        tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    log = tmp_path / "run.log"
    entries = [
        {"name": "flaky", "kind": "process.lua", "source": "file://svc_flaky.lua", "method": "main",
         "modules": ["funcs"]},
        service("svc", "app:flaky", input=[{"log": str(log), "id": "lua", "fail": 2, "done": True}],
                restart={"initial_delay": "2s", "jitter": 0}),
    ]
    async with pidflow.open_node(write_app(tmp_path, entries)) as node:
        result = await ended(node, node.services["app:svc"].pid)
    assert result.value == "done after 3 runs"
    assert starts(log, "lua") == [0.0, 2.0, 6.0]


async def test_an_error_whose_retryable_is_unsaid_restarts_the_service(
        tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    """errors.new("msg") is UNKNOWN with retryable nil; the seed retries it, so a service does too."""
    log = tmp_path / "run.log"
    entries = [
        {"name": "flaky", "kind": "process.lua", "source": "file://svc_flaky.lua", "method": "main",
         "modules": ["funcs"]},
        service("svc", "app:flaky", input=[{"log": str(log), "id": "lua", "fail": 1, "unknown": True, "done": True}],
                restart={"initial_delay": "2s", "jitter": 0}),
    ]
    async with pidflow.open_node(write_app(tmp_path, entries)) as node:
        result = await ended(node, node.services["app:svc"].pid)
    assert result.value == "done after 2 runs"
    assert starts(log, "lua") == [0.0, 2.0]


# -- durable --------------------------------------------------------------------------------------------------------
async def test_a_workflow_service_is_restarted_after_it_fails(
        tmp_path: Path, task_queue: str, temporal_address: str) -> None:
    log = tmp_path / "run.log"
    entries = [
        {"name": "temporal", "kind": "temporal.client"},
        {"name": "tq", "kind": "temporal.worker", "client": "app:temporal", "task_queue": task_queue},
        {"name": "flaky", "kind": "workflow.lua", "source": "file://svc_flaky.lua", "method": "main",
         "modules": ["funcs"], "meta": {"temporal": {"workflow": {"worker": "app:tq"}}}},
        service("svc", "app:flaky", input={"log": str(log), "id": "wf", "fail": 2, "done": True},
                restart={"initial_delay": "50ms", "jitter": 0}),
    ]
    async with pidflow.open_node(write_app(tmp_path, entries)) as node:
        with trio.fail_after(60):
            result = await ended(node, node.services["app:svc"].pid)
    assert result.error is None and result.value == "done after 3 runs"
    assert len(starts(log, "wf")) == 3


async def test_a_workflow_service_is_left_running_when_the_node_stops_and_adopted_by_the_next(
        tmp_path: Path, task_queue: str, temporal_address: str) -> None:
    log = tmp_path / "run.log"
    entries = [
        {"name": "temporal", "kind": "temporal.client"},
        {"name": "tq", "kind": "temporal.worker", "client": "app:temporal", "task_queue": task_queue},
        {"name": "flaky", "kind": "workflow.lua", "source": "file://svc_flaky.lua", "method": "main",
         "modules": ["funcs"], "meta": {"temporal": {"workflow": {"worker": "app:tq"}}}},
        service(f"svc_{task_queue[-8:]}", "app:flaky", input={"log": str(log), "id": "wf", "fail": 0}),
    ]
    app = write_app(tmp_path, entries)
    name = f"app:svc_{task_queue[-8:]}"
    async with pidflow.open_node(app) as node:
        with trio.fail_after(30):
            while not starts(log, "wf"):
                await trio.sleep(0.05)
    async with pidflow.open_node(app) as node:
        keeper = node.services[name].pid
        assert node.route(keeper).is_alive(keeper)
        wf = pidflow.Pid("app:tq", name.replace(":", "-"))
        await node.process.cancel(wf, 5)  # CANCEL: it returns "cancelled", a normal end: the service is done
        with trio.fail_after(30):
            result = await ended(node, keeper)
    assert result.error is None and result.value == "cancelled"
    # the run the first node started was adopted: a new run would have noted its start before waiting
    assert len(starts(log, "wf")) == 1


# -- pidflow run ----------------------------------------------------------------------------------------------------
def test_pidflow_run_without_entry_starts_services_and_stops_them_on_sigint(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    app = write_app(tmp_path, [service(name, input={"log": str(log), "id": name}) for name in ("a", "b")])
    env = {**os.environ, "PIDFLOW_STATE_DIR": str(tmp_path / "state")}
    with subprocess.Popen([sys.executable, "-m", "pidflow", "run", str(app)], env=env, stderr=subprocess.PIPE,
                          text=True) as proc:
        assert proc.stderr is not None
        for line in proc.stderr:
            if line.startswith("pidflow: node "):
                break
        assert [(w, who) for w, who, _ in lines(log)] == [("start", "a"), ("start", "b")]
        proc.send_signal(signal.SIGINT)
        rest = proc.stderr.read()
        assert proc.wait(timeout=60) == 0, rest
    assert [(w, who) for w, who, _ in lines(log)][2:] == [("cancel", "b"), ("stop", "b"), ("cancel", "a"),
                                                          ("stop", "a")]
    assert "Traceback" not in rest


def test_pidflow_run_exits_1_when_a_service_gives_up(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    app = write_app(tmp_path, [service("svc", input={"log": str(log), "id": "svc", "fail": 100},
                                       restart={"initial_delay": "10ms", "max_attempts": 3})])
    env = {**os.environ, "PIDFLOW_STATE_DIR": str(tmp_path / "state")}
    done = subprocess.run([sys.executable, "-m", "pidflow", "run", str(app)], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1
    assert "service app:svc gives up: app:worker failed 3 times in a row (max_attempts)" in done.stderr
    assert len(starts(log, "svc")) == 3
