"""Links, monitors, traps and exits against a pure reference model (hypothesis, command-list interpreter).

Hypothesis draws a list of commands; one ``trio.run`` interprets it against a real node (each model process is a
``puppet`` that obeys commands from its inbox) and against ``Model``, a few dozen lines of the rules as DESIGN.md
states them. After every command the test waits until all tasks are blocked and compares: which processes are
alive, and which events (and command errors) every process and the root received in that step.

Why a command list rather than ``RuleBasedStateMachine``: the system under test is async and lives inside one
``trio.run``; a list interpreted in one run keeps that, and it shrinks the same way (shorter lists, smaller
indices, ``trap`` first).

Ordering: across steps, each process's record must match in order. Within one step the events of a cascade (one
crash killing several linked processes) come from different senders, which no Erlang-like system orders, so a
step's events are compared as a multiset. A process that itself dies in a cascade may or may not have drained
its last events before its kill was delivered, so for those the step's record must only be contained in what
the model would deliver.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import attrs
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings, strategies as st

import pidflow
from pidflow import Pid

from ._support import Seen, is_alive, puppet, root_events, settle

MAX_ALIVE = 4
MAX_PROCESSES = 8
Obs = tuple[str, int | None, Any, str | None]  # (kind, from index, value, error kind)

_index = st.integers(0, MAX_PROCESSES - 1)

COMMAND = st.one_of(
    st.tuples(st.just("trap"), _index, st.booleans()),  # first: what failing examples shrink their filler to
    st.tuples(st.just("link"), _index, _index),
    st.tuples(st.just("monitor"), _index, _index),
    # Undo the k-th existing monitor / link (from either side), so that undoing is never a rare coincidence.
    st.tuples(st.just("unmonitor"), st.integers(0, 7)),
    st.tuples(st.just("unlink"), st.integers(0, 7), st.booleans()),
    st.tuples(st.sampled_from(["raise", "terminate", "exit"]), _index),
    st.tuples(st.just("spawn"), st.booleans()),
)
# Start with a few processes (their trap flags), so that most commands have someone to act on.
INITIAL = st.lists(st.booleans(), min_size=2, max_size=MAX_ALIVE)
# Hypothesis sizes lists around their min_size: long enough programs to set up a link or monitor, undo it and
# then end a process need a floor.
COMMANDS = st.lists(COMMAND, min_size=8, max_size=40)


@attrs.define
class Step:
    """What one command must produce: exact records for certain recipients, upper bounds for uncertain ones."""

    exact: dict[int, list[Obs]] = attrs.field(factory=dict)
    at_most: dict[int, list[Obs]] = attrs.field(factory=dict)
    root: list[Obs] = attrs.field(factory=list)
    terminated: bool | None = None

    def deliver(self, to: int, obs: Obs, certain: bool = True) -> None:
        (self.exact if certain else self.at_most).setdefault(to, []).append(obs)


@attrs.define
class Model:
    """Erlang's rules for links, monitors and traps, for processes 0..n-1 (the root monitors all of them)."""

    count: int = 0
    alive: set[int] = attrs.field(factory=set)
    trap: dict[int, bool] = attrs.field(factory=dict)
    links: set[frozenset[int]] = attrs.field(factory=set)
    monitors: set[tuple[int, int]] = attrs.field(factory=set)  # (watcher, target)

    def spawn(self, trap: bool) -> Step:
        self.alive.add(self.count)
        self.trap[self.count] = trap
        self.count += 1
        return Step()

    def command(self, op: str, a: int, b: Any) -> Step:
        step = Step()
        if a not in self.alive:
            return step  # a message to a dead process is dropped
        if op == "trap":
            self.trap[a] = b
        elif op == "link":
            if a == b:
                step.deliver(a, ("ERROR", None, "link", "INVALID"))
            elif b in self.alive:
                self.links.add(frozenset((a, b)))
            elif self.trap[a]:
                step.deliver(a, ("LINK_DOWN", b, None, "NOT_FOUND"))
            else:
                step.deliver(a, ("ERROR", None, "link", "NOT_FOUND"))
        elif op == "unlink":
            self.links.discard(frozenset((a, b)))
        elif op == "monitor":
            if b in self.alive:
                self.monitors.add((a, b))
            else:
                step.deliver(a, ("EXIT", b, None, "NOT_FOUND"))
        elif op == "unmonitor":
            self.monitors.discard((a, b))
        elif op == "exit":
            self._end(step, a, None, "done")
        elif op == "raise":
            self._end(step, a, "INTERNAL", None)
        else:
            raise AssertionError(op)
        return step

    def terminate(self, a: int) -> Step:
        step = Step(terminated=a in self.alive)
        if a in self.alive:
            self._end(step, a, "TERMINATED", None)
        return step

    def _end(self, step: Step, origin: int, error: str | None, value: Any) -> None:
        dying, queue = {origin}, [origin]
        while error is not None and queue:  # an abnormal end kills every non-trapping process linked to it
            x = queue.pop()
            for y in self._partners(x):
                if y in self.alive and y not in dying and not self.trap[y]:
                    dying.add(y)
                    queue.append(y)
        for x in dying:
            step.root.append(("EXIT", x, value if x == origin else None, error))
            for watcher, target in self.monitors:
                if target == x and watcher in self.alive and watcher != origin:
                    step.deliver(watcher, ("EXIT", x, value if x == origin else None, error), watcher not in dying)
            if error is not None:
                for y in self._partners(x):
                    if y in self.alive and y not in dying:
                        step.deliver(y, ("LINK_DOWN", x, None, error))  # y traps, or it would be dying
        self.alive -= dying
        self.links = {pair for pair in self.links if not pair & dying}
        self.monitors = {(w, t) for w, t in self.monitors if t not in dying}

    def _partners(self, x: int) -> list[int]:
        return [y for pair in self.links if x in pair for y in pair if y != x]


