"""pidflow errors <-> Temporal failures.

An :class:`~pidflow.Error` leaves a workflow or an activity as an ``ApplicationError`` whose ``type`` is the
kind, ``non_retryable`` the inverse of ``retryable``, and whose first detail is the error's wire form (so the
details survive). Any Temporal failure that comes back (a failed, terminated, cancelled or timed-out workflow, a
failed activity or child) is unboxed to the innermost error that says what happened.
"""

from __future__ import annotations

from typing import Any

from temporalio import client, exceptions
from temporalio.service import RPCError, RPCStatusCode

from ..errors import Error, ErrorKind

# RPC failures that say "not now" (the server or the way to it is down, busy or slow), as opposed to an answer
# about the request itself (invalid, not found, not allowed), which no retry changes.
_TRANSIENT = frozenset({RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.RESOURCE_EXHAUSTED,
                        RPCStatusCode.ABORTED, RPCStatusCode.INTERNAL, RPCStatusCode.UNKNOWN, RPCStatusCode.CANCELLED})


def is_transient(exc: BaseException) -> bool:
    """True for an RPC failure worth retrying until the server answers (an outage, overload, a timeout)."""
    if not isinstance(exc, RPCError) or exc.status not in _TRANSIENT:
        return False
    # gRPC's own size limit answers RESOURCE_EXHAUSTED too, and that one never passes on retry.
    return not (exc.status == RPCStatusCode.RESOURCE_EXHAUSTED and "larger than max" in exc.message)


def to_application_error(err: Error) -> exceptions.ApplicationError:
    """An error a function or workflow *returned* is an expected outcome (BENIGN: Temporal does not log it as
    a failure); one boxed from an unexpected exception (it carries a traceback) is not."""
    unexpected = isinstance(err.details, dict) and "traceback" in err.details
    category = exceptions.ApplicationErrorCategory.UNSPECIFIED if unexpected else exceptions.ApplicationErrorCategory.BENIGN
    return exceptions.ApplicationError(
        err.message, err.to_dict(), type=err.kind.value, non_retryable=not err.retryable, category=category
    )


def _from_application(exc: exceptions.ApplicationError) -> Error:
    details = exc.details[0] if exc.details else None
    if isinstance(details, Error):
        return details
    if isinstance(details, dict) and "kind" in details and "message" in details:
        try:
            return Error.from_dict(details)
        except ValueError:
            pass
    kind: ErrorKind | str = exc.type if exc.type is not None and exc.type in ErrorKind.__members__ else ErrorKind.INTERNAL
    return Error(kind, exc.message, retryable=not exc.non_retryable,
                 details={"type": exc.type} if exc.type and exc.type != kind else None)


def to_error(exc: BaseException) -> Error:
    """The pidflow error a Temporal exception stands for."""
    if isinstance(exc, Error):
        return exc
    if isinstance(exc, (client.WorkflowFailureError, exceptions.ActivityError, exceptions.ChildWorkflowError,
                        client.ActivityFailureError)) and exc.cause is not None:
        return to_error(exc.cause)
    if isinstance(exc, exceptions.ApplicationError):
        return _from_application(exc)
    if isinstance(exc, exceptions.TerminatedError):
        if exc.details and isinstance(exc.details[0], Error):  # terminated by pidflow: the reason it gave
            return exc.details[0]
        return Error(ErrorKind.TERMINATED, exc.message or "workflow terminated")
    if isinstance(exc, exceptions.CancelledError):
        return Error(ErrorKind.CANCELED, exc.message or "cancelled")
    if isinstance(exc, exceptions.TimeoutError):
        return Error(ErrorKind.TIMEOUT, exc.message or f"timed out ({exc.type.name if exc.type else 'unknown'})")
    if isinstance(exc, exceptions.FailureError):
        return Error(ErrorKind.INTERNAL, exc.message)
    if isinstance(exc, client.RPCError):
        return Error(ErrorKind.UNAVAILABLE, f"temporal: {exc.message}")
    return Error.wrap(exc)

