"""The one error type of pidflow.

Python raises :class:`Error` where Lua returns ``nil, err``. An error is data: a ``kind`` from a closed set,
whether retrying can help, a short message and optional details; it crosses every boundary (Lua, JSON,
Temporal failures) boxed with those fields so that the receiver can branch on ``kind`` instead of parsing text.
Cancellation is never an :class:`Error` (trio's ``Cancelled`` is a ``BaseException``), so ``except Error``
cannot swallow it.
"""

from __future__ import annotations

import enum
from typing import Any


class ErrorKind(str, enum.Enum):
    """The closed set of error kinds; the string value is what Lua and the wire see."""

    NOT_FOUND = "NOT_FOUND"
    INVALID = "INVALID"
    INTERNAL = "INTERNAL"
    TIMEOUT = "TIMEOUT"
    CANCELED = "CANCELED"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    CONFLICT = "CONFLICT"
    UNAVAILABLE = "UNAVAILABLE"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    RATE_LIMITED = "RATE_LIMITED"
    UNKNOWN = "UNKNOWN"
    TERMINATED = "TERMINATED"
    NON_DETERMINISTIC = "NON_DETERMINISTIC"

    def __str__(self) -> str:
        return self.value


# Kinds whose cause is usually transient; used when the caller does not say. UNKNOWN (what Lua's
# ``errors.new("msg")`` makes) says nothing about the cause, so it is not retried unless the code says so.
_RETRYABLE_BY_DEFAULT = frozenset({ErrorKind.TIMEOUT, ErrorKind.UNAVAILABLE, ErrorKind.INTERNAL,
                                   ErrorKind.RATE_LIMITED})


class Error(Exception):
    """A pidflow error: ``kind``, ``retryable``, ``message`` and free-form ``details``.

    ``retryable`` defaults by kind (TIMEOUT, UNAVAILABLE, INTERNAL and RATE_LIMITED are retryable, the rest,
    UNKNOWN included, are not); a Lua error whose ``retryable()`` is nil gets this default when it crosses into
    Python (a ``funcs.call``, ``process.exec``, an EXIT, a workflow's failure), so it comes back to Lua as a
    boolean. ``str(err)`` is ``"KIND: message"`` (Lua's ``tostring(err)`` is the message alone, as in the seed
    runtime).
    """

    def __init__(
        self,
        kind: ErrorKind | str,
        message: str,
        *,
        retryable: bool | None = None,
        details: Any = None,
    ) -> None:
        try:
            kind = ErrorKind(str(kind).upper())
        except ValueError:
            raise ValueError(f"unknown error kind {kind!r}; expected one of {', '.join(k.value for k in ErrorKind)}") from None
        self.kind: ErrorKind = kind
        self.message: str = str(message)
        self.retryable: bool = kind in _RETRYABLE_BY_DEFAULT if retryable is None else bool(retryable)
        self.details: Any = details
        super().__init__(f"{kind.value}: {self.message}")

    def __repr__(self) -> str:
        return f"Error({self.kind.value!r}, {self.message!r}, retryable={self.retryable})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Error):
            return NotImplemented
        return (self.kind, self.message, self.retryable) == (other.kind, other.message, other.retryable)

    def __hash__(self) -> int:
        return hash((self.kind, self.message, self.retryable))

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:  # keep pickling (used by thread/process hops) lossless
        return (_rebuild, (self.kind.value, self.message, self.retryable, self.details))

    def to_dict(self) -> dict[str, Any]:
        """The wire form: what JSON payloads, Temporal failure details and Lua error tables carry."""
        out: dict[str, Any] = {"kind": self.kind.value, "message": self.message, "retryable": self.retryable}
        if self.details is not None:
            out["details"] = self.details
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Error":
        return cls(data["kind"], data.get("message", ""), retryable=data.get("retryable"), details=data.get("details"))

    @classmethod
    def wrap(cls, exc: BaseException, kind: ErrorKind | None = None) -> "Error":
        """Box any exception as an Error (an Error passes through), keeping the traceback in ``details``: this is
        how an exception raised by user code (a process body, a ``function.py``, an HTTP handler) leaves it. The
        kind is ``kind`` when given, else the first row of :data:`EXCEPTION_KINDS` that the exception is an
        instance of (a ``ValueError`` is INVALID, not retryable), else INTERNAL (retryable); ``retryable`` is the
        kind's default. To choose the kind and retryable flag yourself, raise :class:`Error`."""
        if isinstance(exc, Error):
            return exc
        import traceback

        if kind is None:
            kind = next((k for types, k in EXCEPTION_KINDS if isinstance(exc, types)), ErrorKind.INTERNAL)
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return cls(kind, f"{type(exc).__name__}: {exc}", details={"traceback": tb})


#: The kind of a Python exception from user code (:meth:`Error.wrap`), first match wins; anything else is INTERNAL
#: (retryable). Each kind keeps its default ``retryable``: INVALID, NOT_FOUND and PERMISSION_DENIED are not
#: retried (the same input fails the same way), TIMEOUT and UNAVAILABLE are. Documented in docs/python.md, Errors.
EXCEPTION_KINDS: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], ErrorKind], ...] = (
    (TimeoutError, ErrorKind.TIMEOUT),
    (ConnectionError, ErrorKind.UNAVAILABLE),
    (PermissionError, ErrorKind.PERMISSION_DENIED),
    (FileNotFoundError, ErrorKind.NOT_FOUND),
    ((ValueError, TypeError, LookupError), ErrorKind.INVALID),  # UnicodeError, JSONDecodeError; KeyError, IndexError
)


def _rebuild(kind: str, message: str, retryable: bool, details: Any) -> Error:
    return Error(kind, message, retryable=retryable, details=details)

