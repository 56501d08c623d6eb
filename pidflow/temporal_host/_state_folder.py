"""One embedded Temporal server per state folder, found by everyone who uses the folder.

A state folder holds the embedded server's SQLite file (``temporal.sqlite``) and two more files:

- ``server.lock``: an exclusive ``flock`` taken by whoever starts the server (a node, ``pidflow dev``, an admin
  command), with that process's PID written in it. The lock's file descriptor is inherited by the server
  process, so the lock is released only once the owner *and* the server are gone: for the second or so that a
  server takes to stop after its owner was killed, nobody else can start a second server on the same SQLite file.
- ``server.json``: the record the owner writes once the server serves: ``address``, ``ui_url``, ``server_pid``,
  ``owner_pid``, ``db`` and ``started`` (Unix time). It is removed when the server stops cleanly; one left behind
  by a killed owner is stale and is replaced by the next owner.

Whoever wants the folder's server (:class:`FolderServer`) takes the lock if it is free and starts the server
(the *owner*), or else reads the record and connects to the owner's server (a *client*). While the lock is held
but the record is missing (the owner is still starting its server) or names a dead owner (its server is
stopping), it waits for one or the other, up to ``wait_timeout``; then it fails with an UNAVAILABLE error that
names the folder and the PID holding it. When an owner stops, its server stops with it: clients see UNAVAILABLE
from then on (a node retries its background calls until a server answers on that address again).

Design notes: ``flock`` rather than a PID file alone, because only the kernel knows for sure whether the owner is
alive (a PID can be reused; a lock is released when its holder dies, however it dies). ``flock`` locks belong to
an open file description, so a second node in the *same* process is refused the lock too and becomes a client.
"""

from __future__ import annotations

import asyncio
import fcntl
import gc
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from ..errors import Error, ErrorKind
from ._devserver import DevServer

LOCK_FILE = "server.lock"
RECORD_FILE = "server.json"
DB_FILE = "temporal.sqlite"


@attrs.frozen
class ServerRecord:
    """What ``server.json`` says about a folder's running server."""

    address: str
    ui_url: str | None
    server_pid: int
    owner_pid: int
    db: str
    started: float

    def to_json(self) -> str:
        return json.dumps(attrs.asdict(self), indent=2) + "\n"


def read_record(state_dir: Path) -> ServerRecord | None:
    """The folder's ``server.json``, or None when there is none or it is unreadable (a half-written file is
    never seen: it is written aside and renamed)."""
    try:
        data = json.loads((state_dir / RECORD_FILE).read_text())
        return ServerRecord(address=str(data["address"]), ui_url=data.get("ui_url"),
                            server_pid=int(data["server_pid"]), owner_pid=int(data["owner_pid"]),
                            db=str(data.get("db", "")), started=float(data.get("started", 0)))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


