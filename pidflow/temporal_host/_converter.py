"""Payloads on Temporal are msgpack (``binary/msgpack``), the same codec as every other host boundary.

JSON would lose what Lua and Python values need (integers vs floats, bytes, PIDs and errors as themselves),
so workflow inputs, results, signals and activity arguments all go through :mod:`pidflow.codec`. ``None``
keeps Temporal's standard ``binary/null`` encoding.
"""

from __future__ import annotations

from typing import Any

import dataclasses

import temporalio.api.common.v1
import temporalio.converter

from .. import codec

ENCODING = b"binary/msgpack"


class MsgpackPayloadConverter(temporalio.converter.EncodingPayloadConverter):
    @property
    def encoding(self) -> str:
        return ENCODING.decode()

    def to_payload(self, value: Any) -> temporalio.api.common.v1.Payload | None:
        return temporalio.api.common.v1.Payload(
            metadata={"encoding": ENCODING}, data=codec.encode(value, what="workflow payload")
        )

    def from_payload(self, payload: temporalio.api.common.v1.Payload, type_hint: type | None = None) -> Any:
        return codec.decode(payload.data)


class PidflowPayloadConverter(temporalio.converter.CompositePayloadConverter):
    def __init__(self) -> None:
        super().__init__(temporalio.converter.BinaryNullPayloadConverter(), MsgpackPayloadConverter())


DATA_CONVERTER = dataclasses.replace(
    temporalio.converter.default(), payload_converter_class=PidflowPayloadConverter
)
