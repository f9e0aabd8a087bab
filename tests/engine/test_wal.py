"""WAL framing, group commit, torn-tail truncation and refusal of mid-file corruption."""

import threading

import pytest

from jupyter_influx3.engine import errors
from jupyter_influx3.engine.wal import HEADER, WalWriter, list_wal_files, read_records, recover_file


def test_appended_records_read_back_in_order(tmp_path):
    w = WalWriter(tmp_path, 1)
    for i in range(5):
        w.sync(w.append(f"rec{i}".encode()))
    w.close()
    [(seq, path)] = list_wal_files(tmp_path)
    assert seq == 1
    assert read_records(path).payloads == [f"rec{i}".encode() for i in range(5)]


def test_concurrent_writers_are_all_durable_and_share_fsyncs(tmp_path, monkeypatch):
    import os
    import time
    calls = []
    real = os.fdatasync

    def slow_fdatasync(fd):
        # A disk-like fsync (2 ms): while one runs, the other writers append and wait for the next.
        calls.append(fd)
        time.sleep(0.002)
        real(fd)

    monkeypatch.setattr(os, "fdatasync", slow_fdatasync)
    w = WalWriter(tmp_path, 1)

    def writer(k):
        for i in range(50):
            w.sync(w.append(f"{k}-{i}".encode()))

    ts = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    w.close()
    recs = read_records(list_wal_files(tmp_path)[0][1]).payloads
    assert sorted(recs) == sorted(f"{k}-{i}".encode() for k in range(8) for i in range(50))
    # 400 acknowledged writes from 8 writers: one fsync per write would be 400; shared, each fsync
    # serves about as many writes as there are writers waiting (~50-110 here)
    assert len(calls) <= 200, f"{len(calls)} fsyncs for 400 writes: fsyncs are not shared"


def test_one_sync_makes_every_earlier_append_durable(tmp_path, monkeypatch):
    import os
    calls = []
    real = os.fdatasync
    monkeypatch.setattr(os, "fdatasync", lambda fd: (calls.append(fd), real(fd)))
    w = WalWriter(tmp_path, 1)
    first, second, third = (w.append(f"rec{i}".encode()) for i in range(3))
    w.sync(third)
    assert len(calls) == 1
    w.sync(first)  # already durable: no second fsync
    w.sync(second)
    assert len(calls) == 1
    w.sync(w.append(b"rec3"))
    assert len(calls) == 2
    w.close()


def test_torn_tail_of_last_file_is_truncated(tmp_path):
    w = WalWriter(tmp_path, 1)
    w.sync(w.append(b"good"))
    w.close()
    path = list_wal_files(tmp_path)[0][1]
    good_size = path.stat().st_size
    with open(path, "ab") as f:
        f.write(HEADER.pack(b"IXW1", 100, 0) + b"partial")
    assert recover_file(path, is_last=True) == [b"good"]
    assert path.stat().st_size == good_size


def test_corruption_in_the_middle_stops_recovery_with_the_file_name(tmp_path):
    w = WalWriter(tmp_path, 1)
    for p in (b"one", b"two", b"three"):
        w.sync(w.append(p))
    w.close()
    path = list_wal_files(tmp_path)[0][1]
    data = bytearray(path.read_bytes())
    data[HEADER.size + 1] ^= 0xFF  # flip a byte inside the first payload
    path.write_bytes(bytes(data))
    with pytest.raises(errors.WalCorrupt, match=str(path)):
        recover_file(path, is_last=True)
    assert recover_file(path, is_last=True, skip_corrupt=True) == []


def test_fsync_failure_fails_the_write_and_every_later_one(tmp_path, monkeypatch):
    import os
    w = WalWriter(tmp_path, 1)

    def boom(fd):
        raise OSError(5, "I/O error")

    monkeypatch.setattr(os, "fdatasync", boom)
    with pytest.raises(errors.WalError):
        w.sync(w.append(b"x"))
    monkeypatch.undo()
    with pytest.raises(errors.WalError):
        w.append(b"y")


def test_rotate_starts_a_new_numbered_file(tmp_path):
    w = WalWriter(tmp_path, 7)
    w.sync(w.append(b"a"))
    assert w.rotate() == 7
    w.sync(w.append(b"b"))
    w.close()
    assert [s for s, _ in list_wal_files(tmp_path)] == [7, 8]


def test_a_record_given_as_buffers_is_written_exactly_like_the_joined_bytes(tmp_path):
    import pyarrow as pa

    from jupyter_influx3.engine.wal import frame

    parts = [b"head", pa.py_buffer(b"arrow-ipc" * 1000), memoryview(b""), bytearray(b"tail")]
    joined = b"".join(bytes(p) for p in parts)
    a, b = WalWriter(tmp_path / "a", 1), WalWriter(tmp_path / "b", 1)
    a.sync(a.append(joined))
    b.sync(b.append(parts))
    a.close()
    b.close()
    pa_path, pb_path = (list_wal_files(tmp_path / d)[0][1] for d in ("a", "b"))
    assert pb_path.read_bytes() == pa_path.read_bytes() == frame(joined)
    assert read_records(pb_path).payloads == [joined]


def test_short_writes_of_a_record_go_on_where_they_stopped(tmp_path, monkeypatch):
    import os

    real = os.writev

    def short_writev(fd, bufs):  # a disk that takes at most 7 bytes per call
        return real(fd, [b"".join(bytes(x) for x in bufs)[:7]])

    monkeypatch.setattr(os, "writev", short_writev)
    w = WalWriter(tmp_path, 1)
    parts = [b"abc", b"defghijklmnop", b"", b"q" * 50]
    token = w.append(parts)
    w.sync(token)
    w.close()
    path = list_wal_files(tmp_path)[0][1]
    assert token[1] == path.stat().st_size == HEADER.size + 66
    assert read_records(path).payloads == [b"".join(parts)]


def test_wal_payload_parts_join_to_the_encoded_payload_and_decode_back():
    import pyarrow as pa

    from jupyter_influx3.engine import walcodec

    t1 = pa.record_batch({"a": pa.array([1, 2, 3]), "t": pa.array(["x", "y", None]).dictionary_encode()})
    t2 = pa.record_batch({"f": pa.array([1.5, None])})
    tables = [(1, 2, t1), (1, 3, t2)]
    payload = b"".join(bytes(p) for p in walcodec.encode_parts(tables))
    assert payload == walcodec.encode(tables)
    assert [(d, t, b.to_pydict()) for d, t, b in walcodec.decode(payload)] == [
        (d, t, b.to_pydict()) for d, t, b in tables
    ]
