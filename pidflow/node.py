"""The Node: owns the hosts, the services and the entry registry, and routes every process operation by the
PID's host.

A node is one trio nursery. It knows hosts only through :class:`~pidflow._host.Host` and entry kinds only through
:class:`~pidflow._kind.KindRegistry`: it builds a host, a process body, a function or a service by asking the
entry's kind, so it imports no runtime package. Start order: the kinds' built-in hosts, then declared hosts, then
services (root supervisors) in declaration order; stop order: services in reverse, then local hosts (their
processes' exits still reach durable watchers), then durable hosts, then ``on_stop`` callbacks.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import secrets
import time
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Mapping

import sniffio
import trio

from . import _kind
from . import entries as entries_mod
from ._api import ProcessAPI, current_context
from ._bookkeeper import DEFAULT_CAPACITY, Bookkeeper, Directory
from ._events import Event, EventKind, ExitResult, Message
from ._host import Host, NodePort, SpawnRequest
from ._introspection import ObserverEvent, ProcessInfo, TreeNode
from ._kind import Body, Function, KindRegistry, Service
from ._mailbox import Mailbox
from ._names import NameRegistry, check_name
from ._pid import Pid
from ._process import Process
from .entries import Entry, Registry
from .errors import Error, ErrorKind


class Node(NodePort):
    """Routes operations to hosts. Use :func:`open_node`; ``node.process`` is the API for top-level code."""

    def __init__(self, registry: Registry, *, kinds: KindRegistry | None = None, name: str | None = None,
                 state_dir: Path | None = None, start_services: bool = True,
                 node_down_after: float | None = None) -> None:
        if name is not None:
            check_node_name(name)
        self.name = name or f"node-{secrets.token_hex(4)}"
        self.named = name is not None
        self.creation = _base36(time.time_ns() // 1_000_000) if self.named else ""
        self.node_down_after = node_down_after
        self.registry = registry
        self.kinds = kinds or _kind.DEFAULT
        self.state_dir = state_dir or default_state_dir(registry)
        self.hosts: dict[str, Host] = {}
        self.default_host_id: str | None = None
        self.process: ProcessAPI = None  # type: ignore[assignment]
        #: Services started with the node (root supervisors), by entry id, in start order.
        self.services: dict[str, Service] = {}
        self.resources: dict[str, Any] = {}
        #: Registered names, node-wide; holders are monitored with ``names.watcher``, a PID no host owns, whose
        #: EXITs ``post_event`` turns into releases.
        self.names = NameRegistry(Pid("pidflow:names", "watcher", self.name))
        self.bookkeeper = Bookkeeper()
        self._nursery: trio.Nursery = None  # type: ignore[assignment]
        self._bodies: dict[str, Body] = {}
        self._functions: dict[str, Function] = {}
        self._on_stop: list[Callable[[], Awaitable[None]]] = []
        self._exit_waiters: dict[Pid | None, list[_ExitWaiter]] = {}
        self._stopping = False
        self._start_services = start_services

    @property
    def stopping(self) -> bool:
        return self._stopping

    @property
    def root_supervisors(self) -> list[Pid]:
        """The PIDs of the services that are processes (the root supervisors), in start order."""
        return [service.pid for service in self.services.values() if service.pid is not None]

    # -- lifecycle ------------------------------------------------------------------------------------------------
    async def _start(self, nursery: trio.Nursery) -> None:
        self._nursery = nursery
        builtin = [Entry(entry_id, kind.name, {}) for kind in self.kinds for entry_id in kind.builtin]
        root_host = next((entry.id for entry in builtin if self._kind_of(entry).default_host), None)
        if root_host is None:
            raise Error(ErrorKind.INVALID, "no entry kind provides a built-in host for the node's own process")
        for entry in [*builtin, *(e for e in self.registry if self._kind_of(e).host is not None)]:
            kind = self._kind_of(entry)
            assert kind.host is not None
            made = kind.host(self, entry)
            if made is None:
                continue
            host = await self._add_host(made)
            if kind.default_host and (self.default_host_id is None or self.default_host_id in kind.builtin):
                self.default_host_id = host.id
        self.process = ProcessAPI(self, self.hosts[root_host].add_root())
        for entry in self.registry if self._start_services else ():
            start = self._kind_of(entry).service
            if start is not None:
                service = await start(self, entry)
                if service is not None:
                    self.services[entry.id] = service

    async def _add_host(self, host: Host) -> Host:
        await host.start(self)
        self.hosts[host.id] = host
        return host

    def _kind_of(self, entry: Entry) -> _kind.Kind:
        return self.kinds.get(entry.kind)

    async def start_task(self, async_fn: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        return await self._nursery.start(async_fn, *args)

    def start_soon_task(self, async_fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
        self._nursery.start_soon(async_fn, *args)

    def on_stop(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run ``callback`` when the node stops, after every host (latest registered first)."""
        self._on_stop.append(callback)

    async def _stop(self) -> None:
        # Services first (root supervisors stop their children in reverse order, durable ones left running),
        # then local hosts, so their processes' exits still reach durable watchers through the durable hosts,
        # which stop last (and flush what they were sending).
        self._stopping = True
        with trio.CancelScope(shield=True):
            for service in reversed(list(self.services.values())):
                await service.stop()
            hosts = list(self.hosts.values())
            for host in [h for h in hosts if not h.durable] + [h for h in hosts if h.durable]:
                await host.stop()
            for callback in reversed(self._on_stop):
                await callback()
            self.bookkeeper.close()

    # -- resolution -----------------------------------------------------------------------------------------------
    def host(self, host_id: str | None) -> Host:
        host_id = host_id or self.default_host_id or ""
        host = self.hosts.get(host_id)
        if host is None and isinstance(host_id, str) and "@" in host_id:
            return self._host_on_node(host_id)
        if host is None:
            known = ", ".join(sorted(self.hosts))
            if host_id in self.registry:
                kind = self.registry.get(host_id).kind
                raise Error(ErrorKind.INVALID, f"{host_id} is a {kind}, not a host (hosts: {known})")
            shown = host_id[:197] + "..." if isinstance(host_id, str) and len(host_id) > 200 else host_id
            raise Error(ErrorKind.NOT_FOUND, f"host {shown} not found (hosts: {known})", details={"host": host_id})
        return host

    def _host_on_node(self, host_id: str) -> Host:
        """``HOST@NODE``: that host of this node, or of another node of the cluster (spawn only)."""
        local, _, node = host_id.rpartition("@")
        if not local or not node or "@" in local:
            raise Error(ErrorKind.INVALID, f"host {host_id!r}: expected 'HOST' or 'HOST@NODE'",
                        details={"host": host_id})
        if node == self.name:
            return self.host(local)
        remote = self.resources.get("remote_nodes")
        if remote is None:
            raise Error(ErrorKind.UNAVAILABLE, f"host {host_id} is on node {node}, which this node cannot reach "
                                               f"(it is in no cluster: give it a name or a Temporal client)",
                        details={"host": host_id, "node": node})
        return remote.on_node(local, node)  # type: ignore[no-any-return]

    def route(self, pid: Pid) -> Host:
        if pid.node is not None and pid.node != self.name:
            remote: Host | None = self.resources.get("remote_nodes")
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
            callable_body: Body = entry
            if code is not None and code.co_flags & inspect.CO_COROUTINE:
                return callable_body
            if not inspect.iscoroutinefunction(entry) and not inspect.iscoroutinefunction(getattr(entry, "__call__", None)):
                raise Error(ErrorKind.INVALID, f"a process body must be an async function, got {entry!r}")
            return callable_body
        else:
            raise Error(ErrorKind.INVALID, f"entry must be an entry id or an async function, got {type(entry).__name__}")
        spec = self.registry.get(entry)
        factory = self._kind_of(spec).body
        if factory is None:
            runnable = ", ".join(kind.name for kind in self.kinds.with_role("process") if kind.body is not None)
            raise Error(ErrorKind.INVALID, f"entry {entry} is a {spec.kind}, which host {host_id} cannot run "
                                           f"(it runs {runnable})")
        body = self._bodies[entry] = factory(self, spec)
        return body

    def function(self, entry_id: str) -> Function:
        fn = self._functions.get(entry_id)
        if fn is None:
            spec = self.registry.get(entry_id)
            factory = self._kind_of(spec).function
            if factory is None:
                raise Error(ErrorKind.INVALID, f"entry {entry_id} is a {spec.kind}, not a function")
            fn = self._functions[entry_id] = factory(self, spec)
        return fn

    def runs_on(self, entry_id: str) -> str | None:
        """The host that runs ``entry_id`` when the caller names none (a workflow's worker), else None (the
        default local host)."""
        entry = self.registry.get(entry_id)
        runs_on = self._kind_of(entry).runs_on
        return runs_on(entry) if runs_on is not None else None

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
                if request.parent is not None:
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
        host = self.route(target)
        if not await host.link(watcher.pid, target):
            reason = host.link_refused(target)
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

    # -- other nodes ------------------------------------------------------------------------------------------------
    async def monitor_node(self, watcher: Pid, node: str) -> None:
        """``watcher`` gets NODEDOWN when node ``node`` goes down (at once when it is down, unknown, or this node
        is in no cluster) and NODEUP when it comes back, until :meth:`demonitor_node`. Monitoring this node
        itself gives nothing (it cannot see itself go down)."""
        check_node_name(node)
        if node == self.name:
            return
        remote = self.resources.get("remote_nodes")
        if remote is None:
            self.post_event(watcher, Event.node_down(node, Error(
                ErrorKind.UNAVAILABLE, f"node {node} is unreachable: this node is in no cluster (noconnection)",
                details={"reason": "noconnection", "node": node})))
            return
        await remote.monitor_node(watcher, node)

    async def demonitor_node(self, watcher: Pid, node: str) -> bool:
        check_node_name(node)
        remote = self.resources.get("remote_nodes")
        return bool(remote is not None and await remote.demonitor_node(watcher, node))

    def nodes(self) -> dict[str, bool | None]:
        """The other nodes of the cluster this node has dealt with: name -> up (None: not asked yet); empty when
        it is in no cluster."""
        remote = self.resources.get("remote_nodes")
        known: dict[str, bool | None] = remote.nodes() if remote is not None else {}
        return known

    # -- names ------------------------------------------------------------------------------------------------------
    async def register_name(self, name: str, pid: Pid, scope: str = "node") -> None:
        """Register ``name`` for ``pid`` and monitor it with ``names.watcher``, so that every name it holds is
        released when it ends, on whichever host it runs (a workflow: once this node learns of its end). Every
        registration monitors again: a local host keeps one watcher; a workflow host renews its watch of the
        current run, so the end of a run that ended just before never releases a name its successor registered.

        ``scope="cluster"``: unique across the nodes of the cluster (``temporal_host._cluster_names``), released
        when ``pid`` ends or this node is declared down; UNAVAILABLE on a node in no cluster."""
        check_name(name)
        scope = check_scope(scope)
        if not isinstance(pid, Pid):
            raise Error(ErrorKind.INVALID, f"register takes a pid, got {type(pid).__name__}", details={"argument": "pid"})
        host = self.route(pid)
        if host.is_alive(pid) is False:
            raise Error(ErrorKind.NOT_FOUND, f"can't register name {name!r}: no such process {pid}",
                        details={"reason": "noproc", "name": name})
        names = self.names
        if scope == "cluster":
            new = await self._cluster("register a cluster name").names.register(name, pid)
        else:
            new = names.register(name, pid)
        try:
            await host.monitor(names.watcher, pid)
        except BaseException:
            if new and scope == "node" and names.whereis(name) == pid:
                names.unregister(name)
            elif new and scope == "cluster":
                with trio.CancelScope(shield=True):
                    await self._cluster("release a cluster name").names.unregister(name)
            raise

    async def unregister_name(self, name: str, scope: str = "node") -> bool:
        if check_scope(scope) == "cluster":
            cluster = self._cluster("unregister a cluster name")
            holder = cluster.names.mine.get(check_name(name))
            released: bool = await cluster.names.unregister(name)
        else:
            holder = self.names.unregister(name)
            released = holder is not None
        if holder is not None and not self._names_of(holder):  # its last name: stop watching it
            try:
                await self.route(holder).unmonitor(self.names.watcher, holder)
            except Error:
                pass
        return released

    async def whereis_name(self, name: str) -> Pid | None:
        """The holder of ``name``: this node's registry first (no round trip), then the cluster's names."""
        holder = self.names.whereis(name)
        if holder is None:
            remote = self.resources.get("remote_nodes")
            if remote is not None:
                holder = await remote.names.whereis(name)
        return holder

    def _names_of(self, pid: Pid) -> list[str]:
        remote = self.resources.get("remote_nodes")
        return [*self.names.names_of(pid), *(remote.names.names_of(pid) if remote is not None else ())]

    def _cluster(self, doing: str) -> Any:
        remote = self.resources.get("remote_nodes")
        if remote is None:
            raise Error(ErrorKind.UNAVAILABLE, f"can't {doing}: this node is in no cluster (give it a name, or a "
                                               "Temporal client: docs/cluster.md)")
        return remote

    # -- observing (pidflow._introspection; the observer's JSON API, page, terminal and metrics read these) --------
    @property
    def bookkeeping(self) -> bool:
        """Whether the per-message counters (messages in and out), the running totals and the observer events are
        kept (default True: the cost is a couple of increments per message). Off, the rest is still described:
        processes, status, mailboxes, links, monitors, names, supervisors' children and restarts."""
        return self.bookkeeper.on

    @bookkeeping.setter
    def bookkeeping(self, on: bool) -> None:
        self.bookkeeper.on = bool(on)

    def _directory(self) -> Directory:
        return Directory(self.names, self.hosts.values(), self.bookkeeper.parents())

    def processes(self, *, host: str | None = None, offset: int = 0, limit: int | None = None) -> list[ProcessInfo]:
        """The local processes of every local host (``host``: of that host only) and the durable processes this
        node knows (started, watched, supervised or named here), sorted by PID string, then ``[offset:offset +
        limit]``. Synchronous and cheap: no query (``lua_where`` is None and a workflow's status is the last one
        known: :meth:`process_info` asks). INVALID for a negative offset or limit."""
        if not isinstance(offset, int) or offset < 0:
            raise Error(ErrorKind.INVALID, f"offset must be a number >= 0, got {offset!r}")
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise Error(ErrorKind.INVALID, f"limit must be a number >= 0, got {limit!r}")
        hosts = [self.host(host)] if host is not None else list(self.hosts.values())
        directory = self._directory()
        infos = [info for h in hosts for info in h.describe_all(directory)]
        infos.sort(key=lambda info: str(info.pid))
        return infos[offset:] if limit is None else infos[offset:offset + limit]

    async def process_info(self, pid: Pid | str) -> ProcessInfo:
        """One process with all that can be found out: a waiting Lua process's ``file:line``, and for a durable
        process its workflow's run id, status and Temporal UI link (asked from Temporal, also for a workflow this
        node does not know otherwise). NOT_FOUND when no host knows it, INVALID for a malformed PID."""
        pid = Pid.parse(pid)
        try:
            host = self.route(pid)
        except Error as exc:
            if exc.kind is ErrorKind.UNAVAILABLE:
                raise
            raise Error(ErrorKind.NOT_FOUND, f"no such process {pid}: its host {pid.host} is not on this node",
                        details={"pid": str(pid)}) from None
        info = await host.inspect(pid, self._directory())
        if info is None:
            raise Error(ErrorKind.NOT_FOUND, f"no such process {pid}", details={"pid": str(pid)})
        return info

    def tree(self) -> list[TreeNode]:
        """The supervision trees: every root supervisor and service of the node (and every supervisor nobody
        supervises) with its children in start order, durable children included; a child that is itself a
        supervisor has its own children. Processes under no supervisor are not in it; a child that is not running
        (being restarted) is left out."""
        parents = self.bookkeeper.parents()
        directory = Directory(self.names, self.hosts.values(), parents)
        children = {c.pid for kids in parents.values() for c in kids if c.pid is not None}
        roots = [pid for pid in self.root_supervisors if pid not in children]
        roots += [pid for pid in parents if pid not in children and pid not in roots]
        return [node for node in (self._tree_node(pid, None, None, parents, directory, set()) for pid in roots)
                if node is not None]

    def _tree_node(self, pid: Pid, child_id: str | None, entry: str | None, parents: dict[Pid, Any],
                   directory: Directory, seen: set[Pid]) -> TreeNode | None:
        try:
            host = self.route(pid)
        except Error:
            return None
        info = host.describe(pid, directory)
        if info is None and child_id is None:
            return None  # a root that ended
        seen.add(pid)
        kids = tuple(node for node in (self._tree_node(c.pid, c.child_id, c.entry, parents, directory, seen)
                                       for c in parents.get(pid, ()) if c.pid is not None and c.pid not in seen)
                     if node is not None)
        return TreeNode(pid=pid, entry=info.entry if info is not None and info.entry else entry, child_id=child_id,
                        status=info.status if info is not None else "unknown", host=pid.host,
                        restarts=directory.restarts.get(pid), children=kids)

    def observe(self, capacity: int = DEFAULT_CAPACITY) -> Mailbox[ObserverEvent]:
        """A new subscription to what happens to processes (``pidflow._introspection.ObserverEvent``: spawn,
        exit with its reason, restart, crash report), in order, from now on, while bookkeeping is on. It never
        blocks or slows a process: past ``capacity`` unread events the oldest are dropped (counted in the
        mailbox's ``dropped`` and in ``observer_counters()["events_dropped"]``). End it with :meth:`unobserve`
        (it is closed when the node stops)."""
        if not isinstance(capacity, int) or capacity < 1:
            raise Error(ErrorKind.INVALID, f"capacity must be a number >= 1, got {capacity!r}")
        return self.bookkeeper.subscribe(capacity)

    def unobserve(self, mailbox: Mailbox[ObserverEvent]) -> bool:
        """End a subscription made by :meth:`observe` (its mailbox is closed; what it holds can still be read).
        False when it was not one (or ended already)."""
        return self.bookkeeper.unsubscribe(mailbox)

    def observer_counters(self) -> dict[str, Any]:
        """Running totals since the node started, counted while bookkeeping is on: ``spawns``, ``exits`` (by kind:
        ``normal`` or the reason's error kind), ``restarts`` (by supervisors and service keepers),
        ``messages_sent``, ``messages_delivered`` (into a local mailbox, or posted to a workflow),
        ``workflow_signals`` (signals sent to workflows), ``events_dropped`` and ``observers`` (subscriptions)."""
        return self.bookkeeper.counters(self.hosts.values())

    # -- posts (never block, never raise for a vanished target) -----------------------------------------------------
    def post_event(self, pid: Pid, event: Event) -> None:
        if event.kind is EventKind.EXIT:
            if self._offer_exit(pid, event):
                return
            if pid == self.names.watcher:  # a holder ended: its names go with it
                holder = event.sender
                assert holder is not None
                self.names.release(holder)
                remote = self.resources.get("remote_nodes")
                if remote is not None and remote.names.names_of(holder):
                    self.start_soon_task(remote.names.release, holder)
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
            self.route(pid).forget_link(pid, other)
        except Error:
            pass

    def catch_exits(self, watcher: Pid, catch: Callable[[Event], bool]) -> Callable[[], None]:
        catcher: Any = _Catcher(catch)  # (an exit waiter is anything with offer(event) -> bool)
        self._exit_waiters_add(watcher, catcher)
        return lambda: self._exit_waiters_remove(watcher, catcher)

    # exec waits on a private channel so that other EXIT events stay in the caller's events() stream.
    def _exit_waiters_add(self, parent: Pid | None, waiter: "_ExitWaiter") -> None:
        self._exit_waiters.setdefault(parent, []).append(waiter)

    def _exit_waiters_remove(self, parent: Pid | None, waiter: "_ExitWaiter") -> None:
        waiters = self._exit_waiters.get(parent, [])
        if waiter in waiters:
            waiters.remove(waiter)
        if not waiters:
            self._exit_waiters.pop(parent, None)

    def _offer_exit(self, pid: Pid, event: Event) -> bool:
        waiters = self._exit_waiters
        if not waiters:
            return False
        for waiter in waiters.get(pid, ()):
            if waiter.offer(event):
                return True
        return False


