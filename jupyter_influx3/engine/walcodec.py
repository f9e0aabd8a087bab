"""What a WAL record holds: the validated rows of one write, as Arrow IPC per table.

Owns the payload encoding only (framing and durability live in `wal`). Logging validated,
typed batches rather than raw line protocol means replay never re-parses or re-validates, so a
replayed write lands exactly as it was acknowledged.
"""

from __future__ import annotations

import json
import struct

import pyarrow as pa

_LEN = struct.Struct("<I")


def encode(tables: list[tuple[int, int, pa.RecordBatch]]) -> bytes:
    return b"".join(encode_parts(tables))


def encode_parts(tables: list[tuple[int, int, pa.RecordBatch]]) -> list:
    """The payload of ``encode`` as a list of buffers to write one after the other (the Arrow
    IPC streams are not copied into one bytes object)."""
    parts, index = [], []
    for db_id, table_id, batch in tables:
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, batch.schema) as w:
            w.write_batch(batch)
        buf = sink.getvalue()
        parts.append(buf)
        index.append([db_id, table_id, buf.size])
    head = json.dumps(index).encode()
    return [_LEN.pack(len(head)) + head, *parts]


def decode(payload: bytes) -> list[tuple[int, int, pa.RecordBatch]]:
    (n,) = _LEN.unpack_from(payload, 0)
    index = json.loads(payload[_LEN.size:_LEN.size + n])
    pos, out = _LEN.size + n, []
    buf = pa.py_buffer(payload)
    for db_id, table_id, size in index:
        reader = pa.ipc.open_stream(buf.slice(pos, size))
        for batch in reader:
            out.append((db_id, table_id, batch))
        pos += size
    return out
