"""``node.process`` for asyncio code: the :class:`~pidflow.ProcessAPI` of the node's root process, every call
that waits an awaitable of the asyncio loop.

Calls that only read (``pid``, ``lookup``, ``whereis``, ``context``, ``get_options``, ``get_members``,
``which_groups``) or only record
(``set_options``, ``listen``, ``unlisten``, the ``with_*`` builders) run inline: the node runs on this thread
(``pidflow.aio``), between two of its ticks. Everything else runs inside the node through the portal, so it
behaves exactly as it does under trio. ``send_nowait`` and ``reply_nowait`` have no asyncio form: under asyncio
``await process.send(...)`` and ``await process.reply(...)`` are the calls.
"""

from __future__ import annotations

import asyncio
import functools
from collections import deque
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

import attrs
import trio

from .._api import ProcessAPI, Spawner
from .._events import Event, Message
from .._mailbox import Mailbox, MailboxStatistics
from .._pid import Pid
from ..errors import Error
from ._portal import Portal

T = TypeVar("T")


class AioMailbox(Generic[T]):
    """A process mailbox read from asyncio: ``await receive()``, ``receive_nowait()``, ``async for``.

    After the mailbox is closed (its process ended, or ``unlisten``), what it holds can still be received; then
    ``receive`` raises ``trio.EndOfChannel`` and ``async for`` ends, as the trio mailbox does. Several asyncio tasks
    may wait on one mailbox: each item goes to one of them, in the order they started waiting.
    """

    __slots__ = ("_box", "_waiters")

    def __init__(self, box: Mailbox[T]) -> None:
        self._box = box
        self._waiters: deque[asyncio.Future[None]] = deque()

    def _on_put(self) -> None:  # (called by the mailbox, inside the node's tick, on this same thread)
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def receive_nowait(self) -> T:
        """The next item; ``trio.WouldBlock`` when there is none yet."""
        return self._box.receive_nowait()

    async def receive(self) -> T:
        box = self._box
        while True:
            try:
                item = box.receive_nowait()
            except trio.WouldBlock:
                pass
            else:
                if len(box) and self._waiters:
                    self._on_put()  # more for the next waiter
                return item
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            box.observe(self._on_put)
            try:
                await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self._on_put()  # woken but leaving: hand the wakeup on
                raise
            finally:
                if not self._waiters:
                    box.observe(None)

    def __len__(self) -> int:
        return len(self._box)

    def statistics(self) -> MailboxStatistics:
        return self._box.statistics()

    def __aiter__(self) -> "AioMailbox[T]":
        return self

    async def __anext__(self) -> T:
        try:
            return await self.receive()
        except trio.EndOfChannel:
            raise StopAsyncIteration from None


@attrs.frozen
class AioSpawner:
    """:class:`pidflow.Spawner` for asyncio code: the same immutable builder, spawning through the portal."""

    spawner: Spawner
    portal: Portal

    def with_options(self, options: Mapping[str, Any]) -> "AioSpawner":
        return attrs.evolve(self, spawner=self.spawner.with_options(options))

    def with_name(self, name: str) -> "AioSpawner":
        return attrs.evolve(self, spawner=self.spawner.with_name(name))

    def with_message(self, topic: str, data: Any = None) -> "AioSpawner":
        return attrs.evolve(self, spawner=self.spawner.with_message(topic, data))

    def with_context(self, values: Mapping[str, Any]) -> "AioSpawner":
        return attrs.evolve(self, spawner=self.spawner.with_context(values))

    async def spawn(self, entry: Any, host: str | None = None, input: Any = None) -> Pid:
        return await self.portal.run(self.spawner.spawn, entry, host, input)

    async def spawn_monitored(self, entry: Any, host: str | None = None, input: Any = None) -> Pid:
        return await self.portal.run(self.spawner.spawn_monitored, entry, host, input)

    async def spawn_linked(self, entry: Any, host: str | None = None, input: Any = None) -> Pid:
        return await self.portal.run(self.spawner.spawn_linked, entry, host, input)

    async def exec(self, entry: Any, host: str | None = None, input: Any = None) -> Any:
        return await self.portal.run(self.spawner.exec, entry, host, input)


