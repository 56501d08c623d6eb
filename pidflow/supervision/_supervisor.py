"""The supervisor: a local process that starts children in order, watches them, restarts them by strategy,
and stops them in reverse order.

Design notes (OTP ``supervisor.erl``, adapted to mixed trees):

* Exits are observed through monitors, never through links, so a child that unlinks cannot hang a shutdown;
  local children are also linked so that they die with an abnormally ending supervisor.
* Durable children (workflows) are only monitored: they outlive a node. Each gets a stable workflow id derived
  from the supervisor and child ids (or its ``name``), started with the use-existing policy, so a restarted
  node *adopts* a child that is still running instead of starting a duplicate, and a failed child is restarted
  under the same id. When the node stops, a supervisor stops its local children and leaves durable ones running.
* One task reads the supervisor's events, one reads control calls; a single loop applies both in order, so the
  state (which child has which PID) changes in one place.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import attrs
import trio

from .._api import ProcessAPI, acks_start, current
from .._bookkeeper import entry_name
from .._introspection import ChildInfo
from .._log import log
from .._events import Event, EventKind, ExitResult
from .._host import SpawnRequest
from .._pid import Pid
from ..errors import Error, ErrorKind
from ._intensity import RestartWindow
from ._spec import ChildSpec, Restart, Strategy, SupervisorSpec

if TYPE_CHECKING:
    from .._host import NodePort

#: A restart that failed because the child's node is down (UNAVAILABLE) is tried again after this many seconds
#: (each try still counts toward the intensity): a burst would use the whole intensity in a millisecond.
UNAVAILABLE_RETRY_DELAY = 1.0

def should_restart(restart: Restart, result: ExitResult) -> bool:
    """The one place that decides which exits are clean (OTP ``do_restart``)."""
    if restart is Restart.PERMANENT:
        return True
    if restart is Restart.TRANSIENT:
        return result.error is not None
    return False


@attrs.define(eq=False)
class _Child:
    spec: ChildSpec
    pid: Pid | None = None
    durable: bool = False
    #: Starts after the first (the observer's ``restarts``), and the PID it last ran as.
    restarts: int = 0
    last: Pid | None = None

    def info(self) -> ChildInfo:
        return ChildInfo(self.spec.id, self.pid, self.restarts, entry_name(self.spec.entry))


@attrs.define(eq=False)
class _Call:
    op: str
    args: tuple[Any, ...]
    done: trio.Event = attrs.field(factory=trio.Event)
    result: Any = None
    error: Error | None = None


class SupervisorCore:
    """The running state of one supervisor process (registered on the node for :class:`Supervisor` handles)."""

    def __init__(self, api: ProcessAPI, spec: SupervisorSpec) -> None:
        self.api = api
        self.node: NodePort = api.node
        self.spec = spec
        self.name = spec.name or f"supervisor-{api.pid().id}"
        self.children: list[_Child] = []
        self.window = RestartWindow(spec.intensity, spec.period)
        self._waiting: dict[Pid, trio.Event] = {}
        self._exits: dict[Pid, ExitResult] = {}
        self._send, self._receive = trio.open_memory_channel[Any](math.inf)
        self._dynamic_ids = 0

    # -- starting -------------------------------------------------------------------------------------------------
    def _is_durable(self, spec: ChildSpec) -> bool:
        return self.node.host(spec.host).durable

    async def _start(self, child: _Child) -> None:
        spec = child.spec
        child.durable = self._is_durable(spec)
        name = spec.name
        if child.durable and name is None:
            name = f"{self.name}/{spec.id}".replace(":", "-")
        request = SpawnRequest(entry=spec.entry, input=spec.input, options=dict(spec.options), name=name,
                               context=dict(self.api.context), parent=self.api.pid(), monitor=True,
                               link=not child.durable, await_start=True)
        child.pid = await self.node.spawn(request, spec.host)
        if child.last is not None:  # started before: a restart
            child.restarts += 1
            self.node.bookkeeper.restarted(self.api.pid(), child.info(), child.last)
        child.last = child.pid

    def observed_children(self) -> list[ChildInfo]:
        """The children in start order, for the node's observer (``Bookkeeper.add_parent``)."""
        return [child.info() for child in self.children]

    async def start_all(self) -> None:
        if self.spec.strategy is Strategy.SIMPLE_ONE_FOR_ONE:
            return
        for spec in self.spec.children:
            child = _Child(spec)
            try:
                await self._start(child)
            except Error as exc:
                await self._stop_all(detach_durable=False)
                raise Error(exc.kind, f"supervisor {self.name}: child {spec.id} failed to start: {exc.message}",
                            retryable=exc.retryable) from None
            self.children.append(child)

    # -- stopping -------------------------------------------------------------------------------------------------
    async def _stop_child(self, child: _Child, *, detach_durable: bool) -> None:
        pid, child.pid = child.pid, None
        if pid is None:
            return
        if child.durable and detach_durable:
            await self.node.unmonitor(self.api.pid(), pid)
            return
        if pid in self._exits:  # already ended, EXIT not yet handled
            self._exits.pop(pid)
            return
        done = self._waiting[pid] = trio.Event()
        try:
            if not await self.node.shutdown(pid, child.spec.shutdown, self.api.pid()):
                return
            with trio.move_on_after(child.spec.shutdown + 30):  # the host terminates at the deadline
                await done.wait()
        finally:
            self._waiting.pop(pid, None)
            self._exits.pop(pid, None)
            if not child.durable:
                self.node.forget_link(self.api.pid(), pid)

    async def _stop_all(self, *, detach_durable: bool, after: int = -1) -> None:
        for child in reversed(self.children[after + 1:]):
            await self._stop_child(child, detach_durable=detach_durable)

    # -- the loop ---------------------------------------------------------------------------------------------
    async def run(self) -> None:
        failure: Error | None = None
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._read_events)
            try:
                await self.start_all()  # with events read: a failed start waits for the started ones' EXITs
                self.api.started()
                await self._loop()
            except Error as exc:  # raised outside the nursery, so that it is not wrapped in a group
                failure = exc
            finally:
                nursery.cancel_scope.cancel()
        if failure is not None:
            raise failure

    async def _read_events(self) -> None:
        async for event in self.api.events():
            if event.kind is EventKind.EXIT and event.from_ is not None and event.result is not None:
                waiter = self._waiting.get(event.from_)
                if waiter is not None:
                    self._exits[event.from_] = event.result
                    waiter.set()
                    continue
            self._send.send_nowait(event)

    async def _loop(self) -> None:
        async for item in self._receive:
            if isinstance(item, _Call):
                try:
                    item.result = await getattr(self, f"_op_{item.op}")(*item.args)
                except Error as exc:
                    item.error = exc
                item.done.set()
            elif item.kind is EventKind.CANCEL:
                await self._stop_all(detach_durable=self.node.stopping)
                return
            elif item.kind is EventKind.EXIT:
                await self._child_exited(item)

    async def call(self, op: str, *args: Any) -> Any:
        request = _Call(op, args)
        self._send.send_nowait(request)
        await request.done.wait()
        if request.error is not None:
            raise request.error
        return request.result

    # -- restarts -------------------------------------------------------------------------------------------------
    async def _child_exited(self, event: Event) -> None:
        index = next((i for i, c in enumerate(self.children) if c.pid == event.from_), None)
        if index is None:
            return  # an old incarnation, or a child stopped on purpose
        child = self.children[index]
        child.pid = None
        assert event.result is not None
        if not should_restart(child.spec.restart, event.result):
            if child.spec.restart is Restart.TEMPORARY or self.spec.strategy is Strategy.SIMPLE_ONE_FOR_ONE:
                self.children.pop(index)
            return
        reason = event.result.error
        while True:
            if not self.window.add(trio.current_time()):
                log.error("supervisor %s gives up: %d restarts in %gs reached; last failure: child %s: %s",
                          self.name, self.spec.intensity, self.spec.period, child.spec.id,
                          reason or "exited", extra={"pid": str(self.api.pid()), "child": child.spec.id})
                await self._stop_all(detach_durable=False)
                raise Error(ErrorKind.INTERNAL,
                            f"supervisor {self.name} reached its restart intensity ({self.spec.intensity} restarts "
                            f"in {self.spec.period:g}s); last failure: child {child.spec.id}: "
                            f"{reason.message if reason else 'exited'}", retryable=True,
                            details={"child": child.spec.id})
            log.warning("supervisor %s restarts child %s (%s) after: %s", self.name, child.spec.id,
                        self.spec.strategy.value, reason or "exited",
                        extra={"pid": str(self.api.pid()), "child": child.spec.id})
            try:
                await self._restart(self.children.index(child))  # a group restart may drop temporary siblings
                return
            except Error as exc:  # a failed restart counts as a restart, as in OTP
                reason = exc
                if exc.kind is ErrorKind.UNAVAILABLE:  # its node is down: try again in a moment, not in a burst
                    await trio.sleep(UNAVAILABLE_RETRY_DELAY)
                continue

    async def _restart(self, index: int) -> None:
        strategy = self.spec.strategy
        if strategy in (Strategy.ONE_FOR_ONE, Strategy.SIMPLE_ONE_FOR_ONE):
            await self._start(self.children[index])
            return
        if strategy is Strategy.ONE_FOR_ALL:
            first = 0
        else:  # rest_for_one
            first = index
        failed = self.children[index]
        for child in reversed(self.children[first:]):
            if child is not failed:
                await self._stop_child(child, detach_durable=False)
        # Temporary siblings are stopped, not restarted (OTP terminate_children drops them).
        self.children[first:] = [c for c in self.children[first:]
                                 if c is failed or c.spec.restart is not Restart.TEMPORARY]
        for child in self.children[first:]:
            if child.pid is None:
                await self._start(child)

    # -- control operations ---------------------------------------------------------------------------------------
    async def _op_which_children(self) -> list[dict[str, Any]]:
        return [{"id": c.spec.id, "pid": c.pid, "restart": c.spec.restart.value, "durable": c.durable}
                for c in self.children]

    async def _op_start_child(self, spec_or_input: Any) -> Pid:
        if self.spec.strategy is Strategy.SIMPLE_ONE_FOR_ONE:
            template = self.spec.children[0]
            self._dynamic_ids += 1
            spec = attrs.evolve(template, id=f"{template.id}-{self._dynamic_ids}", input=spec_or_input)
        elif isinstance(spec_or_input, ChildSpec):
            spec = spec_or_input
            if any(c.spec.id == spec.id for c in self.children):
                raise Error(ErrorKind.ALREADY_EXISTS, f"supervisor {self.name} already has a child {spec.id!r}")
        else:
            raise Error(ErrorKind.INVALID, "start_child takes a ChildSpec (or, for simple_one_for_one, an input)")
        child = _Child(spec)
        await self._start(child)
        self.children.append(child)
        assert child.pid is not None
        return child.pid

    async def _op_terminate_child(self, child_id: str) -> None:
        child = self._find(child_id)
        await self._stop_child(child, detach_durable=False)
        if self.spec.strategy is Strategy.SIMPLE_ONE_FOR_ONE or child.spec.restart is Restart.TEMPORARY:
            self.children.remove(child)

    async def _op_restart_child(self, child_id: str) -> Pid:
        child = self._find(child_id)
        if child.pid is not None:
            raise Error(ErrorKind.CONFLICT, f"child {child_id!r} of supervisor {self.name} is running")
        await self._start(child)
        assert child.pid is not None
        return child.pid

    async def _op_delete_child(self, child_id: str) -> None:
        child = self._find(child_id)
        if child.pid is not None:
            raise Error(ErrorKind.CONFLICT, f"child {child_id!r} of supervisor {self.name} is running")
        self.children.remove(child)

    def _find(self, child_id: str) -> _Child:
        for child in self.children:
            if child.spec.id == child_id:
                return child
        raise Error(ErrorKind.NOT_FOUND, f"supervisor {self.name} has no child {child_id!r}")


