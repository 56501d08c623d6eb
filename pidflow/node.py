"""The Node: owns the hosts and the entry registry, and routes every process operation by the PID's host.

A node is one trio nursery. Hosts are built from entries by kind through small factories (``HOST_FACTORIES``),
and process bodies / functions are resolved by entry kind through ``BODY_FACTORIES`` / ``FUNCTION_FACTORIES``,
so the node never needs to know what a Lua runtime or a Temporal worker is.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import os
import secrets
import sys
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Mapping

import trio

from . import entries as entries_mod
from ._api import ProcessAPI, call_context, current_context
from ._events import Event, EventKind, ExitResult, Message
from ._host import Host, SpawnRequest, noproc
from ._pid import Pid
from .actors import LocalHost, Process
from .entries import Entry, Registry
from .errors import Error, ErrorKind

Body = Callable[[Any], Awaitable[Any]]
DEFAULT_HOST = "pidflow:local"


def _python_callable(entry: Entry) -> Callable[..., Any]:
    """Import ``package.module:function``; modules beside the app's YAML file are importable too."""
    module_name, _, attr = str(entry.spec["source"]).partition(":")
    if entry.file is not None and str(entry.file.parent) not in sys.path:
        sys.path.append(str(entry.file.parent))
    try:
        module = importlib.import_module(module_name)
        fn = getattr(module, attr)
    except (ImportError, AttributeError) as exc:
        raise Error(ErrorKind.NOT_FOUND, f"entry {entry.id}: cannot load {entry.spec['source']}: {exc}") from None
    return fn


def _python_body(node: "Node", entry: Entry) -> Body:
    fn = _python_callable(entry)
    if not inspect.iscoroutinefunction(fn):
        raise Error(ErrorKind.INVALID, f"entry {entry.id}: {entry.spec['source']} must be an async function main(input)")
    return fn


def _python_function(node: "Node", entry: Entry) -> Callable[..., Awaitable[Any]]:
    fn = _python_callable(entry)

    async def call(*args: Any, context: Mapping[str, Any] | None = None) -> Any:
        with call_context(context):
            try:
                result = fn(*args)
                return await result if inspect.isawaitable(result) else result
            except Error:
                raise
            except Exception as exc:
                raise Error.wrap(exc) from None

    return call


def _lua_body(node: "Node", entry: Entry) -> Body:
    from .lua_bindings import local_process_body

    return local_process_body(node, entry)


def _lua_function(node: "Node", entry: Entry) -> Callable[..., Awaitable[Any]]:
    from .lua_bindings import local_function

    return local_function(node, entry)


def _supervisor_body(node: "Node", entry: Entry) -> Body:
    from .supervision import supervise, supervisor_spec

    spec = supervisor_spec(entry.id, entry.spec, entry.namespace)

    async def body(_input: Any) -> Any:
        return await supervise(spec)

    return body


BODY_FACTORIES: dict[str, Callable[["Node", Entry], Body]] = {
    "process.py": _python_body,
    "process.lua": _lua_body,
    "supervisor": _supervisor_body,
}
FUNCTION_FACTORIES: dict[str, Callable[["Node", Entry], Callable[..., Awaitable[Any]]]] = {
    "function.py": _python_function,
    "function.lua": _lua_function,
}


def _local_host_factory(node: "Node", entry: Entry) -> Host:
    return LocalHost(entry.id)


def _temporal_host_factory(node: "Node", entry: Entry) -> Host:
    from .temporal_host import TemporalHost

    return TemporalHost.from_entry(node, entry)


HOST_FACTORIES: dict[str, Callable[["Node", Entry], Host]] = {
    "process.host": _local_host_factory,
    "temporal.worker": _temporal_host_factory,
}


