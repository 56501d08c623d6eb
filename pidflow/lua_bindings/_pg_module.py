"""The ``pg`` Lua module: process groups as the seed runtime offers them (``require("pg")``).

``pg.open(scope)`` checks that ``scope`` is a ``pg.scope`` entry and returns an instance whose methods work in
that scope: ``join(group | {groups})``, ``leave(group | {groups})``, ``get_members(group)``,
``get_local_members(group)``, ``which_groups()``, ``which_local_groups()``, ``broadcast(group, topic, ...)``,
``broadcast_local(group, topic, ...)`` and ``release()``. The groups are the node's (``pidflow._groups``), reached
through the ``ProcessPort`` (a local process: at once; a workflow: recorded local activities), so Python's
``process.join(group, scope=...)`` and Lua share them. One node is the whole cluster here: the ``_local``
variants are the same as the others.

Not provided: ``monitor`` and ``events`` (subscriptions to joins and leaves); they answer ``nil, err``
UNAVAILABLE, naming the call.

Memory: the module is built only when a process requires it (an idle process never does).
"""

from __future__ import annotations

from typing import Any

from .._groups import check_group
from .._pid import Pid
from ..errors import Error, ErrorKind
from ._kinds import PG_SCOPE_KIND
from ._modules import ModuleContext, register_module
from ._process_module import ProcessPort
from ._values import describe, preview

# The instance methods and pg.open. Each Python function gets the instance's scope, or nil once it was released
# (Python answers INVALID), then the method's arguments; ``me`` reports a dot call (group.join(...)).
PG_LUA = r"""
local open, join, leave, members, groups, broadcast, unsupported, setmetatable = ...
local type, error, select, getmetatable, rawget = type, error, select, getmetatable, rawget

local I = {__name = "pg.Instance"}
I.__index = I
I.__tostring = function(self)
  return "pg.Instance{" .. rawget(self, "_id") .. (rawget(self, "_open") and "}" or ", released}")
end
local function me(self, name)
  if getmetatable(self) ~= I then
    error("pg.Instance:" .. name .. ": bad self (pg.Instance expected, got " .. type(self)
          .. "): call it with a colon", 3)
  end
  return rawget(self, "_open") and rawget(self, "_id") or false
end
function I:join(g) return join(me(self, "join"), g) end
function I:leave(g) return leave(me(self, "leave"), g) end
function I:get_members(g) return members(me(self, "get_members"), g) end
function I:get_local_members(g) return members(me(self, "get_local_members"), g) end
function I:which_groups() return groups(me(self, "which_groups")) end
function I:which_local_groups() return groups(me(self, "which_local_groups")) end
function I:broadcast(g, topic, ...) return broadcast(me(self, "broadcast"), g, topic, select("#", ...), ...) end
function I:broadcast_local(g, topic, ...)
  return broadcast(me(self, "broadcast_local"), g, topic, select("#", ...), ...)
end
function I:monitor() me(self, "monitor"); return unsupported("monitor") end
function I:events() me(self, "events"); return unsupported("events") end
function I:release()
  me(self, "release")
  self._open = false
  return true
end

local M = {}
function M.open(id)
  local ok, err = open(id)
  if not ok then return nil, err end
  return setmetatable({_id = id, _open = true}, I)
end
return M
"""


def _invalid(call: str, argument: str, problem: str) -> Error:
    return Error(ErrorKind.INVALID, f"{call}: {argument} {problem}", details={"argument": argument})


def _scope(scope: Any, call: str) -> str:
    if scope is False or scope is None:
        raise Error(ErrorKind.INVALID, f"{call}: the pg.Instance was released", details={"argument": "self"})
    return str(scope)


def _groups(value: Any, call: str) -> list[str]:
    """A group name, or a list of them (a batch)."""
    if isinstance(value, list) and value:
        return [_group(g, call) for g in value]
    return [_group(value, call)]