class AioProcess:
    """The root process's API for asyncio code; each method is :class:`pidflow.ProcessAPI`'s (see its docs)."""

    __slots__ = ("api", "portal", "_boxes")

    def __init__(self, api: ProcessAPI, portal: Portal) -> None:
        self.api = api
        self.portal = portal
        self._boxes: dict[int, AioMailbox[Any]] = {}

    def __repr__(self) -> str:
        return f"<pidflow.aio process {self.api.pid()}>"

    def _aio(self, box: Mailbox[T]) -> AioMailbox[T]:
        wrapped = self._boxes.get(id(box))
        if wrapped is None or wrapped._box is not box:
            wrapped = self._boxes[id(box)] = AioMailbox(box)
        return wrapped

    # -- self ---------------------------------------------------------------------------------------------------
    @property
    def node(self) -> Any:
        """The trio node (``pidflow.Node``): read it freely; call its coroutines through ``node.run``."""
        return self.api.node

    def pid(self) -> Pid:
        return self.api.pid()

    @property
    def context(self) -> Mapping[str, Any]:
        return self.api.context

    def inbox(self) -> AioMailbox[Message]:
        return self._aio(self.api.inbox())

    def listen(self, topic: str, message: bool = False) -> AioMailbox[Any]:
        return self._aio(self.api.listen(topic, message))

    def unlisten(self, topic: str) -> bool:
        released = self.api.unlisten(topic)
        if released:  # its mailbox is closed now: forget its wrapper (a listener per request must not pile up)
            self._boxes = {key: box for key, box in self._boxes.items() if not box._box.statistics().closed}
        return released

    def events(self) -> AioMailbox[Event]:
        return self._aio(self.api.events())

    def started(self) -> None:
        self.api.started()

    def set_options(self, options: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        self.api.set_options(options, **kwargs)

    def get_options(self) -> dict[str, Any]:
        return self.api.get_options()

    # -- builders -----------------------------------------------------------------------------------------------
    def with_options(self, options: Mapping[str, Any]) -> AioSpawner:
        return AioSpawner(self.api.with_options(options), self.portal)

    def with_name(self, name: str) -> AioSpawner:
        return AioSpawner(self.api.with_name(name), self.portal)

    def with_message(self, topic: str, data: Any = None) -> AioSpawner:
        return AioSpawner(self.api.with_message(topic, data), self.portal)

    def with_context(self, values: Mapping[str, Any]) -> AioSpawner:
        return AioSpawner(self.api.with_context(values), self.portal)

    async def spawn(self, entry: Any, host: str | None = None, input: Any = None) -> Pid:
        return await self.portal.run(self.api.spawn, entry, host, input)

    async def spawn_monitored(self, entry: Any, host: str | None = None, input: Any = None) -> Pid:
        return await self.portal.run(self.api.spawn_monitored, entry, host, input)

    async def spawn_linked(self, entry: Any, host: str | None = None, input: Any = None) -> Pid:
        return await self.portal.run(self.api.spawn_linked, entry, host, input)

    async def exec(self, entry: Any, host: str | None = None, input: Any = None) -> Any:
        return await self.portal.run(self.api.exec, entry, host, input)

    # -- names --------------------------------------------------------------------------------------------------
    async def register(self, name: str, pid: Pid | str | None = None, *, scope: str = "node") -> None:
        await self.portal.run(functools.partial(self.api.register, scope=scope), name, pid)

    def lookup(self, name: str) -> Pid:
        return self.api.lookup(name)

    def whereis(self, name: str) -> Pid | None:
        return self.api.whereis(name)

    async def unregister(self, name: str, *, scope: str = "node") -> bool:
        return await self.portal.run(functools.partial(self.api.unregister, scope=scope), name)

    async def whereis_global(self, name: str) -> Pid | None:
        return await self.portal.run(self.api.whereis_global, name)

    # -- groups -------------------------------------------------------------------------------------------------
    async def join(self, group: str, pid: Pid | str | None = None, *, scope: str | None = None) -> None:
        await self.portal.run(functools.partial(self.api.join, scope=scope), group, pid)

    async def leave(self, group: str, pid: Pid | str | None = None, *, scope: str | None = None) -> bool:
        return await self.portal.run(functools.partial(self.api.leave, scope=scope), group, pid)

    def get_members(self, group: str, *, scope: str | None = None) -> list[Pid]:
        return self.api.get_members(group, scope=scope)

    def which_groups(self, *, scope: str | None = None) -> list[str]:
        return self.api.which_groups(scope=scope)

    async def broadcast(self, group: str, topic: str, data: Any = None, *, scope: str | None = None) -> int:
        return await self.portal.run(functools.partial(self.api.broadcast, scope=scope), group, topic, data)

    # -- messaging ----------------------------------------------------------------------------------------------
    async def send(self, pid: Pid | str, topic: str, data: Any = None) -> None:
        if isinstance(pid, Pid):  # (a name may need the cluster's registry: a full call)
            await self.portal.run_sync(self.api.send_nowait, pid, topic, data)
        else:
            await self.portal.run(self.api.send, pid, topic, data)

    async def call(self, dest: Pid | str, topic: str, payload: Any = None, *, timeout: Any = 5.0) -> Any:
        return await self.portal.run(functools.partial(self.api.call, timeout=timeout), dest, topic, payload)

    async def reply(self, message: Message, value: Any = None, *, error: Error | None = None) -> None:
        await self.portal.run_sync(functools.partial(self.api.reply_nowait, error=error), message, value)

    # -- relations ----------------------------------------------------------------------------------------------
    async def monitor(self, pid: Pid | str) -> None:
        await self.portal.run(self.api.monitor, pid)

    async def unmonitor(self, pid: Pid | str) -> None:
        await self.portal.run(self.api.unmonitor, pid)

    async def monitor_node(self, node: str) -> None:
        await self.portal.run(self.api.monitor_node, node)

    async def demonitor_node(self, node: str) -> bool:
        return await self.portal.run(self.api.demonitor_node, node)

    async def link(self, pid: Pid | str) -> None:
        await self.portal.run(self.api.link, pid)

    async def unlink(self, pid: Pid | str) -> None:
        await self.portal.run(self.api.unlink, pid)

    async def terminate(self, pid: Pid | str) -> bool:
        return await self.portal.run(self.api.terminate, pid)

    async def cancel(self, pid: Pid | str, deadline: Any = 5.0) -> bool:
        return await self.portal.run(self.api.cancel, pid, deadline)

