"""The SQL sandbox's walls, each on its own, and a fuzz over all of them together.

1. The translator resolves every table reference by scope: a CTE name is a CTE only where it is
   in scope; everything else is a mapped table or refused.
2. `check_relations`: the SQL handed to DuckDB names only generated relations.
3. The DuckDB instance that runs a database's SQL may open that database's Parquet files only.
"""

from __future__ import annotations

import glob

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from jupyter_influx3.engine import Engine
from jupyter_influx3.engine.sql.errors import SqlError, SqlPlanningError
from jupyter_influx3.engine.sql.runner import service_for
from jupyter_influx3.engine.sql.translate import check_relations

SECRET = "SECRETB"


@pytest.fixture(scope="module")
def eng(tmp_path_factory):
    d = tmp_path_factory.mktemp("sandbox")
    e = Engine(d, node_id="n1", background=False)
    e.write_lp("a", "cpu,host=h1 usage=1 1700000000\ncpu,host=h2 usage=2 1700000001", precision="s")
    e.write_lp("b", f"secret,who={SECRET} pw=4242.5 1700000000", precision="s")
    e.snapshot()
    e.write_lp("b", f"secret,who={SECRET} pw=4242.5 1700000009", precision="s")   # and buffered
    yield e
    e.close()


@pytest.fixture(scope="module")
def files(eng):
    b = eng.catalog.db("b")
    return {"b_parquet": glob.glob(f"{eng.data_dir}/n1/dbs/{b.id}/*/*/*/*.parquet")[0],
            "a_parquet": glob.glob(f"{eng.data_dir}/n1/dbs/{eng.catalog.db('a').id}/*/*/*/*.parquet")[0],
            "catalog": sorted(glob.glob(f"{eng.data_dir}/catalog/logs/*.json"))[-1]}


def test_a_cte_declared_in_a_subquery_is_not_in_scope_outside_it(eng, files):
    f = files["b_parquet"]
    with pytest.raises(SqlError, match="public.iox.*not found"):
        eng.sql("a", f'select * from (with "{f}" as (select 1) select 1) t, "{f}"')   # as a table: public.iox


def test_a_cte_is_not_visible_to_the_ctes_listed_before_it(eng):
    with pytest.raises(SqlError, match="public.iox.y' not found"):
        eng.sql("a", "with x as (select * from y), y as (select 1 as n) select * from x")


def test_ctes_in_scope_shadow_tables_and_nest(eng):
    got = eng.sql("a", "with cpu as (select 5 as n) select * from cpu").to_pylist()
    assert got == [{"n": 5}]
    got = eng.sql("a", "with x as (select 1 as n) select (with x as (select 2 as n) select n from x) as inner_n, "
                       "n from x").to_pylist()
    assert got == [{"inner_n": 2, "n": 1}]


def test_check_relations_refuses_any_name_that_is_not_generated():
    with pytest.raises(SqlPlanningError):
        check_relations('SELECT * FROM "/data/catalog/logs/1.json"', {})
    with pytest.raises(SqlPlanningError):
        check_relations("SELECT * FROM read_parquet('/x.parquet')", {})
    with pytest.raises(SqlPlanningError):   # a CTE whose name the user chose survived: refused
        check_relations('WITH "/x" AS (SELECT 1) SELECT * FROM "/x"', {})
    check_relations('WITH "__gf_x" AS (SELECT 1) SELECT * FROM "__gf_x"', {})


@pytest.mark.parametrize("small", [False, True])
@pytest.mark.parametrize("target", ["b_parquet", "catalog"])
def test_the_duckdb_instance_of_a_database_cannot_open_other_files(eng, files, target, small):
    con = service_for(eng)._db_connection(eng.catalog.db("a"), small=small)
    reader = "read_parquet" if target.endswith("parquet") else "read_text"
    with pytest.raises(duckdb.PermissionException):
        con.execute(f"SELECT * FROM {reader}('{files[target]}')").fetchall()
    with pytest.raises(duckdb.Error):   # and the wall cannot be taken down by SQL
        con.execute("SET GLOBAL enable_external_access = true")
    assert con.execute(f"SELECT count(*) FROM read_parquet('{files['a_parquet']}')").fetchone()[0] == 2


@pytest.mark.parametrize("small", [False, True])
def test_the_duckdb_instance_of_a_database_cannot_read_python_variables_by_name(eng, small):
    con = service_for(eng)._db_connection(eng.catalog.db("a"), small=small)
    # a local of the frame that runs the statement: DuckDB's Python replacement scan would read it,
    # but not with external access off
    secret_table = pa.table({"pw": [4242.5]})
    with pytest.raises(duckdb.CatalogException):
        con.execute("SELECT * FROM secret_table").fetchall()
    assert secret_table.num_rows == 1


# ---- the fuzz ------------------------------------------------------------------------------------
def _names(files):
    return st.sampled_from(["cpu", "x", "y", "secret", '"cpu"', f'"{files["b_parquet"]}"', f"'{files['b_parquet']}'",
                            f'"{files["catalog"]}"', "b.secret", "iox.secret", "public.iox.cpu",
                            "system.tables", '"x"', "CPU"])


def _queries(files):
    names = _names(files)
    cte_names = st.sampled_from(["x", "y", '"x"', f'"{files["b_parquet"]}"', "cpu", "secret"])

    @st.composite
    def query(draw, depth=0):
        kind = draw(st.sampled_from(["table", "cte", "subquery", "union", "lateral"] if depth < 2 else ["table"]))
        if kind == "table":
            return f"select * from {draw(names)}"
        if kind == "cte":
            n = draw(cte_names)
            return f"with {n} as ({draw(query(depth + 1))}) {draw(query(depth + 1))}"
        if kind == "subquery":
            return f"select * from ({draw(query(depth + 1))}) s, {draw(names)}"
        if kind == "union":
            return f"{draw(query(depth + 1))} union all {draw(query(depth + 1))}"
        return f"select * from {draw(names)}, lateral ({draw(query(depth + 1))}) l"

    return query()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzz_no_answer_ever_contains_a_row_of_another_database(eng, files, data):
    q = data.draw(_queries(files))
    try:
        out = str(eng.sql("a", q).to_pylist())
    except (SqlError, duckdb.Error) as e:
        out = str(e).replace(files["b_parquet"], "").replace(files["catalog"], "")
    assert SECRET not in out and "4242.5" not in out, q
    assert str(eng.data_dir) not in out, (q, out)


def test_a_mapping_bug_still_cannot_reach_another_database_s_files(eng, files, monkeypatch):
    """The translator taken down on purpose: it hands DuckDB the user's file reference as it is.
    The DuckDB instance for `a` refuses to open it."""
    from jupyter_influx3.engine.sql import runner

    real = runner.translate
    f = files["b_parquet"]

    def buggy(query, params, ctx):
        t = real(query, params, ctx)
        t.sql = f"SELECT * FROM read_parquet('{f}')"
        return t

    monkeypatch.setattr(runner, "translate", buggy)
    with pytest.raises(SqlError) as e:
        eng.sql("a", "select 1 as simulated_mapping_bug").to_pylist()
    assert "may not read files" in str(e.value), str(e.value)
    assert SECRET not in str(e.value) and str(eng.data_dir) not in str(e.value)
