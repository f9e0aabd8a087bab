"""InfluxQL from Python: ``Engine.query_influxql`` (the flat InfluxDB 3 table) and the
``%%influxql`` magic built on it."""

from __future__ import annotations

import pytest

from jupyter_influx3.engine import Engine, errors
from jupyter_influx3.engine.influxql.api import InfluxqlQueryError

LP = "\n".join([f"cpu,host=a,region=east usage={i},n={i}i {1_700_000_000 + i}" for i in range(5)]
               + [f"cpu,host=b,region=west usage={10 + i} {1_700_000_000 + i}" for i in range(5)])


@pytest.fixture
def engine(tmp_path):
    eng = Engine(tmp_path / "d", node_id="n1", background=False)
    assert not eng.write_lp("demo", LP, "s").errors
    yield eng
    eng.close()


def test_flat_table(engine):
    t = engine.query_influxql("demo", "SELECT usage, host FROM cpu WHERE usage >= 13").to_table()
    assert t.column_names == ["iox::measurement", "time", "usage", "host"]
    assert t.column("usage").to_pylist() == [13.0, 14.0]
    assert t.column("iox::measurement").to_pylist() == ["cpu", "cpu"]
    t = engine.query_influxql("demo", "SELECT mean(usage) FROM cpu GROUP BY host").to_table()
    assert t.column_names == ["iox::measurement", "time", "host", "mean"]
    assert t.column("host").to_pylist() == ["a", "b"] and t.column("mean").to_pylist() == [2.0, 12.0]


def test_reader_and_params(engine):
    res = engine.query_influxql("demo", "SELECT n FROM cpu WHERE host = $h AND n > $m", {"h": "a", "m": 2})
    assert res.schema.names == ["iox::measurement", "time", "n"]
    assert res.reader.read_all().column("n").to_pylist() == [3, 4]


def test_database_in_the_statement_and_show(engine):
    t = engine.query_influxql(None, "SHOW TAG VALUES ON demo WITH KEY = host").to_table()
    assert t.to_pylist() == [{"iox::measurement": "cpu", "key": "host", "value": "a"},
                             {"iox::measurement": "cpu", "key": "host", "value": "b"}]
    t = engine.query_influxql(None, "SELECT count(usage) FROM demo.autogen.cpu").to_table()
    assert t.column("count").to_pylist() == [10]


def test_errors(engine):
    with pytest.raises(errors.DatabaseNotFound):
        engine.query_influxql("nope", "SELECT * FROM cpu")
    with pytest.raises(InfluxqlQueryError) as e:
        engine.query_influxql("demo", "SELECT usage FROM cpu; SELECT n FROM cpu")
    assert e.value.status == 400 and str(e.value) == "must provide only one InfluxQl statement per query"
    with pytest.raises(InfluxqlQueryError, match="parsing error"):
        engine.query_influxql("demo", "SELEC usage FROM cpu")
    with pytest.raises(InfluxqlQueryError, match="must specify a 'db' parameter"):
        engine.query_influxql(None, "SELECT usage FROM cpu")


def test_influxql_magic(tmp_path, monkeypatch):
    pytest.importorskip("IPython")
    from IPython.testing.globalipapp import get_ipython, start_ipython

    monkeypatch.setenv("INFLUX3_DATA_DIR", str(tmp_path / "magic"))
    monkeypatch.delenv("INFLUX3_TOKEN", raising=False)
    shell = start_ipython() or get_ipython()
    shell.run_line_magic("load_ext", "jupyter_influx3")
    try:
        r = shell.run_cell("%%lp -d demo --precision s\n" + LP, store_history=False)
        assert r.error_in_exec is None
        r = shell.run_cell("%%influxql -d demo -o frame\nSELECT max(usage) FROM cpu GROUP BY host, region",
                           store_history=False)
        assert r.error_in_exec is None and r.error_before_exec is None
        df = shell.user_ns["frame"]
        assert list(df.columns) == ["iox::measurement", "time", "host", "region", "max"]
        assert df["host"].tolist() == ["a", "b"] and df["max"].tolist() == [4.0, 14.0]
    finally:
        shell.run_line_magic("unload_ext", "jupyter_influx3")


def test_parsed_texts_are_kept_per_text_and_parameters(engine):
    from jupyter_influx3.engine.influxql.executor import Executor
    from jupyter_influx3.engine.influxql.parser import ParseError

    ex = Executor(engine)
    q = "SELECT v FROM m WHERE host = $h"
    a, b = ex.parse(q, {"h": "x"}), ex.parse(q, {"h": "x"})
    assert a is b                                     # the same tree, not parsed again
    c = ex.parse(q, {"h": "y"})
    assert c is not a and "'y'" in str(c) and "'x'" in str(a)
    for _ in range(2):                                # an error is raised every time
        with pytest.raises(ParseError):
            ex.parse("SELECT FROM")
