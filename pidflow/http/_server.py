"""``http.service``: hypercorn serving the server's Starlette app on the node's trio loop.

The server is a service of the node (started in declaration order, stopped in reverse, before the hosts), not a
process: it has no PID, and each request's handler is a process of its own (``_handlers``). Starting binds the
listening socket before the node's start goes on (a port in use fails the start, naming the entry), and the bound
address is known at once (``addr: "127.0.0.1:0"`` picks a free port: :attr:`HttpServer.port`). Stopping is
hypercorn's graceful shutdown: stop accepting, close idle keep-alive connections, let in-flight requests finish
within ``lifecycle.stop_timeout`` (then they are cancelled, and their handler processes terminated).

The seed's ``timeouts`` map onto hypercorn's config: ``read`` -> ``read_timeout`` (the longest wait for data from
a client, on each read), ``idle`` -> ``keep_alive_timeout``; ``write`` has no equivalent in hypercorn and is
accepted without effect. ``0`` disables a timeout. ``lifecycle.start_timeout`` bounds the app's ASGI startup.
"""

from __future__ import annotations

import logging
import math
import socket
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs
import trio

from .._duration import parse_duration
from ..entries import Entry
from ..errors import Error, ErrorKind

if TYPE_CHECKING:
    from .._host import NodePort
    from .._pid import Pid

log = logging.getLogger("pidflow")
#: hypercorn's own log (its errors; its INFO "Running on ..." repeats ours, so INFO is off unless you lower the
#: level of this logger).
hypercorn_log = logging.getLogger("pidflow.http.hypercorn")
hypercorn_log.setLevel(logging.WARNING)

DEFAULT_START_TIMEOUT = 10.0
#: How long in-flight requests get to finish when the server stops (``lifecycle.stop_timeout``).
DEFAULT_STOP_TIMEOUT = 10.0
#: hypercorn's default keep-alive timeout, kept when ``timeouts.idle`` is not given.
DEFAULT_IDLE_TIMEOUT = 5.0
TIMEOUT_KEYS = ("read", "write", "idle")
LIFECYCLE_KEYS = ("auto_start", "start_timeout", "stop_timeout")
#: Keys of the seed's lifecycle block that pidflow does not offer, and why (as for ``process.service``).
_UNSUPPORTED_LIFECYCLE = {
    "depends_on": "services start in declaration order and stop in reverse; declare a dependency first",
    "requires": "services start in declaration order and stop in reverse; declare a dependency first",
    "security": "pidflow has no security contexts",
}


# -- the entry as data ----------------------------------------------------------------------------------------------
def parse_addr(addr: Any) -> tuple[str, int]:
    """``host:port`` (``:8080`` is every interface, ``[::1]:8080`` an IPv6 address, port 0 a free port) as
    ``(host, port)``; INVALID otherwise."""
    if not isinstance(addr, str) or ":" not in addr:
        raise Error(ErrorKind.INVALID, f"addr must be 'host:port' (':8080', '127.0.0.1:0'), got {addr!r}")
    host, _, port = addr.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        if not host or ":" not in host:
            raise Error(ErrorKind.INVALID, f"addr {addr!r}: [...] holds an IPv6 address")
    elif ":" in host:
        raise Error(ErrorKind.INVALID, f"addr {addr!r}: write an IPv6 address in brackets, '[::1]:8080'")
    if any(c.isspace() or c in "/?#@" for c in host):
        raise Error(ErrorKind.INVALID, f"addr {addr!r}: bad host {host!r}")
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise Error(ErrorKind.INVALID, f"addr {addr!r}: the port must be a number from 0 to 65535")
    return host or "0.0.0.0", int(port)


def _durations(block: Mapping[str, Any], keys: tuple[str, ...], where: str, problems: list[str]) -> None:
    for key in keys:
        if key in block:
            try:
                parse_duration(block[key], what=f"{where}.{key}")
            except Error as exc:
                problems.append(exc.message)


def check_service(entry: Entry) -> list[str]:
    """Every problem of an ``http.service`` entry's keys."""
    spec, problems = entry.spec, []
    if "addr" in spec:
        try:
            parse_addr(spec["addr"])
        except Error as exc:
            problems.append(exc.message)
    timeouts = spec.get("timeouts", {})
    if not isinstance(timeouts, Mapping):
        problems.append(f"timeouts must be a mapping of {', '.join(TIMEOUT_KEYS)}, got {timeouts!r}")
    else:
        problems.extend(f"timeouts: unknown key {key!r} (known: {', '.join(TIMEOUT_KEYS)})"
                        for key in timeouts if key not in TIMEOUT_KEYS)
        _durations(timeouts, TIMEOUT_KEYS, "timeouts", problems)
    lifecycle = spec.get("lifecycle", {})
    if not isinstance(lifecycle, Mapping):
        problems.append(f"lifecycle must be a mapping of {', '.join(LIFECYCLE_KEYS)}, got {lifecycle!r}")
        return problems
    for key in lifecycle:
        if key in _UNSUPPORTED_LIFECYCLE:
            problems.append(f"lifecycle.{key} is not supported by pidflow: {_UNSUPPORTED_LIFECYCLE[key]}")
        elif key not in LIFECYCLE_KEYS:
            problems.append(f"lifecycle: unknown key {key!r} (known: {', '.join(LIFECYCLE_KEYS)})")
    if "auto_start" in lifecycle and not isinstance(lifecycle["auto_start"], bool):
        problems.append(f"lifecycle.auto_start must be true or false, got {lifecycle['auto_start']!r}")
    _durations(lifecycle, ("start_timeout", "stop_timeout"), "lifecycle", problems)
    return problems


