"""The function.py entries the funcs checks call."""

import pidflow
from pidflow import Error, ErrorKind


def add(a, b):
    return {"sum": a + b, "trace_id": pidflow.ctx.get("trace_id")}


def refuse(what):
    raise Error(ErrorKind.PERMISSION_DENIED, f"not allowed: {what}", retryable=False, details={"what": what})
