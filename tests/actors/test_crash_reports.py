"""Crashes are never silent: a process whose own code fails is logged once at ERROR (logger ``pidflow``) with its
PID, entry, host, error and where it happened; an end caused from outside is a DEBUG line; nothing is printed
when the application did not configure logging."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

import pidflow

ROOT = Path(__file__).resolve().parents[2]


async def _fails(_input: Any) -> None:
    raise KeyError("missing part")


async def _waits(_input: Any) -> None:
    await trio.sleep_forever()


def crash_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "pidflow" and r.levelno == logging.ERROR]


async def test_a_crashing_python_process_is_logged_once_with_its_traceback(
        node: pidflow.Node, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="pidflow")
    pid = await node.process.spawn_monitored(_fails)
    await node.process.events().receive()
    [record] = crash_records(caplog)
    assert record.pid == str(pid) and record.host == "pidflow:local" and record.error_kind == "INVALID"
    assert record.entry.endswith("test_crash_reports._fails")
    text = record.getMessage()
    assert f"process {pid} (entry " in text and "crashed: INVALID: KeyError: 'missing part'" in text
    assert 'raise KeyError("missing part")' in text  # the traceback says where


async def test_an_end_caused_from_outside_is_one_debug_line_not_a_crash(
        node: pidflow.Node, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="pidflow")
    pid = await node.process.spawn_monitored(_waits)
    await trio.testing.wait_all_tasks_blocked()
    await node.process.terminate(pid)
    await node.process.events().receive()
    assert crash_records(caplog) == []
    [line] = [r for r in caplog.records if r.name == "pidflow" and str(pid) in r.getMessage()]
    assert line.levelno == logging.DEBUG and "ended: TERMINATED" in line.getMessage()


async def test_a_lua_crash_is_logged_with_file_and_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="pidflow")
    async with pidflow.open_node(ROOT / "examples" / "lua_processes") as node:
        pid = await node.process.spawn_monitored("app:flaky")
        await node.process.events().receive()
    [record] = crash_records(caplog)
    assert record.pid == str(pid) and record.entry == "app:flaky"
    assert "flaky.lua:6: flaky worker gave up" in record.getMessage()


def test_nothing_is_printed_when_the_application_did_not_configure_logging() -> None:
    code = ("import trio, pidflow\n"
            "async def boom(_):\n    raise ValueError('x')\n"
            "async def main():\n"
            "    async with pidflow.open_node() as node:\n"
            "        await node.process.spawn_monitored(boom)\n"
            "        await node.process.events().receive()\n"
            "trio.run(main)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "" and done.stdout == ""
