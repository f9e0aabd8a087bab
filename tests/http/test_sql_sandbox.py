"""The SQL sandbox, attacked as a read-only token for database `a` would: no spelling of a table
reference reads another database's rows, the catalog or a WAL file, and no answer names a path.

Database `b` holds the secrets, in Parquet (persisted by a second node on the server's data
directory) and in the server's buffer. Every attack must come back without any of them.
"""

from __future__ import annotations

import glob
import urllib.parse

import pytest
import requests

from jupyter_influx3.engine import Engine

from http_helpers import auth_server_fixtures, bearer, db_perm, resource_token

srv, url, admin = auth_server_fixtures()

SECRETS = ("SECRETB", "4242.4242", "zz_private_col")


@pytest.fixture(scope="module")
def paths(srv, url, admin):
    """Writes `a` and `b` (b both persisted to Parquet and buffered); returns the files to aim at."""
    r = requests.post(f"{url}/api/v3/write_lp", params={"db": "a", "precision": "s"}, headers=bearer(admin),
                      data="cpu,host=h1 usage=1 1700000000\ncpu,host=h2 usage=2 1700000001", timeout=30)
    assert r.status_code == 204, r.text
    r = requests.post(f"{url}/api/v3/write_lp", params={"db": "b", "precision": "s"}, headers=bearer(admin),
                      data="secret,who=SECRETB pw=4242.4242,zz_private_col=1i 1700000000", timeout=30)
    assert r.status_code == 204, r.text
    with Engine(srv.data_dir, node_id="sandbox-writer", background=False) as eng:
        eng.write_lp("b", "secret,who=SECRETB pw=4242.4242,zz_private_col=2i 1700000005", precision="s")
        eng.snapshot()
    data = str(srv.data_dir)
    parquet = glob.glob(f"{data}/sandbox-writer/dbs/*/*/*/*/*.parquet")
    catalog = sorted(glob.glob(f"{data}/catalog/logs/*.json"))
    wal = glob.glob(f"{data}/*/wal/*")
    assert parquet and catalog and wal
    return {"data": data, "parquet": parquet[0], "catalog": catalog[-1], "wal": wal[0],
            "glob": f"{data}/*/dbs/*/*/*/*/*.parquet"}


@pytest.fixture(scope="module")
def reader_a(url, admin, paths) -> str:
    return resource_token(url, admin, [db_perm(["a"], "read")])


def _sql(url: str, token: str, q: str, db: str = "a") -> requests.Response:
    return requests.get(f"{url}/api/v3/query_sql", params={"db": db, "q": q, "format": "json"},
                        headers=bearer(token), timeout=60)


def _assert_nothing_leaks(r: requests.Response, paths: dict, echoed: str = "") -> None:
    """No secret of `b`, no path; `echoed` (the attacker's own text, which a "table not found"
    message repeats as InfluxDB 3's does) is taken out first."""
    body = r.text.replace(echoed, "") if echoed else r.text
    for s in SECRETS:
        assert s not in body, (r.status_code, body[:300])
    assert paths["data"] not in body, body[:300]
    assert "operator" not in body and "sha512" not in body.lower(), body[:300]


ATTACKS = {
    # the probe's own: a CTE named like the file, declared in a subquery, used outside it
    "cte_in_subquery": 'select * from (with "{f}" as (select 1) select 1) t, "{f}"',
    "cte_after_use": 'select * from "{f}", (with "{f}" as (select 1) select 1) t',
    "cte_in_other_union_branch": 'select 1 as x union all (with "{f}" as (select 1) select 1) '
                                 'union all select * from "{f}"',
    "cte_in_lateral": 'select * from cpu, lateral (with "{f}" as (select 1) select 1) l, "{f}"',
    "cte_later_in_list": 'with x as (select * from "{f}"), "{f}" as (select 1) select * from x',
    "cte_in_scalar_subquery": 'select (with "{f}" as (select 1) select 1), * from "{f}"',
    "cte_in_where_exists": 'select * from "{f}" where exists (with "{f}" as (select 1) select 1)',
    "lateral_subquery": 'select * from cpu, lateral (select * from "{f}") l',
    "union": "select host as x from cpu union all select who from \"{f}\"",
    "single_quoted": "select * from '{f}'",
    "quoted_join": 'select * from cpu join "{f}" on true',
    "in_subquery": 'select * from cpu where host in (select who from "{f}")',
    "read_parquet": "select * from read_parquet('{f}')",
    "read_parquet_in_cte": "with x as (select * from read_parquet('{f}')) select * from x",
    "parquet_scan": "select * from parquet_scan('{f}')",
    "read_text": "select * from read_text('{f}')",
    "read_json": "select * from read_json_auto('{f}')",
    "glob": "select * from glob('{f}')",
    "query_table": "select * from query_table('{f}')",
    "query_function": "select * from query('select * from read_parquet(''{f}'')')",
    "pivot": 'pivot "{f}" on who using sum(pw)',
    "schema_qualified": 'select * from iox."{f}"',
    "catalog_qualified": 'select * from public.iox."{f}"',
}


