"""Definition, basic implementation and durable timers (spec: 定义, 基本实现, 定时器)."""

from __future__ import annotations

import pidflow

ORDER_ENTRIES = [
    {"name": "order_workflow", "kind": "workflow.lua", "source": "file://order.lua", "modules": ["funcs", "time", "workflow"]},
    {"name": "charge_payment", "kind": "function.py", "source": "functions:charge_payment"},
    {"name": "ship_order", "kind": "function.py", "source": "functions:ship_order"},
    {"name": "refund_payment", "kind": "function.py", "source": "functions:refund_payment"},
]


async def test_order_workflow_completes_through_activities_and_a_durable_sleep(make_app):
    app = make_app([dict(e) for e in ORDER_ENTRIES])
    async with pidflow.open_node(app) as node:
        result = await node.process.exec("app:order_workflow", "app:worker",
                                         {"id": "o1", "total": 10, "customer_id": "c1", "shipping_address": "here", "delay": "100ms"})
    assert result == {"status": "completed", "payment_id": "pay-c1", "tracking": "track-o1"}
