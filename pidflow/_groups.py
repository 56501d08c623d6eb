"""Process groups (OTP's ``pg``, the seed runtime's ``pg`` module): named groups of PIDs that processes join and
leave, and a broadcast to every member.

Rules (the seed runtime's, which are OTP's):

* a group exists while it has a member: made by its first join, gone with its last leave;
* a PID may join a group several times, and leaves it as many times (multi-join): ``members`` lists it once per
  join, in join order; a broadcast reaches each member process once;
* a member leaves every group when it ends, however it ends;
* groups live in a *scope*; scopes are isolated (the same group name in two scopes is two groups). Python's
  default scope is :data:`DEFAULT_SCOPE`; Lua opens one by the id of a ``pg.scope`` entry (``pg.open``), and
  Python reaches that one with ``scope=`` that id;
* a group or scope name is a non-empty string of at most :data:`MAX_GROUP_LENGTH` characters.

The scope of the registry is one node, as the name registry's is (``pidflow._names``): local processes, top-level
code and the workflows its workers run (through recorded local activities) share it; another node has its own.

:class:`GroupRegistry` is plain data and never blocks. Who watches members, so that a member leaves when it ends,
is the node-level code below (:func:`join`, :func:`leave`): each member is monitored with the registry's
:attr:`~GroupRegistry.watcher`, a PID no host owns, and the EXIT any host sends it releases the member
(``NodePort.catch_exits``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._events import Event, EventKind
from ._pid import Pid
from .errors import Error, ErrorKind

if TYPE_CHECKING:
    from ._host import NodePort

#: The scope of Python's group calls when they name none.
DEFAULT_SCOPE = "default"
#: The longest group or scope name (characters).
MAX_GROUP_LENGTH = 1000
#: Where a node keeps its registry (``NodePort.resources``).
RESOURCE = "pidflow.groups"

_Key = tuple[str, str]  # (scope, group)


def check_group(value: object, what: str = "group") -> str:
    """``value`` as a group (or scope) name, or INVALID naming ``what`` (the argument it came from)."""
    if not isinstance(value, str):
        raise Error(ErrorKind.INVALID, f"{what} must be a string, got {type(value).__name__}",
                    details={"argument": what})
    if not value:
        raise Error(ErrorKind.INVALID, f"{what} must be a non-empty string", details={"argument": what})
    if len(value) > MAX_GROUP_LENGTH:
        raise Error(ErrorKind.INVALID, f"{what} is {len(value)} characters long, over the limit of "
                                       f"{MAX_GROUP_LENGTH}", details={"argument": what})
    return value


def check_scope(value: object) -> str:
    """A ``scope`` argument: None is :data:`DEFAULT_SCOPE`."""
    return DEFAULT_SCOPE if value is None else check_group(value, "scope")


class GroupRegistry:
    """Groups -> members, and each member's joins. All methods are synchronous and called on the node's loop."""

    __slots__ = ("watcher", "_members", "_joins")

    def __init__(self, watcher: Pid) -> None:
        #: The PID the node monitors members with; an EXIT sent to it makes the ended member leave every group.
        self.watcher = watcher
        self._members: dict[_Key, list[Pid]] = {}
        self._joins: dict[Pid, dict[_Key, int]] = {}

    def join(self, scope: str, group: str, pid: Pid) -> bool:
        """``pid`` joins ``group`` once more; True when it was in no group before (it needs watching)."""
        key = (check_group(scope, "scope"), check_group(group))
        self._members.setdefault(key, []).append(pid)
        joins = self._joins.get(pid)
        first = joins is None
        if joins is None:
            joins = self._joins[pid] = {}
        joins[key] = joins.get(key, 0) + 1
        return first

    def leave(self, scope: str, group: str, pid: Pid) -> bool:
        """Undo one join of ``pid`` to ``group``; False when it had none."""
        key = (check_group(scope, "scope"), check_group(group))
        joins = self._joins.get(pid)
        count = None if joins is None else joins.get(key)
        if joins is None or count is None:
            return False
        if count > 1:
            joins[key] = count - 1
        else:
            del joins[key]
            if not joins:
                del self._joins[pid]
        members = self._members[key]
        members.remove(pid)
        if not members:
            del self._members[key]
        return True

    def release(self, pid: Pid) -> list[_Key]:
        """``pid`` ended: it leaves every group; the (scope, group) pairs it was in."""
        joins = self._joins.pop(pid, None)
        if not joins:
            return []
        for key in joins:
            members = [member for member in self._members[key] if member != pid]
            if members:
                self._members[key] = members
            else:
                del self._members[key]
        return list(joins)

    def offer(self, event: Event) -> bool:
        """An EXIT sent to :attr:`watcher` (``NodePort.catch_exits``): its member leaves every group."""
        if event.kind is EventKind.EXIT and event.sender is not None:
            self.release(event.sender)
        return True

    def members(self, scope: str, group: str) -> list[Pid]:
        """The members of ``group``, once per join, in join order (empty for a group nobody is in)."""
        return list(self._members.get((check_group(scope, "scope"), check_group(group)), ()))

    def which_groups(self, scope: str) -> list[str]:
        """The groups of ``scope`` that have a member, in the order they were made."""
        scope = check_group(scope, "scope")
        return [group for (in_scope, group) in self._members if in_scope == scope]

    def groups_of(self, pid: Pid) -> list[_Key]:
        """The (scope, group) pairs ``pid`` is in (each once)."""
        return list(self._joins.get(pid, ()))

    def is_member(self, pid: Pid) -> bool:
        return pid in self._joins

    def __len__(self) -> int:
        """How many groups have a member (every scope)."""
        return len(self._members)


def registry(node: "NodePort") -> GroupRegistry:
    """The node's group registry, made (and its watcher's EXITs caught) on first use."""
    groups: GroupRegistry | None = node.resources.get(RESOURCE)
    if groups is None:
        groups = node.resources[RESOURCE] = GroupRegistry(Pid("pidflow:groups", "watcher", node.name))
        node.catch_exits(groups.watcher, groups.offer)
    return groups


async def join(node: "NodePort", scope: str, group: str, pid: Pid) -> None:
    """``pid`` (a process of any host) joins ``group`` of ``scope`` until it leaves or ends. NOT_FOUND when ``pid``
    is known not to run (a local process of this node); INVALID for a bad group or scope."""
    check_group(scope, "scope")
    check_group(group)
    if not isinstance(pid, Pid):
        raise Error(ErrorKind.INVALID, f"join takes a pid, got {type(pid).__name__}", details={"argument": "pid"})
    host = node.route(pid)
    if host.is_alive(pid) is False:
        raise Error(ErrorKind.NOT_FOUND, f"can't join group {group!r}: no such process {pid}",
                    details={"reason": "noproc", "group": group})
    groups = registry(node)
    first = groups.join(scope, group, pid)
    if not first and not host.durable:
        return  # watched already
    try:
        if not first:
            # a durable member: watch the run that is current now, as the name registry does (a run of the same
            # id that ended just before must not take its successor out of its groups)
            await host.unmonitor(groups.watcher, pid)
        await host.monitor(groups.watcher, pid)
    except BaseException:
        groups.leave(scope, group, pid)
        raise


async def leave(node: "NodePort", scope: str, group: str, pid: Pid) -> bool:
    """Undo one join of ``pid``; False when it had none. Its last membership gone, it is no longer watched."""
    groups = registry(node)
    if not groups.leave(scope, group, pid):
        return False
    if not groups.is_member(pid):
        try:
            await node.route(pid).unmonitor(groups.watcher, pid)
        except Error:
            pass
    return True
