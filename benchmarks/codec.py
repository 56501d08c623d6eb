"""The payload codec: JSON (``pidflow.codec.encode`` / ``decode``, what goes to Temporal since issue 10) against the
msgpack it replaced (``encode_msgpack`` / ``decode_msgpack``), on the same values, in one process.

Run: .venv/bin/python benchmarks/codec.py [--repeats 5]

Values: ``small``, a message as the outbox encodes it (topic, an int, the sender's PID); ``medium``, a message
carrying an order (20 items of 3 fields, a customer); ``big``, 20,000 rows of 4 fields (about 1 MiB of JSON);
``ints``, a list of 200,000 integers. Figures: microseconds per call (best of ``--repeats``) and encoded bytes.
"""

from __future__ import annotations

import argparse
import timeit
from typing import Any, Callable

from pidflow import Pid, codec
from pidflow._events import Message


def values() -> dict[str, tuple[Any, int]]:
    """name -> (value, calls per timing)."""
    pid = Pid("app:worker", "order-1")
    items = [{"sku": f"a{i}", "qty": i, "price": 1.5 * i} for i in range(20)]
    return {
        "small": (Message("tick", 7, Pid("pidflow:local", "0", "node-1")).to_wire(), 20_000),
        "medium": (Message("order", {"id": 17, "items": items, "customer": {"name": "Ann", "email": "a@b.c"}},
                           pid).to_wire(), 2_000),
        "big": ({"rows": [{"id": i, "name": f"row {i}", "v": i * 0.5, "tags": ["x", "y"]} for i in range(20_000)]}, 3),
        "ints": (list(range(200_000)), 3),
    }


def best(fn: Callable[[], Any], number: int, repeats: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=repeats)) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"{'value':8} {'json enc us':>12} {'json dec us':>12} {'json bytes':>11} | "
          f"{'msgpack enc us':>14} {'msgpack dec us':>14} {'msgpack bytes':>13}")
    for name, (value, number) in values().items():
        data, packed = codec.encode(value), codec.encode_msgpack(value)
        assert codec.decode(data) == codec.decode_msgpack(packed)
        figures = [best(lambda: codec.encode(value), number, args.repeats),
                   best(lambda: codec.decode(data), number, args.repeats),
                   best(lambda: codec.encode_msgpack(value), number, args.repeats),
                   best(lambda: codec.decode_msgpack(packed), number, args.repeats)]
        print(f"{name:8} {figures[0]:12,.1f} {figures[1]:12,.1f} {len(data):11,} | "
              f"{figures[2]:14,.1f} {figures[3]:14,.1f} {len(packed):13,}")


if __name__ == "__main__":
    main()
