"""Process bodies and helpers shared by the local-host tests.

``puppet`` is the workhorse: a process that obeys commands sent to its inbox and records, in order, every event
it receives and every error a command raised, into a list the test passed as its input (local processes get
their input by reference). Tests drive puppets, then ``settle()`` (wait until every task is blocked) and assert
on the records, so nothing depends on scheduling luck.
"""

from __future__ import annotations

from typing import Any

import attrs
import trio
import trio.testing

import pidflow
from pidflow import Error, Event, EventKind, Pid


@attrs.frozen
class Seen:
    """What a watcher observed, reduced to comparable data: (kind, from, value, error kind)."""

    kind: str
    from_: Pid | None
    value: Any = None
    error: str | None = None


def seen(event: Event) -> Seen:
    if event.kind is EventKind.EXIT:
        assert event.result is not None
        error = event.result.error
        return Seen("EXIT", event.from_, event.result.value, None if error is None else error.kind.value)
    if event.kind is EventKind.LINK_DOWN:
        assert event.reason is not None
        return Seen("LINK_DOWN", event.from_, None, event.reason.kind.value)
    return Seen("CANCEL", event.from_, event.deadline)


async def puppet(record: list[Seen]) -> Any:
    """Commands (topic, data): exit, raise, link/unlink/monitor/unmonitor PID, trap BOOL, spawn_linked (data: the
    child's record list; the child's PID is sent back to the commander as "spawned"). An ``Error`` raised by a command is recorded as ERROR; the puppet keeps going."""
    api = pidflow.process
    outcome: tuple[str, Any] = ("exit", None)
    async with trio.open_nursery() as nursery:

        async def drain_events() -> None:
            async for event in api.events():
                record.append(seen(event))

        nursery.start_soon(drain_events)
        async for message in api.inbox():
            command, arg = message.topic, message.data
            try:
                if command in ("exit", "raise"):
                    outcome = (command, arg)
                    break
                elif command == "trap":
                    api.set_options(trap_links=arg)
                elif command == "link":
                    await api.link(arg)
                elif command == "unlink":
                    await api.unlink(arg)
                elif command == "monitor":
                    await api.monitor(arg)
                elif command == "unmonitor":
                    await api.unmonitor(arg)
                elif command == "spawn_linked":
                    child = await api.spawn_linked(puppet, None, arg)
                    await api.send(message.sender, "spawned", child)
                else:
                    raise AssertionError(f"unknown puppet command {command}")
            except Error as exc:
                record.append(Seen("ERROR", None, command, exc.kind.value))
        nursery.cancel_scope.cancel()
    if outcome[0] == "raise":
        raise RuntimeError(f"puppet told to raise: {outcome[1]}")
    return outcome[1] if outcome[1] is not None else "done"


async def wait_forever(_: Any) -> None:
    await trio.sleep_forever()


async def return_input(value: Any) -> Any:
    return value


async def crash(message: Any) -> None:
    raise RuntimeError(f"crashed: {message}")


async def settle() -> None:
    """Let every process run until all tasks are blocked."""
    await trio.testing.wait_all_tasks_blocked()


def is_alive(node: pidflow.Node, pid: Pid) -> bool:
    return bool(node.host(pid.host).is_alive(pid))


def drain(mailbox: pidflow.Mailbox[Any]) -> list[Any]:
    """Everything queued right now, without waiting."""
    out = []
    while True:
        try:
            out.append(mailbox.receive_nowait())
        except (trio.WouldBlock, trio.EndOfChannel):
            return out


def root_events(node: pidflow.Node) -> list[Seen]:
    return [seen(e) for e in drain(node.process.events())]
