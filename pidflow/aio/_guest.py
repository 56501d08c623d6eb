"""Run trio as a guest on the running asyncio loop, with trio's I/O wait folded into asyncio's own selector.

trio's guest mode (``trio.lowlevel.start_guest_run``) runs trio's tasks as callbacks of the host loop, on its
thread, but waits for trio's I/O in a helper thread: every wakeup of an idle trio run from asyncio (a call into
the node) writes trio's wakeup socket, wakes that thread, which hands the tick back with
``call_soon_threadsafe``. Two thread switches per wakeup: about 55 µs each round on the 2-core test machine,
more than three times the whole round trip between two trio tasks (docs/performance.md, "asyncio").

So when the run is idle, this module registers trio's own poller (its epoll or kqueue descriptor, readable when
trio has I/O to process) as a reader of the asyncio loop, with a ``call_later`` for trio's next deadline, instead
of going into the thread; and a wakeup that comes from the loop's own thread (``reschedule`` of a trio task by
asyncio code, which is how the bridge wakes the node) schedules the next tick with ``call_soon``: no thread, no
system call. Wakeups from other threads (the Temporal SDK's asyncio thread, ``trio.from_thread``) still write the
wakeup socket, which makes the poller readable: the loop's selector sees it.

This reaches into trio's internals (``GuestState.guest_tick``, ``Runner.force_guest_tick_asap``, the I/O
manager's poller), pinned by tests/aio/test_guest.py. Where they are not what this module expects (another trio
version, a loop without ``add_reader`` such as the Windows proactor), :func:`start_guest` falls back to trio's
own guest mode: the same behaviour, slower.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import outcome
import trio
from sniffio import thread_local as sniffio_library
from trio._core import _run  # (the private guest-mode machinery this module refines; see the module docstring)

#: trio's timeout when nothing is scheduled is about a day: no timer for that.
_FOREVER = 86400.0 * 365


class _Host:
    """The asyncio side of one fast guest run: waits for trio's I/O and deadlines on the loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, guest: Any, fd: int) -> None:
        self.loop = loop
        self.guest = guest
        self.fd = fd
        self.thread = threading.get_ident()
        self.waiting = False
        self.timer: asyncio.TimerHandle | None = None

    def idle(self, timeout: float) -> None:
        """trio has nothing to run: tick again when its poller is readable or its next deadline passes."""
        self.waiting = True
        self.loop.add_reader(self.fd, self.resume)
        if timeout < _FOREVER:
            self.timer = self.loop.call_later(timeout, self.resume)

    def _stop_waiting(self) -> None:
        self.waiting = False
        self.loop.remove_reader(self.fd)
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def resume(self) -> None:
        """I/O is ready or a deadline passed: tick (trio reads its events without blocking)."""
        if not self.waiting:
            return
        self._stop_waiting()
        self.guest.runner.guest_tick_scheduled = True
        self._tick()

    def wake_soon(self) -> None:
        """A trio task was made runnable from this thread: tick on the loop's next pass."""
        self._stop_waiting()
        self.loop.call_soon(self._tick)

    def _tick(self) -> None:
        guest = self.guest
        guest.unrolled_run_next_send = outcome.capture(guest.runner.io_manager.get_events, 0)
        guest.guest_tick()


_hosts: dict[int, _Host] = {}  # id(runner) -> its host, while the run lasts


class _SelectorGuestState(_run.GuestState):
    """``GuestState`` whose idle wait is :meth:`_Host.idle` instead of trio's I/O thread."""

    __slots__ = ()

    def guest_tick(self) -> None:
        # trio 0.35's GuestState.guest_tick, but for its last branch.
        prev_library, sniffio_library.name = sniffio_library.name, "trio"
        try:
            timeout = self.unrolled_run_next_send.send(self.unrolled_run_gen)
        except StopIteration:
            _hosts.pop(id(self.runner), None)
            assert self.runner.main_task_outcome is not None
            self.done_callback(self.runner.main_task_outcome)
            return
        except trio.TrioInternalError as exc:
            _hosts.pop(id(self.runner), None)
            self.done_callback(outcome.Error(exc))
            return
        finally:
            sniffio_library.name = prev_library
        events_outcome: Any = outcome.capture(self.runner.io_manager.get_events, 0)
        if timeout <= 0 or isinstance(events_outcome, outcome.Error) or events_outcome.value:
            self.unrolled_run_next_send = events_outcome
            self.runner.guest_tick_scheduled = True
            self.run_sync_soon_not_threadsafe(self.guest_tick)
        else:
            self.runner.guest_tick_scheduled = False
            _hosts[id(self.runner)].idle(timeout)


class _SelectorRunner(_run.Runner):
    """``Runner`` whose wakeup from the loop's own thread is a ``call_soon`` rather than a socket write."""

    __slots__ = ()

    def force_guest_tick_asap(self) -> None:
        if self.guest_tick_scheduled:
            return
        self.guest_tick_scheduled = True
        host = _hosts.get(id(self))
        if host is not None and host.waiting and threading.get_ident() == host.thread:
            host.wake_soon()
        else:
            self.io_manager.force_wakeup()


def _poller_fd(runner: Any) -> int | None:
    manager = runner.io_manager
    poller = getattr(manager, "_epoll", None) or getattr(manager, "_kqueue", None)
    return poller.fileno() if poller is not None else None


def start_guest(loop: asyncio.AbstractEventLoop, async_fn: Callable[[], Awaitable[Any]],
                done: Callable[[outcome.Outcome[Any]], object]) -> bool:
    """Start ``async_fn`` as a trio guest run on ``loop`` (the running loop, from its thread); ``done`` gets its
    outcome. True when the fast selector-folded mode is on, False for trio's own guest mode."""
    fast: list[bool] = []

    def run_soon(callback: Callable[[], object]) -> None:
        # The first call hands over the GuestState's first tick: the one chance to refine it.
        if not fast:
            fast.append(_refine(loop, getattr(callback, "__self__", None)))
            guest = getattr(callback, "__self__", None)
            if fast[0] and guest is not None:
                callback = guest.guest_tick
        loop.call_soon(callback)

    trio.lowlevel.start_guest_run(async_fn, run_sync_soon_threadsafe=loop.call_soon_threadsafe,
                                  run_sync_soon_not_threadsafe=run_soon, done_callback=done,
                                  host_uses_signal_set_wakeup_fd=True)
    return bool(fast and fast[0])


def _refine(loop: asyncio.AbstractEventLoop, guest: Any) -> bool:
    if type(guest) is not _run.GuestState or type(guest.runner) is not _run.Runner:
        return False
    fd = _poller_fd(guest.runner)
    if fd is None or not hasattr(guest, "unrolled_run_next_send"):
        return False
    try:  # a loop without add_reader (the Windows proactor) keeps trio's own guest mode
        loop.add_reader(fd, lambda: None)
        loop.remove_reader(fd)
    except NotImplementedError:
        return False
    _hosts[id(guest.runner)] = _Host(loop, guest, fd)
    guest.__class__ = _SelectorGuestState
    guest.runner.__class__ = _SelectorRunner
    return True
