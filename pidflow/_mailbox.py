"""An unbounded FIFO a process receives from: its inbox, a topic listener, or its event stream.

Unbounded on purpose: Erlang mailboxes are, and a bounded one would either block senders (deadlocks between
processes that message each other) or drop (the one thing a mailbox must never do). Cheaper than a trio memory
channel pair (one deque and one parking lot), which matters at tens of thousands of idle processes.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable, Generic, TypeVar

import attrs
import trio

T = TypeVar("T")


@attrs.frozen
class MailboxStatistics:
    queued: int
    waiting_tasks: int
    closed: bool


class Mailbox(Generic[T]):
    """Receive side of a process queue. ``receive`` blocks; ``receive_nowait`` raises ``trio.WouldBlock``.

    After ``close`` the queued items can still be received; then ``receive`` raises ``trio.EndOfChannel``.
    """

    __slots__ = ("_items", "_lot", "_closed", "_on_put", "_gate", "__weakref__")

    def __init__(self) -> None:
        self._items: deque[T] = deque()
        self._lot: trio.lowlevel.ParkingLot | None = None
        self._closed = False
        # Observer used by the Lua driver to learn that a parked Lua coroutine may proceed (see `observe`).
        self._on_put: Callable[[], Any] | None = None
        # Admission check used by the Lua driver (see `gate`).
        self._gate: Callable[[T], bool] | None = None

    def gate(self, check: Callable[[T], bool] | None) -> None:
        """Let ``check(item)`` vet every ``put`` before the item is queued: False drops it (its receiver is
        ending), an exception refuses it and reaches the sender (a Lua process refuses a message it could not
        receive with INVALID, and counts queued bytes against its memory limit). One gate per mailbox; None
        removes it."""
        self._gate = check

    def observe(self, callback: Callable[[], Any] | None) -> None:
        """Call ``callback()`` (synchronously, must not raise) after every ``put`` and on ``close``: lets a
        receiver that polls with ``receive_nowait`` (the Lua driver) be woken without a task parked in
        ``receive``. One observer per mailbox; None removes it."""
        self._on_put = callback

    def put(self, item: T) -> None:
        """Deliver without blocking (mailboxes are unbounded). Items put after ``close`` are dropped."""
        if self._closed:
            return
        if self._gate is not None and not self._gate(item):
            return
        self._items.append(item)
        if self._lot is not None and self._lot:
            self._lot.unpark()
        if self._on_put is not None:
            self._on_put()

    def receive_nowait(self) -> T:
        if self._items:
            return self._items.popleft()
        if self._closed:
            raise trio.EndOfChannel
        raise trio.WouldBlock

    async def receive(self) -> T:
        """Checkpoints exactly once, as trio's channels do: parking is the checkpoint when the mailbox is empty."""
        await trio.lowlevel.checkpoint_if_cancelled()
        if self._items:
            item = self._items.popleft()
            await trio.lowlevel.cancel_shielded_checkpoint()
            return item
        while not self._items:
            if self._closed:
                raise trio.EndOfChannel
            if self._lot is None:
                self._lot = trio.lowlevel.ParkingLot()
            await self._lot.park()
        return self._items.popleft()

    def take_where(self, predicate: Callable[[T], bool]) -> list[T]:
        """Remove and return, in order, the queued items that match (used when a listener claims a topic)."""
        taken = [item for item in self._items if predicate(item)]
        if taken:
            self._items = deque(item for item in self._items if not predicate(item))
        return taken

    def drain(self) -> list[T]:
        items = list(self._items)
        self._items.clear()
        return items

    def close(self) -> None:
        self._closed = True
        if self._lot is not None:
            self._lot.unpark_all()
        if self._on_put is not None:
            self._on_put()

    def statistics(self) -> MailboxStatistics:
        return MailboxStatistics(len(self._items), len(self._lot) if self._lot is not None else 0, self._closed)

    def __len__(self) -> int:
        return len(self._items)

    def __aiter__(self) -> "Mailbox[T]":
        return self

    async def __anext__(self) -> T:
        try:
            return await self.receive()
        except trio.EndOfChannel:
            raise StopAsyncIteration from None

