"""date_bin's width of a fixed-length interval is a constant in the translated SQL, equal to what
the influx_interval_ns macro gives; other intervals still go through the macro."""

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from jupyter_influx3.engine import Engine
from jupyter_influx3.engine.sql.dialect import InfluxSQL
from jupyter_influx3.engine.sql.functions import MACROS, interval_ns


def _interval(text: str) -> exp.Expression:
    return sqlglot.parse_one(f"SELECT {text}", read=InfluxSQL).expressions[0]


@pytest.fixture(scope="module")
def duck():
    con = duckdb.connect()
    for m in MACROS:
        con.execute(m)
    return con


@pytest.mark.parametrize("text", ["INTERVAL '1 minute'", "INTERVAL '5 minutes'", "INTERVAL '1' HOUR", "INTERVAL '10 seconds'",
                                  "INTERVAL '2 days'", "INTERVAL '1 week'", "INTERVAL '250 milliseconds'",
                                  "INTERVAL '7 microseconds'", "INTERVAL '-2 hours'"])
def test_a_fixed_interval_is_the_constant_the_macro_gives(duck, text):
    width = interval_ns(_interval(text))
    assert not isinstance(width, exp.Anonymous)    # a number, not a call
    assert int(width.sql(dialect="duckdb")) == duck.execute(f"SELECT influx_interval_ns(CAST({text} AS INTERVAL))").fetchone()[0]


@pytest.mark.parametrize("text", ["INTERVAL '1 month'", "INTERVAL '1 year'", "INTERVAL '1 hour 30 minutes'",
                                  "INTERVAL '1.5 hours'", "'1 minute'"])
def test_any_other_interval_goes_through_the_macro(text):
    width = interval_ns(_interval(text))
    assert isinstance(width, exp.Anonymous) and width.name == "influx_interval_ns"


def _bins(table):
    return list(zip((t // 10**9 for t in table.column("t").cast("int64").to_pylist()), table.column("n").to_pylist()))


def test_date_bin_and_date_bin_gapfill_bin_alike_with_the_constant_width(tmp_path):
    e = Engine(tmp_path, node_id="n", background=False)
    s = 10**9
    e.write_lp("db", "\n".join(f"m v={i} {i * 40 * s}" for i in range(6)), "ns")   # 0, 40, ..., 200 s
    got = e.sql("db", "SELECT date_bin(INTERVAL '1 minute', time) AS t, count(*) AS n FROM m GROUP BY 1 ORDER BY 1")
    assert _bins(got) == [(0, 2), (60, 1), (120, 2), (180, 1)]
    got = e.sql("db", "SELECT date_bin_gapfill(INTERVAL '90 seconds', time) AS t, count(*) AS n FROM m "
                      "WHERE time >= '1970-01-01T00:00:00Z' AND time < '1970-01-01T00:06:00Z' GROUP BY 1 ORDER BY 1")
    assert _bins(got) == [(0, 3), (90, 2), (180, 1), (270, None)]
    e.close()
