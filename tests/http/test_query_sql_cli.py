"""`influx3 query` is a thin client of `/api/v3/query_sql` (and `/api/v3/query_influxql`)."""

from __future__ import annotations

import json

import pyarrow.parquet as pq

from http_helpers import influx3, write_v3


def test_query_prints_a_pretty_table_by_default(url, db):
    assert write_v3(url, db, "cpu,host=a usage=0.5 2998574931", precision="second").status_code == 204
    done = influx3("query", "--host", url, "--database", db, "SELECT host, time, usage FROM cpu")
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode() == (
        "+------+---------------------+-------+\n"
        "| host | time                | usage |\n"
        "+------+---------------------+-------+\n"
        "| a    | 2065-01-07T17:28:51 | 0.5   |\n"
        "+------+---------------------+-------+\n"
    )
    assert done.stderr == b""


def test_query_formats(url, db):
    assert write_v3(url, db, "cpu,host=a usage=0.5 1\ncpu,host=b usage=1 2", precision="second").status_code == 204
    q = "SELECT host, usage FROM cpu ORDER BY host"
    done = influx3("query", "--host", url, "-d", db, "--format", "json", q)
    assert json.loads(done.stdout) == [{"host": "a", "usage": 0.5}, {"host": "b", "usage": 1.0}]
    done = influx3("query", "--host", url, "-d", db, "--format", "csv", q)
    assert done.stdout == b"host,usage\na,0.5\nb,1.0\n"
    done = influx3("query", "--host", url, "-d", db, "--format", "jsonl", q)
    assert done.stdout == b'{"host":"a","usage":0.5}\n{"host":"b","usage":1.0}\n'


def test_query_from_stdin_and_parquet_to_a_file(url, db, tmp_path):
    assert write_v3(url, db, "cpu,host=a usage=0.5 1", precision="second").status_code == 204
    out = tmp_path / "answer.parquet"
    done = influx3("query", "--host", url, "-d", db, "--format", "parquet", "--output", str(out), "-",
                   input=b"SELECT host, usage FROM cpu")
    assert done.returncode == 0, done.stderr
    assert pq.read_table(out).to_pylist() == [{"host": "a", "usage": 0.5}]


def test_query_errors_are_reported_and_fail(url):
    done = influx3("query", "--host", url, "-d", "no_such_db_cli", "SELECT 1")
    assert done.returncode == 1
    assert done.stderr.decode().strip() == 'error: database "no_such_db_cli" not found'
    done = influx3("query", "--host", "http://127.0.0.1:9", "-d", "x", "SELECT 1")
    assert done.returncode == 1
    assert "cannot reach http://127.0.0.1:9" in done.stderr.decode()


def test_query_errors_are_one_user_facing_line(url, db):
    assert write_v3(url, db, "cpu,host=a usage=0.5 1", precision="second").status_code == 204
    done = influx3("query", "--host", url, "-d", db, "SELECT * FROM nosuchtable")
    assert done.returncode == 1
    assert done.stderr.decode() == f'error: table "nosuchtable" not found in database "{db}"\n'
    done = influx3("query", "--host", url, "-d", db, "-l", "influxql", "SELECT * FROM cpu WHERE")
    assert done.returncode == 1
    assert done.stderr.decode().splitlines() == [
        "error: syntax error at line 1, column 25: found EOF, expected identifier, string, number, bool",
        "  SELECT * FROM cpu WHERE",
        "                         ^",
    ]


def test_an_empty_result_says_so(url, db):
    assert write_v3(url, db, "cpu,host=a usage=0.5 1", precision="second").status_code == 204
    done = influx3("query", "--host", url, "-d", db, "SELECT * FROM cpu WHERE host = 'nobody'")
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode() == "(0 rows)\n"
