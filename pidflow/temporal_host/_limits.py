"""How big a payload may be on Temporal, checked where it is sent.

The server refuses any payload field over its blob size limit (dynamic config ``limit.blobSize.error``, 2 MiB by
default; a namespace reports its own in ``DescribeNamespace``) with INVALID_ARGUMENT, and a worker fails the
workflow task that would send one. Either way nothing changes on retry: a queue that retried it would wait
behind it forever. So a payload is measured once, when it is encoded for the send (the JSON bytes of
``codec.encode`` *are* the payload's data, see ``_converter``; a batch joins them, ``codec.join``), and one over
the limit fails its sender at once with INVALID.

The limit is ``max_payload_size`` of the ``temporal.client`` entry; without it, the namespace's own limit on the
client side, and Temporal's default on the workflow side (workflow code must decide the same way on replay, so
it only reads entries).
"""

from __future__ import annotations

from ..entries import Entry, Registry
from ..errors import Error, ErrorKind

#: Temporal's default ``limit.blobSize.error`` (also what the dev server reports).
DEFAULT_MAX_PAYLOAD_SIZE = 2 * 1024 * 1024
#: What the server counts besides a payload's data: the Payloads/Payload framing and the encoding metadata
#: (``json/plain``; ``binary/msgpack`` before issue 10): about 40 bytes, rounded up.
ENVELOPE = 64
KEY = "max_payload_size"


def configured(entry: Entry | None) -> int | None:
    """``max_payload_size`` of a ``temporal.client`` entry (None when not set); INVALID when malformed."""
    if entry is None:
        return None
    value = entry.spec.get(KEY)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value <= ENVELOPE:
        raise Error(ErrorKind.INVALID, f"entry {entry.id}: {KEY} must be a number of bytes above {ENVELOPE}, "
                                       f"got {value!r}", details={"entry": entry.id, "key": KEY})
    return value


def for_worker(registry: Registry, worker_id: str) -> int:
    """The limit that workflows of the ``temporal.worker`` entry ``worker_id`` apply: their client entry's
    ``max_payload_size``, else Temporal's default. Pure data, so replay decides as the first run did."""
    worker = registry.find(worker_id)
    client_id = worker.ref("client") if worker is not None else None
    client = registry.find(client_id) if client_id else None
    return configured(client) or DEFAULT_MAX_PAYLOAD_SIZE


def check(data: bytes, limit: int, what: str) -> bytes:
    """``data`` (an encoded payload), or INVALID naming ``what``, its size and the limit."""
    size = len(data) + ENVELOPE
    if size > limit:
        raise too_large(what, size, limit)
    return data


def too_large(what: str, size: int, limit: int) -> Error:
    return Error(ErrorKind.INVALID, f"{what} is {size} bytes, over the payload limit of {limit} bytes (Temporal's "
                                    f"blob size limit; {KEY} of the temporal.client entry)",
                 details={"size": size, "limit": limit})

