"""The supervisor against a pure reference model (OTP's rules), on generated command lists.

Each example runs one supervisor of local children under ``MockClock(autojump_threshold=0)`` inside its own
``trio.run``, applies commands (child i crashes, child i exits normally, time advances) and after every step
compares what the model predicts with what the supervisor reports: which children are listed, which run, how
many times each was started (a restart is a new PID), and whether the supervisor gave up (restart intensity).
"""

from __future__ import annotations

from typing import Any, Callable

import attrs
import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pidflow
from pidflow import EventKind
from pidflow.supervision import ChildSpec, Restart, Strategy, Supervisor, SupervisorSpec, supervise
from pidflow.supervision import _supervisor

from ._support import Journal, Kid, kid


# -- the reference model ----------------------------------------------------------------------------------------------
@attrs.define
class ModelChild:
    id: str
    restart: Restart
    running: bool = True
    starts: int = 1


@attrs.define
class Model:
    strategy: Strategy
    intensity: int
    period: float
    children: list[ModelChild]
    restarts: list[float] = attrs.field(factory=list)
    gave_up: bool = False

    def running(self, i: int) -> bool:
        return not self.gave_up and i < len(self.children) and self.children[i].running

    def child_ended(self, i: int, abnormal: bool, now: float) -> None:
        child = self.children[i]
        child.running = False
        restart = child.restart is Restart.PERMANENT or (child.restart is Restart.TRANSIENT and abnormal)
        if not restart:
            if child.restart is Restart.TEMPORARY:
                del self.children[i]
            return
        # A restart at ``now`` counts while now - t < period; more than ``intensity`` of them: give up.
        self.restarts = [t for t in self.restarts if now - t < self.period] + [now]
        if len(self.restarts) > self.intensity:
            self.gave_up = True
            for c in self.children:
                c.running = False
            return
        if self.strategy is Strategy.ONE_FOR_ONE:
            group = [child]
        else:
            first = 0 if self.strategy is Strategy.ONE_FOR_ALL else i
            # temporary siblings in the group are stopped and dropped, never restarted
            self.children[first:] = [c for c in self.children[first:]
                                     if c is child or c.restart is not Restart.TEMPORARY]
            group = self.children[first:]
        for c in group:
            c.running = True
            c.starts += 1

    def view(self) -> list[tuple[str, bool, int]]:
        return [(c.id, c.running, c.starts) for c in self.children]


# -- commands -------------------------------------------------------------------------------------------------------
commands = st.lists(st.one_of(
    st.tuples(st.just("crash"), st.integers(0, 3)),
    st.tuples(st.just("exit"), st.integers(0, 3)),
    st.tuples(st.just("advance"), st.sampled_from([0.5, 1.0, 2.5, 4.0, 10.0])),
), min_size=1, max_size=25)

scenarios = st.fixed_dictionaries({
    "strategy": st.sampled_from([Strategy.ONE_FOR_ONE, Strategy.ONE_FOR_ALL, Strategy.REST_FOR_ONE]),
    "restarts": st.lists(st.sampled_from(list(Restart)), min_size=1, max_size=4),
    "intensity": st.integers(0, 4),
    "period": st.sampled_from([1.0, 3.0, 5.0, 20.0]),
    "commands": commands,
})


async def _run(scenario: dict[str, Any]) -> None:
    journal = Journal()
    ids = [f"c{i}" for i in range(len(scenario["restarts"]))]
    spec = SupervisorSpec(
        children=tuple(ChildSpec(id=i, entry=kid, input=Kid(i, journal), restart=r)
                       for i, r in zip(ids, scenario["restarts"])),
        strategy=scenario["strategy"], intensity=scenario["intensity"], period=scenario["period"], name="model")
    model = Model(scenario["strategy"], scenario["intensity"], scenario["period"],
                  [ModelChild(i, r) for i, r in zip(ids, scenario["restarts"])])
    async with pidflow.open_node() as node:
        pid = await node.process.spawn_monitored(supervise, None, spec)
        sup = Supervisor(node, pid)
        await trio.testing.wait_all_tasks_blocked()
        seen_pids: dict[str, Any] = {}

        async def observe() -> list[tuple[str, bool, int]]:
            await trio.testing.wait_all_tasks_blocked()
            if not node.host(None).is_alive(pid):
                return []
            out = []
            for child in await sup.which_children():
                running = child["pid"] is not None and bool(node.host(None).is_alive(child["pid"]))
                out.append((child["id"], running, journal.of("start").count(child["id"])))
                if child["pid"] is not None:
                    seen_pids.setdefault(child["id"], set()).add(child["pid"])
            return out

        assert await observe() == model.view()
        for step, (command, arg) in enumerate(scenario["commands"]):
            if command == "advance":
                await trio.sleep(arg)
            else:
                if not model.running(arg):
                    continue
                child_id = model.children[arg].id
                child_pid = {c["id"]: c["pid"] for c in await sup.which_children()}[child_id]
                await node.process.send(child_pid, command)
                model.child_ended(arg, abnormal=command == "crash", now=trio.current_time())
            actual = await observe()
            if model.gave_up:
                assert actual == [], f"step {step}: the supervisor should have given up"
                break
            assert actual == model.view(), f"step {step} ({command} {arg})"
            for c in model.children:  # every start is a new incarnation with a new PID
                assert len(seen_pids.get(c.id, ())) == c.starts
        if model.gave_up:
            with trio.fail_after(1):
                async for event in node.process.events():
                    if event.kind is EventKind.EXIT and event.from_ == pid:
                        assert event.result is not None and event.result.error is not None
                        assert "supervisor model reached its restart intensity" in event.result.error.message
                        break
            assert not any(node.host(None).is_alive(p) for ps in seen_pids.values() for p in ps)


def run_scenario(scenario: dict[str, Any]) -> None:
    trio.run(_run, scenario, clock=trio.testing.MockClock(autojump_threshold=0))


def _property(max_examples: int) -> Callable[[], None]:
    @settings(max_examples=max_examples, deadline=None, derandomize=True, report_multiple_bugs=False,
              suppress_health_check=[HealthCheck.too_slow])
    @given(scenarios)
    def check(scenario: dict[str, Any]) -> None:
        run_scenario(scenario)

    return check


def test_the_supervisor_follows_the_reference_model() -> None:
    _property(150)()


@pytest.mark.parametrize("broken", [
    pytest.param(lambda restart, result: restart is not Restart.TEMPORARY, id="transient-always-restarts"),
    pytest.param(lambda restart, result: result.error is not None, id="permanent-only-on-error"),
])
def test_the_model_test_catches_a_wrong_restart_rule(monkeypatch: pytest.MonkeyPatch, broken: Any) -> None:
    monkeypatch.setattr(_supervisor, "should_restart", broken)
    with pytest.raises(AssertionError):
        _property(150)()


def test_the_model_test_catches_a_wrong_intensity_window(monkeypatch: pytest.MonkeyPatch) -> None:
    def never_forgets(self: Any, now: float) -> bool:
        self._times.append(now)
        return len(self._times) <= self.intensity

    monkeypatch.setattr(_supervisor.RestartWindow, "add", never_forgets)
    with pytest.raises(AssertionError):
        _property(150)()
