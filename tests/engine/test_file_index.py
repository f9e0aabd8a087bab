"""The file index on a real engine: compaction lays the files out by the indexed column, so the
row groups an equality lookup can match are few; answers stay the same; the catalog keeps it."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from jupyter_influx3.engine import Engine
from jupyter_influx3.engine.admin import AdminError


def matching_row_groups(engine, column: str, value: str) -> tuple[int, int]:
    """(row groups whose statistics admit column = value, all row groups) over the live files."""
    hit = total = 0
    for f in engine.index.all():
        md = pq.read_metadata(engine.data_dir / f.path)
        i = md.schema.to_arrow_schema().get_field_index(column)
        for g in range(md.num_row_groups):
            total += 1
            st = md.row_group(g).column(i).statistics
            if st is None or not st.has_min_max or st.min <= value <= st.max:
                hit += 1
    return hit, total


def load(engine):
    for batch in range(4):   # four snapshots: four small files of one day for compaction to merge
        engine.write_lp("db", "\n".join(f"cpu,host=h{h:04d},region=r{h % 20:02d} v={batch}i {t * 1000 + batch}"
                                        for h in range(500) for t in range(100)), precision="ns")
        engine.snapshot()


@pytest.mark.parametrize("indexed", [False, True])
def test_compaction_lays_files_out_by_the_indexed_column(tmp_path, indexed):
    with Engine(tmp_path / "d", node_id="a", background=False, compaction_min_files=2) as e:
        e.create_database("db")
        if indexed:
            assert e.admin.create_file_index("db", None, ["region"]) == {"db": "db", "table": None,
                                                                         "columns": ["region"]}
        load(e)
        before = e.sql("db", "SELECT count(*) AS n, sum(v) AS s FROM cpu WHERE region = 'r07'").to_pylist()
        assert e.compact() == 1
        hit, total = matching_row_groups(e, "region", "r07")
        after = e.sql("db", "SELECT count(*) AS n, sum(v) AS s FROM cpu WHERE region = 'r07'").to_pylist()
        assert after == before == [{"n": 10000, "s": 15000}]
        if indexed:
            assert total >= 3 and hit == 1          # one row group holds every r07 row
        else:
            assert hit == total                      # default layout: r07 is everywhere


def test_definitions_are_checked_and_kept(tmp_path):
    with Engine(tmp_path / "d", node_id="a", background=False) as e:
        e.write_lp("db", 'cpu,host=a v=1,s="x" 1')
        e.admin.create_file_index("db", "cpu", ["host", "s"])
        for args, status in ((("nope", None, ["host"]), 404), (("db", "nope", ["host"]), 404),
                             (("db", "cpu", ["v"]), 400), (("db", "cpu", []), 400), (("db", "cpu", ["h", "h"]), 400)):
            with pytest.raises(AdminError) as exc:
                e.admin.create_file_index(*args)
            assert exc.value.status == status
    with Engine(tmp_path / "d", node_id="b", background=False) as b:   # another node, the catalog's record
        d, t = b.catalog.table("db", "cpu")
        from jupyter_influx3.engine.admin.fileindex import columns_for
        assert columns_for(b.catalog, d.id, t.id) == ["host", "s"]
        b.admin.delete_file_index("db", "cpu")
        assert columns_for(b.catalog, d.id, t.id) == []
        with pytest.raises(AdminError) as exc:
            b.admin.delete_file_index("db", "cpu")
        assert exc.value.status == 404


def test_a_string_field_replaced_in_a_later_indexed_file_is_not_found_by_its_old_value(tmp_path):
    """Two compactions of one day, the second replacing a string field's value: pruning by the first
    file's index would bring the old value back, so only tags prune files."""
    with Engine(tmp_path / "d", node_id="a", background=False, compaction_min_files=2) as e:
        e.create_database("db")
        e.admin.create_file_index("db", None, ["s"])
        for value in ("old", "new"):
            for i in range(2):
                e.write_lp("db", f'cpu,host=a s="{value}",i={i}i 10\ncpu,host=b s="{value}x" 20', precision="ns")
                e.snapshot()
            assert e.compact() == 1
        assert {f.index["s"]["file"][0] for f in e.index.all()} == {"old", "new"}
        assert e.sql("db", "SELECT count(*) AS n FROM cpu WHERE s = 'old'").to_pylist() == [{"n": 0}]
        assert e.sql("db", "SELECT s FROM cpu WHERE host = 'a'").to_pylist() == [{"s": "new"}]


QUERIES = [
    "SELECT count(*) AS n FROM cpu WHERE region = 'r07'",
    "SELECT count(*) AS n FROM cpu WHERE region = 'r07' OR host = 'h0001'",
    "SELECT count(*) AS n FROM cpu WHERE NOT (region = 'r07')",
    "SELECT count(*) AS n FROM cpu WHERE region IN ('r01', 'r19', 'nope')",
    "SELECT count(*) AS n FROM cpu WHERE region NOT IN ('r01')",
    "SELECT count(*) AS n FROM cpu WHERE Region = 'r03' AND region = 'r03'",
    "SELECT count(*) AS n FROM cpu WHERE region = 'r03' AND region = 'r04'",
    "SELECT count(*) AS n FROM cpu a JOIN cpu b ON a.host = b.host AND a.time = b.time "
    "WHERE a.region = 'r02' AND b.region = 'r02'",
    "SELECT count(*) AS n FROM cpu a JOIN cpu b ON a.host = b.host AND a.time = b.time WHERE a.region = 'r02'",
    "SELECT (SELECT count(*) FROM cpu WHERE region = 'r05') AS n, count(*) AS m FROM cpu",
    "SELECT region, count(*) AS n FROM cpu GROUP BY region ORDER BY region",
]


def test_pruned_reads_answer_like_the_default_layout(tmp_path, monkeypatch):
    """Pieces of an indexed compaction (several files per day) against the same rows unindexed:
    every query answers the same, whatever its predicates (OR, NOT, IN, joins, subqueries)."""
    from jupyter_influx3.engine.admin import fileindex
    monkeypatch.setattr(fileindex, "FILE_ROWS", 30_000)
    answers = []
    for indexed in (False, True):
        with Engine(tmp_path / str(indexed), node_id="a", background=False, compaction_min_files=2) as e:
            e.create_database("db")
            if indexed:
                e.admin.create_file_index("db", None, ["region"])
            load(e)
            assert e.compact() == 1
            if indexed:
                assert len(e.index.all()) == 7     # 200,000 rows in pieces of <= 30,000 (3 regions each)
            answers.append([e.sql("db", q).to_pylist() for q in QUERIES])
    assert answers[0] == answers[1]
    assert answers[1][0] == [{"n": 10000}] and answers[1][3] == [{"n": 20000}]
