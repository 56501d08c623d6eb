"""Supervisor rules on the local host, on a virtual clock: strategies, restart types, the intensity window,
start order and reverse stop order, shutdown timeouts, nesting, simple_one_for_one and the control calls."""

from __future__ import annotations

import pytest
import trio
import trio.testing

import pidflow
from pidflow import ErrorKind
from pidflow.supervision import ChildSpec, Restart, Strategy, Supervisor, SupervisorSpec, supervise

from ._support import Journal, Kid, alive, kid, kids, pids, settle, start, supervisor_exit, tell


# -- strategies ---------------------------------------------------------------------------------------------------
async def test_one_for_one_restarts_only_the_failed_child(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    journal = Journal()
    sup = await start(node, SupervisorSpec(kids(journal, "a", "b", "c"), Strategy.ONE_FOR_ONE, intensity=3))
    before = await pids(sup)
    journal.clear()
    await tell(node, sup, "b", "crash")
    after = await pids(sup)
    assert after["a"] == before["a"] and after["c"] == before["c"]
    assert after["b"] != before["b"] and alive(node, after["b"])
    assert [(n.what, n.id) for n in journal.notes] == [("stop", "b"), ("start", "b")]


async def test_one_for_all_stops_the_others_in_reverse_order_and_restarts_all(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    journal = Journal()
    sup = await start(node, SupervisorSpec(kids(journal, "a", "b", "c", "d"), Strategy.ONE_FOR_ALL, intensity=3))
    before = await pids(sup)
    journal.clear()
    await tell(node, sup, "b", "crash")
    after = await pids(sup)
    assert all(after[i] != before[i] and alive(node, after[i]) for i in "abcd")
    assert journal.of("stop") == ["b", "d", "c", "a"]
    assert sorted(journal.of("start")) == ["a", "b", "c", "d"]
    assert not any(alive(node, p) for p in before.values())


async def test_rest_for_one_restarts_the_failed_child_and_those_after_it(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    journal = Journal()
    sup = await start(node, SupervisorSpec(kids(journal, "a", "b", "c", "d"), Strategy.REST_FOR_ONE, intensity=3))
    before = await pids(sup)
    journal.clear()
    await tell(node, sup, "b", "crash")
    after = await pids(sup)
    assert after["a"] == before["a"]
    assert all(after[i] != before[i] and alive(node, after[i]) for i in "bcd")
    assert journal.of("stop") == ["b", "d", "c"]
    assert sorted(journal.of("start")) == ["b", "c", "d"]


@pytest.mark.parametrize("strategy", [Strategy.ONE_FOR_ALL, Strategy.REST_FOR_ONE])
async def test_a_temporary_sibling_stopped_by_a_group_restart_is_not_restarted(
        node: pidflow.Node, strategy: Strategy, autojump_clock: trio.testing.MockClock) -> None:
    journal = Journal()
    children = kids(journal, "a") + kids(journal, "t", restart=Restart.TEMPORARY) + kids(journal, "z")
    sup = await start(node, SupervisorSpec(children, strategy, intensity=3))
    before = await pids(sup)
    journal.clear()
    await tell(node, sup, "a", "crash")
    after = await pids(sup)
    assert "t" not in after  # OTP: temporary children are never restarted, also not by a sibling's failure
    assert not alive(node, before["t"])
    assert "t" not in journal.of("start")
    assert after["z"] != before["z"] and alive(node, after["z"])


# -- restart types ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("topic", ["crash", "exit"])
async def test_a_permanent_child_is_restarted_after_any_end(node: pidflow.Node, autojump_clock: trio.testing.MockClock, topic: str) -> None:
    journal = Journal()
    sup = await start(node, SupervisorSpec(kids(journal, "p", restart=Restart.PERMANENT), intensity=3))
    before = (await pids(sup))["p"]
    await tell(node, sup, "p", topic)
    after = (await pids(sup))["p"]
    assert after is not None and after != before and alive(node, after)
    assert journal.of("start") == ["p", "p"]


async def test_a_transient_child_is_restarted_after_an_abnormal_end(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    journal = Journal()
    sup = await start(node, SupervisorSpec(kids(journal, "t", restart=Restart.TRANSIENT), intensity=3))
    before = (await pids(sup))["t"]
    await tell(node, sup, "t", "crash")
    after = (await pids(sup))["t"]
    assert after is not None and after != before and alive(node, after)


async def test_a_transient_child_that_ends_normally_stays_listed_without_a_pid(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    journal = Journal()
    sup = await start(node, SupervisorSpec(kids(journal, "t", restart=Restart.TRANSIENT), intensity=3))
    await tell(node, sup, "t", "exit")
    assert await pids(sup) == {"t": None}
    assert journal.of("start") == ["t"]


@pytest.mark.parametrize("topic", ["crash", "exit"])
async def test_a_temporary_child_is_never_restarted_and_leaves_the_list(node: pidflow.Node, autojump_clock: trio.testing.MockClock, topic: str) -> None:
    journal = Journal()
    children = kids(journal, "keep") + kids(journal, "tmp", restart=Restart.TEMPORARY)
    sup = await start(node, SupervisorSpec(children, intensity=0))
    await tell(node, sup, "tmp", topic)
    assert list(await pids(sup)) == ["keep"]
    assert journal.of("start") == ["keep", "tmp"] or journal.of("start") == ["tmp", "keep"]
    assert alive(node, sup.pid)  # intensity 0: a restart would have ended the supervisor


# -- intensity ------------------------------------------------------------------------------------------------------
async def test_restarts_spaced_beyond_the_period_do_not_accumulate(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    journal = Journal()
    sup = await start(node, SupervisorSpec(kids(journal, "a"), intensity=1, period=5.0))
    for _ in range(6):
        await tell(node, sup, "a", "crash")
        await trio.sleep(5.0)
    assert alive(node, sup.pid)
    assert journal.of("start") == ["a"] * 7


async def test_exactly_intensity_restarts_within_the_period_are_allowed(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    journal = Journal()
    sup = await start(node, SupervisorSpec(kids(journal, "a"), intensity=3, period=10.0))
    for _ in range(3):
        await tell(node, sup, "a", "crash")
        await trio.sleep(3.0)
    assert alive(node, sup.pid)
    assert len(journal.of("start")) == 4


async def test_more_than_intensity_restarts_within_the_period_end_the_supervisor_naming_it(
        node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    journal = Journal()
    spec = SupervisorSpec(kids(journal, "a", "b"), intensity=2, period=10.0, name="billing")
    sup = await start(node, spec)
    running = await pids(sup)
    for _ in range(2):
        await tell(node, sup, "a", "crash")
        await trio.sleep(4.0)
    await tell(node, sup, "a", "crash")  # the third restart at t=8: three within 10 s
    result = await supervisor_exit(node, sup)
    assert result.error is not None
    assert "supervisor billing" in result.error.message
    assert "restart intensity" in result.error.message and "child a" in result.error.message
    assert not alive(node, sup.pid)
    assert not alive(node, running["b"])  # its children are stopped first
    assert journal.notes[-1].what == "stop"


async def test_a_supervisor_that_gives_up_stops_its_children_in_reverse_order(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    journal = Journal()
    sup = await start(node, SupervisorSpec(kids(journal, "a", "b", "c", "d"), intensity=0))
    journal.clear()
    await tell(node, sup, "b", "crash")
    await supervisor_exit(node, sup)
    assert journal.of("stop") == ["b", "d", "c", "a"]


# -- order and shutdown ---------------------------------------------------------------------------------------------
async def test_children_are_started_in_spec_order(node: pidflow.Node, autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[str] = []
    spawn = node.spawn

    async def recording_spawn(request, host_id=None):  # type: ignore[no-untyped-def]
        if isinstance(request.input, Kid):
            started.append(request.input.id)
        return await spawn(request, host_id)

    monkeypatch.setattr(node, "spawn", recording_spawn)
    journal = Journal()
    sup = await start(node, SupervisorSpec(kids(journal, "a", "b", "c", "d"), Strategy.ONE_FOR_ALL, intensity=1))
    assert started == ["a", "b", "c", "d"]
    assert list(await pids(sup)) == ["a", "b", "c", "d"]
    started.clear()
    await tell(node, sup, "c", "crash")
    assert started == ["a", "b", "c", "d"]  # a group restart starts in spec order too


async def test_a_cancelled_supervisor_stops_children_one_by_one_in_reverse_order(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    journal = Journal()
    # Each child needs 1 s after CANCEL: the next one must not get CANCEL before the previous one stopped.
    sup = await start(node, SupervisorSpec(kids(journal, "a", "b", "c", trap=True, stop_takes=1.0)))
    t0 = trio.current_time()
    journal.clear()
    await node.process.cancel(sup.pid, 30)
    result = await supervisor_exit(node, sup)
    assert result.error is None
    assert [(n.what, n.id, pytest.approx(n.at - t0)) for n in journal.notes] == [
        ("cancel", "c", 0.0), ("stop", "c", 1.0),
        ("cancel", "b", 1.0), ("stop", "b", 2.0),
        ("cancel", "a", 2.0), ("stop", "a", 3.0),
    ]


async def test_a_child_that_ignores_cancel_is_terminated_after_its_shutdown_timeout(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    journal = Journal()
    children = kids(journal, "stubborn", trap=True, ignore_cancel=True, shutdown=7.0) + kids(journal, "last")
    sup = await start(node, SupervisorSpec(children))
    t0 = trio.current_time()
    journal.clear()
    await node.process.cancel(sup.pid, 60)
    await supervisor_exit(node, sup)
    assert [(n.what, n.id, pytest.approx(n.at - t0)) for n in journal.notes] == [
        ("stop", "last", 0.0),          # does not trap links: ended at once
        ("cancel", "stubborn", 0.0),
        ("stop", "stubborn", 7.0),      # terminated when its shutdown timeout passed
    ]


# -- nesting ----------------------------------------------------------------------------------------------------------
async def test_an_inner_supervisor_that_exceeds_its_intensity_is_restarted_by_the_outer(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    journal = Journal()
    inner = SupervisorSpec(kids(journal, "leaf"), intensity=0, name="inner")
    outer_children = (ChildSpec(id="inner", entry=supervise, input=inner),) + kids(journal, "sibling")
    outer = await start(node, SupervisorSpec(outer_children, intensity=2, name="outer"))
    before = await pids(outer)
    inner_sup = Supervisor(node, before["inner"])  # type: ignore[arg-type]
    leaf = (await pids(inner_sup))["leaf"]
    journal.clear()
    await node.process.send(leaf, "crash")  # type: ignore[arg-type]
    await settle()
    after = await pids(outer)
    assert after["sibling"] == before["sibling"]
    assert after["inner"] != before["inner"] and alive(node, after["inner"])
    assert not alive(node, before["inner"])
    new_leaf = (await pids(Supervisor(node, after["inner"])))["leaf"]  # type: ignore[arg-type]
    assert alive(node, new_leaf) and new_leaf != leaf
    assert journal.of("start") == ["leaf"]
    assert alive(node, outer.pid)


async def test_an_outer_supervisor_that_gives_up_stops_the_inner_tree(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    journal = Journal()
    inner = SupervisorSpec(kids(journal, "leaf1", "leaf2"), name="inner")
    outer = await start(node, SupervisorSpec((ChildSpec(id="inner", entry=supervise, input=inner),)
                                             + kids(journal, "bad"), intensity=0, name="outer"))
    inner_pid = (await pids(outer))["inner"]
    journal.clear()
    await tell(node, outer, "bad", "crash")
    result = await supervisor_exit(node, outer)
    assert result.error is not None and "supervisor outer" in result.error.message
    assert not alive(node, inner_pid)
    assert journal.of("stop") == ["bad", "leaf2", "leaf1"]


# -- simple_one_for_one -----------------------------------------------------------------------------------------------
async def test_simple_one_for_one_starts_children_from_the_template_with_the_given_input(
        node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    journal = Journal()
    template = ChildSpec(id="worker", entry=kid, restart=Restart.TRANSIENT)
    sup = await start(node, SupervisorSpec((template,), Strategy.SIMPLE_ONE_FOR_ONE, intensity=5))
    assert await sup.which_children() == []  # nothing starts with the supervisor
    first = await sup.start_child(Kid("w1", journal))
    second = await sup.start_child(Kid("w2", journal))
    await settle()
    assert sorted(journal.of("start")) == ["w1", "w2"]
    children = await pids(sup)
    assert list(children.values()) == [first, second] and first != second
    assert all(i.startswith("worker-") for i in children)

    await node.process.send(first, "crash")  # transient, abnormal: restarted with the same input
    await settle()
    restarted = await pids(sup)
    assert len(restarted) == 2 and alive(node, list(restarted.values())[0]) and first not in restarted.values()
    assert journal.of("start").count("w1") == 2

    await node.process.send(second, "exit")  # transient, normal: gone from the list
    await settle()
    assert list((await pids(sup)).values()) == [list(restarted.values())[0]]


async def test_simple_one_for_one_stops_dynamic_children_in_reverse_order(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    journal = Journal()
    sup = await start(node, SupervisorSpec((ChildSpec(id="w", entry=kid),), Strategy.SIMPLE_ONE_FOR_ONE))
    for i in range(4):
        await sup.start_child(Kid(f"w{i}", journal))
    await settle()
    journal.clear()
    await node.process.cancel(sup.pid, 30)
    await supervisor_exit(node, sup)
    assert journal.of("stop") == ["w3", "w2", "w1", "w0"]


# -- control calls ----------------------------------------------------------------------------------------------------
async def test_terminate_child_stops_it_without_a_restart_and_restart_child_starts_it_again(
        node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    journal = Journal()
    sup = await start(node, SupervisorSpec(kids(journal, "a", "b"), intensity=0))
    before = await pids(sup)
    await sup.terminate_child("b")
    await settle()
    assert await pids(sup) == {"a": before["a"], "b": None}
    assert not alive(node, before["b"])
    assert alive(node, sup.pid)  # intensity 0: terminate_child is not a failure to restart from
    new = await sup.restart_child("b")
    await settle()
    assert alive(node, new) and new != before["b"]
    assert (await pids(sup))["b"] == new


async def test_restart_child_and_delete_child_refuse_a_running_child(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    journal = Journal()
    sup = await start(node, SupervisorSpec(kids(journal, "a")))
    with pytest.raises(pidflow.Error, match="child 'a' of supervisor .* is running") as restart_info:
        await sup.restart_child("a")
    assert restart_info.value.kind is ErrorKind.CONFLICT
    with pytest.raises(pidflow.Error, match="is running") as delete_info:
        await sup.delete_child("a")
    assert delete_info.value.kind is ErrorKind.CONFLICT


async def test_delete_child_removes_a_terminated_child(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    journal = Journal()
    sup = await start(node, SupervisorSpec(kids(journal, "a", "b")))
    await sup.terminate_child("a")
    await sup.delete_child("a")
    assert list(await pids(sup)) == ["b"]
    with pytest.raises(pidflow.Error, match="has no child 'a'") as info:
        await sup.restart_child("a")
    assert info.value.kind is ErrorKind.NOT_FOUND


async def test_start_child_adds_a_spec_and_refuses_a_duplicate_id(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    journal = Journal()
    sup = await start(node, SupervisorSpec(kids(journal, "a")))
    (extra,) = kids(journal, "x")
    pid = await sup.start_child(extra)
    await settle()
    assert list(await pids(sup)) == ["a", "x"] and alive(node, pid)
    with pytest.raises(pidflow.Error, match="already has a child 'x'") as info:
        await sup.start_child(extra)
    assert info.value.kind is ErrorKind.ALREADY_EXISTS
    await node.process.send(pid, "crash")  # a child added later is supervised like the others
    await settle()
    assert alive(node, (await pids(sup))["x"])


async def test_which_children_reports_id_pid_restart_and_durability(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    journal = Journal()
    sup = await start(node, SupervisorSpec(kids(journal, "a", restart=Restart.TRANSIENT)))
    (child,) = await sup.which_children()
    assert child == {"id": "a", "pid": child["pid"], "restart": "transient", "durable": False}
    assert alive(node, child["pid"])


async def test_a_handle_on_an_ended_supervisor_says_so(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    sup = await start(node, SupervisorSpec(kids(Journal(), "a")))
    await node.process.cancel(sup.pid, 5)
    await supervisor_exit(node, sup)
    with pytest.raises(pidflow.Error, match="no running supervisor") as info:
        await sup.which_children()
    assert info.value.kind is ErrorKind.NOT_FOUND


async def test_a_child_that_fails_to_start_stops_the_started_ones_and_fails_the_supervisor(
        node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    journal = Journal()
    children = kids(journal, "a", "b") + (ChildSpec(id="broken", entry="app:nothing"),) + kids(journal, "c")
    t0 = trio.current_time()
    sup = await start(node, SupervisorSpec(children, name="boot"))
    result = await supervisor_exit(node, sup)
    assert trio.current_time() == pytest.approx(t0)  # the started children's exits are seen at once
    assert result.error is not None
    assert "supervisor boot: child broken failed to start" in result.error.message
    assert journal.of("stop") == ["b", "a"]
    assert "c" not in journal.of("start")
