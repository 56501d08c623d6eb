"""Process identifiers.

A PID names a host and an id within it. Durable PIDs (``{app:worker|order-123}``) use the Temporal workflow id, so
they stay valid across restarts of every node. Local PIDs carry the owning node (``{app:processes@node-a|17}``) so
that a message sent from a workflow can be routed back to that node through its task queue.
"""

from __future__ import annotations

import re
from typing import Any, Callable

import attrs

from .errors import ErrorKind, Error

_PID_RE = re.compile(r"\{(?P<host>[^|{}@]+)(?:@(?P<node>[^|{}@]+))?\|(?P<id>[^{}]+)\}")
_PART_RE = re.compile(r"[^|{}@]+")
_ID_RE = re.compile(r"[^{}]+")


def _check(pattern: "re.Pattern[str]", what: str) -> Callable[[Any, Any, Any], None]:  # an attrs validator
    def check(instance: object, attribute: object, value: object) -> None:
        if value is not None and not (isinstance(value, str) and pattern.fullmatch(value)):
            raise Error(ErrorKind.INVALID, f"pid {what} {value!r} must be a non-empty string without {'|{}@' if pattern is _PART_RE else '{}'}")
    return check


_set = object.__setattr__


@attrs.frozen(slots=True, order=True, cache_hash=True)
class Pid:
    """An immutable process address. ``Pid.parse(str(pid)) == pid``."""

    host: str = attrs.field(validator=_check(_PART_RE, "host"))
    id: str = attrs.field(validator=_check(_ID_RE, "id"))
    node: str | None = attrs.field(default=None, validator=_check(_PART_RE, "node"))

    def __str__(self) -> str:
        host = self.host if self.node is None else f"{self.host}@{self.node}"
        return f"{{{host}|{self.id}}}"

    def __repr__(self) -> str:
        return f"Pid({str(self)!r})"

    @classmethod
    def trusted(cls, host: str, id: str, node: str | None) -> "Pid":
        """A PID from parts the caller already validated (a host's own id, its node's name, a counter):
        skips the validators on the spawn hot path. Anything from outside goes through ``Pid(...)``."""
        pid = object.__new__(cls)
        _set(pid, "host", host)
        _set(pid, "id", id)
        _set(pid, "node", node)
        _set(pid, "_attrs_cached_hash", None)
        return pid

    @property
    def is_local(self) -> bool:
        """True for PIDs owned by a node (a trio task), False for durable PIDs (a workflow)."""
        return self.node is not None

    @classmethod
    def parse(cls, text: "str | Pid") -> "Pid":
        """Parse ``{HOST|ID}`` or ``{HOST@NODE|ID}``; anything else raises INVALID."""
        if isinstance(text, Pid):
            return text
        if not isinstance(text, str):
            raise Error(ErrorKind.INVALID, f"a pid must be a string like '{{host|id}}', got {type(text).__name__}")
        m = _PID_RE.fullmatch(text)
        if m is None:
            shown = repr(text) if len(text) <= 80 else repr(text[:77]) + "..."   # (not a 4 MiB message)
            raise Error(ErrorKind.INVALID, f"malformed pid {shown}: expected '{{host|id}}' or '{{host@node|id}}'")
        return cls.trusted(m["host"], m["id"], m["node"])  # the pattern already checked every part
