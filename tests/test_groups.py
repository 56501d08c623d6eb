"""Process groups (OTP's ``pg``; ``pidflow._groups``) from Python: join, leave, members, which_groups, broadcast;
multi-join; members leave when they end; scopes; bad input; and the registry against a reference model (a
hypothesis state machine, as tests/actors/test_names_model.py does for names). Lua: tests/lua_apps/groups;
workflows as members: tests/workflows/test_workflow_groups.py."""

from __future__ import annotations

from typing import Any, AsyncIterator

import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import pidflow
from pidflow import Error, ErrorKind, Pid, process
from pidflow._groups import DEFAULT_SCOPE, GroupRegistry, registry


@pytest.fixture
async def node() -> AsyncIterator[pidflow.Node]:
    async with pidflow.open_node() as node:
        yield node


@pytest.fixture
def clock(autojump_clock: trio.testing.MockClock) -> trio.testing.MockClock:
    """Virtual time (pytest-trio runs a test on the clock among the fixtures the test itself requests)."""
    return autojump_clock


async def member(record: list[Any]) -> None:
    """Records what it receives; "join" GROUP joins, "leave" GROUP leaves, "stop" ends, "crash" raises."""
    async for message in process.inbox():
        if message.topic == "join":
            await process.join(message.data)
        elif message.topic == "leave":
            record.append(("left", await process.leave(message.data)))
        elif message.topic == "stop":
            return
        elif message.topic == "crash":
            raise RuntimeError("told to crash")
        else:
            record.append((message.topic, message.data, message.sender))


async def test_join_members_and_which_groups(node: pidflow.Node, clock: Any) -> None:
    api = node.process
    a = await api.spawn(member, None, [])
    b = await api.spawn(member, None, [])
    await api.join("workers", a)
    await api.join("workers", b)
    await api.join("all", a)
    assert api.get_members("workers") == [a, b]
    assert api.which_groups() == ["workers", "all"]
    assert api.get_members("nobody") == []


async def test_a_process_joins_itself_by_default(node: pidflow.Node, clock: Any) -> None:
    record: list[Any] = []
    a = await node.process.spawn(member, None, record)
    await node.process.send(a, "join", "workers")
    await trio.testing.wait_all_tasks_blocked()
    assert node.process.get_members("workers") == [a]
    await node.process.send(a, "leave", "workers")
    await node.process.send(a, "leave", "workers")
    await trio.testing.wait_all_tasks_blocked()
    assert record == [("left", True), ("left", False)] and node.process.get_members("workers") == []


async def test_multi_join_needs_as_many_leaves(node: pidflow.Node, clock: Any) -> None:
    api = node.process
    a = await api.spawn(member, None, [])
    await api.join("g", a)
    await api.join("g", a)
    assert api.get_members("g") == [a, a]
    assert await api.leave("g", a) is True
    assert api.get_members("g") == [a]
    assert await api.leave("g", a) is True
    assert await api.leave("g", a) is False
    assert api.get_members("g") == [] and api.which_groups() == []


@pytest.mark.parametrize("how", ["stop", "crash", "terminate"])
async def test_a_member_leaves_every_group_when_it_ends(node: pidflow.Node, clock: Any, how: str) -> None:
    api = node.process
    a = await api.spawn(member, None, [])
    b = await api.spawn(member, None, [])
    for group in ("g1", "g2", "g1"):
        await api.join(group, a)
    await api.join("g1", b)
    if how == "terminate":
        await api.terminate(a)
    else:
        await api.send(a, how)
    await trio.testing.wait_all_tasks_blocked()
    assert api.get_members("g1") == [b] and api.get_members("g2") == []
    assert not registry(node).is_member(a)


async def test_broadcast_reaches_each_member_process_once(node: pidflow.Node, clock: Any) -> None:
    api = node.process
    ra: list[Any] = []
    rb: list[Any] = []
    a = await api.spawn(member, None, ra)
    b = await api.spawn(member, None, rb)
    await api.join("g", a)
    await api.join("g", a)
    await api.join("g", b)
    assert await api.broadcast("g", "news", {"n": 1}) == 2
    assert await api.broadcast("empty", "news", 1) == 0
    await trio.testing.wait_all_tasks_blocked()
    assert ra == [("news", {"n": 1}, api.pid())] and rb == ra


async def test_scopes_are_isolated(node: pidflow.Node, clock: Any) -> None:
    api = node.process
    a = await api.spawn(member, None, [])
    await api.join("g", a, scope="app:pg")
    assert api.get_members("g") == [] and api.get_members("g", scope=DEFAULT_SCOPE) == []
    assert api.get_members("g", scope="app:pg") == [a]
    assert api.which_groups(scope="app:pg") == ["g"] and api.which_groups() == []


async def test_joining_for_a_process_that_is_not_running_is_not_found(node: pidflow.Node, clock: Any) -> None:
    a = await node.process.spawn(member, None, [])
    await node.process.terminate(a)
    await trio.testing.wait_all_tasks_blocked()
    with pytest.raises(Error, match="no such process") as info:
        await node.process.join("g", a)
    assert info.value.kind is ErrorKind.NOT_FOUND and node.process.get_members("g") == []


