"""The node's name registry: registered names and the PIDs that hold them (Erlang's ``register``/``whereis``).

One registry per node, shared by every host: a name registered by a Python process, a Lua process, a
``with_name`` spawn or a workflow (through its worker's node) is the same name everywhere on that node. The scope
is one node; names are not seen by other nodes.

Rules (the seed runtime's LOCAL scope, which is Erlang's ``register`` but for the last one):

* a name has at most one holder; registering a held name for another PID is ALREADY_EXISTS, for the same PID
  a no-op;
* a PID may hold several names (the seed allows it; Erlang allows one): each is released on its own by
  ``unregister``, all of them at once by ``release`` when the holder ends;
* a name is a non-empty string of at most :data:`MAX_NAME_LENGTH` characters that does not start with ``{``, so a
  destination string is never ambiguous: ``{...}`` is a PID, anything else a name.

This module is plain data and never blocks: who *watches* holders, so that a name is released when its process
ends, is the node's business (``Node.register_name``): it monitors each holder with the PID :attr:`watcher`, and
the EXIT that any host sends to that PID releases the holder's names.
"""

from __future__ import annotations

from typing import Iterator

from ._pid import Pid
from .errors import Error, ErrorKind

#: The longest name (characters). Temporal's default limit for a workflow id, which a durable spawn's name is.
MAX_NAME_LENGTH = 1000


def check_name(value: object, what: str = "name") -> str:
    """``value`` as a name, or INVALID naming ``what`` (the argument it came from)."""
    if not isinstance(value, str):
        raise Error(ErrorKind.INVALID, f"{what} must be a string, got {type(value).__name__}",
                    details={"argument": what})
    if not value:
        raise Error(ErrorKind.INVALID, f"{what} must be a non-empty string", details={"argument": what})
    if value[0] == "{":
        raise Error(ErrorKind.INVALID, f"{what} {value[:80]!r} can't be a name: names that start with '{{' would "
                                       "read as a pid", details={"argument": what})
    if len(value) > MAX_NAME_LENGTH:
        raise Error(ErrorKind.INVALID, f"{what} is {len(value)} characters long, over the limit of "
                                       f"{MAX_NAME_LENGTH}", details={"argument": what})
    return value


def not_found(name: str) -> Error:
    """The error of a lookup, or of an operation addressed to a name, that nobody holds."""
    return Error(ErrorKind.NOT_FOUND, f"could not resolve name {name!r}: not found in this node's registry",
                 details={"name": name})


def already_registered(name: str, holder: Pid) -> Error:
    """The error of claiming a name that another PID holds (its PID in the details, as Lua's ``err:details().pid``)."""
    return Error(ErrorKind.ALREADY_EXISTS, f"name {name!r} is already registered to {holder}",
                 details={"name": name, "pid": str(holder)})


class NameRegistry:
    """Names -> PIDs, and each holder's names. All methods are synchronous and called on the node's loop."""

    __slots__ = ("_holders", "_names", "watcher")

    def __init__(self, watcher: Pid) -> None:
        #: The PID the node monitors holders with; an EXIT sent to it releases the ended holder's names.
        self.watcher = watcher
        self._holders: dict[str, Pid] = {}
        self._names: dict[Pid, list[str]] = {}

    def register(self, name: str, pid: Pid) -> bool:
        """Give ``name`` to ``pid``: True when it is new, False when ``pid`` held it already. ALREADY_EXISTS when
        another PID holds it (its PID in the details); INVALID for a bad name."""
        check_name(name)
        holder = self._holders.get(name)
        if holder is not None:
            if holder == pid:
                return False
            raise already_registered(name, holder)
        self._holders[name] = pid
        self._names.setdefault(pid, []).append(name)
        return True

    def whereis(self, name: str) -> Pid | None:
        """The holder of ``name``, or None (Erlang's ``whereis``). INVALID for a bad name."""
        return self._holders.get(check_name(name))

    def lookup(self, name: str) -> Pid:
        """The holder of ``name``; NOT_FOUND ("could not resolve name ...") when nobody holds it."""
        holder = self.whereis(name)
        if holder is None:
            raise not_found(name)
        return holder

    def resolve(self, destination: Pid | str, what: str = "destination") -> Pid:
        """A destination argument as a PID: a :class:`Pid`, a PID string (``{host|id}``), or a registered name
        (NOT_FOUND when nobody holds it). INVALID naming ``what`` for anything else."""
        if isinstance(destination, Pid):
            return destination
        if isinstance(destination, str) and destination[:1] == "{":
            return Pid.parse(destination)
        if not isinstance(destination, str) or not destination:
            raise Error(ErrorKind.INVALID, f"{what} must be a pid or a registered name, got {destination!r}",
                        details={"argument": what})
        return self.lookup(destination)

    def unregister(self, name: str) -> Pid | None:
        """Release ``name``; its former holder, or None when nobody held it."""
        holder = self._holders.pop(check_name(name), None)
        if holder is not None:
            names = self._names[holder]
            names.remove(name)
            if not names:
                del self._names[holder]
        return holder

    def release(self, pid: Pid) -> list[str]:
        """Release every name of ``pid`` (it ended); the names it held."""
        names = self._names.pop(pid, None)
        if not names:
            return []
        for name in names:
            del self._holders[name]
        return names

    def names_of(self, pid: Pid) -> list[str]:
        """The names ``pid`` holds, in registration order."""
        return list(self._names.get(pid, ()))

    def __len__(self) -> int:
        return len(self._holders)

    def __contains__(self, name: object) -> bool:
        return name in self._holders

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._holders))

    def items(self) -> list[tuple[str, Pid]]:
        """Every (name, holder), in registration order."""
        return list(self._holders.items())