class FolderServer:
    """The embedded server of ``state_dir``: started here (``owner``) or found (a client of another owner).

    ``astart()`` returns the record either way; ``astop()`` stops the server if this object started it, and
    otherwise does nothing. Server options (``port``, ``ui_port``, ``search_attributes``, ``dynamic_config``,
    ``db_filename``: default ``STATE_DIR/temporal.sqlite``) apply when this object starts the server; the UI is
    always served (it costs nothing measurable: same start time, same memory). ``wait_timeout`` (default 30 s)
    bounds the wait for another owner's server to start or to stop.
    """

    def __init__(self, state_dir: str | os.PathLike[str], *, db_filename: str | os.PathLike[str] | None = None,
                 port: int | None = None, ui_port: int | None = None,
                 search_attributes: Mapping[str, str] | None = None,
                 dynamic_config: Mapping[str, Any] | None = None, wait_timeout: float = 30.0) -> None:
        self.state_dir = Path(state_dir).resolve()
        self.db_filename = Path(db_filename) if db_filename is not None else self.state_dir / DB_FILE
        self.search_attributes = dict(search_attributes or {})
        self.wait_timeout = wait_timeout
        self._server_options: dict[str, Any] = dict(port=port, ui_port=ui_port,
                                                    dynamic_config=dict(dynamic_config or {}))
        self.record: ServerRecord | None = None
        self.server: DevServer | None = None
        self._lock_fd: int | None = None

    @property
    def owner(self) -> bool:
        """True when this object started the server (and holds the folder's lock)."""
        return self.server is not None

    @property
    def address(self) -> str:
        if self.record is None:
            raise Error(ErrorKind.INVALID, "the state folder's server is not started; call astart() first")
        return self.record.address

    @property
    def pid(self) -> int | None:
        return self.record.server_pid if self.record is not None else None

    @property
    def running(self) -> bool:
        """Whether the server runs (the one started here, or the other owner's)."""
        if self.server is not None:
            return self.server.running
        return self.record is not None and alive(self.record.server_pid)

    async def astart(self) -> ServerRecord:
        """Start the folder's server, or find the one that runs; UNAVAILABLE when another process holds the
        folder but serves nothing within ``wait_timeout``."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.wait_timeout
        while True:
            if self._try_lock():
                try:
                    self.record = await self._start_owned()
                except BaseException:
                    self._unlock()
                    raise
                return self.record
            record = read_record(self.state_dir)
            if record is not None and record.owner_pid == self._holder() and alive(record.owner_pid):
                self.record = record
                await self._add_search_attributes(record.address)
                return record
            if time.monotonic() > deadline:
                raise self._held_error(record)
            await asyncio.sleep(0.1)

    async def astop(self) -> None:
        """Stop the server if it was started here (then remove the record and release the lock)."""
        server, self.server = self.server, None
        if server is not None:
            try:
                await server.astop()
                if read_record(self.state_dir) == self.record:
                    (self.state_dir / RECORD_FILE).unlink(missing_ok=True)
            finally:
                self._unlock()

    def stop(self) -> None:
        """``astop`` for callers without an asyncio loop."""
        asyncio.run(self.astop())

    # -- internals ----------------------------------------------------------------------------------------------

    def _try_lock(self) -> bool:
        fd = os.open(self.state_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd
        return True

    def _holder(self) -> int | None:
        """The PID the lock's holder wrote in the lock file (None while it is being written)."""
        try:
            text = (self.state_dir / LOCK_FILE).read_text().strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    def _unlock(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            os.close(fd)  # releases the lock once the server (which inherited it) is gone too

    async def _start_owned(self) -> ServerRecord:
        assert self._lock_fd is not None
        (self.state_dir / RECORD_FILE).unlink(missing_ok=True)  # stale: its owner and server are gone
        server = DevServer(db_filename=self.db_filename, with_ui=True, search_attributes=self.search_attributes,
                           inherit_fds=[self._lock_fd], **self._server_options)
        await server.astart()
        self.server = server
        record = ServerRecord(address=server.address, ui_url=server.ui_url, server_pid=server.pid or 0,
                              owner_pid=os.getpid(), db=str(self.db_filename), started=time.time())
        aside = self.state_dir / f".{RECORD_FILE}.{os.getpid()}"
        aside.write_text(record.to_json())
        os.replace(aside, self.state_dir / RECORD_FILE)
        return record

    async def _add_search_attributes(self, address: str) -> None:
        """Register in the other owner's server the search attributes it lacks (it registered its own at launch):
        an app that uses the folder's server as a client finds the attributes it declares."""
        if not self.search_attributes:
            return
        from temporalio.api.enums.v1 import IndexedValueType
        from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
        from temporalio.client import Client

        client: Client | None = None
        try:
            client = await Client.connect(address)
            known = await client.operator_service.list_search_attributes(
                ListSearchAttributesRequest(namespace="default"))
            missing = {name: IndexedValueType.Value(f"INDEXED_VALUE_TYPE_{_snake(typ).upper()}")
                       for name, typ in self.search_attributes.items()
                       if name not in known.custom_attributes and name not in known.system_attributes}
            if missing:
                await client.operator_service.add_search_attributes(
                    AddSearchAttributesRequest(namespace="default", search_attributes=missing))
        except Exception as exc:
            owner = self.record.owner_pid if self.record is not None else "unknown"
            raise Error(ErrorKind.UNAVAILABLE, f"the Temporal server of state folder {self.state_dir} (run by process"
                                               f" {owner} at {address}) does not answer: {exc}") from None
        finally:
            # A temporalio client sits in reference cycles; one freed at interpreter exit can crash the process
            # (sdk-python issue 300), so it is freed here.
            client = None
            gc.collect()

    def _held_error(self, record: ServerRecord | None) -> Error:
        holder = self._holder() or "unknown"
        why = ("it serves nothing yet (no server.json of its own)" if record is None or record.owner_pid != holder
               else "it is gone and its server is still stopping")
        return Error(ErrorKind.UNAVAILABLE,
                     f"state folder {self.state_dir} is held by process {holder} ({LOCK_FILE}), but {why} after"
                     f" {self.wait_timeout:.0f}s; stop that process or use another state folder (--state-dir)",
                     details={"state_dir": str(self.state_dir), "holder": holder})


def _snake(name: str) -> str:
    """``KeywordList`` -> ``keyword_list`` (the ``IndexedValueType`` enum spells types that way)."""
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))
