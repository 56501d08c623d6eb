"""The process API (``pidflow.process``, ``node.process``, ``pidflow.ctx``, the ``with_*`` spawner)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio
import trio.testing

import pidflow
from pidflow import ErrorKind


@pytest.fixture
async def node(autojump_clock: trio.testing.MockClock) -> AsyncIterator[pidflow.Node]:
    async with pidflow.open_node() as node:
        yield node


async def report_context(_: Any) -> tuple[Any, dict[str, Any]]:
    return pidflow.ctx.get("tenant"), pidflow.ctx.all()


# -- the current process ---------------------------------------------------------------------------------------

def test_process_outside_a_process_raises_invalid() -> None:
    with pytest.raises(pidflow.Error, match="only available inside a process body; top-level code uses node.process") as info:
        pidflow.process.pid()
    assert info.value.kind is ErrorKind.INVALID


async def test_process_in_top_level_async_code_raises_invalid(node: pidflow.Node,
                                                              autojump_clock: trio.testing.MockClock) -> None:
    with pytest.raises(pidflow.Error, match="only available inside a process body") as info:
        await pidflow.process.send(node.process.pid(), "t")
    assert info.value.kind is ErrorKind.INVALID


def test_ctx_outside_a_process_is_empty() -> None:
    assert pidflow.ctx.get("anything", "default") == "default"
    assert pidflow.ctx.all() == {}


def test_process_proxy_repr_says_what_it_is() -> None:
    assert repr(pidflow.process) == "<pidflow.process: the calling process>"


async def test_process_pid_inside_body_is_the_spawned_pid(node: pidflow.Node,
                                                          autojump_clock: trio.testing.MockClock) -> None:
    async def whoami(_: Any) -> pidflow.Pid:
        return pidflow.process.pid()

    pid = await node.process.spawn_monitored(whoami)
    assert (await node.process.events().receive()).result.value == pid


async def test_process_resolves_in_tasks_started_by_the_body(node: pidflow.Node,
                                                             autojump_clock: trio.testing.MockClock) -> None:
    async def body(_: Any) -> list[pidflow.Pid]:
        seen: list[pidflow.Pid] = []

        async def helper() -> None:
            seen.append(pidflow.process.pid())

        async with trio.open_nursery() as nursery:
            nursery.start_soon(helper)
        return seen

    pid = await node.process.spawn_monitored(body)
    assert (await node.process.events().receive()).result.value == [pid]


async def test_node_process_is_the_root_process(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    root = node.process.pid()
    assert (root.host, root.id, root.node) == (node.default_host_id, "0", node.name)
    assert root.is_local


# -- context ---------------------------------------------------------------------------------------------------

async def test_with_context_values_are_read_by_ctx_in_the_child(node: pidflow.Node,
                                                                autojump_clock: trio.testing.MockClock) -> None:
    assert await node.process.with_context({"tenant": "acme", "n": 1}).exec(report_context) == (
        "acme", {"tenant": "acme", "n": 1})


async def test_ctx_get_returns_default_for_missing_key(node: pidflow.Node,
                                                       autojump_clock: trio.testing.MockClock) -> None:
    async def body(_: Any) -> Any:
        return pidflow.ctx.get("missing", "fallback")

    assert await node.process.exec(body) == "fallback"


async def test_context_is_inherited_by_grandchildren(node: pidflow.Node,
                                                     autojump_clock: trio.testing.MockClock) -> None:
    async def child(_: Any) -> Any:
        return await pidflow.process.with_context({"depth": 2}).exec(report_context)

    value = await node.process.with_context({"tenant": "acme", "depth": 1}).exec(child)
    assert value == ("acme", {"tenant": "acme", "depth": 2})


async def test_child_context_does_not_leak_to_parent(node: pidflow.Node,
                                                     autojump_clock: trio.testing.MockClock) -> None:
    async def parent(_: Any) -> Any:
        await pidflow.process.with_context({"child_only": True}).exec(report_context)
        return pidflow.ctx.all()

    assert await node.process.with_context({"tenant": "acme"}).exec(parent) == {"tenant": "acme"}


async def test_ctx_all_returns_a_copy(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    async def body(_: Any) -> Any:
        pidflow.ctx.all()["tenant"] = "mallory"
        return pidflow.ctx.get("tenant")

    assert await node.process.with_context({"tenant": "acme"}).exec(body) == "acme"


# -- the spawner -----------------------------------------------------------------------------------------------

async def test_spawner_is_immutable_and_shareable(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    base = node.process.with_context({"tenant": "acme"})
    derived = base.with_context({"tenant": "other"}).with_name("x").with_message("t")
    assert base.context == {"tenant": "acme"} and base.name is None and base.messages == ()
    assert derived.context == {"tenant": "other"} and derived.name == "x" and len(derived.messages) == 1
    assert await base.exec(report_context) == ("acme", {"tenant": "acme"})


async def test_with_options_accumulates_and_later_values_win(node: pidflow.Node,
                                                             autojump_clock: trio.testing.MockClock) -> None:
    spawner = node.process.with_options({"trap_links": True}).with_options({"trap_links": False})
    assert spawner.options == {"trap_links": False}


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda api: api.with_options(["trap_links"]), "with_options takes a table of options, got list"),
        (lambda api: api.with_context("tenant=acme"), "with_context takes a table, got str"),
        (lambda api: api.with_message("", 1), "with_message takes a non-empty topic"),
        (lambda api: api.with_name(None), "with_name must be a string, got NoneType"),
    ],
)
async def test_spawner_builders_reject_bad_arguments_with_invalid(node: pidflow.Node, build: Any, message: str,
                                                                  autojump_clock: trio.testing.MockClock) -> None:
    with pytest.raises(pidflow.Error, match=message) as info:
        build(node.process)
    assert info.value.kind is ErrorKind.INVALID


async def test_spawn_rejects_entry_that_is_neither_id_nor_function(node: pidflow.Node,
                                                                   autojump_clock: trio.testing.MockClock) -> None:
    with pytest.raises(pidflow.Error, match="entry must be an entry id or an async function, got int") as info:
        await node.process.spawn(42)
    assert info.value.kind is ErrorKind.INVALID


# -- options ---------------------------------------------------------------------------------------------------

async def test_set_options_rejects_unknown_key_naming_it(node: pidflow.Node,
                                                         autojump_clock: trio.testing.MockClock) -> None:
    with pytest.raises(pidflow.Error, match="unknown process option 'trap_exit'") as info:
        node.process.set_options({"trap_exit": True})
    assert info.value.kind is ErrorKind.INVALID


async def test_set_options_rejects_non_boolean_trap_links(node: pidflow.Node,
                                                          autojump_clock: trio.testing.MockClock) -> None:
    with pytest.raises(pidflow.Error, match="'trap_links' must be a boolean, got int") as info:
        node.process.set_options(trap_links=1)
    assert info.value.kind is ErrorKind.INVALID


async def test_set_options_accepts_table_or_keywords(node: pidflow.Node,
                                                     autojump_clock: trio.testing.MockClock) -> None:
    async def body(_: Any) -> list[str]:
        await pidflow.process.link(pidflow.Pid(pidflow.process.pid().host, "999999", node.name))  # NOT_FOUND
        return []

    async def trapping(_: Any) -> str:
        pidflow.process.set_options({"trap_links": True})
        pidflow.process.set_options(trap_links=True)
        await pidflow.process.link(pidflow.Pid(pidflow.process.pid().host, "999999", node.name))
        return (await pidflow.process.events().receive()).kind.value

    with pytest.raises(pidflow.Error, match="no such process") as info:
        await node.process.exec(body)
    assert info.value.kind is ErrorKind.NOT_FOUND
    assert await node.process.exec(trapping) == "LINK_DOWN"


async def test_unlink_of_unlinked_pid_is_a_no_op(node: pidflow.Node, autojump_clock: trio.testing.MockClock) -> None:
    async def body(_: Any) -> str:
        await trio.sleep_forever()
        return "unreachable"

    pid = await node.process.spawn(body)
    await node.process.unlink(pid)
    await node.process.unlink(pidflow.Pid(pid.host, "999999", node.name))
    assert await node.process.terminate(pid)
