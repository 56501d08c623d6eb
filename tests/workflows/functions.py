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


# -- errors_* (tests/workflows/test_workflow_errors.py): each call counts its attempts under the caller's key
_ATTEMPTS: dict[str, int] = {}


def _attempt(key):
    _ATTEMPTS[key] = _ATTEMPTS.get(key, 0) + 1
    return _ATTEMPTS[key]


def errors_runtime_failure(key):
    raise RuntimeError(f"flaky failure, attempt {_attempt(key)}")


def errors_unavailable(key):
    raise pidflow.Error("UNAVAILABLE", f"backend down, attempt {_attempt(key)}", retryable=True)


def errors_not_found(key):
    raise pidflow.Error("NOT_FOUND", f"no record, attempt {_attempt(key)}", retryable=False)


def errors_succeeds_on_second_attempt(key):
    attempt = _attempt(key)
    if attempt < 2:
        raise RuntimeError(f"flaky failure, attempt {attempt}")
    return {"attempt": attempt}