def _obs(seen: Seen, index_of: dict[Pid, int]) -> Obs:
    return (seen.kind, None if seen.from_ is None else index_of[seen.from_], seen.value, seen.error)


def _multiset(items: list[Obs]) -> Counter[str]:
    return Counter(repr(item) for item in items)


async def interpret(commands: list[tuple[Any, ...]]) -> None:
    model = Model()
    async with pidflow.open_node() as node:
        pids: list[Pid] = []
        records: list[list[Seen]] = []
        index_of: dict[Pid, int] = {}
        for number, cmd in enumerate(commands):
            op = cmd[0]
            before = [len(r) for r in records]
            if op == "spawn":
                if len(model.alive) == MAX_ALIVE or len(pids) == MAX_PROCESSES:
                    continue
                expected = model.spawn(cmd[1])
                record: list[Seen] = []
                spawner = node.process.with_options({"trap_links": cmd[1]})
                pid = await spawner.spawn_monitored(puppet, None, record)
                index_of[pid] = len(pids)
                pids.append(pid)
                records.append(record)
            elif not model.alive:
                continue
            elif op == "unmonitor":
                monitors = sorted(m for m in model.monitors if m[0] in model.alive)
                if not monitors:
                    continue
                a, b = monitors[cmd[1] % len(monitors)]
                expected = model.command(op, a, b)
                await node.process.send(pids[a], op, pids[b])
            elif op == "unlink":
                if not model.links:
                    continue
                a, b = sorted(sorted(pair) for pair in model.links)[cmd[1] % len(model.links)]
                a, b = (b, a) if cmd[2] else (a, b)
                expected = model.command(op, a, b)
                await node.process.send(pids[a], op, pids[b])
            elif op == "terminate":
                a = cmd[1] % len(pids)  # any process: terminating a dead one returns False
                expected = model.terminate(a)
                assert await node.process.terminate(pids[a]) is expected.terminated
            else:
                a = sorted(model.alive)[cmd[1] % len(model.alive)]  # commands to the dead are dropped unseen
                # Targets: the other live processes first (the interesting case), then the dead, then itself.
                others = sorted(model.alive - {a}) + sorted(set(range(len(pids))) - model.alive) + [a]
                arg = others[cmd[2] % len(others)] if op in ("link", "monitor") else cmd[2] if op == "trap" else None
                expected = model.command(op, a, arg)
                await node.process.send(pids[a], op, pids[arg] if op in ("link", "monitor") else arg)
            await settle()

            assert {i for i, pid in enumerate(pids) if is_alive(node, pid)} == model.alive, f"alive after step {number}: {cmd}"
            got_root = [_obs(s, index_of) for s in root_events(node)]
            assert _multiset(got_root) == _multiset(expected.root), f"root events after step {number}: {cmd}"
            for i, record in enumerate(records):
                got = [_obs(s, index_of) for s in record[before[i] if i < len(before) else 0:]]
                if i in expected.at_most:
                    assert not _multiset(got) - _multiset(expected.at_most[i]), f"process {i} after step {number}: {cmd}"
                else:
                    assert _multiset(got) == _multiset(expected.exact.get(i, [])), f"process {i} after step {number}: {cmd}"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(initial=INITIAL, commands=COMMANDS)
def test_links_monitors_and_exits_follow_the_reference_model(initial: list[bool],
                                                              commands: list[tuple[Any, ...]]) -> None:
    program = [("spawn", trap) for trap in initial] + commands
    trio.run(interpret, program, clock=trio.testing.MockClock(autojump_threshold=0))
