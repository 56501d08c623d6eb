"""Crash reports and other events an operator reads, through Python ``logging`` (logger ``pidflow``).

A library logs and never configures: the ``pidflow`` logger has a ``NullHandler``, so nothing is printed unless
the application (or ``pidflow run``, which installs a stderr handler) configures logging. Each record carries
its facts as ``extra`` fields (``pid``, ``entry``, ``host``, ``error_kind``) so that a JSON formatter can keep them
apart. Like OTP's crash reports, a process that crashed by itself (its body raised, its Lua code failed) is an
ERROR with where it happened (the Python traceback, or the Lua file:line and traceback); an abnormal end caused
from outside (terminate, a linked failure, a cancel deadline, a stopping host) is one DEBUG line: its cause is
logged where it happened (a crash, a supervisor's decision), and a stopping node ends every process that way.
"""

from __future__ import annotations

import logging
from typing import Any

from ._pid import Pid
from .errors import Error

log = logging.getLogger("pidflow")
log.addHandler(logging.NullHandler())


def entry_name(entry: Any) -> str:
    """An entry id, or ``module.function`` for a Python callable spawned directly."""
    if isinstance(entry, str):
        return entry
    module = getattr(entry, "__module__", None)
    name = getattr(entry, "__qualname__", None) or type(entry).__name__
    return f"{module}.{name}" if module else name


def _where(error: Error) -> str:
    details = error.details if isinstance(error.details, dict) else {}
    trace = details.get("traceback")
    return f"\n{str(trace).rstrip()}" if trace else ""


def process_crashed(pid: Pid, entry: Any, error: Error) -> None:
    """The process's own code failed: ERROR with the traceback."""
    name = entry_name(entry)
    log.error("process %s (entry %s, host %s) crashed: %s%s", pid, name, pid.host, error, _where(error),
              extra={"pid": str(pid), "entry": name, "host": pid.host, "error_kind": error.kind.value})


def process_ended(pid: Pid, entry: Any, error: Error) -> None:
    """The process was ended from outside (terminate, link, deadline, host stop): one DEBUG line."""
    if log.isEnabledFor(logging.DEBUG):
        name = entry_name(entry)
        log.debug("process %s (entry %s, host %s) ended: %s", pid, name, pid.host, error,
                 extra={"pid": str(pid), "entry": name, "host": pid.host, "error_kind": error.kind.value})
