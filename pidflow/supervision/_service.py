"""The keeper of a ``process.service``: a local process that keeps one process running by its lifecycle.

Design notes. A service is a one-child supervisor whose restart policy is a delay instead of an intensity
window, so the keeper follows the supervisor's rules (``_supervisor.py``): it is started with the node like a
root supervisor, in declaration order, and stopped in reverse; it watches its process through a monitor, never
through the link (a local process is linked too, so that it dies with a keeper that is killed); a durable
process (a workflow) is only monitored, under a stable workflow id derived from the service's entry id, so a
restart continues under the same id and a restarted node adopts a workflow that is still running; when the node
stops, the workflow is left running. One difference: the process is stopped with CANCEL whether it traps links
or not (the seed runtime's way: a Lua process reads it from ``process.events()``), terminated at
``stop_timeout``, where a supervisor ends a child that does not trap links at once (OTP's ``shutdown``).

What ends a run, and what the keeper does then (the seed runtime's rules): a normal end ends the service
(normally: it is done); an error that is not retryable (``retryable`` false: TERMINATED, a memory limit, an
error made with ``retryable = false``, but not an UNKNOWN one: ``errors.new("msg")`` leaves retryable unsaid)
ends it with that error; any other error, or a start that failed or took
longer than ``start_timeout``, is a failed run: the keeper waits the policy's delay and starts the process
again, until ``max_attempts`` failed runs in a row, when it gives up and ends abnormally (``pidflow run`` then
stops the node and exits 1, as when a root supervisor gives up). A run at least ``stable_threshold`` long
resets the count. Every decision is logged on logger ``pidflow``. Time is trio's, so a ``MockClock`` drives
the delays in tests.

Rejected: a restart loop in the service object outside any process (nothing to monitor, link or cancel, and no
crash report); adding a backoff mode to the supervisor (its restart intensity is OTP's contract, and a service
has one child, no strategy).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
import trio

from .._api import ProcessAPI, acks_start, current
from .._bookkeeper import entry_name
from .._events import EventKind, ExitResult
from .._host import SpawnRequest
from .._introspection import ChildInfo
from .._log import log
from .._pid import Pid
from ..errors import Error, ErrorKind
from ._service_spec import ServiceSpec

if TYPE_CHECKING:
    from .._host import NodePort

#: Seconds a stopping keeper may take beyond its process's ``stop_timeout`` before the host terminates it.
STOP_GRACE = 5.0


def workflow_id_of(service: str) -> str:
    """The stable workflow id of a service's durable process (``app:ticker`` -> ``app-ticker``)."""
    return service.replace(":", "-")


def ends_service(result: ExitResult) -> bool:
    """The one place that decides which ends are final: a normal end, or an error that is not retryable.

    An UNKNOWN error is not final even though its kind defaults to not retryable: ``errors.new("msg")`` leaves
    ``retryable`` unsaid (nil), which the seed runtime retries, and a Python :class:`Error` has no "unsaid"."""
    error = result.error
    return error is None or (error.retryable is False and error.kind is not ErrorKind.UNKNOWN)


