"""The protobuf wire format, just enough for the few messages Flight SQL and InfluxDB put in
tickets, descriptors and action bodies.

Why by hand: no package on PyPI ships the Flight SQL messages for Python (pyarrow exposes Flight,
not Flight SQL), and the `protobuf` runtime would still need descriptors built for ~15 small
messages. Each message here has a handful of scalar, string, bytes or nested fields, so a
decoder into ``{field number: [values]}`` and a few encoders are smaller than either.

Owns: varints, tags, length-delimited fields, `google.protobuf.Any`. Must not: know what a field
means (that is the callers', `flightsql.py` and `tickets.py`).
"""

from __future__ import annotations

import struct
from typing import Iterable, Union

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5

Value = Union[int, bytes]


class ProtoError(ValueError):
    """Bytes that are not a protobuf message."""


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ProtoError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise ProtoError("varint too long")


def decode(buf: bytes) -> dict[int, list[Value]]:
    """Every field of one message: field number -> its values in order (ints for varint and
    fixed fields, bytes for length-delimited ones). Unknown fields are kept; groups are refused."""
    fields: dict[int, list[Value]] = {}
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ProtoError("field number 0")
        if wire == VARINT:
            value, pos = _varint(buf, pos)
        elif wire == LENGTH:
            size, pos = _varint(buf, pos)
            if pos + size > end:
                raise ProtoError("truncated field")
            value, pos = bytes(buf[pos:pos + size]), pos + size
        elif wire == FIXED64:
            if pos + 8 > end:
                raise ProtoError("truncated fixed64")
            value, pos = int.from_bytes(buf[pos:pos + 8], "little"), pos + 8
        elif wire == FIXED32:
            if pos + 4 > end:
                raise ProtoError("truncated fixed32")
            value, pos = int.from_bytes(buf[pos:pos + 4], "little"), pos + 4
        else:
            raise ProtoError(f"unsupported wire type {wire}")
        fields.setdefault(number, []).append(value)
    return fields


# ---- reading typed fields (proto3: the last value of a scalar wins, absent = default) ----------


def get_bytes(fields: dict, number: int, default: bytes = b"") -> bytes:
    values = fields.get(number)
    if not values:
        return default
    if not isinstance(values[-1], bytes):
        raise ProtoError(f"field {number}: expected a length-delimited value")
    return values[-1]


def get_str(fields: dict, number: int, default: str = "") -> str:
    raw = get_bytes(fields, number, None)  # type: ignore[arg-type]
    if raw is None:
        return default
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtoError(f"field {number}: not UTF-8") from None


def get_opt_str(fields: dict, number: int) -> str | None:
    return get_str(fields, number) if fields.get(number) else None


def get_int(fields: dict, number: int, default: int = 0) -> int:
    values = fields.get(number)
    if not values:
        return default
    if not isinstance(values[-1], int):
        raise ProtoError(f"field {number}: expected a varint")
    return values[-1]


def get_bool(fields: dict, number: int) -> bool:
    return bool(get_int(fields, number))


def get_strs(fields: dict, number: int) -> list[str]:
    out = []
    for v in fields.get(number, []):
        if not isinstance(v, bytes):
            raise ProtoError(f"field {number}: expected strings")
        try:
            out.append(v.decode("utf-8"))
        except UnicodeDecodeError:
            raise ProtoError(f"field {number}: not UTF-8") from None
    return out


def get_uint32s(fields: dict, number: int) -> list[int]:
    """A repeated uint32, packed or not."""
    out: list[int] = []
    for v in fields.get(number, []):
        if isinstance(v, int):
            out.append(v & 0xFFFFFFFF)
            continue
        pos = 0
        while pos < len(v):
            n, pos = _varint(v, pos)
            out.append(n & 0xFFFFFFFF)
    return out


def as_double(value: int) -> float:
    return struct.unpack("<d", value.to_bytes(8, "little"))[0]


def as_int64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


# ---- writing --------------------------------------------------------------------------------


def varint(n: int) -> bytes:
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_bytes(number: int, value: bytes) -> bytes:
    return varint(number << 3 | LENGTH) + varint(len(value)) + value


def field_str(number: int, value: str) -> bytes:
    return field_bytes(number, value.encode("utf-8"))


def field_int(number: int, value: int) -> bytes:
    return varint(number << 3 | VARINT) + varint(value)


def field_double(number: int, value: float) -> bytes:
    return varint(number << 3 | FIXED64) + struct.pack("<d", value)


def message(*parts: bytes) -> bytes:
    return b"".join(parts)


def repeated(parts: Iterable[bytes]) -> bytes:
    return b"".join(parts)


# ---- google.protobuf.Any ----------------------------------------------------------------------


def pack_any(type_url: str, value: bytes) -> bytes:
    return field_str(1, type_url) + field_bytes(2, value)


def unpack_any(buf: bytes) -> tuple[str, bytes]:
    """``(type_url, value)``; ProtoError if `buf` is not an Any with a type URL."""
    fields = decode(buf)
    type_url = get_str(fields, 1)
    if not type_url or set(fields) - {1, 2}:
        raise ProtoError("not a google.protobuf.Any")
    return type_url, get_bytes(fields, 2)
