"""InfluxQL answers do not depend on what holds the rows: random queries (tests/influxql_random.py)
over one random dataset held in the buffer, in Parquet after a snapshot, split between two nodes
of one data directory (one of them snapshotted halfway), and written out of order in small
batches, some points first with other values that later writes overwrite, with snapshots between
and a compaction at the end. Every answer, and SQL's rows, must equal the buffered engine's."""

from __future__ import annotations

import random
import re
import time

import pytest
from influxql_random import answer, any_query, close, common_query, dataset

from jupyter_influx3.engine import Engine
from jupyter_influx3.engine.influxql.executor import Executor

QUERIES = 50
_NUMBER = re.compile(r"=(-?[0-9.]+)(i?)([, ])")


def _buffered(root, db, lines, rnd):
    e = Engine(root / "buffer", node_id="a", background=False)
    e.write_lp(db, "\n".join(lines), "s")
    return [e]


def _snapshotted(root, db, lines, rnd):
    e = Engine(root / "parquet", node_id="a", background=False)
    e.write_lp(db, "\n".join(lines), "s")
    e.snapshot()
    return [e]


def _two_nodes(root, db, lines, rnd):
    a = Engine(root / "nodes", node_id="a", background=False)
    b = Engine(root / "nodes", node_id="b", background=False)
    for i, line in enumerate(lines):
        (a if rnd.random() < 0.5 else b).write_lp(db, line, "s")
        if i == len(lines) // 2:
            a.snapshot()
    return [b, a]   # (b answers: a's snapshot and rows are another node's to it)


def _overwritten(root, db, lines, rnd):
    e = Engine(root / "overwritten", node_id="a", background=False)
    lines = lines[:]
    rnd.shuffle(lines)
    for k in range(0, len(lines), 7):
        batch = lines[k:k + 7]
        older = [_NUMBER.sub(lambda m: "=" + ("7" if m.group(2) else "7.25") + m.group(2) + m.group(3), line)
                 for line in batch if rnd.random() < 0.4]
        if older:
            e.write_lp(db, "\n".join(older), "s")
        if rnd.random() < 0.2:
            e.snapshot()
        e.write_lp(db, "\n".join(batch), "s")
    e.compact()
    return [e]


def _answers(engine, db, queries, now) -> list:
    ex = Executor(engine)
    out = [answer(ex, db, q, now) for q in queries]
    out.append(engine.sql(db, "SELECT * FROM cpu ORDER BY time, host").to_pylist())
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_answer_is_the_same_whatever_holds_the_rows(tmp_path, seed):
    rnd = random.Random(seed)
    lp, hosts = dataset(rnd)
    queries = [common_query(rnd, hosts) if rnd.random() < 0.6 else any_query(rnd, hosts) for _ in range(QUERIES)]
    db, now = "db", time.time_ns()
    want = None
    for build in (_buffered, _snapshotted, _two_nodes, _overwritten):
        engines = build(tmp_path, db, lp.split("\n"), random.Random(seed))
        try:
            got = _answers(engines[0], db, queries, now)
        finally:
            for e in engines:
                e.close()
        if want is None:
            want = got
            assert any("series" in r["results"][0] for r in got[:-1]), "no query answered a series"
            continue
        for q, w, g in zip(queries + ["SQL: SELECT * FROM cpu"], want, got):
            assert (close(w, g) if isinstance(w, dict) else w == g), f"{build.__name__}: {q}\n{w}\n{g}"
