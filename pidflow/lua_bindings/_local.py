"""Local Lua processes and functions: the ``process`` port over the Python process API, on the trio backend."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Awaitable, Callable, Mapping, Sequence

import attrs

from .._api import Spawner, current
from .._events import Message
from .._host import SpawnRequest
from .._pid import Pid
from ..entries import Entry, Registry
from ..errors import Error, ErrorKind
from . import _process_module  # noqa: F401  (registers the process module)
from ._library import Imports
from ._process_module import ProcessPort
from ._runtime import DEFAULT_MAX_MEMORY
from ._state_pool import state_pool
from ._trio_backend import TrioBackend

if TYPE_CHECKING:
    from .._api import ProcessAPI
    from .._host import NodePort


class LocalPort(ProcessPort):
    """The ``process`` module of a local Lua process: the calling process's :class:`ProcessAPI`."""

    def __init__(self, api: "ProcessAPI") -> None:
        self.api = api

    def pid(self) -> Pid:
        return self.api.pid()

    def unlisten(self, topic: str) -> None:
        self.api.unlisten(topic)

    def get_options(self) -> dict[str, Any]:
        return self.api.get_options()

    def inbox(self) -> Any:
        return self.api.inbox()

    def listen(self, topic: str, whole_message: bool) -> Any:
        return self.api.listen(topic, whole_message)

    def events(self) -> Any:
        return self.api.events()

    def send(self, pid: Pid, topic: str, data: Any) -> None:
        """Unlike the Python API's quiet send, a local PID of this node that is not running is NOT_FOUND (the seed
        runtime's answer, known at once); other PIDs are posted (a workflow that ended drops it)."""
        api = self.api
        if not api.node.route(pid).send_if_alive(pid, Message(topic, data, api.pid())):
            raise Error(ErrorKind.NOT_FOUND, f"send: process {pid} not found (it is not running)",
                        details={"pid": str(pid)})

    def _request(self, entry: str, args: Sequence[Any], options: Mapping[str, Any], name: str | None,
                 messages: list[Message], context: Mapping[str, Any], monitor: bool, link: bool) -> SpawnRequest:
        spawner = Spawner(self.api, dict(options), name, tuple(messages), dict(context))
        if len(args) == 1:
            return spawner.request(entry, args[0], monitor=monitor, link=link)
        return attrs.evolve(spawner.request(entry, None, monitor=monitor, link=link), args=tuple(args))

    async def spawn(self, entry: str, host: str | None, args: Sequence[Any], *, options: Mapping[str, Any],
                    name: str | None, messages: list[Message], context: Mapping[str, Any],
                    monitor: bool, link: bool) -> Pid:
        request = self._request(entry, args, options, name, messages, context, monitor, link)
        return await self.api.node.spawn(request, host)

    async def exec(self, entry: str, host: str | None, args: Sequence[Any], *, options: Mapping[str, Any],
                   name: str | None, messages: list[Message], context: Mapping[str, Any]) -> Any:
        request = self._request(entry, args, options, name, messages, context, True, False)
        return await self.api.node.exec(request, host)

    async def monitor(self, pid: Pid) -> None:
        await self.api.monitor(pid)

    async def unmonitor(self, pid: Pid) -> None:
        await self.api.unmonitor(pid)

    async def monitor_node(self, node: str) -> None:
        await self.api.monitor_node(node)

    async def demonitor_node(self, node: str) -> bool:
        return await self.api.demonitor_node(node)

    async def link(self, pid: Pid) -> None:
        await self.api.link(pid)

    async def unlink(self, pid: Pid) -> None:
        await self.api.unlink(pid)

    async def terminate(self, pid: Pid) -> bool:
        return await self.api.terminate(pid)

    async def cancel(self, pid: Pid, deadline: float) -> bool:
        return await self.api.cancel(pid, deadline)

    def set_options(self, options: Mapping[str, Any]) -> None:
        self.api.set_options(options)

    async def resolve_name(self, name: str) -> Pid:
        """The node's registry, read at once (no round trip), then the cluster's names."""
        holder = self.api.whereis(name)
        if holder is None:
            holder = await self.api.whereis_global(name)
        if holder is None:
            return self.api.lookup(name)  # raises NOT_FOUND
        return holder

    async def register_name(self, name: str, pid: Pid, scope: str = "node") -> None:
        await self.api.register(name, pid, scope=scope)

    async def unregister_name(self, name: str, scope: str = "node") -> bool:
        return await self.api.unregister(name, scope=scope)

    async def call(self, pid: Pid, topic: str, data: Any, timeout: float | None) -> Any:
        return await self.api.call(pid, topic, data, timeout=timeout)

    def reply(self, request: Message, value: Any, error: Error | None) -> None:
        self.api.reply_nowait(request, value, error=error)

    def entries(self) -> Registry:
        return self.api.node.registry

    async def join_group(self, scope: str, group: str, pid: Pid) -> None:
        await self.api.join(group, pid, scope=scope)

    async def leave_group(self, scope: str, group: str, pid: Pid) -> bool:
        return await self.api.leave(group, pid, scope=scope)

    async def group_members(self, scope: str, group: str) -> list[Pid]:
        return self.api.get_members(group, scope=scope)

    async def which_groups(self, scope: str) -> list[str]:
        return self.api.which_groups(scope=scope)

    async def broadcast(self, scope: str, group: str, topic: str, data: Any) -> int:
        return await self.api.broadcast(group, topic, data, scope=scope)

    async def call_function(self, entry_id: str, args: list[Any], options: Mapping[str, Any], *,
                            context: Mapping[str, Any] | None = None) -> Any:
        """``funcs.call`` of the process (the backend's function runner), with the process's context (or the one
        an executor's ``with_context`` made)."""
        return await self.api.node.call(entry_id, *args, context=self.api.context if context is None else context)


