"""The node's name registry against a reference model: a hypothesis ``RuleBasedStateMachine``.

Rules spawn processes, register names for them (with ``register`` and through ``with_name`` spawns), unregister
names and end processes (a normal end, a crash, a terminate). The model is a dict of names to process indices and
a set of live processes, with the registry's rules: one holder per name, several names per holder, every name of
a holder released when it ends. After every rule the invariant compares ``whereis`` / ``lookup`` of every name.

The node lives in a trio run on a thread of its own for the whole example, and the rules call into it with
``trio.from_thread.run``: the system under test is async, the state machine is not. (``test_model.py`` interprets a
command list inside one ``trio.run`` instead; a state machine lets hypothesis pick each rule from the state.)
"""

from __future__ import annotations

import threading
from typing import Any, Awaitable, Callable

import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import pidflow
from pidflow import ErrorKind, Pid

NAMES = ("a", "b", "c", "d")
MAX_PROCESSES = 6
_name = st.sampled_from(NAMES)
_index = st.integers(0, MAX_PROCESSES - 1)


async def until_told(_: Any) -> None:
    async for message in pidflow.process.inbox():
        if message.topic == "stop":
            return
        if message.topic == "crash":
            raise RuntimeError("told to crash")


class NodeThread:
    """A node open in ``trio.run`` on its own thread until :meth:`close`; :meth:`call` runs ``afn`` in it and
    waits until every task is blocked again (processes ran what the call set off)."""

    def __init__(self) -> None:
        self.node: pidflow.Node = None  # type: ignore[assignment]
        self._token: trio.lowlevel.TrioToken | None = None
        self._stop: trio.Event | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="names-model-node", daemon=True)
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the node did not open")
        if self._failure is not None:
            raise self._failure

    def _run(self) -> None:
        try:
            trio.run(self._main)
        except BaseException as exc:  # noqa: BLE001 - reported by close()
            self._failure = exc
            self._ready.set()

    async def _main(self) -> None:
        async with pidflow.open_node() as node:
            self.node = node
            self._token = trio.lowlevel.current_trio_token()
            self._stop = trio.Event()
            self._ready.set()
            await self._stop.wait()

    def call(self, afn: Callable[[], Awaitable[Any]]) -> Any:
        async def go() -> Any:
            try:
                return await afn()
            finally:
                await trio.testing.wait_all_tasks_blocked()

        return trio.from_thread.run(go, trio_token=self._token)

    def close(self) -> None:
        if self._token is not None and self._stop is not None:
            trio.from_thread.run_sync(self._stop.set, trio_token=self._token)
        self._thread.join(30)
        assert not self._thread.is_alive(), "the node did not close"
        if self._failure is not None:
            raise self._failure


@settings(max_examples=60, stateful_step_count=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
class NamesMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.node_thread = NodeThread()
        self.api = self.node_thread.node.process
        self.pids: list[Pid] = []
        self.alive: set[int] = set()
        self.holders: dict[str, int] = {}  # the model: name -> process index

    def teardown(self) -> None:
        self.node_thread.close()

    def _pick(self, index: int) -> int:
        return index % len(self.pids)

    def _spawn(self, spawner: Any) -> Pid:
        return self.node_thread.call(lambda: spawner.spawn(until_told))

    # -- rules ---------------------------------------------------------------------------------------------------
    @precondition(lambda self: len(self.pids) < MAX_PROCESSES)
    @rule()
    def spawn(self) -> None:
        self.pids.append(self._spawn(self.api))
        self.alive.add(len(self.pids) - 1)

    @precondition(lambda self: len(self.pids) < MAX_PROCESSES)
    @rule(name=_name)
    def spawn_with_name(self, name: str) -> None:
        pid = self._spawn(self.api.with_name(name))
        if name in self.holders:  # reached the holder: nothing started
            assert pid == self.pids[self.holders[name]]
            return
        self.pids.append(pid)
        self.alive.add(len(self.pids) - 1)
        self.holders[name] = len(self.pids) - 1

    @precondition(lambda self: self.pids)
    @rule(name=_name, index=_index)
    def register(self, name: str, index: int) -> None:
        index = self._pick(index)
        try:
            self.node_thread.call(lambda: self.api.register(name, self.pids[index]))
        except pidflow.Error as err:
            if index not in self.alive:
                assert err.kind is ErrorKind.NOT_FOUND
            else:
                assert err.kind is ErrorKind.ALREADY_EXISTS and self.holders.get(name) not in (None, index)
            return
        assert index in self.alive and self.holders.get(name, index) == index
        self.holders[name] = index

    @rule(name=_name)
    def unregister(self, name: str) -> None:
        released = self.node_thread.call(lambda: self.api.unregister(name))
        assert released is (name in self.holders)
        self.holders.pop(name, None)

    @precondition(lambda self: self.pids)
    @rule(index=_index, how=st.sampled_from(["stop", "crash", "terminate"]))
    def end(self, index: int, how: str) -> None:
        index = self._pick(index)
        pid = self.pids[index]
        if how == "terminate":
            assert self.node_thread.call(lambda: self.api.terminate(pid)) is (index in self.alive)
        else:
            self.node_thread.call(lambda: self.api.send(pid, how))
        self.alive.discard(index)
        self.holders = {name: holder for name, holder in self.holders.items() if holder != index}

    # -- what must hold after every rule --------------------------------------------------------------------------
    @invariant()
    def names_match_the_model(self) -> None:
        for name in NAMES:
            expected = self.holders.get(name)
            if expected is None:
                assert self.api.whereis(name) is None
                with pytest.raises(pidflow.Error) as info:
                    self.api.lookup(name)
                assert info.value.kind is ErrorKind.NOT_FOUND
            else:
                assert self.api.lookup(name) == self.pids[expected]
        assert len(self.node_thread.node.names) == len(self.holders)


TestNamesModel = NamesMachine.TestCase