@pytest.mark.parametrize(("call", "argument"), [
    (lambda api: api.join(""), "group"), (lambda api: api.join(5), "group"), (lambda api: api.join("x" * 1001), "group"),
    (lambda api: api.join("g", scope=""), "scope"), (lambda api: api.leave(None), "group"),
    (lambda api: api.broadcast("", "t", 1), "group"), (lambda api: api.broadcast("g", "", 1), "topic"),
])
async def test_a_malformed_group_or_scope_is_invalid_naming_it(node: pidflow.Node, clock: Any, call: Any,
                                                               argument: str) -> None:
    with pytest.raises(Error) as info:
        await call(node.process)
    assert info.value.kind is ErrorKind.INVALID and info.value.details["argument"] == argument
    with pytest.raises(Error):
        node.process.get_members("")


async def test_a_group_name_may_be_any_non_empty_string(node: pidflow.Node, clock: Any) -> None:
    for name in ("{looks-like-a-pid", "with spaces", "ü", "x" * 1000):
        await node.process.join(name)
        assert node.process.get_members(name) == [node.process.pid()]


def test_the_registry_is_plain_data_in_join_order() -> None:
    groups = GroupRegistry(Pid("pidflow:groups", "watcher"))
    a, b = Pid("h", "a"), Pid("h", "b")
    assert groups.join("s", "g", a) is True and groups.join("s", "g", b) is True
    assert groups.join("s", "h", a) is False  # a is in a group already: watched already
    assert groups.members("s", "g") == [a, b] and groups.groups_of(a) == [("s", "g"), ("s", "h")]
    assert groups.release(a) == [("s", "g"), ("s", "h")]
    assert groups.members("s", "g") == [b] and groups.which_groups("s") == ["g"] and len(groups) == 1


# -- the registry against a reference model ---------------------------------------------------------------------------
GROUPS = ("a", "b", "c")
MAX_PROCESSES = 5
_group = st.sampled_from(GROUPS)
_index = st.integers(0, MAX_PROCESSES - 1)


@settings(max_examples=50, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
class GroupsMachine(RuleBasedStateMachine):
    """Rules spawn processes, join and leave groups (several times: multi-join) and end processes (a normal end,
    a crash, a terminate). The model: each group's members in join order, with multiplicity, and the live
    processes; a leave removes the first of a member's joins, an end all of them. After every rule the invariant
    compares ``get_members`` and ``which_groups``. The node runs on a thread of its own (``NodeThread``)."""

    def __init__(self) -> None:
        super().__init__()
        from tests.actors.test_names_model import NodeThread

        self.node_thread = NodeThread()
        self.api = self.node_thread.node.process
        self.pids: list[Pid] = []
        self.alive: set[int] = set()
        self.members: dict[str, list[int]] = {}

    def teardown(self) -> None:
        self.node_thread.close()

    def _pick(self, index: int) -> int:
        return index % len(self.pids)

    @precondition(lambda self: len(self.pids) < MAX_PROCESSES)
    @rule()
    def spawn(self) -> None:
        self.pids.append(self.node_thread.call(lambda: self.api.spawn(member, None, [])))
        self.alive.add(len(self.pids) - 1)

    @precondition(lambda self: self.pids)
    @rule(group=_group, index=_index)
    def join(self, group: str, index: int) -> None:
        index = self._pick(index)
        try:
            self.node_thread.call(lambda: self.api.join(group, self.pids[index]))
        except pidflow.Error as err:
            assert index not in self.alive and err.kind is ErrorKind.NOT_FOUND
            return
        assert index in self.alive
        self.members.setdefault(group, []).append(index)

    @precondition(lambda self: self.pids)
    @rule(group=_group, index=_index)
    def leave(self, group: str, index: int) -> None:
        index = self._pick(index)
        left = self.node_thread.call(lambda: self.api.leave(group, self.pids[index]))
        expected = index in self.members.get(group, [])
        assert left is expected
        if expected:
            self.members[group].remove(index)

    @precondition(lambda self: self.pids)
    @rule(index=_index, how=st.sampled_from(["stop", "crash", "terminate"]))
    def end(self, index: int, how: str) -> None:
        index = self._pick(index)
        pid = self.pids[index]
        if how == "terminate":
            self.node_thread.call(lambda: self.api.terminate(pid))
        else:
            self.node_thread.call(lambda: self.api.send(pid, how))
        self.alive.discard(index)
        self.members = {group: [i for i in joined if i != index] for group, joined in self.members.items()}

    @invariant()
    def groups_match_the_model(self) -> None:
        for group in GROUPS:
            assert self.api.get_members(group) == [self.pids[i] for i in self.members.get(group, [])]
        assert sorted(self.api.which_groups()) == sorted(g for g, joined in self.members.items() if joined)


TestGroupsModel = GroupsMachine.TestCase