def _group(value: Any, call: str) -> str:
    try:
        return check_group(value)
    except Error as exc:
        raise _invalid(call, "group", exc.message.removeprefix("group ")) from None


class _PgModule:
    """The Python side of one process's ``pg`` module."""

    __slots__ = ("port",)

    def __init__(self, port: ProcessPort) -> None:
        self.port = port

    def open(self, scope: Any) -> bool:
        if not isinstance(scope, str) or not scope:
            raise _invalid("pg.open", "id", f"must be the id of a pg.scope entry, got {describe(scope)}")
        try:
            self.port.entries().get(scope, kinds=(PG_SCOPE_KIND,))
        except Error as exc:
            raise Error(exc.kind, f"pg.open: {exc.message}", details={"argument": "id"}) from None
        return True

    async def join(self, scope: Any, groups: Any = None) -> bool:
        scope = _scope(scope, "pg.Instance:join")
        me = self.port.pid()
        for group in _groups(groups, "pg.Instance:join"):
            await self.port.join_group(scope, group, me)
        return True

    async def leave(self, scope: Any, groups: Any = None) -> bool:
        """Best effort across a batch; INVALID only when the caller was in none of the groups (the seed's rule)."""
        scope = _scope(scope, "pg.Instance:leave")
        me = self.port.pid()
        names = _groups(groups, "pg.Instance:leave")
        left = [await self.port.leave_group(scope, group, me) for group in names]
        if not any(left):
            raise Error(ErrorKind.INVALID, f"pg.Instance:leave: this process is not a member of "
                                           f"{preview(names[0]) if len(names) == 1 else 'any of the groups'}",
                        details={"groups": names})
        return True

    async def members(self, scope: Any, group: Any = None) -> list[Pid]:
        return await self.port.group_members(_scope(scope, "pg.Instance:get_members"),
                                             _group(group, "pg.Instance:get_members"))

    async def groups(self, scope: Any) -> list[str]:
        return await self.port.which_groups(_scope(scope, "pg.Instance:which_groups"))

    async def broadcast(self, scope: Any, group: Any = None, topic: Any = None, n: Any = 0, *values: Any) -> bool:
        call = "pg.Instance:broadcast"
        scope = _scope(scope, call)
        group = _group(group, call)
        if not isinstance(topic, str) or not topic:
            raise _invalid(call, "topic", f"must be a non-empty string, got {describe(topic)}")
        if topic[0] == "@":
            raise _invalid(call, "topic", f"{preview(topic)} is reserved (topics beginning with '@' are the runtime's)")
        n = n if type(n) is int else len(values)
        args = (values + (None,) * n)[:n]
        data = args[0] if len(args) == 1 else (list(args) if args else None)
        await self.port.broadcast(scope, group, topic, data)
        return True

    def unsupported(self, method: Any) -> None:
        raise Error(ErrorKind.UNAVAILABLE, f"pg.Instance:{method} is not available in pidflow (subscriptions to "
                                           "group membership are not implemented; poll get_members)")


def _pg(ctx: ModuleContext) -> Any:
    port: ProcessPort | None = ctx.backend.process_api
    if port is None:
        raise Error(ErrorKind.UNAVAILABLE, f"entry {ctx.entry_id}: the pg module needs a process (a function has "
                                           "no membership to keep)")
    module = _PgModule(port)
    return ctx.load_lua(
        PG_LUA, "pg", ctx.function(module.open, name="pg.open"),
        ctx.blocking(module.join, name="pg.Instance:join", args=("self", 1)),
        ctx.blocking(module.leave, name="pg.Instance:leave", args=("self", 1)),
        ctx.blocking(module.members, name="pg.Instance:get_members", args=("self", 1)),
        ctx.blocking(module.groups, name="pg.Instance:which_groups", args=("self",)),
        ctx.blocking(module.broadcast, name="pg.Instance:broadcast", args=("self", 1, 2, "count", 3)),
        ctx.function(module.unsupported), ctx.core_setmetatable)


register_module("pg", _pg)
