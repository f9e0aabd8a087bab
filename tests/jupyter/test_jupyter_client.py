"""`jupyter_influx3.connect()`: the same methods on the engine in this process and over HTTP
(a real `influx3 serve` on a port), with DataFrame writes, bound parameters and result formats."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import jupyter_influx3
from jupyter_influx3.jupyter.client import EngineClient, HttpClient, Influx3Error
from jupyter_influx3.jupyter.dataframe import dataframe_to_lines


@pytest.fixture(scope="module")
def http_server(start_influx3_session):
    return start_influx3_session()


@pytest.fixture(params=["engine", "http"])
def client(request, tmp_path):
    if request.param == "engine":
        c = jupyter_influx3.connect(data_dir=tmp_path / "data")
    else:
        c = jupyter_influx3.connect(url=request.getfixturevalue("http_server").url)
    yield c
    c.close()


@pytest.fixture
def db(request) -> str:
    return "c_" + request.node.name.replace("[", "_").replace("]", "").replace("-", "_")[:50]


def test_connect_picks_the_client():
    with pytest.raises(Influx3Error, match="either url"):
        jupyter_influx3.connect(url="http://127.0.0.1:1", data_dir="/tmp/x")
    with pytest.raises(Influx3Error, match="not an http"):
        jupyter_influx3.connect(url="ftp://x")


def test_default_data_dir_is_the_environment_one(data_dir):
    with jupyter_influx3.connect() as c:
        assert isinstance(c, EngineClient)
        assert c.data_dir == data_dir.absolute()
        c.write("m v=1 1", database="d")
    assert (data_dir / "catalog").is_dir()


def test_write_lp_and_sql_with_params(client, db):
    report = client.write("cpu,host=a usage=0.5 1700000000\ncpu,host=b usage=0.7 1700000001",
                          database=db, precision="s")
    assert report.lines_written == 2 and report.ok
    assert str(report) == f"2 lines written to {db}"
    df = client.sql("SELECT host, usage FROM cpu WHERE host = $h", database=db, params={"h": "b"})
    assert isinstance(df, pd.DataFrame)
    assert df.to_dict("records") == [{"host": "b", "usage": 0.7}]
    # a value is bound, never pasted: a quote in it is just data
    none = client.sql("SELECT host FROM cpu WHERE host = $h", database=db, params={"h": "a' OR '1'='1"})
    assert len(none) == 0


def test_rejected_lines_are_reported(client, db):
    report = client.write("cpu,host=a usage=1 1\ncpu,host=b usage=oops 2\ncpu,host=c usage=3 3", database=db)
    assert report.lines_written == 2
    assert [(r.line_number, r.original_line) for r in report.rejected] == [(2, "cpu,host=b usage=oops 2")]
    assert "1 line rejected" in str(report)
    html = report._repr_html_()
    assert "<table" in html and "usage=oops" in html


def test_no_accept_partial_writes_nothing(client, db):
    client.write("cpu,host=z usage=1 1", database=db)
    report = client.write("cpu,host=a usage=2 2\ncpu,host=b usage=oops 3", database=db, accept_partial=False)
    assert report.lines_written == 0 and len(report.rejected) == 1
    assert client.sql("SELECT count(*) AS n FROM cpu", database=db)["n"][0] == 1


def test_formats(client, db):
    client.write("m,t=x v=1i 1000", database=db)
    assert isinstance(client.sql("SELECT * FROM m", database=db, format="arrow"), pa.Table)
    pl = pytest.importorskip("polars")
    assert isinstance(client.sql("SELECT * FROM m", database=db, format="polars"), pl.DataFrame)
    with pytest.raises(Influx3Error, match="unknown format"):
        client.sql("SELECT * FROM m", database=db, format="xml")


def test_errors_carry_the_servers_message(client, db):
    client.write("m v=1 1", database=db)
    with pytest.raises(Influx3Error) as err:
        client.sql("SELECT nope FROM m", database=db)
    assert "nope" in err.value.message
    with pytest.raises(Influx3Error, match="database .* not found"):
        client.sql("SELECT 1", database=db + "_missing")
    with pytest.raises(Influx3Error, match="no database"):
        client.sql("SELECT 1")


def test_admin_calls(client, db):
    client.create_database(db)
    assert db in client.databases()
    client.create_table("sensors", tags=["room"], fields={"temp": "float64", "n": "int64"}, database=db)
    assert client.tables(db) == ["sensors"]
    cols = client.columns("sensors", db)
    assert cols.to_dict("records") == [
        {"column": "room", "kind": "tag", "type": "utf8"},
        {"column": "n", "kind": "field", "type": "int64"},
        {"column": "temp", "kind": "field", "type": "float64"},
        {"column": "time", "kind": "time", "type": "timestamp"},
    ]
    client.delete_table("sensors", db)
    assert client.tables(db) == []
    client.delete_database(db)
    assert db not in client.databases()


def test_write_dataframe(client, db):
    times = pd.date_range("2024-01-01", periods=4, freq="min")
    df = pd.DataFrame({
        "time": times,
        "host": ["a", "b", None, "a"],
        "usage": [0.5, np.nan, 0.25, 1.0],
        "count": pd.array([1, 2, None, 4], dtype="Int64"),
        "ok": [True, False, True, True],
        "note": ['say "hi"', "x,y=z", "back\\slash", None],
    })
    report = client.write(df, database=db, table="load avg", tags=["host"], precision=None)
    assert report.lines_written == 4
    out = client.sql('SELECT * FROM "load avg" ORDER BY time', database=db)
    assert list(out["usage"].isna()) == [False, True, False, False]
    assert out["note"].tolist()[:3] == ['say "hi"', "x,y=z", "back\\slash"]
    assert out["host"].isna().tolist() == [False, False, True, False]
    assert out["host"].dropna().tolist() == ["a", "b", "a"]
    assert out["count"].tolist()[:2] == [1, 2]
    assert out["time"].tolist() == list(times)
    # constant tags and a DatetimeIndex
    df2 = pd.DataFrame({"v": [1.0, 2.0]}, index=pd.DatetimeIndex(["2024-01-01", "2024-01-02"], tz="UTC"))
    client.write(df2, database=db, table="m2", tags={"site": "lab"})
    assert client.sql("SELECT site, v FROM m2 ORDER BY time", database=db).to_dict("records") == [
        {"site": "lab", "v": 1.0}, {"site": "lab", "v": 2.0}]


def test_dataframe_errors(client, db):
    with pytest.raises(Influx3Error, match="time"):
        client.write(pd.DataFrame({"v": [1.0]}), database=db, table="m")
    with pytest.raises(Influx3Error, match="table"):
        client.write(pd.DataFrame({"time": [1], "v": [1.0]}), database=db)
    with pytest.raises(Influx3Error, match="DataFrames"):
        client.write("m v=1", database=db, tags=["x"])


def test_dataframe_lines_escape_and_skip():
    df = pd.DataFrame({"time": [1, 2], "t": ["a b", None], "f": [np.nan, np.nan], "g": [np.inf, 1.5]})
    conv = dataframe_to_lines(df, "m,x", tags=["t"], fields=["f", "g"], precision="s")
    assert conv.lines == ["m\\,x g=1.5 2"] and conv.skipped_rows == 1 and conv.precision == "s"


def test_datetime_params(client, db):
    client.write("m v=1 1700000000000000000\nm v=2 1700000100000000000", database=db)
    since = dt.datetime(2023, 11, 14, 22, 14, tzinfo=dt.timezone.utc)
    out = client.sql("SELECT v FROM m WHERE time >= $since", database=db, params={"since": since})
    assert out["v"].tolist() == [2.0]


def test_http_client_sends_the_token(start_influx3):
    server = start_influx3(auth=True)
    with pytest.raises(Influx3Error) as err:
        HttpClient(server.url).databases()
    assert err.value.status == 401
    from jupyter_influx3.engine import Engine
    from jupyter_influx3.engine import tokens as tokenlib

    with Engine(server.data_dir, node_id="token-maker", background=False) as eng:
        token = tokenlib.create_admin_token(eng.catalog).token
    c = jupyter_influx3.connect(url=server.url, token=token, database="secure")
    assert c.write("m v=1 1").lines_written == 1
    assert c.sql("SELECT v FROM m")["v"].tolist() == [1.0]


def test_engines_are_shared_per_data_dir(tmp_path):
    a = jupyter_influx3.connect(data_dir=tmp_path / "d")
    b = jupyter_influx3.connect(data_dir=tmp_path / "d")
    assert a.engine is b.engine
    a.close()
    b.write("m v=1 1", database="x")  # still open for b
    b.close()
    c = jupyter_influx3.connect(data_dir=tmp_path / "d")
    assert c.engine is not a.engine
    assert c.sql("SELECT v FROM m", database="x")["v"].tolist() == [1.0]
    c.close()


def test_write_arrow_and_polars(client, db):
    table = pa.table({"time": pa.array([1_000_000_000, 2_000_000_000], pa.timestamp("ns")),
                      "room": ["a", "b"], "t": [20.5, 21.5]})
    assert client.write(table, database=db, table="arrow_rooms", tags=["room"]).lines_written == 2
    pl = pytest.importorskip("polars")
    frame = pl.DataFrame({"time": [3, 4], "room": ["c", "d"], "t": [1.0, 2.0]})
    assert client.write(frame, database=db, table="polars_rooms", tags="room", precision="s").lines_written == 2
    out = client.sql("SELECT room, t, time FROM polars_rooms ORDER BY time", database=db)
    assert out["room"].tolist() == ["c", "d"] and out["time"].tolist() == [pd.Timestamp(3, unit="s"),
                                                                           pd.Timestamp(4, unit="s")]


def test_influxql_is_dispatched(client, db):
    client.write("m v=1 1", database=db)
    out = client.influxql("SELECT v FROM m", database=db)
    assert out["v"].tolist() == [1.0]


ERRORS = [  # (language, query, the line a user sees)
    ("sql", "SELECT * FROM nosuchtable", 'table "nosuchtable" not found in database "{db}"'),
    ("sql", "SELECT nope FROM m", 'column "nope" not found'),
    ("sql", "SELECT *\nFROM m\nWHERE v >", "syntax error at line 3, column 9\n  WHERE v >\n          ^"),
    ("influxql", "SELECT * FROM m WHERE",
     "syntax error at line 1, column 23: found EOF, expected identifier, string, number, bool\n"
     "  SELECT * FROM m WHERE\n  " + " " * 21 + "^"),  # EOF: the caret just past the end
]


@pytest.mark.parametrize("language,query,line", ERRORS, ids=["table", "column", "sql-syntax", "influxql-syntax"])
def test_a_query_error_is_the_same_short_line_in_process_and_over_http(client, db, language, query, line):
    client.write("m v=1 1", database=db)
    with pytest.raises(Influx3Error) as err:
        client.query(query, database=db, language=language)
    assert err.value.message == line.format(db=db)
    assert "public.iox" not in err.value.message and "Error during planning" not in err.value.message
    # the API's own wording stays available (and is what the HTTP body says)
    assert err.value.server_message != err.value.message


def test_an_unknown_database_reads_the_same_everywhere(client, db):
    with pytest.raises(Influx3Error) as err:
        client.sql("SELECT 1", database=db + "_missing")
    assert err.value.message == f'database "{db}_missing" not found'


def test_a_rejected_line_says_what_is_wrong_with_it(client, db):
    report = client.write("m,host=a v=1 1\nm,host=a usage=oops 2", database=db)
    assert report.lines_written == 1
    [bad] = report.rejected
    assert (bad.line_number, bad.error_message, bad.original_line) == (2, "No fields were provided",
                                                                        "m,host=a usage=oops 2")
    assert bad.detail == 'invalid field value "oops" for "usage": strings need double quotes'
