"""InfluxDB 3's flat table (``/api/v3/query_influxql``, Flight, ``Engine.query_influxql``) read from
the SELECT's arrays is the table made from the rows' Python values, column for column and type for
type: every field type, nulls, a field missing from a series, several series, tags."""

from __future__ import annotations

import pytest

from jupyter_influx3.engine.influxql.api import executor_for_engine
from jupyter_influx3.engine.influxql.results import flat_table

S = 1_700_000_000


@pytest.fixture
def executor(engine):
    lines = []
    for i in range(30):
        t = S + i * 10
        lines.append(f'm,host=a,dc=x f={i * 0.5 - 3},i={i - 7}i,u={i * 3}u,s="v{i % 4}",b={str(i % 3 == 0).lower()} {t}')
        if i % 2:
            lines.append(f"m,host=b f={-i * 1.25},i={i}i {t}")          # no u, s, b; no dc
        if i % 5 == 0:
            lines.append(f'm,host=c,dc=y s="only" {t}')                  # a string alone
    assert not engine.write_lp("db", "\n".join(lines), "s").errors
    return executor_for_engine(engine)


QUERIES = [
    "SELECT * FROM m",
    "SELECT * FROM m WHERE host = 'a'",
    "SELECT f, i, u, s, b FROM m WHERE host = 'b'",
    "SELECT * FROM m GROUP BY host",
    "SELECT s, dc FROM m GROUP BY host",
    f"SELECT mean(f), max(i), last(s), count(b), sum(u) FROM m WHERE time >= {S}s AND time < {S + 300}s "
    "GROUP BY time(1m), host",
    f"SELECT max(f), first(u) FROM m WHERE time >= {S}s AND time < {S + 300}s GROUP BY time(1m) fill(0)",
    "SELECT f * 2, i + 1, f / i FROM m WHERE host = 'a'",
    "SELECT top(f, host, 3) FROM m",
]


@pytest.mark.parametrize("q", QUERIES)
def test_the_flat_table_from_arrays_is_the_table_from_values(executor, q):
    stmt = executor.parse(q).statements[0]
    res = executor.execute_statement(stmt, 0, database="db")
    assert res.error is None and res.series
    group_tags = sorted({k for s in res.series for k in (s.tags or {})})
    assert all(s.arrays is not None for s in res.series)
    from_arrays = flat_table(res, group_tags)
    for s in res.series:
        s.values = s.values          # the rows as Python values only
        assert s.arrays is None
    from_values = flat_table(res, group_tags)
    assert from_arrays.schema == from_values.schema
    assert from_arrays.equals(from_values), q
    assert from_arrays.num_rows == sum(len(s) for s in res.series) > 0
