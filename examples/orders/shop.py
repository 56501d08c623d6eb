"""Python activities of the order example (function.py entries): inventory and payments.

They report compensations on stderr: stdout is the result line of `pidflow run --entry`.
"""

import itertools
import sys
from typing import Any

import pidflow

_ids = itertools.count(1)


def reserve_inventory(items: list[Any]) -> dict[str, Any]:
    if not items:
        raise pidflow.Error("INVALID", "an order needs at least one item", retryable=False)
    return {"id": f"res-{next(_ids)}", "items": items}


def release_inventory(reservation_id: str) -> dict[str, Any]:
    print(f"  compensation: released {reservation_id}", file=sys.stderr, flush=True)
    return {"released": reservation_id}


def charge_payment(request: dict[str, Any]) -> dict[str, Any]:
    if request["amount"] <= 0:
        raise pidflow.Error("INVALID", "amount must be positive", retryable=False)
    return {"id": f"pay-{next(_ids)}", "amount": request["amount"]}


def refund_payment(payment_id: str) -> dict[str, Any]:
    print(f"  compensation: refunded {payment_id}", file=sys.stderr, flush=True)
    return {"refunded": payment_id}