class Node:
    """Routes operations to hosts. Use :func:`open_node`; ``node.process`` is the API for top-level code."""

    def __init__(self, registry: Registry, *, name: str | None = None, state_dir: Path | None = None) -> None:
        self.name = name or f"node-{secrets.token_hex(4)}"
        self.registry = registry
        self.state_dir = state_dir or Path(os.environ.get("PIDFLOW_STATE_DIR", ".pidflow"))
        self.hosts: dict[str, Host] = {}
        self.nursery: trio.Nursery = None  # type: ignore[assignment]
        self.default_host_id = DEFAULT_HOST
        self.process: ProcessAPI = None  # type: ignore[assignment]
        self._bodies: dict[str, Body] = {}
        self._functions: dict[str, Callable[..., Awaitable[Any]]] = {}
        self.services: dict[str, Any] = {}  # shared per-node resources (e.g. Temporal clients), by entry id
        self._on_stop: list[Callable[[], Awaitable[None]]] = []
        #: True once the node began to stop: supervisors then leave durable children running.
        self.stopping = False
        self.root_supervisors: list[Pid] = []

    # -- lifecycle ------------------------------------------------------------------------------------------------
    async def _start(self, nursery: trio.Nursery) -> None:
        self.nursery = nursery
        local_entries = self.registry.of_kind("process.host")
        builtin = LocalHost(DEFAULT_HOST)
        await self._add_host(builtin)
        for entry in local_entries:
            await self._add_host(HOST_FACTORIES[entry.kind](self, entry))
        if local_entries:
            self.default_host_id = local_entries[0].id
        for entry in self.registry.of_kind("temporal.worker"):
            await self._add_host(HOST_FACTORIES[entry.kind](self, entry))
        self.process = ProcessAPI(self, builtin.add_root())
        await self._start_supervisors()

    def _root_supervisor_entries(self) -> list[Entry]:
        supervisors = self.registry.of_kind("supervisor")
        children = {entries_mod.qualify(str(c.get("entry")), s.namespace)
                    for s in supervisors for c in s.spec.get("children") or [] if isinstance(c, dict)}
        return [s for s in supervisors if s.id not in children and s.spec.get("auto_start", True)]

    async def _start_supervisors(self) -> None:
        """Root supervisors start with the node, in declaration order, linked to nothing and monitored by nothing
        (the node's root events are the caller's to read); ``node.root_supervisors`` lists their PIDs."""
        for entry in self._root_supervisor_entries():
            request = SpawnRequest(entry=entry.id, name=entry.id, parent=self.process.pid(), monitor=False)
            self.root_supervisors.append(await self.spawn(request, None))

    async def _stop_supervisors(self) -> None:
        for pid in reversed(self.root_supervisors):
            if await self.cancel(pid, 30.0, None):
                host = self.route(pid)
                while host.is_alive(pid):
                    await trio.sleep(0.01)

    async def _add_host(self, host: Host) -> None:
        self.hosts[host.id] = host
        await host.start(self)

    def on_stop(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run ``callback`` when the node stops, after every host (latest registered first)."""
        self._on_stop.append(callback)

    async def _stop(self) -> None:
        # Supervisors first (children in reverse order, durable ones left running), then hosts in creation
        # order: local hosts first, so their processes' exits still reach durable watchers through the
        # Temporal hosts, which stop last (and flush what they were sending).
        self.stopping = True
        with trio.CancelScope(shield=True):
            await self._stop_supervisors()
            for host in list(self.hosts.values()):
                await host.stop()
            for callback in reversed(self._on_stop):
                await callback()

    # -- resolution -----------------------------------------------------------------------------------------------
    def host(self, host_id: str | None) -> Host:
        host_id = host_id or self.default_host_id
        host = self.hosts.get(host_id)
        if host is None:
            known = ", ".join(sorted(self.hosts))
            if host_id in self.registry:
                kind = self.registry.get(host_id).kind
                raise Error(ErrorKind.INVALID, f"{host_id} is a {kind}, not a host (hosts: {known})")
            raise Error(ErrorKind.NOT_FOUND, f"host {host_id} not found (hosts: {known})", details={"host": host_id})
        return host

    def route(self, pid: Pid) -> Host:
        if pid.node is not None and pid.node != self.name:
            remote = self.services.get("remote_nodes")
            if remote is None:
                raise Error(ErrorKind.UNAVAILABLE, f"{pid} belongs to node {pid.node}, which this node cannot reach")
            return remote
        return self.host(pid.host)

    def resolve_body(self, entry: Any, host_id: str) -> Body:
        if isinstance(entry, str):
            body = self._bodies.get(entry)
            if body is not None:
                return body
        elif callable(entry):
            code = getattr(entry, "__code__", None)
            if code is not None and code.co_flags & inspect.CO_COROUTINE:
                return entry
            if not inspect.iscoroutinefunction(entry) and not inspect.iscoroutinefunction(getattr(entry, "__call__", None)):
                raise Error(ErrorKind.INVALID, f"a process body must be an async function, got {entry!r}")
            return entry
        else:
            raise Error(ErrorKind.INVALID, f"entry must be an entry id or an async function, got {type(entry).__name__}")
        spec = self.registry.get(entry)
        factory = BODY_FACTORIES.get(spec.kind)
        if factory is None:
            raise Error(ErrorKind.INVALID, f"entry {entry} is a {spec.kind}, which host {host_id} cannot run "
                                           f"(it runs {', '.join(sorted(BODY_FACTORIES))})")
        body = self._bodies[entry] = factory(self, spec)
        return body

    def function(self, entry_id: str) -> Callable[..., Awaitable[Any]]:
        fn = self._functions.get(entry_id)
        if fn is None:
            spec = self.registry.get(entry_id)
            factory = FUNCTION_FACTORIES.get(spec.kind)
            if factory is None:
                raise Error(ErrorKind.INVALID, f"entry {entry_id} is a {spec.kind}, not a function")
            fn = self._functions[entry_id] = factory(self, spec)
        return fn

    async def call(self, entry_id: str, *args: Any, context: Mapping[str, Any] | None = None) -> Any:
        """Run a ``function.*`` entry here and return its result (its error is raised). ``context`` is what
        ``ctx.get`` reads inside it (default: the calling process's context)."""
        if context is None:
            context = current_context()
        return await self.function(entry_id)(*args, context=context)

    # -- operations -----------------------------------------------------------------------------------------------
    async def spawn(self, request: SpawnRequest, host_id: str | None = None) -> Pid:
        host = self.host(host_id)
        pid = await host.spawn(request)
        if request.link and request.parent is not None:
            # The parent's half of the link: the child recorded its half (child -> parent) at spawn.
            await self.route(request.parent).link(pid, request.parent)
        return pid

    async def exec(self, request: SpawnRequest, host_id: str | None = None) -> Any:
        """Spawn monitored and wait for that child's EXIT on a private event stream."""
        waiter = _ExitWaiter()
        self._exit_waiters_add(request.parent, waiter)
        try:
            pid = await self.spawn(request, host_id)
            waiter.pid = pid
            result = await waiter.wait(self, request.parent)
        finally:
            self._exit_waiters_remove(request.parent, waiter)
            early, waiter._early = waiter._early, []
            for event in early:  # EXITs caught for the caller before the child's PID was known
                self.post_event(request.parent, event)
            if waiter._result is None and waiter.pid is not None and request.parent is not None:
                with trio.CancelScope(shield=True):  # abandoned: its EXIT must not reach events() later
                    await self.unmonitor(request.parent, waiter.pid)
        if result.error is not None:
            raise result.error
        return result.value

    def send(self, pid: Pid, message: Message) -> None:
        self.route(pid).send(pid, message)

    async def monitor(self, watcher: Pid, target: Pid) -> None:
        await self.route(target).monitor(watcher, target)

    async def unmonitor(self, watcher: Pid, target: Pid) -> None:
        await self.route(target).unmonitor(watcher, target)

    async def link(self, watcher: Process, target: Pid) -> None:
        if target == watcher.pid:
            raise Error(ErrorKind.INVALID, "can't link to self")
        if not await self.route(target).link(watcher.pid, target):
            reason = noproc(target)
            if not watcher.trap_links:
                raise reason
            self.post_event(watcher.pid, Event.link_down(target, reason))
            return
        watcher.links.add(target)

    async def unlink(self, watcher: Pid, target: Pid) -> None:
        self.forget_link(watcher, target)
        await self.route(target).unlink(watcher, target)

    async def terminate(self, pid: Pid, reason: Error) -> bool:
        return await self.route(pid).terminate(pid, reason)

    async def cancel(self, pid: Pid, deadline: float, sender: Pid | None) -> bool:
        return await self.route(pid).cancel(pid, deadline, sender)

    async def shutdown(self, pid: Pid, timeout: float, sender: Pid | None) -> bool:
        return await self.route(pid).shutdown(pid, timeout, sender)

    # -- posts (never block, never raise for a vanished target) -----------------------------------------------------
    def post_event(self, pid: Pid, event: Event) -> None:
        if event.kind is EventKind.EXIT and self._offer_exit(pid, event):
            return
        try:
            self.route(pid).deliver_event(pid, event)
        except Error:
            pass  # the watcher's host is gone: nobody is left to tell

    def post_link_exit(self, pid: Pid, sender: Pid, reason: Error) -> None:
        try:
            self.route(pid).link_exit(pid, sender, reason)
        except Error:
            pass

    def forget_link(self, pid: Pid, other: Pid) -> None:
        try:
            host = self.route(pid)
        except Error:
            return
        forget = getattr(host, "forget_link", None)
        if forget is not None:
            forget(pid, other)

    # exec waits on a private channel so that other EXIT events stay in the caller's events() stream.
    def _exit_waiters_add(self, parent: Pid | None, waiter: "_ExitWaiter") -> None:
        self.services.setdefault("exit_waiters", {}).setdefault(parent, []).append(waiter)

    def _exit_waiters_remove(self, parent: Pid | None, waiter: "_ExitWaiter") -> None:
        waiters = self.services["exit_waiters"].get(parent, [])
        if waiter in waiters:
            waiters.remove(waiter)
        if not waiters:
            self.services["exit_waiters"].pop(parent, None)

    def _offer_exit(self, pid: Pid, event: Event) -> bool:
        waiters = self.services.get("exit_waiters")
        if not waiters:
            return False
        for waiter in waiters.get(pid, ()):
            if waiter.offer(event):
                return True
        return False


class _ExitWaiter:
    """Catches the EXIT of one child; EXITs that arrive before the PID is known are kept until it is."""

    def __init__(self) -> None:
        self.pid: Pid | None = None
        self._early: list[Event] = []
        self._result: ExitResult | None = None
        self._done = trio.Event()

    def offer(self, event: Event) -> bool:
        if self._result is not None:
            return False
        if self.pid is None:
            self._early.append(event)  # resolved in wait(); a non-matching one is re-posted there
            return True
        if event.from_ == self.pid:
            self._result = event.result
            self._done.set()
            return True
        return False

    async def wait(self, node: Node, parent: Pid | None) -> ExitResult:
        early, self._early = self._early, []
        for event in early:
            if event.from_ == self.pid and self._result is None:
                self._result = event.result
                self._done.set()
            elif parent is not None:
                node.post_event(parent, event)  # another child's EXIT: back to the caller's events()
        await self._done.wait()
        assert self._result is not None
        return self._result


@contextlib.asynccontextmanager
async def open_node(
    app: str | Path | Registry | None = None,
    *,
    name: str | None = None,
    state_dir: str | Path | None = None,
) -> AsyncIterator[Node]:
    """Start a node: its hosts (and Temporal workers), then yield it; on exit stop everything in order.

    ``app`` is a YAML file, a folder of them, a :class:`Registry`, or None for a node with only the built-in
    local host (Python callables can still be spawned).
    """
    if app is None:
        registry = Registry()
    elif isinstance(app, Registry):
        registry = app
    else:
        registry = entries_mod.load(app)
    node = Node(registry, name=name, state_dir=Path(state_dir) if state_dir else None)
    try:
        async with trio.open_nursery() as nursery:
            await node._start(nursery)
            try:
                yield node
            finally:
                await node._stop()
                nursery.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        # The node's nursery is an implementation detail: give the caller its own exception back.
        if len(group.exceptions) == 1 and not isinstance(group.exceptions[0], BaseExceptionGroup):
            raise group.exceptions[0] from None
        raise