@acks_start
async def supervise(spec: SupervisorSpec) -> str:
    """The body of a supervisor process: ``spawn(supervise, host, spec)``. It has *started* once every child
    has started, one after the other in order (see ``SpawnRequest.await_start``). Ends normally when cancelled
    (its children stopped in reverse order), abnormally when the restart intensity is exceeded."""
    api = current()
    api.set_options(trap_links=True)
    core = SupervisorCore(api, spec)
    registry = api.node.resources.setdefault("supervisors", {})
    registry[api.pid()] = core
    api.node.bookkeeper.add_parent(api.pid(), core.observed_children)
    try:
        await core.run()
    finally:
        registry.pop(api.pid(), None)
        api.node.bookkeeper.remove_parent(api.pid())
    return "stopped"


@attrs.frozen
class Supervisor:
    """A handle on a running supervisor of this node: inspect and change its children."""

    node: "NodePort"
    pid: Pid

    def _core(self) -> SupervisorCore:
        core: SupervisorCore | None = self.node.resources.get("supervisors", {}).get(self.pid)
        if core is None:
            raise Error(ErrorKind.NOT_FOUND, f"no running supervisor {self.pid} on this node")
        return core

    async def which_children(self) -> list[dict[str, Any]]:
        children: list[dict[str, Any]] = await self._core().call("which_children")
        return children

    async def start_child(self, spec_or_input: Any = None) -> Pid:
        pid: Pid = await self._core().call("start_child", spec_or_input)
        return pid

    async def terminate_child(self, child_id: str) -> None:
        await self._core().call("terminate_child", child_id)

    async def restart_child(self, child_id: str) -> Pid:
        pid: Pid = await self._core().call("restart_child", child_id)
        return pid

    async def delete_child(self, child_id: str) -> None:
        await self._core().call("delete_child", child_id)


async def start_supervisor(api: ProcessAPI, spec: SupervisorSpec, host: str | None = None) -> Supervisor:
    """Start a supervisor as a child of the calling process (linked, like OTP's ``start_link``); returns once
    the supervisor and its children have started, the children one at a time in order."""
    request = SpawnRequest(entry=supervise, input=spec, name=spec.name, context=dict(api.context),
                           parent=api.pid(), link=True, await_start=True)
    pid = await api.node.spawn(request, host)
    return Supervisor(api.node, pid)
