"""Which upvalues of a Lua function can ever be assigned: read from its bytecode (``string.dump``).

Why: a pooled state's reset (``_snapshot``) must put back every upvalue that a call may have changed. An
upvalue cell changes only by an ``OP_SETUPVAL`` of a closure that has it (user code has no
``debug.setupvalue``, and every function that declared a captured local has returned by the clean point). The
closures that can have a cell that existed at the clean point are the functions that existed then, and those
made later from prototypes nested in theirs (a nested prototype's upvalue ``(instack=0, idx=j)`` is the
enclosing closure's upvalue ``j``). So the cells to watch are, for each function of the snapshot, the upvalues
that its prototype or one nested in it (transitively) assigns: ~15 of the ~200 cells of a pooled state (most
upvalues hold captured library functions that nothing assigns). Checking only those makes the reset ~40%
cheaper.

The format is Lua 5.4's (``ldump.c``; the same from 5.4.0 to 5.4.8): a header, then the function. A dump this
module cannot read raises ``ValueError`` and the snapshot then watches every upvalue of that function.
"""

from __future__ import annotations

import functools

#: OP_SETUPVAL in Lua 5.4's opcode list (lopcodes.h): ``UpValue[B] := R[A]``.
_OP_SETUPVAL = 10
_HEADER = b"\x1bLua\x54\x00\x19\x93\r\n\x1a\n\x04\x08\x08"
# constant tags (lobject.h): nil, false, true, integer, float, short and long string
_NO_PAYLOAD = frozenset({0x00, 0x01, 0x11})
_EIGHT_BYTES = frozenset({0x03, 0x13})
_STRINGS = frozenset({0x04, 0x14})


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int) -> None:
        self.data = data
        self.pos = pos

    def byte(self) -> int:
        b = self.data[self.pos]
        self.pos += 1
        return b

    def size(self) -> int:
        """A ``dumpSize`` varint: 7-bit groups, most significant first, the last one marked with 0x80."""
        x = 0
        while True:
            b = self.byte()
            x = (x << 7) | (b & 0x7F)
            if b & 0x80:
                return x

    def skip(self, n: int) -> None:
        self.pos += n
        if self.pos > len(self.data):
            raise ValueError("truncated Lua bytecode")

    def string(self) -> None:
        n = self.size()
        if n:
            self.skip(n - 1)


def _function(r: _Reader) -> tuple[set[int], list[tuple[int, int]]]:
    """Read one function: the indices (0-based) of its upvalues that it or a nested function may assign, and its
    upvalue descriptors ``(instack, idx)`` (what each upvalue is in the enclosing function)."""
    r.string()  # source
    r.size()    # linedefined
    r.size()    # lastlinedefined
    r.skip(3)   # numparams, is_vararg, maxstacksize
    written: set[int] = set()
    data = r.data
    for _ in range(r.size()):
        start = r.pos
        r.skip(4)
        ins = int.from_bytes(data[start:start + 4], "little")
        if ins & 0x7F == _OP_SETUPVAL:
            written.add((ins >> 16) & 0xFF)
    for _ in range(r.size()):  # constants
        tag = r.byte()
        if tag in _EIGHT_BYTES:
            r.skip(8)
        elif tag in _STRINGS:
            r.string()
        elif tag not in _NO_PAYLOAD:
            raise ValueError(f"unknown constant tag {tag:#x} in Lua bytecode")
    upvalues = []
    for _ in range(r.size()):
        instack, idx = r.byte(), r.byte()
        r.byte()  # kind
        upvalues.append((instack, idx))
    for _ in range(r.size()):  # nested prototypes: what they assign of ours (an upvalue of theirs that is one of
        nested, descriptors = _function(r)  # our upvalues, not one of our locals)
        written.update(descriptors[j][1] for j in nested if not descriptors[j][0])
    # debug information (absent from stripped dumps, but read either way)
    r.skip(r.size())  # lineinfo
    for _ in range(r.size()):  # abslineinfo
        r.size()
        r.size()
    for _ in range(r.size()):  # locvars
        r.string()
        r.size()
        r.size()
    for _ in range(r.size()):  # upvalue names
        r.string()
    return written, upvalues


@functools.lru_cache(maxsize=4096)
def assigned_upvalues(dump: bytes) -> bytes:
    """The upvalues (1-based, one byte each) that the dumped function or a function nested in it may assign.
    Cached: a pooled state's functions come from a few chunks, the same in every state."""
    if not dump.startswith(_HEADER) or len(dump) < len(_HEADER) + 17:
        raise ValueError("not Lua 5.4 bytecode")
    r = _Reader(dump, len(_HEADER) + 16)  # after the header's LUAC_INT and LUAC_NUM
    r.byte()  # sizeupvalues of the main function
    return bytes(sorted(j + 1 for j in _function(r)[0]))