class _Catcher:
    """An EXIT catcher of :meth:`Node.catch_exits`: the ``offer`` of an exit waiter is its ``catch``."""

    __slots__ = ("offer",)

    def __init__(self, catch: Callable[[Event], bool]) -> None:
        self.offer = catch


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


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while number:
        number, digit = divmod(number, 36)
        text = digits[digit] + text
    return text or "0"


def check_scope(scope: object) -> str:
    """A name's scope: ``"node"`` (``"local"`` too) or ``"cluster"``; INVALID naming ``scope`` otherwise."""
    if scope in ("node", "local"):
        return "node"
    if scope == "cluster":
        return "cluster"
    raise Error(ErrorKind.INVALID, f"scope must be 'node' or 'cluster', got {scope!r}"[:200],
                details={"argument": "scope"})


def check_node_name(node: object) -> str:
    """A node name as an argument: INVALID naming it unless it can be a PID's node part."""
    if not isinstance(node, str) or not node or any(c in node for c in "|{}@"):
        raise Error(ErrorKind.INVALID, f"a node name must be a non-empty string without '|{{}}@', got {node!r}",
                    details={"argument": "node"})
    return node


def default_state_dir(app: str | Path | Registry | None) -> Path:
    """Where a node keeps its state (the embedded Temporal server's database): ``PIDFLOW_STATE_DIR`` if set,
    else ``.pidflow`` in the app's folder (the folder of its first YAML file), whatever the current directory;
    ``.pidflow`` in the current directory for a node without an app on disk."""
    env = os.environ.get("PIDFLOW_STATE_DIR")
    if env:
        return Path(env)
    if isinstance(app, Registry):
        first = next((e.file for e in app if e.file is not None and e.file.exists()), None)
        return first.parent / ".pidflow" if first is not None else Path.cwd() / ".pidflow"
    if app is not None:
        path = Path(app).resolve()
        return (path if path.is_dir() else path.parent) / ".pidflow"
    return Path.cwd() / ".pidflow"


