"""Start-of-function probes for CPython 3.11: a code object that calls a hook when it starts.

`sys.setprofile` on 3.11 puts the whole interpreter into its tracing mode, which slows every
instruction of every function (4-5x on call-heavy code), not only the watched ones. A probe
instead adds, right after the code's `RESUME`, the bytecode of `HOOK(key)` with its result
dropped, so only the target functions pay, and only one small call each. It is what
`sys.monitoring` does natively on 3.12. No frame is added (the hook runs inside the target's
own frame, so `warnings` stack levels and `sys._getframe` users are unaffected), relative jumps
keep their deltas, and the absolute offsets of the exception table are shifted; the probe's
instructions get no source location. Returns None whenever the code does not have the expected
shape (no `RESUME`, a line-table entry straddling it, another Python version): the caller then
watches that code with the profile hook instead.
"""

from __future__ import annotations

import dis
import opcode
import sys
import types

_OK = sys.version_info[:2] == (3, 11)
_CACHES: list[int] = list(getattr(opcode, "_inline_cache_entries", []))


def _op(name: str) -> int:
    return int(dis.opmap.get(name, -1))


def _emit(name: str, arg: int) -> bytes:
    op = _op(name)
    out = bytearray()
    shifts = [s for s in (24, 16, 8) if arg >> s]
    for shift in shifts:
        out += bytes((_op("EXTENDED_ARG"), (arg >> shift) & 0xFF))
    out += bytes((op, arg & 0xFF))
    out += bytes(2 * _CACHES[op])
    return bytes(out)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """Exception-table varint: 6-bit chunks, most significant first, bit 6 = more follows."""
    b = data[pos]
    value = b & 63
    pos += 1
    while b & 64:
        b = data[pos]
        value = (value << 6) | (b & 63)
        pos += 1
    return value, pos


def _write_varint(value: int, start: bool) -> bytes:
    chunks = [value & 63]
    value >>= 6
    while value:
        chunks.append(value & 63)
        value >>= 6
    chunks.reverse()
    out = bytearray(c | 64 for c in chunks[:-1])
    out.append(chunks[-1])
    if start:
        out[0] |= 128
    return bytes(out)


def _shift_exception_table(table: bytes, at: int, by: int) -> bytes:
    """Move every offset at or after code unit `at` by `by` units; widen entries spanning it."""
    out = bytearray()
    pos = 0
    while pos < len(table):
        start, pos = _read_varint(table, pos)
        length, pos = _read_varint(table, pos)
        target, pos = _read_varint(table, pos)
        depth_lasti, pos = _read_varint(table, pos)
        if start >= at:
            start += by
        elif start + length > at:
            length += by
        if target >= at:
            target += by
        out += _write_varint(start, True)
        out += _write_varint(length, False)
        out += _write_varint(target, False)
        out += _write_varint(depth_lasti, False)
    return bytes(out)


def _entry_size(table: bytes, pos: int) -> int:
    """Bytes taken by the line-table entry at `pos` (3.11 location format)."""
    code = (table[pos] >> 3) & 15
    end = pos + 1

    def skip_varint(p: int) -> int:
        while table[p] & 64:
            p += 1
        return p + 1

    if code == 15:
        return 1
    if code == 14:
        for _ in range(4):
            end = skip_varint(end)
        return end - pos
    if code == 13:
        return skip_varint(end) - pos
    if code >= 10:
        return 3
    return 2


def _insert_line_entries(table: bytes, at_unit: int, units: int) -> bytes | None:
    out = bytearray()
    pos = 0
    unit = 0
    inserted = False
    while pos < len(table):
        if unit == at_unit and not inserted:
            remaining = units
            while remaining:
                chunk = min(remaining, 8)
                out.append(0x80 | (15 << 3) | (chunk - 1))
                remaining -= chunk
            inserted = True
        size = _entry_size(table, pos)
        length = (table[pos] & 7) + 1
        if unit < at_unit < unit + length:
            return None  # the entry straddles the insertion point
        out += table[pos : pos + size]
        pos += size
        unit += length
    if not inserted:
        return None
    return bytes(out)


def add_probe(code: types.CodeType, hook: str, key: int) -> types.CodeType | None:
    """`code` with `hook(key)` called right after its RESUME, or None if that is not safe."""
    if not _OK or not _CACHES:
        return None
    raw = code.co_code
    resume = _op("RESUME")
    extended = _op("EXTENDED_ARG")
    at = -1
    for offset in range(0, len(raw), 2):
        op = raw[offset]
        if op == resume and (offset == 0 or raw[offset - 2] != extended):
            at = offset + 2
            break
    if at < 0:
        return None
    names = (*code.co_names, hook)
    consts = (*code.co_consts, key)
    probe = (
        _emit("LOAD_GLOBAL", ((len(names) - 1) << 1) | 1)
        + _emit("LOAD_CONST", len(consts) - 1)
        + _emit("PRECALL", 1)
        + _emit("CALL", 1)
        + _emit("POP_TOP", 0)
    )
    lines = _insert_line_entries(code.co_linetable, at // 2, len(probe) // 2)
    if lines is None:
        return None
    try:
        return code.replace(
            co_code=raw[:at] + probe + raw[at:],
            co_names=names,
            co_consts=consts,
            co_linetable=lines,
            co_exceptiontable=_shift_exception_table(
                code.co_exceptiontable, at // 2, len(probe) // 2
            ),
            co_stacksize=max(code.co_stacksize, 3),
        )
    except (ValueError, TypeError):
        return None