@attrs.define(eq=False)
class _Keeper:
    api: ProcessAPI
    spec: ServiceSpec
    host: str | None = None
    durable: bool = False
    child: Pid | None = None
    _nursery: trio.Nursery | None = None
    #: Runs started after the first (the observer's ``restarts``), and the PID of the last one.
    restarts: int = 0
    last: Pid | None = None

    def observed_children(self) -> list[ChildInfo]:
        """Its one child, for the node's observer (``Bookkeeper.add_parent``): the process, by its entry id."""
        return [self._child_info()]

    def _child_info(self) -> ChildInfo:
        return ChildInfo(self.spec.process, self.child, self.restarts, entry_name(self.spec.process))

    @property
    def node(self) -> "NodePort":
        return self.api.node

    def _request(self) -> SpawnRequest:
        spec = self.spec
        args = spec.args
        return SpawnRequest(entry=spec.process, input=args[0] if len(args) == 1 else None,
                            args=None if len(args) == 1 else args,
                            name=workflow_id_of(spec.name) if self.durable else None,
                            context=dict(self.api.context), parent=self.api.pid(), monitor=True,
                            link=not self.durable, await_start=True)

    # -- starting -------------------------------------------------------------------------------------------------
    async def _start(self) -> Pid:
        """Start the process within ``start_timeout``; TIMEOUT (retryable) when it takes longer. A local start
        runs in its own task, not cancelled at the timeout (a process half started would be left running
        unknown): a process that starts after the timeout is stopped as soon as it has started. A workflow start
        is cancelled: the next start adopts it under the same id if the server accepted it."""
        timeout = self.spec.lifecycle.start_timeout
        request = self._request()
        if self.durable:
            with trio.move_on_after(timeout):
                return await self.node.spawn(request, self.host)
            raise self._start_timeout(timeout)
        outcome: list[Any] = []
        done = trio.Event()

        async def spawn() -> None:
            try:
                outcome.append(await self.node.spawn(request, self.host))
            except Error as exc:
                outcome.append(exc)
            done.set()
            if abandoned and isinstance(outcome[0], Pid):
                await self.node.cancel(outcome[0], self.spec.lifecycle.stop_timeout, self.api.pid())

        abandoned = False
        assert self._nursery is not None
        self._nursery.start_soon(spawn)
        with trio.move_on_after(timeout):
            await done.wait()
        if not done.is_set():
            abandoned = True
            raise self._start_timeout(timeout)
        result = outcome[0]
        if isinstance(result, Error):
            raise result
        pid: Pid = result
        return pid

    def _start_timeout(self, timeout: float) -> Error:
        return Error(ErrorKind.TIMEOUT, f"{self.spec.process} did not start within {timeout:g}s (start_timeout)",
                     retryable=True)

    # -- watching and stopping ------------------------------------------------------------------------------------
    async def _watch(self) -> ExitResult | None:
        """The running process's end, or None when the keeper was asked to stop (the process is stopped)."""
        async for event in self.api.events():
            if event.kind is EventKind.CANCEL:
                await self._stop_child()
                return None
            if event.kind is EventKind.EXIT and event.from_ == self.child and event.result is not None:
                self.child = None
                return event.result
        raise AssertionError("a process's events never end while it runs")

    async def _stop_child(self) -> None:
        """Stop the process: CANCEL (whether it traps links or not, as the seed runtime does: a Lua process reads
        it from ``process.events()``), terminated at ``stop_timeout``; a durable one is left running when the
        node stops."""
        pid, self.child = self.child, None
        if pid is None:
            return
        if self.durable and self.node.stopping:
            await self.node.unmonitor(self.api.pid(), pid)
            return
        timeout = self.spec.lifecycle.stop_timeout
        if not await self.node.cancel(pid, timeout, self.api.pid()):
            return
        with trio.move_on_after(timeout + STOP_GRACE):  # the host terminates it at the deadline
            async for event in self.api.events():
                if event.kind is EventKind.EXIT and event.from_ == pid:
                    return

    async def _wait(self, seconds: float) -> bool:
        """Sleep ``seconds``; False when the keeper was asked to stop meanwhile."""
        with trio.move_on_after(seconds):
            async for event in self.api.events():
                if event.kind is EventKind.CANCEL:
                    return False
        return True

    # -- the loop ---------------------------------------------------------------------------------------------
    async def run(self) -> Any:
        failure: Error | None = None
        async with trio.open_nursery() as nursery:  # the local starts that outlive their start_timeout
            self._nursery = nursery
            try:
                value = await self._loop()
            except Error as exc:  # raised outside the nursery, so that it is not wrapped in a group
                failure = exc
            finally:
                nursery.cancel_scope.cancel()
        if failure is not None:
            raise failure
        return value

    async def _loop(self) -> Any:
        spec, lifecycle = self.spec, self.spec.lifecycle
        failures = 0
        while True:
            began: float | None = None
            try:
                self.child = await self._start()
                began = trio.current_time()
                if self.last is not None:
                    self.restarts += 1
                    self.node.bookkeeper.restarted(self.api.pid(), self._child_info(), self.last)
                self.last = self.child
                log.debug("service %s started %s as %s", spec.name, spec.process, self.child,
                         extra={"pid": str(self.api.pid()), "entry": spec.name})
            except Error as exc:
                result = ExitResult(None, exc)
            self.api.started()  # the node goes on once the first start was tried
            if began is not None:
                ended = await self._watch()
                if ended is None:
                    return "stopped"
                result = ended
            if ends_service(result):
                return self._end(result)
            if began is not None and trio.current_time() - began >= lifecycle.stable_threshold:
                failures = 0
            failures += 1
            self._give_up_after(failures, result.error)
            delay = lifecycle.restart.delay(failures)
            log.warning("service %s restarts %s in %.3gs (failed runs in a row: %d) after: %s", spec.name,
                        spec.process, delay, failures, result.error,
                        extra={"pid": str(self.api.pid()), "entry": spec.name})
            if not await self._wait(delay):
                return "stopped"

    def _end(self, result: ExitResult) -> Any:
        """A normal end ends the service normally; a final error ends it with that error."""
        name, process = self.spec.name, self.spec.process
        if result.error is None:
            log.info("service %s: %s ended normally; the service is done", name, process,
                     extra={"pid": str(self.api.pid()), "entry": name})
            return result.value
        error = result.error
        log.error("service %s: %s failed with an error that is not retryable, not restarted: %s", name, process,
                  error, extra={"pid": str(self.api.pid()), "entry": name, "error_kind": error.kind.value})
        raise Error(error.kind, f"service {name}: {process} failed (not retryable): {error.message}",
                    retryable=False, details=error.details)

    def _give_up_after(self, failures: int, error: Error | None) -> None:
        attempts = self.spec.lifecycle.restart.max_attempts
        if not attempts or failures < attempts:
            return
        name, process = self.spec.name, self.spec.process
        log.error("service %s gives up: %s failed %d times in a row (max_attempts); last failure: %s", name,
                  process, failures, error, extra={"pid": str(self.api.pid()), "entry": name})
        reason = error.message if error is not None else "failed"
        raise Error(ErrorKind.INTERNAL, f"service {name} gave up after {failures} failed runs of {process} "
                                        f"(max_attempts); last failure: {reason}", retryable=True,
                    details={"service": name, "attempts": failures})


