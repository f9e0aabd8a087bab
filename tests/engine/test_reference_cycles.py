"""An InfluxQL statement leaves no reference cycles behind. What a statement allocates is freed
when its answer is: a cycle (a run whose reader keeps a closure over the run, a nested function
calling itself) waits for the cyclic GC instead, and with ~20 such objects per request a gen-0
collection ran every few requests of a busy server (~0.5 ms each on the 2-CPU machine here, see
benchmarks/README.md) and the memory of every request went cold before it was reused.

Each statement runs once (building the caches and kept plans it leaves on purpose), then again
with everything alive frozen out of the collector's sight (``gc.freeze``): the second run must
leave no unreachable object of this project's types.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import influxql_examples
import pytest
from reference_cycles import cyclic_garbage_of

from jupyter_influx3.engine import Engine
from jupyter_influx3.engine.influxql.executor import Executor
from jupyter_influx3.engine.influxql.parser import ParseError
from jupyter_influx3.http.serialize import v1_json

DATA = Path(__file__).resolve().parents[1] / "data"

# beyond the 1.6.7 examples: statements whose paths had cycles (a subquery's binary-expression
# name, SHOW MEASUREMENTS' condition, EXPLAIN's tree printing and ANALYZE's iterator owners) and
# the TSBS shapes of the benchmarks, each with two texts of one shape (the template path)
EXTRA = [
    "SELECT min(m) FROM (SELECT 100 - max(value) AS m FROM cpu GROUP BY host)",
    "SELECT max(v) FROM (SELECT value * 2 + value AS v FROM cpu)",
    "SHOW MEASUREMENTS WHERE host =~ /server.*/",
    "SHOW MEASUREMENTS WHERE host != 'serverA' OR region = 'uswest'",
    "EXPLAIN SELECT max(value) FROM cpu WHERE host = 'serverA' GROUP BY time(1m)",
    "EXPLAIN ANALYZE SELECT max(m) FROM (SELECT mean(value) AS m FROM cpu GROUP BY host)",
    "SELECT max(value) FROM cpu WHERE host = 'serverA' AND time >= 0s AND time < 3600s GROUP BY time(1m)",
    "SELECT max(value) FROM cpu WHERE host = 'serverB' AND time >= 60s AND time < 3660s GROUP BY time(1m)",
    "SELECT mean(value) FROM cpu WHERE time >= 0s AND time < 7200s GROUP BY time(1h), host ORDER BY time DESC LIMIT 5",
    "SELECT last(value) FROM cpu GROUP BY host",
]


def _answer(ex: Executor, line: str, params: dict) -> bytes | str:
    try:
        return v1_json(list(ex.execute(line, database=params.get("db"))), params.get("epoch"))
    except ParseError as e:
        return str(e)


def _statements() -> list[tuple[str, dict]]:
    return [influxql_examples.statement_and_params(c["line"]) for c in influxql_examples.cases()] + \
        [(s, dict(influxql_examples.DEFAULT_PARAMS)) for s in EXTRA]


@pytest.fixture(scope="module")
def executor(tmp_path_factory):
    eng = Engine(tmp_path_factory.mktemp("cycles") / "d", node_id="n1", background=False)
    lp = gzip.decompress((DATA / "influxql_v1_examples_dataset.lp.gz").read_bytes()).decode()
    assert not eng.write_lp("diff", lp, "s").errors
    yield Executor(eng)
    eng.close()


def test_no_statement_leaves_reference_cycles(executor):
    found = {}
    statements = _statements()
    assert len(statements) == 54 + len(EXTRA)
    for line, params in statements:
        first = _answer(executor, line, params)
        left = cyclic_garbage_of(lambda: _answer(executor, line, params))
        if left:
            found[line] = left
        if not line.startswith("EXPLAIN ANALYZE"):   # (its answer holds timings)
            assert first == _answer(executor, line, params), line   # the checked run answered alike
    assert not found, "\n".join(f"{k}\n    {', '.join(v)}" for k, v in found.items())


def test_a_nested_function_calling_itself_is_found(executor):
    """The check can fail: a closure that calls itself is a cycle it reports."""
    def make():
        def again(n):
            return n if n <= 0 else again(n - 1)
        again.__module__ = "jupyter_influx3.engine.influxql.probe"
        return again(3)

    assert cyclic_garbage_of(make) == ["function test_a_nested_function_calling_itself_is_found.<locals>.make"
                                        ".<locals>.again"]


def _lines(k: int) -> str:
    return "\n".join(f"w,host=h{i % 20},region=r{i % 3} usage={i * 1.5},n={i}i {(k * 1000 + i) * 10**9}"
                     for i in range(1000))


def test_writes_snapshots_and_sql_leave_no_reference_cycles(tmp_path):
    """The write path (good and refused lines), a snapshot to Parquet with its compaction and
    memory hand-back (a ctypes library loaded per snapshot was a cycle), and a SQL query of a
    known text (its translation cached; a new text leaves sqlglot's tree, whose nodes point to
    their parents, to the collector). Nothing else runs meanwhile: no garbage of any kind."""
    eng = Engine(tmp_path / "d", node_id="n1", background=False)
    written = iter(range(1, 100))
    sql = "SELECT host, max(usage) FROM w GROUP BY host ORDER BY host"

    def write() -> None:
        assert not eng.write_lp("db", _lines(next(written)), "nanosecond").errors

    def work() -> None:
        write()
        assert eng.write_lp("db", "w,host=a usage=", "nanosecond").errors
        eng.snapshot()
        eng.compact()
        eng.query_sql("db", sql)

    try:
        work()
        assert cyclic_garbage_of(work, everything=True) == []
    finally:
        eng.close()
