"""The buffer's list of batches that hold rows: what every query reads as its buffered sources."""

import pyarrow as pa

from jupyter_influx3.engine.buffer import TableBuffer
from jupyter_influx3.engine.validator import SEQ_COLUMN


def _batch(seqs: list[int]) -> pa.RecordBatch:
    return pa.record_batch({"v": pa.array([float(s) for s in seqs]), SEQ_COLUMN: pa.array(seqs, pa.int64())})


def _expected(tb: TableBuffer) -> list:
    return [b for _, b in tb.chunks if b.num_rows]


def test_batches_follow_adds_and_drops_oldest_first_without_empty_ones():
    tb = TableBuffer()
    first, empty, second = _batch([1, 2]), _batch([]), _batch([3])
    tb.add(1, first)
    assert tb.batches() == [first]
    tb.add(1, empty)
    tb.add(2, second)                       # appended to the kept list
    assert tb.batches() is tb.batches() and [id(b) for b in tb.batches()] == [id(first), id(second)]
    third = _batch([4, 5])
    tb.add(3, third)
    assert [id(b) for b in tb.batches()] == [id(b) for b in _expected(tb)] == [id(first), id(second), id(third)]
    tb.drop_upto(1)                         # a snapshot persisted WAL file 1
    assert [id(b) for b in tb.batches()] == [id(second), id(third)]
    tb.drop_rows_upto(4)                    # a restore rolled back rows up to sequence 4
    assert [b.column(SEQ_COLUMN).to_pylist() for b in tb.batches()] == [[5]]
    tb.add(4, first)
    assert [b.column(SEQ_COLUMN).to_pylist() for b in tb.batches()] == [[5], [1, 2]]
