"""The dev server's watchdog: run a command as our child and stop it when the process that started us dies.

Run as a script, never imported (standard library only, started with ``python -I -S``)::

    python -I -S _watchdog.py --grace SECONDS [--keep-fd N ...] -- COMMAND...

Our stdin is the read end of a pipe whose write end only the starting process (the node) holds: end of file
on it means that process is gone, however it died (``kill -9`` included), since the kernel closes its files.
Then the child gets SIGTERM, and SIGKILL after ``--grace`` seconds. SIGTERM to us is passed on to the child (a
clean stop). We exit when the child exits, with its code, after reaping it, so that its PID is gone once we are.

The child's PID is written to our stdout as one line, then stdout is closed; the child's output goes to our
stderr. ``--keep-fd`` descriptors are passed on to the child (the state folder's lock, which must be held for as
long as the server lives). On Linux the child also gets a parent death signal (``PR_SET_PDEATHSIG``, SIGKILL),
so that it dies with us should we be killed: it is set in the child between fork and exec, by us, a
single-threaded process, so the "thread that forked" is our one thread and lives as long as we do.

Rejected: ``PR_SET_PDEATHSIG`` set directly by the node. It fires when the *thread* that forked exits, and a node
starts its server from whatever thread runs its asyncio loop (or a trio worker thread, which exits when idle),
and macOS has no such signal at all; a pipe's end of file is portable and means exactly "the node is gone".
"""

import os
import select
import signal
import subprocess
import sys
from typing import Callable


def _parent_death_signal(parent: int) -> Callable[[], None] | None:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):  # not Linux: the pipe alone watches
        return None
    PR_SET_PDEATHSIG = 1

    def set_it() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # we died between fork and prctl: the signal was never going to come
            os._exit(1)

    return set_it


def _exit_code(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


def main(argv: list[str]) -> int:
    grace, keep, i = 10.0, [], 0
    while i < len(argv) and argv[i] != "--":
        if argv[i] == "--grace":
            grace, i = float(argv[i + 1]), i + 2
        elif argv[i] == "--keep-fd":
            keep.append(int(argv[i + 1]))
            i += 2
        else:
            print(f"watchdog: unknown argument {argv[i]!r}", file=sys.stderr)
            return 2
    command = argv[i + 1:]
    try:
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=sys.stderr.fileno(),
                                 stderr=subprocess.STDOUT, pass_fds=keep,
                                 preexec_fn=_parent_death_signal(os.getpid()))
    except OSError as exc:
        print(f"watchdog: cannot start {command[:1]}: {exc}", file=sys.stderr)
        return 127
    for fd in keep:  # the child holds them now; we must not outlive it holding them
        os.close(fd)
    os.write(1, f"{child.pid}\n".encode())
    os.close(1)

    def forward(signum: int, _frame: object) -> None:
        if child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        child_fd = os.pidfd_open(child.pid)
    except (AttributeError, OSError):  # no pidfd (old kernel, not Linux): poll the child
        child_fd = None
    watched = [0] if child_fd is None else [0, child_fd]
    while child.poll() is None:
        ready, _, _ = select.select(watched, [], [], 0.5 if child_fd is None else None)
        if 0 in ready and not os.read(0, 4096):  # end of file: whoever started us is gone
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(grace)
            except subprocess.TimeoutExpired:
                child.kill()
            break
    return _exit_code(child.wait())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