@pytest.mark.parametrize("target", ["parquet", "glob", "catalog", "wal"])
@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_no_table_reference_spelling_reads_a_file(url, reader_a, paths, name, target):
    q = ATTACKS[name].format(f=paths[target])
    r = _sql(url, reader_a, q)
    _assert_nothing_leaks(r, paths, echoed=paths[target])
    if r.status_code == 200:
        # only a legitimate CTE of the same name may have answered: its rows are the constant 1
        assert all(set(map(str, row.values())) <= {"1", "h1", "h2", "1.0", "2.0"} or "time" in row
                   for row in r.json()), r.text[:300]


def test_a_cte_named_like_a_path_is_still_just_the_cte(url, reader_a, paths):
    f = paths["parquet"]
    r = _sql(url, reader_a, f'with "{f}" as (select 7 as n) select * from "{f}"')
    assert r.status_code == 200, r.text
    assert r.json() == [{"n": 7}]


def test_ctes_and_tables_still_work_for_the_token_s_own_database(url, reader_a, paths):
    r = _sql(url, reader_a, "with c as (select host, usage from cpu), d as (select * from c where usage > 1) "
                            "select c.host, (select count(*) from d) as n from c order by c.host")
    assert r.status_code == 200, r.text
    assert r.json() == [{"host": "h1", "n": 1}, {"host": "h2", "n": 1}]
    r = _sql(url, reader_a, "with recursive r(n) as (select 1 union all select n + 1 from r where n < 3) "
                            "select sum(n) as s from r")
    assert r.status_code == 200 and r.json() == [{"s": 6}], r.text


@pytest.mark.parametrize("q", [
    "select current_setting('allowed_directories') as d",
    "select current_setting('temp_directory') as d",
    "select current_query() as q",
    "select getvariable('x') as v",
    "select json_serialize_plan('select * from cpu') as p",
    "select * from duckdb_settings()",
    "select * from duckdb_columns()",
    "select * from duckdb_tables",
    "select * from duckdb_views()",
    "select * from pragma_database_list()",
    "select * from information_schema.columns",
    "select * from information_schema.tables",
    "select * from pg_catalog.pg_class",
    "select * from sqlite_master",
])
def test_settings_and_catalog_views_reveal_no_path_or_other_database(url, reader_a, paths, q):
    r = _sql(url, reader_a, q)
    _assert_nothing_leaks(r, paths)
    assert "/dbs/" not in r.text and "secret" not in r.text


@pytest.mark.parametrize("q", [
    "select nosuch from cpu",
    "select * from cpu where usage = 'x'::int",
    "select * from cpu c join cpu d using (nosuch)",
    "select cast(host as int) from cpu",
    "select * from secret",
    "select * from b.secret",
])
def test_error_messages_name_no_path_and_no_other_database(url, reader_a, paths, q):
    r = _sql(url, reader_a, q)
    assert r.status_code >= 400, r.text
    _assert_nothing_leaks(r, paths)
    assert "read_parquet" not in r.text and "__iox_" not in r.text, r.text


def test_other_database_names_are_refused_for_a_read_token_of_a(url, reader_a, paths):
    r = _sql(url, reader_a, "select * from secret", db="b")
    assert r.status_code == 403, r.text
    _assert_nothing_leaks(r, paths)


def test_v1_and_v3_influxql_do_not_reach_files(url, reader_a, paths):
    for q in (f'SELECT * FROM "{paths["parquet"]}"', 'SELECT * FROM "b"."autogen"."secret"',
              'SELECT * FROM /.*/'):
        for path in ("/query", "/api/v3/query_influxql"):
            r = requests.get(url + path + "?" + urllib.parse.urlencode({"db": "a", "q": q}),
                             headers=bearer(reader_a), timeout=60)
            _assert_nothing_leaks(r, paths, echoed=paths["parquet"])
