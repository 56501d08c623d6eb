"""Error handling in workflows (spec: 错误处理): activity errors with kind/retryable/message (from Python
``pidflow.Error``, Lua ``errors.new`` and runtime failures), the activity retry policy, child workflow errors,
and the saga pattern's compensations."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import trio

import pidflow
from pidflow import ErrorKind


def wf(name: str, source: str, modules: list[str] | None = None) -> dict[str, Any]:
    return {"name": name, "kind": "workflow.lua", "source": f"file://{source}", "modules": modules or []}


def py(name: str, function: str | None = None) -> dict[str, Any]:
    return {"name": name, "kind": "function.py", "source": f"functions:{function or name}"}


def lua_fn(name: str, source: str, method: str) -> dict[str, Any]:
    return {"name": name, "kind": "function.lua", "source": f"file://{source}", "method": method}


ACTIVITY_ENTRIES = [
    wf("activity_workflow", "errors_activity.lua", ["funcs"]),
    py("charge_payment"),
    py("ship_order"),
    py("errors_runtime_failure"),
    py("errors_unavailable"),
    py("errors_not_found"),
    py("errors_succeeds_on_second_attempt"),
    lua_fn("lua_not_found", "errors_lua_functions.lua", "not_found"),
    lua_fn("lua_conflict_raised", "errors_lua_functions.lua", "conflict_raised"),
    lua_fn("lua_runtime_error", "errors_lua_functions.lua", "runtime_error"),
]


async def call(node: pidflow.Node, fn: str, arg: Any, **options: Any) -> dict[str, Any]:
    with trio.fail_after(60):
        return await node.process.exec("app:activity_workflow", "app:worker", {"fn": fn, "arg": arg, **options})


def key() -> str:
    return uuid.uuid4().hex


# -- activity errors ------------------------------------------------------------------------------------------------

async def test_python_error_from_an_activity_keeps_kind_retryable_and_message(make_app):
    app = make_app([dict(e) for e in ACTIVITY_ENTRIES])
    async with pidflow.open_node(app) as node:
        invalid = await call(node, "app:charge_payment", {"amount": 0, "customer": "c"})
        missing = await call(node, "app:ship_order", {"order_id": "o", "address": "nowhere"})
    assert invalid == {"ok": False, "kind": "INVALID", "retryable": False, "message": "amount must be positive",
                       "text": "amount must be positive"}
    assert (missing["kind"], missing["retryable"], missing["message"]) == ("NOT_FOUND", False, "no route to nowhere")


async def test_lua_function_returning_an_errors_new_value_keeps_its_metadata(make_app):
    app = make_app([dict(e) for e in ACTIVITY_ENTRIES])
    async with pidflow.open_node(app) as node:
        result = await call(node, "app:lua_not_found", "sku-9")
    assert (result["kind"], result["retryable"], result["message"]) == ("NOT_FOUND", False, "sku-9 is not stocked")


async def test_lua_function_raising_an_errors_new_value_keeps_its_metadata(make_app):
    app = make_app([dict(e) for e in ACTIVITY_ENTRIES])
    async with pidflow.open_node(app) as node:
        result = await call(node, "app:lua_conflict_raised", "sku-1", maximum_attempts=1)
    assert (result["kind"], result["retryable"]) == ("CONFLICT", True)
    assert result["message"].endswith("sku-1 is locked")


@pytest.mark.parametrize(("fn", "expected"), [
    ("app:errors_runtime_failure", "RuntimeError: flaky failure, attempt 1"),
    ("app:lua_runtime_error", "attempt to index a nil value"),
], ids=["python", "lua"])
async def test_runtime_error_with_a_single_attempt_policy_is_internal(make_app, fn, expected):
    app = make_app([dict(e) for e in ACTIVITY_ENTRIES])
    async with pidflow.open_node(app) as node:
        result = await call(node, fn, key(), maximum_attempts=1)
    assert result["ok"] is False
    assert result["kind"] == "INTERNAL"
    assert result["retryable"] is True  # INTERNAL is retryable by default; the policy stopped the retries
    assert expected in result["message"]


async def test_default_policy_retries_a_retryable_error_three_times(make_app):
    app = make_app([dict(e) for e in ACTIVITY_ENTRIES])
    async with pidflow.open_node(app) as node:
        result = await call(node, "app:errors_unavailable", key())
    assert result == {"ok": False, "kind": "UNAVAILABLE", "retryable": True, "message": "backend down, attempt 3",
                      "text": "backend down, attempt 3"}


async def test_default_policy_does_not_retry_a_non_retryable_error(make_app):
    app = make_app([dict(e) for e in ACTIVITY_ENTRIES])
    async with pidflow.open_node(app) as node:
        result = await call(node, "app:errors_not_found", key())
    assert (result["kind"], result["retryable"], result["message"]) == ("NOT_FOUND", False, "no record, attempt 1")


async def test_default_policy_returns_the_result_of_a_successful_retry(make_app):
    app = make_app([dict(e) for e in ACTIVITY_ENTRIES])
    async with pidflow.open_node(app) as node:
        retried = await call(node, "app:errors_succeeds_on_second_attempt", key())
        single = await call(node, "app:errors_succeeds_on_second_attempt", key(), maximum_attempts=1)
    assert retried == {"ok": True, "result": {"attempt": 2}}
    assert (single["ok"], single["kind"], single["message"]) == (False, "INTERNAL", "RuntimeError: flaky failure, attempt 1")


# -- child workflow errors -------------------------------------------------------------------------------------------

CHILD_ENTRIES = [
    wf("error_workflow", "errors_error_workflow.lua"),
    wf("parent", "errors_child_errors.lua"),
]


async def test_child_workflow_error_has_the_same_metadata_through_exec_and_exit(make_app):
    app = make_app([dict(e) for e in CHILD_ENTRIES])
    async with pidflow.open_node(app) as node:
        with trio.fail_after(60):
            result = await node.process.exec("app:parent", "app:worker")
    expected = {"kind": "NOT_FOUND", "retryable": False, "message": "order 7 does not exist"}
    assert result == {"exec": expected, "exit": expected, "same_pid": True}


async def test_workflow_error_value_is_raised_as_pidflow_error_in_python(make_app):
    app = make_app([dict(e) for e in CHILD_ENTRIES])
    async with pidflow.open_node(app) as node:
        with trio.fail_after(60), pytest.raises(pidflow.Error, match="order 7 does not exist") as caught:
            await node.process.exec("app:error_workflow", "app:worker")
        pid = await node.process.spawn_monitored("app:error_workflow", "app:worker")
        with trio.fail_after(60):
            event = await node.process.events().receive()
    assert (caught.value.kind, caught.value.retryable) == (ErrorKind.NOT_FOUND, False)
    assert event.from_ == pid
    assert event.result.error == caught.value


# -- saga -------------------------------------------------------------------------------------------------------------

SAGA_ENTRIES = [
    wf("saga", "errors_saga.lua", ["funcs"]),
    lua_fn("reserve_inventory", "errors_inventory.lua", "reserve"),
    lua_fn("release_inventory", "errors_inventory.lua", "release"),
    py("charge_payment"),
    py("refund_payment"),
    py("ship_order"),
]


def order(items: list[str] | None = None, amount: int = 30, address: str = "home") -> dict[str, Any]:
    return {"items": items or ["book", "pen"], "payment": {"amount": amount, "customer": "c1"},
            "shipping": {"order_id": "o1", "address": address}}


async def saga(node: pidflow.Node, input: dict[str, Any]) -> dict[str, Any]:
    with trio.fail_after(60):
        return await node.process.exec("app:saga", "app:worker", input)


async def test_saga_completes_without_compensations_when_every_step_succeeds(make_app):
    app = make_app([dict(e) for e in SAGA_ENTRIES])
    async with pidflow.open_node(app) as node:
        result = await saga(node, order())
    assert result == {"status": "completed", "tracking": "track-o1"}


async def test_saga_compensates_in_reverse_order_when_shipping_fails(make_app):
    app = make_app([dict(e) for e in SAGA_ENTRIES])
    async with pidflow.open_node(app) as node:
        result = await saga(node, order(address="nowhere"))
    assert (result["status"], result["step"]) == ("failed", "shipping")
    assert result["error"] == "no route to nowhere"
    assert result["compensated"] == [
        {"action": "app:refund_payment", "result": {"refunded": "pay-c1"}},
        {"action": "app:release_inventory", "result": {"released": "res-book+pen"}},
    ]


async def test_saga_releases_the_reservation_when_payment_fails(make_app):
    app = make_app([dict(e) for e in SAGA_ENTRIES])
    async with pidflow.open_node(app) as node:
        result = await saga(node, order(amount=0))
    assert (result["status"], result["step"], result["error"]) == ("failed", "payment", "amount must be positive")
    assert result["compensated"] == [{"action": "app:release_inventory", "result": {"released": "res-book+pen"}}]


async def test_saga_has_nothing_to_compensate_when_the_first_step_fails(make_app):
    app = make_app([dict(e) for e in SAGA_ENTRIES])
    async with pidflow.open_node(app) as node:
        result = await saga(node, order(items=["book", "out-of-stock"]))
    assert (result["status"], result["step"]) == ("failed", "inventory")
    assert result["error"] == "item out-of-stock is not available"
    assert result["compensated"] == {}  # an empty Lua table
