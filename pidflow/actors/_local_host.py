"""The local host: processes are trio tasks in a nursery the host owns.

Exit semantics follow Erlang: monitors always get EXIT with the result; an abnormal end (an error, a terminate,
a link) kills linked processes unless they trap links, in which case they get LINK_DOWN; a normal end does not
propagate. Everything here runs on the node's trio loop without awaiting, so a process's exit and the fan-out
of its notifications are atomic with respect to other processes.

Names live in the node's registry (``NodePort.names``), shared with every host: a ``with_name`` spawn registers
the new process there and adds the registry's watcher to its watchers, so the EXIT fan-out of its end releases
the name in the same tick. While any process holds the name, the spawn reaches that holder instead.
"""

from __future__ import annotations

import itertools
import time
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Mapping

import attrs
import trio

from .._api import ACKS_START, ProcessAPI
from .._api import _current as _current_process
from .. import _log
from .._bookkeeper import entry_name
from .._introspection import ProcessInfo
from .._events import Event, ExitResult, Message
from .._nursery import serve_nursery
from .._host import Host, SpawnRequest, linked_failure, noproc
from .._kind import Key
from .._pid import Pid
from ..errors import Error, ErrorKind
from .._process import Process

if TYPE_CHECKING:
    from .._bookkeeper import Bookkeeper, Directory
    from .._host import NodePort

Body = Callable[[Any], Awaitable[Any]]

_LOCAL_OPTIONS = {"trap_links": bool}
#: The local host's spawn options, for docs/options.md (``python -m pidflow._reference_docs``); one per key above.
OPTION_DOCS = (
    Key("trap_links", "boolean", "the new process traps links from its start: a linked process's abnormal end "
                                 "arrives as a LINK_DOWN event instead of ending it", default="false"),
)


