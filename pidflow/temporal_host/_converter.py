"""Payloads on Temporal are JSON (``json/plain``), the same codec as every other host boundary.

Workflow inputs, results, signals, activity arguments and failure details all go through :mod:`pidflow.codec`:
plain JSON where JSON holds the value, tagged objects for PIDs, errors, bytes, maps with non-string keys and
non-finite floats, so they read as text in the Temporal UI and CLI and survive as themselves. A payload's data
is exactly ``codec.encode(value)``, which is what lets the node measure a payload once, at send time, and signal
the encoded bytes as they are (``_host``). ``None`` keeps Temporal's standard ``binary/null`` encoding.

Payloads written before issue 10 are msgpack (``binary/msgpack``): they are still decoded, never written, so
histories recorded then replay and workflows started then keep running.
"""

from __future__ import annotations

from typing import Any

import dataclasses

import temporalio.api.common.v1
import temporalio.converter

from .. import codec

ENCODING = codec.ENCODING.encode()
MSGPACK_ENCODING = codec.MSGPACK_ENCODING.encode()


class JSONPayloadConverter(temporalio.converter.EncodingPayloadConverter):
    """pidflow values as ``json/plain`` (:mod:`pidflow.codec`). Type hints are ignored: tags say the type."""

    @property
    def encoding(self) -> str:
        return codec.ENCODING

    def to_payload(self, value: Any) -> temporalio.api.common.v1.Payload | None:
        return payload(codec.encode(value, what="workflow payload"))

    def from_payload(self, payload: temporalio.api.common.v1.Payload, type_hint: type | None = None) -> Any:
        return codec.decode(payload.data)


class MsgpackPayloadConverter(temporalio.converter.EncodingPayloadConverter):
    """Reads ``binary/msgpack`` payloads of pidflow before issue 10; writes nothing."""

    @property
    def encoding(self) -> str:
        return codec.MSGPACK_ENCODING

    def to_payload(self, value: Any) -> temporalio.api.common.v1.Payload | None:
        return None

    def from_payload(self, payload: temporalio.api.common.v1.Payload, type_hint: type | None = None) -> Any:
        return codec.decode_msgpack(payload.data)


def payload(data: bytes) -> temporalio.api.common.v1.Payload:
    """The payload whose data is ``data``, the output of ``codec.encode`` (or ``codec.join`` of several)."""
    return temporalio.api.common.v1.Payload(metadata={"encoding": ENCODING}, data=data)


class PidflowPayloadConverter(temporalio.converter.CompositePayloadConverter):
    def __init__(self) -> None:
        super().__init__(temporalio.converter.BinaryNullPayloadConverter(), JSONPayloadConverter(),
                         MsgpackPayloadConverter())


DATA_CONVERTER = dataclasses.replace(
    temporalio.converter.default(), payload_converter_class=PidflowPayloadConverter
)
