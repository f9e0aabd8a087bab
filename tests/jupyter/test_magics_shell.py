"""The magics in IPython's real InteractiveShell: %%sql / %%influx3_sql, %%lp, %influx3, %config,
parameters, display, errors and tab completion."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest
from IPython.core.completer import provisionalcompleter
from jupyter_helpers import ok, run

from jupyter_influx3.jupyter.display import MagicError, ResultView
from jupyter_influx3.jupyter.magics import parse_query_line, placeholders

LP = "\n".join(f"cpu,host=h{i % 3},region=eu usage={i / 10},n={i}i {1700000000 + i}" for i in range(30))


@pytest.fixture
def loaded(ip):
    ok(ip, "%%lp -d demo --precision s\n" + LP)
    ok(ip, "%influx3 use demo")
    return ip


def test_sql_and_influx3_sql_are_registered(ip):
    cells = ip.magics_manager.magics["cell"]
    assert {"sql", "influx3_sql", "lp"} <= set(cells)
    assert {"sql", "influx3_sql", "lp", "influx3"} <= set(ip.magics_manager.magics["line"])


def test_sql_left_to_another_extension(ip):
    ip.run_line_magic("unload_ext", "jupyter_influx3")

    def other_sql(line, cell=None):
        return "jupysql"

    ip.register_magic_function(other_sql, "line_cell", "sql")
    try:
        ip.run_line_magic("load_ext", "jupyter_influx3")
        assert ok(ip, "%%sql\nSELECT 1") == "jupysql"
        ok(ip, "%%lp -d demo\nm v=1 1")
        view = ok(ip, "%%influx3_sql -d demo\nSELECT v FROM m")
        assert view.to_pandas()["v"].tolist() == [1.0]
        assert "owned by" in repr(ok(ip, "%influx3 status"))
    finally:
        ip.run_line_magic("unload_ext", "jupyter_influx3")
        ip.magics_manager.magics["cell"].pop("sql", None)
        ip.magics_manager.magics["line"].pop("sql", None)
        ip.run_line_magic("load_ext", "jupyter_influx3")


def test_lp_reports_lines_and_rejects(ip):
    report = ok(ip, "%%lp -d demo\ncpu,host=a usage=1 1\ncpu,host=b usage=bad 2\n\ncpu,host=c usage=2 3")
    assert str(report) == "2 lines written to demo, 1 line rejected"
    assert [(r.line_number, r.original_line) for r in report.rejected] == [(2, "cpu,host=b usage=bad 2")]
    html = report._repr_html_()
    assert "<td>2</td>" in html and "usage=bad" in html


def test_lp_with_every_line_rejected_fails_the_cell_and_says_no_database_was_made(ip):
    res = run(ip, "%%lp -d fresh_db\ncpu,host=a usage=oops 1\ncpu v= 2")
    assert isinstance(res.error_in_exec, MagicError)
    assert res.error_in_exec.message.splitlines() == [
        "0 lines written to fresh_db, 2 lines rejected; the database fresh_db was not created",
        "  line 1: No fields were provided: cpu,host=a usage=oops 1",
        '    invalid field value "oops" for "usage": strings need double quotes',
        "  line 2: No fields were provided: cpu v= 2",
        '    field "v" has no value',
    ]
    assert "fresh_db" not in repr(ok(ip, "%influx3 databases"))
    # into a database that exists, the cell still fails, without the note
    ok(ip, "%%lp -d fresh_db\ncpu v=1 1")
    res = run(ip, "%%lp -d fresh_db\ncpu v=oops 2")
    assert res.error_in_exec.message.splitlines()[0] == "0 lines written to fresh_db, 1 line rejected"


def test_lp_explains_a_rejected_line_beside_influxdb_3s_message(ip):
    report = ok(ip, "%%lp -d demo\ncpu,host=a usage=1 1\ncpu,host=b usage=oops 2")
    assert repr(report).splitlines() == [
        "1 line written to demo, 1 line rejected",
        "  line 2: No fields were provided: cpu,host=b usage=oops 2",
        '    invalid field value "oops" for "usage": strings need double quotes',
    ]
    assert "strings need double quotes" in report._repr_html_()


def test_status_shows_the_version(ip):
    from jupyter_influx3 import __version__

    assert f"version       jupyter-influx3 {__version__}" in repr(ok(ip, "%influx3 status"))


def test_sql_error_is_the_short_line(loaded):
    res = run(loaded, "%%sql\nSELECT * FROM nosuchtable")
    assert res.error_in_exec.message == 'table "nosuchtable" not found in database "demo"'
    res = run(loaded, "%%sql\nSELECT *\nFROM cpu WHERE")
    assert res.error_in_exec.message.startswith("syntax error at line 2, column")
    assert res.error_in_exec.message.splitlines()[1:] == ["  FROM cpu WHERE", "  " + " " * 13 + "^"]


def test_lp_options(ip):
    res = run(ip, "%%lp -d demo --precision s --no-accept-partial\nm v=1 1\nm v=oops 2")
    assert isinstance(res.error_in_exec, MagicError)
    assert res.error_in_exec.message.startswith("0 lines written to demo, 1 line rejected")
    assert ok(ip, "%%lp -d demo --no-sync --precision ms\nm v=2 1000").lines_written == 1
    view = ok(ip, "%%sql -d demo\nSELECT time, v FROM m")
    assert view.to_pandas()["time"].tolist() == [pd.Timestamp("1970-01-01 00:00:01")]


def test_query_display_cut_and_whole_result_kept(loaded):
    ok(loaded, "%config Influx3Magics.displaylimit = 5")
    view = ok(loaded, "%%sql -o df\nSELECT * FROM cpu ORDER BY time")
    assert isinstance(view, ResultView)
    assert "showing 5 of 30 rows" in repr(view) and "showing 5 of 30 rows" in view._repr_html_()
    assert repr(view).count("\n") == 6  # header + 5 rows + footer
    df = loaded.user_ns["df"]
    assert isinstance(df, pd.DataFrame) and len(df) == 30
    view = ok(loaded, "%%sql -l 50\nSELECT * FROM cpu")
    assert "showing" not in repr(view) and "30 rows" in repr(view)


def test_assignment_form_stores_without_display(loaded):
    assert ok(loaded, "%%sql\nagg << SELECT host, count(*) AS n FROM cpu GROUP BY host ORDER BY host") is None
    assert loaded.user_ns["agg"].to_dict("records") == [
        {"host": "h0", "n": 10}, {"host": "h1", "n": 10}, {"host": "h2", "n": 10}]
    assert ok(loaded, "%%sql tot <<\nSELECT count(*) AS n FROM cpu") is None
    assert loaded.user_ns["tot"]["n"][0] == 30
    assert ok(loaded, "%sql one << SELECT max(n) AS m FROM cpu") is None
    assert loaded.user_ns["one"]["m"][0] == 29


def test_line_magic_query(loaded):
    view = ok(loaded, "%sql -d demo SELECT count(*) AS n FROM cpu")
    assert view.to_pandas()["n"][0] == 30


def test_params_from_variables_and_option(loaded):
    loaded.user_ns["host"] = "h1"
    view = ok(loaded, "%%sql\nSELECT count(*) AS n FROM cpu WHERE host = $host")
    assert view.to_pandas()["n"][0] == 10
    view = ok(loaded, "%%sql --params {'host': 'h2', 'lo': 1.0}\nSELECT count(*) AS n FROM cpu WHERE host = $host AND usage >= $lo")
    assert view.to_pandas()["n"][0] == 7
    loaded.user_ns["p"] = {"host": "h0"}
    assert ok(loaded, "%%sql --params $p\nSELECT count(*) AS n FROM cpu WHERE host = $host").to_pandas()["n"][0] == 10
    # never pasted: an injection attempt is just a value; $ inside a string literal is text
    loaded.user_ns["host"] = "h1' OR 'x'='x"
    assert ok(loaded, "%%sql\nSELECT count(*) AS n FROM cpu WHERE host = $host").to_pandas()["n"][0] == 0
    assert ok(loaded, "%%sql\nSELECT '$host' AS s").to_pandas()["s"][0] == "$host"


def test_missing_param_is_one_clear_error(loaded, capsys):
    res = run(loaded, "%%sql\nSELECT * FROM cpu WHERE host = $nobody")
    assert isinstance(res.error_in_exec, MagicError)
    assert "no value for $nobody" in res.error_in_exec.message


def test_errors_fail_the_cell_with_one_line(loaded, capsys):
    capsys.readouterr()
    res = run(loaded, "%%sql\nSELECT nope FROM cpu")
    assert isinstance(res.error_in_exec, MagicError)
    out = capsys.readouterr()
    text = out.out + out.err
    assert "nope" in text and "Traceback" not in text
    assert len([line for line in text.splitlines() if line.strip()]) == 1
    res = run(loaded, "%%sql -d missing_db\nSELECT 1")
    assert res.error_in_exec.message == 'database "missing_db" not found'
    res = run(loaded, "%%sql --bogus\nSELECT 1")
    assert "unknown option --bogus" in res.error_in_exec.message
    res = run(loaded, "%influx3 frobnicate")
    assert isinstance(res.error_in_exec, MagicError)


def test_no_database(ip):
    res = run(ip, "%%sql\nSELECT 1")
    assert "no database" in res.error_in_exec.message
    res = run(ip, "%%lp\nm v=1")
    assert "no database" in res.error_in_exec.message


def test_formats_and_config(loaded, capsys):
    ok(loaded, "%%sql -o t --format arrow\nSELECT * FROM cpu")
    assert isinstance(loaded.user_ns["t"], pa.Table)
    ok(loaded, "%config Influx3Magics.output = 'polars'")
    ok(loaded, "%%sql -o p\nSELECT * FROM cpu")
    assert type(loaded.user_ns["p"]).__module__.startswith("polars")
    ok(loaded, "%config Influx3Magics.output = 'pandas'")
    ok(loaded, "%config Influx3Magics.database = 'other'")
    ok(loaded, "%%lp\nm v=1 1")
    assert ok(loaded, "%%sql\nSELECT count(*) AS n FROM m").to_pandas()["n"][0] == 1
    loaded.run_line_magic("config", "Influx3Magics")
    assert "Influx3Magics.displaylimit" in capsys.readouterr().out


def test_data_dir_setting_switches_engine(loaded, tmp_path):
    other = tmp_path / "other-data"
    ok(loaded, f"%config Influx3Magics.data_dir = {str(other)!r}")
    ok(loaded, "%%lp -d x\nm v=1 1")
    assert (other / "catalog").is_dir()
    assert "data dir" in repr(ok(loaded, "%influx3 status")) and str(other) in repr(ok(loaded, "%influx3 status"))


def test_influx3_subcommands(loaded):
    assert "demo" in list(ok(loaded, "%influx3 databases"))
    assert list(ok(loaded, "%influx3 tables")) == ["cpu"]
    cols = ok(loaded, "%influx3 columns cpu")
    assert cols["column"].tolist() == ["host", "region", "n", "usage", "time"]
    assert "created" in repr(ok(loaded, "%influx3 create database made"))
    ok(loaded, "%influx3 create table t1 -d made --tags a,b --fields x:float64,y:int64")
    assert list(ok(loaded, "%influx3 tables made")) == ["t1"]
    ok(loaded, "%influx3 delete table t1 -d made")
    ok(loaded, "%influx3 delete database made")
    assert "made" not in list(ok(loaded, "%influx3 databases"))
    loaded.user_ns["frame"] = pd.DataFrame({"time": pd.date_range("2024-01-01", periods=3, freq="s"),
                                            "room": ["a", "b", "a"], "temp": [20.5, 21.0, 19.5]})
    report = ok(loaded, "%influx3 write-df frame --table rooms --tags room")
    assert report.lines_written == 3
    assert ok(loaded, "%%sql\nSELECT count(*) AS n FROM rooms WHERE room = 'a'").to_pandas()["n"][0] == 2
    status = repr(ok(loaded, "%influx3 status"))
    assert "database      demo" in status and "%%sql" in status
    assert "connect" in repr(ok(loaded, "%influx3 help"))


def test_connect_to_a_server(ip, start_influx3_session):
    server = start_influx3_session()
    msg = ok(ip, f"%influx3 connect {server.url} -d remote")
    assert "connected" in repr(msg) and server.url in repr(msg)
    ok(ip, "%%lp\nm v=1 1")
    assert ok(ip, "%%sql\nSELECT v FROM m").to_pandas()["v"].tolist() == [1.0]
    assert "server" in repr(ok(ip, "%influx3 status"))
    ok(ip, "%influx3 connect")  # back to the engine in this process
    assert "remote" not in list(ok(ip, "%influx3 databases"))


def test_explore_builds_a_chart(loaded):
    explorer = ok(loaded, "%influx3 explore --table cpu")
    assert explorer.table.value == "cpu"
    assert len(explorer.figure.data) == 1 and explorer.result is not None
    explorer.fields.value = ("usage",)
    explorer.split_by.value = "host"
    explorer.tag_filters["host"].value = ("h0", "h1")
    data = explorer.refresh()
    assert set(data["host"]) == {"h0", "h1"}
    assert {t.name for t in explorer.figure.data} == {"usage host=h0", "usage host=h1"}
    assert "$t0_0" in explorer.sql and "h0" not in explorer.sql
    assert "showing" in explorer.table_view.value or "rows" in explorer.table_view.value


def _complete(shell, text: str) -> list[str]:
    with provisionalcompleter():
        return [c.text for c in shell.Completer.completions(text, len(text))]


def test_completion(loaded):
    ok(loaded, "%%lp -d other\nmem,host=a free=1 1")
    assert _complete(loaded, "%%sql\nSELECT * FROM c") == ["cpu"]
    assert _complete(loaded, "%%sql\nSELECT us") == []  # no table named yet: nothing to offer
    text = "%%sql\nSELECT re FROM cpu"
    with provisionalcompleter():
        got = [c.text for c in loaded.Completer.completions(text, len("%%sql\nSELECT re"))]
    assert got == ["region"]
    assert _complete(loaded, "%%sql -d oth") == ["other"]
    assert _complete(loaded, "%%sql -d other\nSELECT * FROM m") == ["mem"]
    assert _complete(loaded, "%influx3 use de") == ["demo"]
    assert _complete(loaded, "%influx3 colu") == ["columns"]
    assert _complete(loaded, "%influx3 columns c") == ["cpu"]
    assert _complete(loaded, "%%lp\nc") == ["cpu"]


def test_option_parsing():
    opts, rest = parse_query_line("-d db -o out --params {'a': 'x y'} -l 3 --format arrow SELECT 1")
    assert (opts.database, opts.out, opts.params, opts.limit, opts.format) == ("db", "out", "{'a': 'x y'}", 3, "arrow")
    assert rest == "SELECT 1"
    opts, rest = parse_query_line('--database="my db" -- a comment')
    assert opts.database == "my db" and rest == "-- a comment"
    with pytest.raises(MagicError):
        parse_query_line("-l many")


def test_placeholders_skip_strings_and_comments():
    q = "SELECT '$a', \"$b\" FROM t WHERE x = $c -- $d\n AND y = $e /* $f */ AND z = $c"
    assert placeholders(q) == ["c", "e"]


def test_elapsed_time_shown_for_long_queries(loaded):
    assert "elapsed" not in repr(ok(loaded, "%%sql\nSELECT count(*) AS n FROM cpu"))
    ok(loaded, "%config Influx3Magics.show_elapsed_after = 0.0")
    view = ok(loaded, "%%sql\nSELECT count(*) AS n FROM cpu")
    assert "elapsed" in repr(view) and "elapsed" in view._repr_html_()


def test_connect_token_from_a_variable_is_never_shown(ip, start_influx3, capsys):
    from jupyter_influx3.engine import Engine
    from jupyter_influx3.engine import tokens as tokenlib

    server = start_influx3(auth=True)
    with Engine(server.data_dir, node_id="token-maker", background=False) as eng:
        token = tokenlib.create_admin_token(eng.catalog).token
    res = run(ip, f"%influx3 connect {server.url}")
    assert res.error_in_exec is not None and "not authenticated" in res.error_in_exec.message
    ip.user_ns["secret"] = token
    ok(ip, f"%influx3 connect {server.url} --token $secret -d sec")
    ok(ip, "%%lp\nm v=1 1")
    status = repr(ok(ip, "%influx3 status"))
    assert "token         set" in status and token not in status
    ip.run_line_magic("config", "Influx3Magics")
    assert token not in capsys.readouterr().out