class LocalHost(Host):
    """Runs processes as trio tasks. ``id`` is the ``process.host`` entry id (or the built-in default)."""

    def __init__(self, id: str) -> None:
        self.id = id
        self.node: NodePort = None  # type: ignore[assignment]  # set by start()
        self._table: dict[str, Process] = {}
        self._ids = itertools.count(1)
        self._nursery: trio.Nursery | None = None
        self._stopped = trio.Event()
        self._closing = False
        self._book: Bookkeeper = None  # type: ignore[assignment]  # the node's, set by start()
        self._node_name: str | None = None
        self._id_prefix = ""

    # -- lifecycle --------------------------------------------------------------------------------------------
    async def start(self, node: "NodePort") -> None:
        self.node = node
        self._book = node.bookkeeper
        self._node_name = node.name
        self._id_prefix = f"{node.creation}." if node.creation else ""
        self._nursery = await node.start_task(serve_nursery, self._stopped)


    async def stop(self) -> None:
        self._closing = True
        reason = Error(ErrorKind.UNAVAILABLE, f"host {self.id} stopped")
        for proc in list(self._table.values()):
            self._kill(proc, reason)
        # Let every process task run its exit path (notifications to other hosts) before the nursery closes.
        while self._table:
            await trio.sleep(0)
        self._stopped.set()

    # -- table ------------------------------------------------------------------------------------------------
    def lookup(self, pid: Pid) -> Process | None:
        if pid.host != self.id or pid.node != self.node.name:
            return None
        return self._table.get(pid.id)

    def is_alive(self, pid: Pid) -> bool:
        return self.lookup(pid) is not None

    def add_root(self, context: Mapping[str, Any] | None = None) -> Process:
        """A process without a task, for top-level code (``node.process``). It traps links, as a shell would."""
        pid = Pid(self.id, "0", self.node.name)
        proc = Process(pid, context=dict(context or {}), trap_links=True)
        proc.started_at = time.time()
        self._table[pid.id] = proc
        return proc

    def validate_options(self, options: Mapping[str, Any]) -> None:
        """The local host owns ``trap_links`` only; other keys (``temporal.*``, the seed runtime's ``network``)
        are passed through: left in the request and ignored here."""
        for key, value in options.items():
            expected = _LOCAL_OPTIONS.get(key)
            if expected is None:
                _log.log.debug("option %r is not one of local host %s's (%s): passed through, ignored", key,
                               self.id, ", ".join(sorted(_LOCAL_OPTIONS)))
                continue
            if not isinstance(value, expected):
                raise Error(ErrorKind.INVALID, f"option {key!r} must be {expected.__name__}, got {type(value).__name__}",
                            details={"option": key})

    # -- spawning ---------------------------------------------------------------------------------------------
    def spawn_nowait(self, request: SpawnRequest) -> Pid:
        """Start at once, without awaiting. A name must be free or held by a process of this host (which is then
        reached instead); :meth:`spawn` also reaches a holder elsewhere."""
        if self._closing or self._nursery is None:
            raise Error(ErrorKind.UNAVAILABLE, f"host {self.id} is not running")
        if request.options:
            self.validate_options(request.options)
        if request.name is not None:
            existing = self.node.names.whereis(request.name)
            if existing is not None:
                proc = self.lookup(existing)
                if proc is None:
                    raise Error(ErrorKind.ALREADY_EXISTS, f"name {request.name!r} is held by {existing}, which "
                                                          f"is not a process of host {self.id}")
                self._attach(proc, request)
                for message in request.messages:
                    proc.deliver(message)
                if self._book.on:
                    proc.messages_in += len(request.messages)
                return existing
        body: Body = self.node.resolve_body(request.entry, self.id)
        pid = Pid.trusted(self.id, f"{self._id_prefix}{next(self._ids)}", self.node.name)
        options = request.options
        proc = Process(pid, request.name, request.context, bool(options.get("trap_links", False)) if options else False)
        proc.entry = request.entry
        proc.parent = request.parent
        for message in request.messages:
            proc.deliver(message)
        self._table[pid.id] = proc
        book = self._book
        if book.on:
            proc.started_at = time.time()
            proc.messages_in = len(request.messages)
            book.spawned(pid, request.entry, request.parent)
        if request.name is not None:
            names = self.node.names
            names.register(request.name, pid)
            proc.watchers.add(names.watcher)
        self._attach(proc, request)
        if request.await_start:
            proc.started = trio.Event()
        # (input and args apart, not request.argv: no tuple per spawn, none kept by every idle process)
        self._nursery.start_soon(self._run, proc, body, request.input, request.args, request.entry,
                                 name="pidflow.process")
        return pid

    async def spawn(self, request: SpawnRequest) -> Pid:
        if request.name is not None:
            holder = self.node.names.whereis(request.name)
            if holder is not None and self.lookup(holder) is None:
                return await self._reach(holder, request)
        pid = self.spawn_nowait(request)
        if request.await_start:
            proc = self.lookup(pid)
            if proc is not None and proc.started is not None:
                await proc.started.wait()
        return pid

    async def _reach(self, holder: Pid, request: SpawnRequest) -> Pid:
        """A ``with_name`` spawn whose name a process of another host holds (a workflow, say): that holder gets
        the start messages and is monitored / linked as asked; nothing starts."""
        if request.options:
            self.validate_options(request.options)
        node = self.node
        for message in request.messages:
            node.send(holder, message)
        if request.parent is not None:
            if request.monitor:
                await node.monitor(request.parent, holder)
            if request.link and not await node.route(holder).link(request.parent, holder):
                raise noproc(holder)  # it ended, and the node has not heard yet
        return holder

    def _attach(self, proc: Process, request: SpawnRequest) -> None:
        if request.parent is None:
            return
        if request.monitor:
            proc.watchers.add(request.parent)
        if request.link:
            proc.links.add(request.parent)

    async def _run(self, proc: Process, body: Body, input: Any, args: tuple[Any, ...] | None, entry: Any) -> None:
        value: Any = None
        error: Error | None = None
        # The task runs in its own copy of the context, so the variable needs no reset.
        _current_process.set(ProcessAPI(self.node, proc))
        proc.task = trio.lowlevel.current_task()
        if proc.started is not None and not getattr(body, ACKS_START, False):
            # The spawner runs again only once this task waits: the body gets that far first.
            proc.started.set()
        with proc.scope:
            try:
                # one argument, the input, unless the spawner gave none or several (SpawnRequest.args)
                value = await (body(input) if args is None else body(*args))
            except Error as exc:
                error = exc
            except Exception as exc:  # a crashing body is an exit, never a node crash
                error = Error.wrap(exc)
        if proc.kill_reason is not None:
            value, error = None, proc.kill_reason
            _log.process_ended(proc.pid, entry, error)
        elif error is not None:
            _log.process_crashed(proc.pid, entry, error)
            if self._book.on:
                self._book.crashed(proc.pid, entry, error)
        self._exit(proc, value, error)

    # -- ending -----------------------------------------------------------------------------------------------
    def _kill(self, proc: Process, reason: Error) -> None:
        if proc.kill_reason is None and proc.alive:
            proc.kill_reason = reason
            if proc.pid.id == "0":  # the root has no task to cancel
                self._exit(proc, None, reason)
            else:
                proc.scope.cancel()

    def _exit(self, proc: Process, value: Any, error: Error | None) -> None:
        if not proc.alive:
            return
        proc.alive = False
        if proc.started is not None:
            proc.started.set()
        self._table.pop(proc.pid.id, None)
        proc.close_mailboxes()
        proc.task = None
        book = self._book
        book.retire(proc.messages_in, proc.messages_out)
        if book.on:
            book.exited(proc.pid, proc.entry, error)
        node = self.node
        if proc._watchers:
            result = ExitResult(value, error)
            for watcher in proc.take_watchers():
                node.post_event(watcher, Event.exit(proc.pid, result))
        if proc._links:
            links = proc.take_links()
            if error is not None:
                for linked in links:
                    node.post_link_exit(linked, proc.pid, error)
            else:
                for linked in links:
                    node.forget_link(linked, proc.pid)

    async def terminate(self, pid: Pid, reason: Error) -> bool:
        proc = self.lookup(pid)
        if proc is None:
            return False
        self._kill(proc, reason)
        return True

    async def cancel(self, pid: Pid, deadline: float, sender: Pid | None) -> bool:
        proc = self.lookup(pid)
        if proc is None:
            return False
        proc.events.put(Event.cancel(deadline, sender))
        assert self._nursery is not None
        self._nursery.start_soon(self._enforce_deadline, proc, deadline)
        return True

    async def shutdown(self, pid: Pid, timeout: float, sender: Pid | None) -> bool:
        """A process that traps links gets CANCEL and ``timeout`` to stop; any other ends at once (OTP: the
        ``shutdown`` exit signal kills a process that does not trap exits)."""
        proc = self.lookup(pid)
        if proc is None:
            return False
        if proc.trap_links:
            return await self.cancel(pid, timeout, sender)
        self._kill(proc, Error(ErrorKind.CANCELED, f"shut down by {sender}" if sender else "shut down"))
        return True

    async def _enforce_deadline(self, proc: Process, deadline: float) -> None:
        await trio.sleep(deadline)
        self._kill(proc, Error(ErrorKind.CANCELED, f"process {proc.pid} did not stop within its cancel deadline"))

    # -- posts ------------------------------------------------------------------------------------------------
    def send_if_alive(self, pid: Pid, message: Message) -> bool:
        if pid.host != self.id or pid.node != self._node_name or pid.id not in self._table:
            return False
        self.send(pid, message)
        return True

    def send(self, pid: Pid, message: Message) -> None:
        table = self._table
        proc = table.get(pid.id) if pid.host == self.id and pid.node == self._node_name else None
        if proc is not None:
            proc.deliver(message)
        if self._book.on:  # bookkeeping: one more in for the target, one more out for the sender
            if proc is not None:
                proc.messages_in += 1
            sender = message.sender
            if sender is not None:
                if sender.host == self.id and sender.node == self._node_name:  # the hot path: both here
                    proc = table.get(sender.id)
                    if proc is not None:
                        proc.messages_out += 1
                else:
                    self.node.count_sent(sender)

    def count_sent(self, pid: Pid) -> None:
        proc = self.lookup(pid)
        if proc is not None:
            proc.messages_out += 1

    def deliver_event(self, pid: Pid, event: Event) -> None:
        proc = self.lookup(pid)
        if proc is not None:
            proc.events.put(event)

    def link_exit(self, pid: Pid, sender: Pid, reason: Error) -> None:
        proc = self.lookup(pid)
        if proc is None or not proc.has_link(sender):
            return
        proc.links.discard(sender)
        if proc.trap_links:
            proc.events.put(Event.link_down(sender, reason))
        else:
            self._kill(proc, linked_failure(sender, reason))

    def forget_link(self, pid: Pid, other: Pid) -> None:
        proc = self.lookup(pid)
        if proc is not None and proc._links is not None:
            proc._links.discard(other)

    # -- monitors and links -----------------------------------------------------------------------------------
    async def monitor(self, watcher: Pid, target: Pid) -> None:
        proc = self.lookup(target)
        if proc is None:
            self.node.post_event(watcher, Event.exit(target, ExitResult(None, noproc(target))))
        else:
            proc.watchers.add(watcher)

    async def unmonitor(self, watcher: Pid, target: Pid) -> None:
        proc = self.lookup(target)
        if proc is not None and proc._watchers is not None:
            proc._watchers.discard(watcher)

    async def link(self, watcher: Pid, target: Pid) -> bool:
        proc = self.lookup(target)
        if proc is None:
            return False
        proc.links.add(watcher)
        return True

    async def unlink(self, watcher: Pid, target: Pid) -> None:
        self.forget_link(target, watcher)

    # -- introspection ----------------------------------------------------------------------------------------
    def describe_all(self, directory: "Directory") -> list[ProcessInfo]:
        return [self._info(proc, directory) for proc in list(self._table.values())]

    def describe(self, pid: Pid, directory: "Directory") -> ProcessInfo | None:
        proc = self.lookup(pid)
        return None if proc is None else self._info(proc, directory)

    async def inspect(self, pid: Pid, directory: "Directory") -> ProcessInfo | None:
        """:meth:`describe`, and for a waiting Lua process the file:line it waits at (read from its Lua state
        now: a listing does not pay for it)."""
        proc = self.lookup(pid)
        if proc is None:
            return None
        info = self._info(proc, directory)
        if info.status == "waiting" and proc.task is not None:
            where = lua_where(proc.task)
            if where is not None:
                info = attrs.evolve(info, lua_where=where)
        return info

    def _info(self, proc: Process, directory: "Directory") -> ProcessInfo:
        pid = proc.pid
        watchers = proc._watchers
        internal = directory.internal
        return ProcessInfo(
            pid=pid, entry=entry_name(proc.entry), host=self.id, parent=proc.parent,
            names=directory.names_of(pid), status=status_of(proc), started_at=proc.started_at,
            mailbox=proc.queued(), messages_in=proc.messages_in, messages_out=proc.messages_out,
            restarts=directory.restarts.get(pid), links=tuple(proc._links) if proc._links else (),
            monitors=directory.monitors_of(pid),
            monitored_by=tuple(w for w in watchers if w != internal) if watchers else (),
            trap_links=proc.trap_links)

    def watches(self) -> list[tuple[Pid, Pid]]:
        return [(watcher, proc.pid) for proc in list(self._table.values()) if proc._watchers
                for watcher in proc._watchers]

    def message_counts(self) -> tuple[int, int]:
        delivered = sent = 0
        for proc in self._table.values():
            delivered += proc.messages_in
            sent += proc.messages_out
        return delivered, sent


def status_of(proc: Process) -> str:
    """``exiting`` once something ended it (its EXIT not yet fanned out), ``waiting`` while its task is parked
    (a receive, a sleep, any trio wait), else ``running`` (executing, or ready to: the root process, which has
    no task, counts as running)."""
    if proc.kill_reason is not None or not proc.alive:
        return "exiting"
    task = proc.task
    # trio sets a parked task's abort function and clears it when the task is rescheduled (trio has no public
    # "is this task blocked"; the attribute is read only here, on demand)
    if task is not None and getattr(task, "_abort_func", None) is not None:
        return "waiting"
    return "running"


def lua_where(task: Any) -> str | None:
    """Where the Lua process run by ``task`` waits (``file:line``): the runtime object on the task's await stack
    that has a ``lua_where()`` (the Lua driver's process) answers; None for a Python process."""
    try:
        for frame, _ in task.iter_await_frames():
            obj = frame.f_locals.get("self")
            if obj is not None and callable(getattr(type(obj), "lua_where", None)):
                where: str | None = obj.lua_where()
                return where
    except Exception:  # noqa: BLE001 - introspection must never fail the caller
        return None
    return None