def _max_memory(entry: Entry) -> int:
    value = entry.spec.get("max_memory", DEFAULT_MAX_MEMORY)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise Error(ErrorKind.INVALID, f"entry {entry.id}: max_memory must be a positive number of bytes")
    return value


def local_process_body(node: "NodePort", entry: Entry, imports: Imports | None = None, *,
                       function: bool = False) -> Callable[..., Awaitable[Any]]:
    """A process body that runs the entry's Lua ``method`` as the calling local process (``imports``: the
    libraries its ``require`` loads, resolved by the kind), on a state of the entry's pool (``_state_pool``).
    ``function``: the entry is a function run as a process (an HTTP handler: every run is a call that returns),
    whose pool makes pooled states from the start; a process entry's pool is seeded by its processes that
    returned."""
    pool = state_pool(node, entry, imports, _max_memory(entry), seeded=not function, process=True)

    async def body(*args: Any) -> Any:
        """``main(input)`` for the one argument of ``spawn(entry, host, input)``; any other count of positional
        arguments (``SpawnRequest.args``) is passed as ``main(a, b, ...)``."""
        api = current()
        port = LocalPort(api)
        return await pool.run(TrioBackend(context=api.context, process_api=port, call_function=port.call_function),
                              args)

    return body


def local_function(node: "NodePort", entry: Entry, imports: Imports | None = None) -> Callable[..., Awaitable[Any]]:
    """A ``function.lua`` entry: each call on a state of the entry's pool (``_state_pool``: reset between calls,
    see ``_snapshot``), with the caller's context (``imports``: as for :func:`local_process_body`)."""
    pool = state_pool(node, entry, imports, _max_memory(entry))

    async def call(*args: Any, context: Mapping[str, Any] | None = None) -> Any:
        async def call_function(entry_id: str, inner: list[Any], options: Mapping[str, Any], *,
                                context: Mapping[str, Any] | None = context) -> Any:
            return await node.call(entry_id, *inner, context=context)

        return await pool.run(TrioBackend(context=context or {}, call_function=call_function), args)

    return call