@attrs.frozen
class ServiceConfig:
    """An ``http.service`` entry's values, defaults filled in (None: no limit)."""

    host: str
    port: int
    auto_start: bool = False
    read_timeout: float | None = None
    idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT
    start_timeout: float = DEFAULT_START_TIMEOUT
    stop_timeout: float = DEFAULT_STOP_TIMEOUT

    @property
    def bind(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def service_config(entry: Entry) -> ServiceConfig:
    problems = check_service(entry)
    if problems:
        raise Error(ErrorKind.INVALID, f"entry {entry.id}: " + "; ".join(problems))
    host, port = parse_addr(entry.spec["addr"])
    timeouts = entry.spec.get("timeouts") or {}
    lifecycle = entry.spec.get("lifecycle") or {}

    def limit(block: Mapping[str, Any], key: str, default: float | None) -> float | None:
        if key not in block:
            return default
        seconds = parse_duration(block[key])
        return seconds or None  # 0 disables

    return ServiceConfig(host=host, port=port, auto_start=bool(lifecycle.get("auto_start", False)),
                         read_timeout=limit(timeouts, "read", None),
                         idle_timeout=limit(timeouts, "idle", DEFAULT_IDLE_TIMEOUT),
                         start_timeout=limit(lifecycle, "start_timeout", DEFAULT_START_TIMEOUT) or math.inf,
                         stop_timeout=limit(lifecycle, "stop_timeout", DEFAULT_STOP_TIMEOUT) or math.inf)


# -- the running server -----------------------------------------------------------------------------------------------
@attrs.define(eq=False)
class HttpServer:
    """A running ``http.service`` (what ``node.services[entry_id]`` holds). ``urls``: where it listens
    (``http://127.0.0.1:54321``), known once started; :attr:`port` is the bound port."""

    entry_id: str
    config: ServiceConfig
    urls: list[str] = attrs.field(factory=list)
    #: A server is not a process: its handlers are.
    pid: "Pid | None" = None
    _shutdown: trio.Event = attrs.field(factory=trio.Event, init=False)
    _done: trio.Event = attrs.field(factory=trio.Event, init=False)

    @property
    def url(self) -> str:
        return self.urls[0]

    @property
    def port(self) -> int:
        return int(self.url.rpartition(":")[2])

    async def stop(self) -> None:
        """Stop accepting, let in-flight requests finish (within ``lifecycle.stop_timeout``), then return."""
        self._shutdown.set()
        await self._done.wait()

    async def _serve(self, app: Any, sock: socket.socket, *,
                     task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED) -> None:
        from hypercorn.config import Config  # hypercorn is imported by an app that serves HTTP only
        from hypercorn.trio import serve

        c = self.config
        config = Config()
        config.bind = [f"fd://{sock.detach()}"]  # bound by start_server: hypercorn takes the socket over
        config.read_timeout = c.read_timeout  # type: ignore[assignment]  # seconds; a float is fine for trio
        config.keep_alive_timeout = c.idle_timeout if c.idle_timeout is not None else math.inf
        config.graceful_timeout = c.stop_timeout
        config.startup_timeout = c.start_timeout
        config.errorlog = hypercorn_log
        config.accesslog = None
        started = _Started(task_status)
        try:
            await serve(app, config, shutdown_trigger=self._shutdown.wait, task_status=started)
        except Exception as exc:
            if not started.called:
                raise  # the start failed (the port is taken): start_server reports it
            # after the start: the server is gone, the node goes on
            log.error("http.service %s stopped: %s: %s", self.entry_id, type(exc).__name__, exc,
                      extra={"entry": self.entry_id})
        finally:
            self._done.set()


def _bind(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port``, for hypercorn to listen on (bound here so that a port in use is a clean
    error, and nothing leaks when it is)."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                         flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except BaseException:
        sock.close()
        raise
    return sock


class _Started:
    """A task status that remembers whether the server said it started."""

    def __init__(self, inner: trio.TaskStatus[list[str]]) -> None:
        self.inner = inner
        self.called = False

    def started(self, value: list[str] | None = None) -> None:
        self.called = True
        self.inner.started(value if value is not None else [])  # (hypercorn always says where it listens)


async def start_server(node: "NodePort", entry_id: str, config: ServiceConfig, app: Any, *, what: str) -> HttpServer:
    """Serve ``app`` as the server ``entry_id``, listening once this returns; UNAVAILABLE naming the entry when
    it cannot listen (the port is taken). ``what`` names the server in that error and the log (its kind)."""
    try:
        sock = _bind(config.host, config.port)
    except OSError as exc:
        raise Error(ErrorKind.UNAVAILABLE, f"{what} {entry_id} cannot listen on {config.bind}: "
                                           f"{exc.strerror or exc}", details={"entry": entry_id}) from None
    server = HttpServer(entry_id, config)
    server.urls = await node.start_task(server._serve, app, sock)
    log.info("%s %s listening on %s", what, entry_id, ", ".join(server.urls), extra={"entry": entry_id})
    return server