@acks_start
async def keep(spec: ServiceSpec) -> Any:
    """The body of a service's keeper: ``spawn(keep, host, spec)``. It has *started* once the first start of its
    process was tried (successful or not); it traps links (a linked process that fails is a failed run, read
    from its monitor)."""
    api = current()
    api.set_options(trap_links=True)
    host = spec.host or api.node.runs_on(spec.process)
    keeper = _Keeper(api, spec, host=host, durable=api.node.host(host).durable)
    api.node.bookkeeper.add_parent(api.pid(), keeper.observed_children)
    try:
        return await keeper.run()
    finally:
        api.node.bookkeeper.remove_parent(api.pid())


@attrs.define
class RunningService:
    """A service started with the node: stopping it cancels its keeper, which stops the process (CANCEL, then
    terminate at ``stop_timeout``), and waits until the keeper has ended."""

    node: "NodePort"
    pid: Pid
    stop_timeout: float

    async def stop(self) -> None:
        if await self.node.cancel(self.pid, self.stop_timeout + STOP_GRACE, None):
            host = self.node.route(self.pid)
            while host.is_alive(self.pid):
                await trio.sleep(0.01)


async def start_service(node: "NodePort", spec: ServiceSpec) -> RunningService:
    """Start a service's keeper as a root process of the node (linked to nothing, monitored by nothing: the
    node's root events are its caller's to read); returns once its process's first start was tried."""
    request = SpawnRequest(entry=keep, input=spec, parent=node.process.pid(), await_start=True)
    pid = await node.spawn(request, None)
    return RunningService(node, pid, spec.lifecycle.stop_timeout)

