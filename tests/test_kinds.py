"""Entry kinds: a kind of one's own is declared once (keys, checks, references, what it builds) and then loads,
validates, spawns, calls and starts with the node exactly like a built-in one."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
import trio
import trio.testing

import pidflow
from pidflow import ErrorKind, Kind, Reference
from pidflow.entries import Entry, from_dicts


def greeter_kind(log: list[str] | None = None) -> Kind:
    """``test.greeter``: a process body that answers every message with its ``greeting``."""

    def check(entry: Entry) -> list[str]:
        greeting = entry.spec.get("greeting")
        return [] if isinstance(greeting, str) else [f"greeting must be a string, got {greeting!r}"]

    def body(node: Any, entry: Entry) -> Any:
        async def main(_input: Any) -> None:
            async for message in pidflow.process.inbox():
                await pidflow.process.send(message.sender, "greeting", f"{entry.spec['greeting']}, {message.data}")

        return main

    return Kind(name="test.greeter", required={"greeting"}, optional={"shout"}, check=check, body=body)


def shouter_kind() -> Kind:
    """``test.upper``: a function kind."""

    def function(node: Any, entry: Entry) -> Any:
        async def call(text: str, context: Any = None) -> str:
            return text.upper() + entry.spec.get("suffix", "")

        return call

    return Kind(name="test.upper", optional={"suffix"}, function=function)


@attrs.define
class _Recorder:
    log: list[str]
    name: str
    pid: pidflow.Pid | None = None

    async def stop(self) -> None:
        self.log.append(f"stop {self.name}")


@attrs.define
class _Watching:
    node: Any
    watched: pidflow.Pid
    log: list[str]
    pid: pidflow.Pid | None = None

    async def stop(self) -> None:
        alive = self.node.route(self.watched).is_alive(self.watched)
        self.log.append(f"{self.watched.host} alive at stop: {alive}")


def service_kind(log: list[str]) -> Kind:
    """``test.service``: started with the node, unless ``enabled: false``."""

    async def start(node: Any, entry: Entry) -> _Recorder | None:
        if entry.spec.get("enabled") is False:
            return None
        log.append(f"start {entry.id} (root process {node.process.pid().id})")
        return _Recorder(log, entry.id)

    def references(entry: Entry) -> list[Reference]:
        target = entry.spec.get("greeter")
        return [Reference("greeter", entry.namespace + ":" + target, kinds=("test.greeter",))] if target else []

    return Kind(name="test.service", optional={"enabled", "greeter"}, references=references, service=start)


@pytest.fixture
def kinds() -> pidflow.KindRegistry:
    registry = pidflow.builtin_kinds()
    registry.register(greeter_kind())
    registry.register(shouter_kind())
    return registry


def problems_of(specs: list[dict[str, Any]], kinds: pidflow.KindRegistry) -> list[str]:
    with pytest.raises(pidflow.Error) as info:
        from_dicts("app", specs, kinds=kinds)
    assert info.value.kind is ErrorKind.INVALID
    return info.value.details["problems"]


# -- declaring -------------------------------------------------------------------------------------------------

def test_a_custom_process_kind_is_spawned_like_a_built_in_one(kinds: pidflow.KindRegistry) -> None:
    registry = from_dicts("app", [{"name": "hi", "kind": "test.greeter", "greeting": "hello"}], kinds=kinds)

    async def main() -> str:
        async with pidflow.open_node(registry, kinds=kinds) as node:
            pid = await node.process.spawn("app:hi")
            await node.process.send(pid, "name", "ada")
            reply = await node.process.inbox().receive()
            return reply.data

    assert trio.run(main) == "hello, ada"


def test_a_custom_function_kind_is_called_like_a_built_in_one(kinds: pidflow.KindRegistry) -> None:
    registry = from_dicts("app", [{"name": "up", "kind": "test.upper", "suffix": "!"}], kinds=kinds)

    async def main() -> str:
        async with pidflow.open_node(registry, kinds=kinds) as node:
            return await node.call("app:up", "quiet")

    assert trio.run(main) == "QUIET!"


def test_a_custom_kind_loads_from_yaml(tmp_path: Any, kinds: pidflow.KindRegistry) -> None:
    app = tmp_path / "app.yaml"
    app.write_text('version: "1.0"\nnamespace: app\nentries:\n  - {name: hi, kind: test.greeter, greeting: hey}\n')
    registry = pidflow.load_entries(app, kinds)
    assert registry.get("app:hi").kind == "test.greeter"


def test_keys_of_a_custom_kind_are_checked_by_name(kinds: pidflow.KindRegistry) -> None:
    problems = problems_of([{"name": "hi", "kind": "test.greeter", "colour": "blue"}], kinds)
    assert len(problems) == 3
    assert "entry app:hi: missing key 'greeting'" in problems[0]
    assert "entry app:hi: unknown key 'colour' for kind test.greeter" in problems[1]
    assert "entry app:hi: greeting must be a string, got None" in problems[2]


def test_a_kind_unknown_to_the_registry_in_use_is_reported_with_the_known_ones() -> None:
    problems = problems_of([{"name": "hi", "kind": "test.greeter", "greeting": "x"}], pidflow.builtin_kinds())
    assert "unknown kind 'test.greeter'" in problems[0]
    assert "process.lua" in problems[0]


def test_a_checker_that_crashes_is_reported_as_a_problem_of_the_entry() -> None:
    def broken(entry: Entry) -> list[str]:
        raise KeyError("oops")

    kinds = pidflow.builtin_kinds()
    kinds.register(Kind(name="test.broken", optional={"x"}, check=broken))
    [problem] = problems_of([{"name": "b", "kind": "test.broken"}], kinds)
    assert "entry app:b: kind test.broken could not check this entry: KeyError" in problem


def test_a_supervisor_supervises_a_custom_process_kind(kinds: pidflow.KindRegistry) -> None:
    registry = from_dicts("app", [
        {"name": "hi", "kind": "test.greeter", "greeting": "hello"},
        {"name": "root", "kind": "supervisor", "children": [{"id": "hi", "entry": "hi"}]},
    ], kinds=kinds)

    async def main() -> list[Any]:
        async with pidflow.open_node(registry, kinds=kinds) as node:
            [sup] = node.root_supervisors
            await trio.testing.wait_all_tasks_blocked()
            return await pidflow.Supervisor(node, sup).which_children()

    [child] = trio.run(main)
    assert child["id"] == "hi" and child["pid"] is not None


def test_references_accept_kinds_by_name_or_by_role(kinds: pidflow.KindRegistry) -> None:
    kinds.register(service_kind([]))
    problems = problems_of([
        {"name": "up", "kind": "test.upper"},
        {"name": "svc", "kind": "test.service", "greeter": "up"},
        {"name": "root", "kind": "supervisor", "children": [{"id": "f", "entry": "up"}]},
    ], kinds)
    assert "entry app:svc: greeter refers to app:up, a test.upper, expected test.greeter" in problems[0]
    assert "entry app:root: children[0].entry refers to app:up, a test.upper, expected a process" in problems[1]


# -- services --------------------------------------------------------------------------------------------------

def test_services_start_in_declaration_order_and_stop_in_reverse(kinds: pidflow.KindRegistry) -> None:
    log: list[str] = []
    kinds.register(service_kind(log))
    registry = from_dicts("app", [
        {"name": "first", "kind": "test.service"},
        {"name": "off", "kind": "test.service", "enabled": False},
        {"name": "second", "kind": "test.service"},
    ], kinds=kinds)

    async def main() -> None:
        async with pidflow.open_node(registry, kinds=kinds) as node:
            assert list(node.services) == ["app:first", "app:second"]
            log.append("running")

    trio.run(main)
    assert log == ["start app:first (root process 0)", "start app:second (root process 0)", "running",
                   "stop app:second", "stop app:first"]


def test_services_start_after_every_host_and_stop_before_any(kinds: pidflow.KindRegistry) -> None:
    """A service may spawn on any declared host when it starts, and its processes still run when it stops."""
    log: list[str] = []

    async def start(node: Any, entry: Entry) -> _Recorder:
        pid = await node.process.spawn("app:hi", "app:late")
        log.append(f"spawned on {pid.host}")
        return _Watching(node, pid, log)

    kinds.register(Kind(name="test.early", service=start))
    registry = from_dicts("app", [
        {"name": "early", "kind": "test.early"},
        {"name": "hi", "kind": "test.greeter", "greeting": "hello"},
        {"name": "late", "kind": "process.host"},
    ], kinds=kinds)

    async def main() -> None:
        async with pidflow.open_node(registry, kinds=kinds):
            pass

    trio.run(main)
    assert log == ["spawned on app:late", "app:late alive at stop: True"]


def test_a_service_that_fails_to_start_stops_the_ones_started_before_it(kinds: pidflow.KindRegistry) -> None:
    log: list[str] = []
    kinds.register(service_kind(log))

    async def broken(node: Any, entry: Entry) -> None:
        raise pidflow.Error(ErrorKind.UNAVAILABLE, f"{entry.id} cannot start")

    kinds.register(Kind(name="test.broken_service", service=broken))
    registry = from_dicts("app", [
        {"name": "first", "kind": "test.service"},
        {"name": "broken", "kind": "test.broken_service"},
        {"name": "never", "kind": "test.service"},
    ], kinds=kinds)

    async def main() -> None:
        async with pidflow.open_node(registry, kinds=kinds):
            log.append("running")

    with pytest.raises(pidflow.Error, match="app:broken cannot start"):
        trio.run(main)
    assert log == ["start app:first (root process 0)", "stop app:first"]


# -- hosts -----------------------------------------------------------------------------------------------------

def test_a_custom_host_kind_runs_processes_and_is_stopped_with_the_node(kinds: pidflow.KindRegistry) -> None:
    from pidflow.actors import LocalHost

    stopped: list[str] = []

    class CountingHost(LocalHost):
        spawned = 0

        async def spawn(self, request: Any) -> pidflow.Pid:
            CountingHost.spawned += 1
            return await super().spawn(request)

        async def stop(self) -> None:
            stopped.append(self.id)
            await super().stop()

    kinds.register(Kind(name="test.host", host=lambda node, entry: CountingHost(entry.id)))
    registry = from_dicts("app", [{"name": "counting", "kind": "test.host"}], kinds=kinds)

    async def main() -> Any:
        async with pidflow.open_node(registry, kinds=kinds) as node:
            return await node.process.exec(_double, "app:counting", 21)

    assert trio.run(main) == 42
    assert CountingHost.spawned == 1 and stopped == ["app:counting"]


async def _double(x: int) -> int:
    return x * 2


# -- registering -----------------------------------------------------------------------------------------------

def test_a_kind_name_cannot_be_registered_twice() -> None:
    kinds = pidflow.builtin_kinds()
    with pytest.raises(pidflow.Error, match="entry kind process.lua is registered already") as info:
        kinds.register(Kind(name="process.lua"))
    assert info.value.kind is ErrorKind.ALREADY_EXISTS


def test_a_kind_may_not_redeclare_a_key_every_entry_has() -> None:
    with pytest.raises(pidflow.Error, match="'meta' is a key of every entry"):
        pidflow.builtin_kinds().register(Kind(name="test.meta", optional={"meta"}))


def test_register_kind_adds_to_the_default_kinds_used_by_load_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    from pidflow import _kind

    monkeypatch.setattr(_kind, "DEFAULT", pidflow.kinds.default_kinds().copy())
    pidflow.register_kind(Kind(name="test.global", optional={"x"}))
    registry = from_dicts("app", [{"name": "g", "kind": "test.global", "x": 1}])
    assert registry.get("app:g").kind == "test.global"


def test_a_builtin_registry_is_independent_of_the_default() -> None:
    mine = pidflow.builtin_kinds()
    mine.register(Kind(name="test.private"))
    assert "test.private" in mine
    assert "test.private" not in pidflow.kinds.default_kinds()


def test_roles_follow_from_what_a_kind_builds() -> None:
    kinds = {kind.name: kind.roles for kind in pidflow.builtin_kinds()}
    assert kinds["process.host"] == {"host"}
    assert kinds["temporal.worker"] == {"host"}
    assert kinds["process.lua"] == {"process"}
    assert kinds["workflow.lua"] == {"process"}
    assert kinds["function.py"] == {"function"}
    assert kinds["supervisor"] == {"process", "service"}
    assert kinds["temporal.client"] == set()


async def test_node_without_a_builtin_host_kind_says_what_is_missing() -> None:
    kinds = pidflow.KindRegistry([k for k in pidflow.builtin_kinds() if k.name != "process.host"])
    with pytest.raises(pidflow.Error, match="no entry kind provides a built-in host"):
        async with pidflow.open_node(None, kinds=kinds):
            pass
