"""Python function entries used as activities by the workflow tests."""

import pidflow
from pidflow import ctx


def charge_payment(request):
    if request.get("amount", 0) <= 0:
        raise pidflow.Error("INVALID", "amount must be positive", retryable=False)
    return {"id": f"pay-{request['customer']}", "amount": request["amount"]}


def ship_order(request):
    if request.get("address") == "nowhere":
        raise pidflow.Error("NOT_FOUND", "no route to nowhere", retryable=False)
    return {"tracking_number": f"track-{request['order_id']}"}


def refund_payment(payment_id):
    return {"refunded": payment_id}


def echo_context(_=None):
    return ctx.all()


def fail_internal(_=None):
    raise RuntimeError("boom")
