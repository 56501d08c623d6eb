"""Children for supervisor tests on the local host.

A :class:`Kid` is a child's input (local processes get their input by reference, so every incarnation of a
child shares it): it names the child and the :class:`Journal` the child writes ``start`` / ``cancel`` /
``stop`` records to, with the virtual time, so tests assert exact orders and deadlines.
"""

from __future__ import annotations

from typing import Any

import attrs
import trio
import trio.testing

import pidflow
from pidflow import EventKind, Pid
from pidflow.supervision import ChildSpec, Restart, Supervisor, SupervisorSpec, supervise


@attrs.frozen
class Note:
    what: str
    id: str
    at: float


@attrs.define
class Journal:
    notes: list[Note] = attrs.field(factory=list)

    def add(self, what: str, id: str) -> None:
        self.notes.append(Note(what, id, trio.current_time()))

    def of(self, what: str) -> list[str]:
        return [n.id for n in self.notes if n.what == what]

    def clear(self) -> None:
        self.notes.clear()


@attrs.frozen
class Kid:
    id: str
    journal: Journal
    trap: bool = False            # trap links: a supervisor's shutdown then sends CANCEL instead of killing
    ignore_cancel: bool = False   # with trap: ignore CANCEL (so the shutdown timeout must terminate it)
    stop_takes: float = 0.0       # with trap: seconds it needs to stop after CANCEL


async def kid(arg: Kid) -> str:
    """Runs until its inbox says "exit" (normal end) or "crash" (abnormal end)."""
    api = pidflow.process
    if arg.trap:
        api.set_options(trap_links=True)
    arg.journal.add("start", arg.id)
    outcome = "stopped"
    crashed = False
    try:
        async with trio.open_nursery() as nursery:

            async def on_cancel() -> None:
                async for event in api.events():
                    if event.kind is EventKind.CANCEL:
                        arg.journal.add("cancel", arg.id)
                        if not arg.ignore_cancel:
                            await trio.sleep(arg.stop_takes)
                            nursery.cancel_scope.cancel()
                            return

            nursery.start_soon(on_cancel)
            async for message in api.inbox():
                if message.topic == "exit":
                    outcome = "done"
                    break
                if message.topic == "crash":
                    crashed = True
                    break
            nursery.cancel_scope.cancel()
    finally:
        arg.journal.add("stop", arg.id)
    if crashed:
        raise RuntimeError(f"child {arg.id} was told to crash")
    return outcome


def kids(journal: Journal, *ids: str, restart: Restart = Restart.PERMANENT, shutdown: float = 5.0,
         **kid_options: Any) -> tuple[ChildSpec, ...]:
    return tuple(ChildSpec(id=i, entry=kid, input=Kid(i, journal, **kid_options), restart=restart, shutdown=shutdown)
                 for i in ids)


async def settle() -> None:
    await trio.testing.wait_all_tasks_blocked()


async def start(node: pidflow.Node, spec: SupervisorSpec) -> Supervisor:
    """A supervisor monitored by the node's root process (its EXIT lands in ``node.process.events()``)."""
    pid = await node.process.spawn_monitored(supervise, None, spec)
    await settle()
    return Supervisor(node, pid)


async def pids(sup: Supervisor) -> dict[str, Pid | None]:
    return {c["id"]: c["pid"] for c in await sup.which_children()}


async def tell(node: pidflow.Node, sup: Supervisor, child_id: str, topic: str) -> None:
    """Send ``topic`` ("crash" / "exit") to the child's current incarnation and let everything settle."""
    pid = (await pids(sup))[child_id]
    assert pid is not None, f"child {child_id} is not running"
    await node.process.send(pid, topic)
    await settle()


def alive(node: pidflow.Node, pid: Pid | None) -> bool:
    return pid is not None and bool(node.host(pid.host).is_alive(pid))


async def supervisor_exit(node: pidflow.Node, sup: Supervisor) -> pidflow.ExitResult:
    """The supervisor's EXIT result (bounded: a supervisor that never ends fails the test)."""
    with trio.fail_after(600):  # virtual seconds
        async for event in node.process.events():
            if event.kind is EventKind.EXIT and event.from_ == sup.pid:
                assert event.result is not None
                return event.result
    raise AssertionError("events closed")