def _check_trio() -> None:
    """INVALID, saying what to use, when ``open_node`` is not awaited under trio (trio itself would fail with an
    AttributeError deep inside ``open_nursery``)."""
    try:
        library: str | None = sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        library = None
    if library == "trio":
        return
    if library == "asyncio":
        raise Error(ErrorKind.INVALID, "pidflow.open_node runs under trio, and this is asyncio: in an asyncio program "
                                       "use 'async with pidflow.aio.open_node(...)'")
    raise Error(ErrorKind.INVALID, f"pidflow.open_node runs under trio (trio.run), not under {library or 'this loop'}; "
                                   "from asyncio use pidflow.aio.open_node")


@contextlib.asynccontextmanager
async def open_node(
    app: str | Path | Registry | None = None,
    *,
    name: str | None = None,
    state_dir: str | Path | None = None,
    kinds: KindRegistry | None = None,
    services: bool = True,
    node_down_after: float | None = None,
) -> AsyncIterator[Node]:
    """Start a node: its hosts (and Temporal workers), then its services (root supervisors), then yield it; on
    exit stop everything in order.

    ``app`` is a YAML file, a folder of them, a :class:`Registry`, or None for a node with only the built-in
    local host (Python callables can still be spawned). ``kinds`` (default: the built-in kinds plus any
    registered with :func:`pidflow.register_kind`) says what each entry kind builds. ``services=False`` starts
    the hosts only (no root supervisors), to run one entry of an app. ``state_dir``: see
    :func:`default_state_dir`.

    ``name`` names the node (a PID part: no ``|{}@``); a named node, or one whose app uses Temporal, joins the
    cluster of its Temporal namespace (docs/cluster.md), where the name must be free. ``node_down_after``: the
    bound in seconds from another node's death to the EXITs here (default ``PIDFLOW_NODE_DOWN_AFTER``, else 15).
    """
    _check_trio()
    if app is None:
        registry = Registry()
    elif isinstance(app, Registry):
        registry = app
    else:
        registry = entries_mod.load(app, kinds)
    node = Node(registry, kinds=kinds, name=name, state_dir=Path(state_dir) if state_dir else default_state_dir(app),
                start_services=services, node_down_after=node_down_after)
    try:
        async with trio.open_nursery() as nursery:
            try:
                await node._start(nursery)  # a failed start still stops what it started, in order
                yield node
            finally:
                await node._stop()
                nursery.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        # The node's nursery is an implementation detail: give the caller its own exception back.
        if len(group.exceptions) == 1 and not isinstance(group.exceptions[0], BaseExceptionGroup):
            raise group.exceptions[0] from None
        raise
