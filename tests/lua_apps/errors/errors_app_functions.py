"""The function.py entry the errors checks call: fails with the kind and retryable it is given."""

from pidflow import Error


def fail(kind, retryable=None):
    raise Error(kind, f"python failed with {kind}", retryable=retryable, details={"from": "python"})
