"""The processing engine in process (engine/plugins/): LineBuilder, trigger specs, the request
response mapping, the plugin cache, loading plugin files, the `influxdb3_local` runtime, WAL
triggers with their row dicts, cancellation, and the WAL pin."""

from __future__ import annotations

import builtins
import os
import time
from datetime import datetime, timezone

import pytest
from engine_helpers import eventually

from jupyter_influx3.engine import errors
from jupyter_influx3.engine.plugins.cache import CacheStore, PluginCache
from jupyter_influx3.engine.plugins.errors import InvalidPluginPath, PluginError
from jupyter_influx3.engine.plugins.linebuilder import InvalidKeyError, InvalidLineError, LineBuilder
from jupyter_influx3.engine.plugins.response import to_response
from jupyter_influx3.engine.plugins.spec import normalize_error_behavior, parse_spec
from jupyter_influx3.engine.plugins.waltail import load_positions, positions_path, wal_pinned


# ---- LineBuilder (§6.5) -----------------------------------------------------------------------------

def test_line_builder_formats_every_field_type_and_keeps_public_attributes():
    lb = (LineBuilder("m").tag("host", "a b").int64_field("i", 7).uint64_field("u", 8).float64_field("f", 7)
          .float64_field("g", 2.5).string_field("s", 'say "hi" \\').bool_field("b", False).time_ns(5))
    assert lb.build() == 'm,host=a\\ b i=7i,u=8u,f=7.0,g=2.5,s="say \\"hi\\" \\\\",b=f 5'
    assert lb.measurement == "m" and lb.tags == {"host": "a b"} and lb.fields["i"] == "7i"
    assert lb._timestamp_ns == 5
    assert LineBuilder("m").float64_field("x", 1).float64_field("x", 2).build() == "m x=2.0"  # overwritten


def test_line_builder_refuses_bad_keys_negative_uints_and_lines_without_fields():
    with pytest.raises(InvalidKeyError):
        LineBuilder("m").tag("a=b", "x")
    with pytest.raises(ValueError):
        LineBuilder("m").uint64_field("u", -1)
    with pytest.raises(InvalidLineError, match="At least one field is required: m,t=1"):
        LineBuilder("m").tag("t", 1).build()
    with pytest.raises(Exception) as e:
        LineBuilder("has space")
    assert type(e.value).__name__ == "InvalidMeasurementError"


# ---- specifications ---------------------------------------------------------------------------------

def test_trigger_specifications_parse_and_schedule():
    assert parse_spec(" all_tables ").kind == "all_tables"
    assert parse_spec("table:cpu").value == "cpu"
    assert parse_spec("every:1h30m").every_ns == 5400 * 10**9
    with pytest.raises(PluginError):
        parse_spec("every:2y")  # more than a year
    with pytest.raises(PluginError):
        parse_spec("cron:0 6 * * *")  # 5 fields: the seconds are missing
    with pytest.raises(PluginError):
        parse_spec("request:../x")
    cron = parse_spec("cron:*/5 * * * * *")
    t = datetime(2024, 1, 1, 0, 0, 3, tzinfo=timezone.utc)
    assert cron.next_fire(t) == datetime(2024, 1, 1, 0, 0, 5, tzinfo=timezone.utc)
    assert parse_spec("every:10s").next_fire(t) == datetime(2024, 1, 1, 0, 0, 10, tzinfo=timezone.utc)
    assert parse_spec("cron:0 0 6 * * * 2030").next_fire(t).year == 2030


def test_error_behavior_accepts_snake_case_and_the_specs_capitalised_spelling_only():
    assert [normalize_error_behavior(x) for x in ("log", "Retry", "Disable")] == ["log", "retry", "disable"]
    for bad in ("LOG", "ignore", 1, None):
        with pytest.raises(PluginError):
            normalize_error_behavior(bad)


# ---- responses (§6.6) -------------------------------------------------------------------------------

def test_request_return_values_become_status_headers_and_body():
    r = to_response(({"a": 1}, 201, {"X-A": "1", "content-type": "text/x"}))
    assert (r.status, r.body, r.headers) == (201, b'{"a": 1}', {"X-A": "1", "content-type": "text/x"})
    assert to_response(("x", {"X-B": "2"})).headers == {"Content-Type": "text/html", "X-B": "2"}
    assert to_response(iter([b"a", "b"])).body == b"ab"
    assert to_response((3, 200)).headers["Content-Type"] == "text/plain"
    with pytest.raises(TypeError):
        to_response(42)


# ---- cache ------------------------------------------------------------------------------------------

def test_cache_namespaces_ttl_and_global_space():
    store = CacheStore()
    a, b = PluginCache(store, "a"), PluginCache(store, "b")
    a.put("k", {"v": 1})
    a.put("g", "shared", use_global=True)
    a.put("short", 1, 0.05)
    assert a.get("k") == {"v": 1} and b.get("k") is None and b.get("g", use_global=True) == "shared"
    time.sleep(0.08)
    assert a.get("short", "gone") == "gone"
    assert a.delete("k") and not a.delete("k")
    with pytest.raises(ValueError):
        a.put("x", 1, ttl=-1)


# ---- loading plugins ----------------------------------------------------------------------------------

@pytest.fixture
def pe(engine, tmp_path):
    p = engine.configure_plugins(tmp_path / "plugins", run_triggers=False)
    yield p
    p.close()


@pytest.fixture
def live(tmp_path):
    """The processing engine of a node that runs its triggers (background threads on)."""
    from jupyter_influx3.engine import Engine
    eng = Engine(tmp_path / "d", node_id="n1")
    try:
        yield eng.configure_plugins(tmp_path / "plugins")
    finally:
        eng.close()


def _triggered(pe, name: str, spec: str, code: str) -> None:
    """Trigger `name` of database `db` (made here) running `code`, saved as `<name>.py`."""
    (pe.loader.plugin_dir / f"{name}.py").write_text(code)
    pe.engine.write_lp("db", "seed v=1", "ns")
    pe.create_trigger("db", name, f"{name}.py", spec)


def test_single_file_plugins_get_fresh_globals_each_call_and_linebuilder_is_a_builtin(pe, engine):
    (pe.loader.plugin_dir / "state.py").write_text(
        "counter = []\n"
        "def process_writes(influxdb3_local, table_batches, args=None):\n"
        "    counter.append(1)\n"
        "    influxdb3_local.info(len(counter), __name__, LineBuilder is __builtins__.LineBuilder if\n"
        "                         hasattr(__builtins__, 'LineBuilder') else 'dict-builtins')\n")
    first = pe.test_wal("state.py", "db", "t f=1i 1")
    second = pe.test_wal("state.py", "db", "t f=1i 1")
    assert first["log_lines"][1] == second["log_lines"][1] == "INFO: 1 builtins True"
    assert builtins.LineBuilder is LineBuilder


def test_plugin_paths_outside_the_plugin_dir_are_refused(pe):
    for bad in ("../x.py", "/etc/passwd", "a/../../x.py", ""):
        with pytest.raises(InvalidPluginPath):
            pe.loader.load(bad)


# ---- the runtime ---------------------------------------------------------------------------------------

def test_query_returns_plain_python_values_and_refuses_non_string_args(pe, engine):
    engine.write_lp("db", "cpu,host=a usage=1.5,n=2i,ok=t,s=\"x\" 1000", "ns")
    (pe.loader.plugin_dir / "q.py").write_text(
        "def process_writes(influxdb3_local, table_batches, args=None):\n"
        "    influxdb3_local.info(influxdb3_local.query('SELECT * FROM cpu WHERE host = $h', {'h': 'a'}))\n"
        "    try:\n"
        "        influxdb3_local.query('SELECT 1', {'h': 1})\n"
        "    except TypeError as e:\n"
        "        influxdb3_local.info('TypeError')\n"
        "    try:\n"
        "        influxdb3_local.query('SELECT nope FROM cpu')\n"
        "    except Exception as e:\n"
        "        influxdb3_local.info(type(e).__name__)\n")
    out = pe.test_wal("q.py", "db", "t f=1i 1")
    assert out["log_lines"][1:4] == [
        "INFO: [{'host': 'a', 'n': 2, 'ok': True, 's': 'x', 'time': 1000, 'usage': 1.5}]",
        "INFO: TypeError", "INFO: QueryError"]


def test_write_sync_applies_at_once_and_raises_on_a_bad_line(engine, tmp_path):
    pe = engine.configure_plugins(tmp_path / "plugins", run_triggers=False)
    engine.write_lp("db", "t f=1i 1", "ns")
    (pe.loader.plugin_dir / "w.py").write_text(
        "class Batch:\n"
        "    def build(self):\n"
        "        return 'a v=1 1\\nb v=2 2'\n"
        "def process_request(influxdb3_local, query_parameters, request_headers, request_body, args=None):\n"
        "    influxdb3_local.write_sync(Batch(), no_sync=True)\n"
        "    n = len(influxdb3_local.query('SELECT * FROM a'))\n"
        "    try:\n"
        "        influxdb3_local.write_sync_to_db('db', LineBuilder('t').string_field('f', 'x'), False)\n"
        "    except Exception as e:\n"
        "        return {'n': n, 'error': str(e)}\n")
    pe.create_trigger("db", "w", "w.py", "request:w")
    resp = pe.handle_request("w", {}, {}, b"")
    assert resp.status == 200, resp.body
    body = __import__("json").loads(resp.body)
    assert body["n"] == 1 and body["error"].startswith("error writing line protocol to db: ")
    assert engine.sql("db", "SELECT count(*) AS c FROM b").to_pylist() == [{"c": 1}]


def test_each_wal_trigger_gets_its_own_row_dicts(live):
    pe, eng = live, live.engine
    code = ("def process_writes(influxdb3_local, table_batches, args=None):\n"
            "    for b in table_batches:\n"
            "        for row in b['rows']:\n"
            "            row['temp'] = row['temp'] * 10\n"
            "            influxdb3_local.write(LineBuilder('out_' + args['n']).float64_field('temp', row['temp']))\n")
    (pe.loader.plugin_dir / "mut.py").write_text(code)
    eng.write_lp("db", "seed v=1", "ns")
    for n in ("a", "b"):
        pe.create_trigger("db", n, "mut.py", "table:m", trigger_arguments={"n": n})
    assert eventually(lambda: pe.leader, 10.0)
    eng.write_lp("db", "m temp=2 1", "ns")
    got = eventually(lambda: _rows(eng, "SELECT temp FROM out_a") and _rows(eng, "SELECT temp FROM out_b"), 10.0)
    assert got and _rows(eng, "SELECT temp FROM out_a") == _rows(eng, "SELECT temp FROM out_b") == [{"temp": 20.0}]


def test_disabling_a_trigger_interrupts_its_running_plugin_at_the_next_api_call(live):
    pe = live
    _triggered(pe, "loop", "every:1s",
               "import time\n"
               "def process_scheduled_call(influxdb3_local, call_time, args=None):\n"
               "    try:\n"
               "        while True:\n"
               "            influxdb3_local.info('tick')\n"
               "            time.sleep(0.02)\n"
               "    except KeyboardInterrupt as e:\n"
               "        influxdb3_local.cache.put('why', str(e), use_global=True)\n"
               "        raise\n")
    assert eventually(lambda: any(x.log_text == "tick" for x in pe.logs.lines("loop")), 10.0)
    pe.disable_trigger("db", "loop")
    why = eventually(lambda: PluginCache(pe.cache, "x").get("why", use_global=True), 10.0)
    assert why == "influxdb3 is shutting down; aborting plugin execution"


def test_writes_wake_the_wal_reader_only_while_a_wal_trigger_exists(pe, engine):
    """Without a WAL trigger the reader only keeps its place, at its polls (a round per write
    doubled the CPU of many small writes); while one exists every write wakes it, so the trigger
    gets its rows at once."""
    eng = engine   # background=False, and run_triggers=False: no reader clears the wake
    (pe.loader.plugin_dir / "noop.py").write_text(
        "def process_writes(influxdb3_local, table_batches, args=None):\n    pass\n")
    (pe.loader.plugin_dir / "tick.py").write_text(
        "def process_scheduled_call(influxdb3_local, call_time, args=None):\n    pass\n")
    eng.write_lp("db", "seed v=1", "ns")

    def write_wakes(line: str) -> bool:
        pe._wake.clear()
        eng.write_lp("db", line, "ns")
        return pe._wake.is_set()

    pe.create_trigger("db", "tick", "tick.py", "every:1h")   # not a WAL trigger
    assert not write_wakes("m v=1")
    pe.create_trigger("db", "noop", "noop.py", "all_tables")
    assert write_wakes("m v=2")
    pe.disable_trigger("db", "noop")
    assert not write_wakes("m v=3")
    pe.enable_trigger("db", "noop")
    assert write_wakes("m v=4")
    pe.disable_trigger("db", "noop")
    pe.delete_trigger("db", "noop")
    assert not write_wakes("m v=5")


def test_a_stream_of_small_writes_reaches_a_wal_trigger_in_rounds_the_gap_apart(live):
    """Writes arriving while the WAL reader waits out WAL_ROUND_GAP_S gather for its next round: a
    write every 2 ms reaches the plugin in at most one call per gap (one call per write cost a
    round's fixed CPU per write), every row exactly once."""
    from jupyter_influx3.engine.plugins.manager import WAL_ROUND_GAP_S
    pe, eng = live, live.engine
    _triggered(pe, "calls", "table:m",
               "def process_writes(influxdb3_local, table_batches, args=None):\n"
               "    seen = influxdb3_local.cache.get('seen', use_global=True) or []\n"
               "    rows = [int(r['v']) for b in table_batches for r in b['rows']]\n"
               "    influxdb3_local.cache.put('seen', seen + [rows], use_global=True)\n")
    assert eventually(lambda: pe.leader, 10.0)
    cache = PluginCache(pe.cache, "x")
    n = 100
    t0 = time.monotonic()
    for i in range(n):
        eng.write_lp("db", f"m v={i}i {i + 1}", "ns", no_sync=True)
        time.sleep(0.002)
    assert eventually(lambda: sum(map(len, cache.get("seen", use_global=True) or [])) >= n, 10.0)
    elapsed = time.monotonic() - t0
    calls = cache.get("seen", use_global=True)
    assert sorted(v for rows in calls for v in rows) == list(range(n))
    assert len(calls) <= elapsed / WAL_ROUND_GAP_S + 2, (len(calls), elapsed)


def test_wal_files_stay_while_a_wal_trigger_has_not_read_them(live):
    pe, eng = live, live.engine
    _triggered(pe, "noop", "all_tables", "def process_writes(influxdb3_local, table_batches, args=None):\n    pass\n")
    assert eventually(lambda: load_positions(eng.data_dir) is not None, 10.0)
    assert wal_pinned(eng.data_dir, eng.catalog, "some-new-node", 1)  # not read yet: kept
    # no processing engine for a day: the pin lapses (stopped first: a running one's rounds
    # rewrite the positions, which made the file young again under the check now and then)
    pe.close()
    old = time.time() - 25 * 3600
    os.utime(positions_path(eng.data_dir), (old, old))
    assert not wal_pinned(eng.data_dir, eng.catalog, "some-new-node", 1)
    os.utime(positions_path(eng.data_dir))
    assert wal_pinned(eng.data_dir, eng.catalog, "some-new-node", 1)  # (young again: kept)
    pe.disable_trigger("db", "noop")
    assert not wal_pinned(eng.data_dir, eng.catalog, "some-new-node", 1)  # no WAL trigger: free


def test_trigger_names_and_arguments_are_validated(pe, engine):
    engine.write_lp("db", "seed v=1", "ns")
    (pe.loader.plugin_dir / "noop.py").write_text("def process_writes(a, b, c=None):\n    pass\n")
    with pytest.raises(errors.InvalidConfiguration):
        pe.create_trigger("db", "", "noop.py", "all_tables")
    with pytest.raises(errors.InvalidConfiguration):
        pe.create_trigger("db", "t", "noop.py", "all_tables", trigger_arguments={"k": 1})
    with pytest.raises(errors.NotFound):
        pe.create_trigger("nodb", "t", "noop.py", "all_tables")


def _rows(eng, q):
    try:
        return eng.sql("db", q).to_pylist()
    except Exception:  # noqa: BLE001 - the table does not exist yet
        return []


def test_plugin_queries_accept_the_datafusion_spellings_official_plugins_send(pe, engine):
    engine.write_lp("db", "cpu,host=a usage=10.0 1704067200000000000\ncpu,host=a usage=20.0 1704067260000000000\n"
                          "cpu,host=b usage=100.0 1704067230000000000", "ns")
    queries = [
        "SHOW TABLES",
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'cpu' "
        "AND data_type = 'Dictionary(Int32, Utf8)'",
        "SELECT DATE_BIN(INTERVAL '10 minutes', time, '1970-01-01T00:00:00Z') AS _time, host, avg(usage) AS a "
        "FROM 'cpu' GROUP BY _time, host ORDER BY host",
        "SELECT first_value(usage ORDER BY time) AS f, last_value(usage ORDER BY time) AS l, var(usage) AS v, "
        "approx_median(usage) AS m FROM cpu",
        "SELECT count(*) AS n FROM cpu WHERE time >= to_timestamp_nanos(arrow_cast('1704067230000000000', 'Int64'))",
        "SELECT count(*) AS n FROM cpu WHERE time >= '2024-01-01 00:00:30+00:00'",
        "SELECT MIN(time) AS _t FROM \"cpu\"",
    ]
    code = "def process_writes(influxdb3_local, table_batches, args=None):\n"
    for q in queries:
        code += f"    influxdb3_local.info(influxdb3_local.query({q!r}))\n"
    (pe.loader.plugin_dir / "df.py").write_text(code)
    out = pe.test_wal("df.py", "db", "t f=1i 1", with_traceback=True)
    assert out["errors"] == [], out
    lines = [ln[len("INFO: "):] for ln in out["log_lines"][1:-1]]
    assert "'table_name': 'cpu', 'table_type': 'BASE TABLE'" in lines[0]
    assert lines[1] == "[{'column_name': 'host'}]"
    assert lines[2] == ("[{'_time': 1704067200000000000, 'host': 'a', 'a': 15.0}, "
                        "{'_time': 1704067200000000000, 'host': 'b', 'a': 100.0}]")
    assert lines[3].startswith("[{'f': 10.0, 'l': 20.0, 'v': 2433.33") and "'m': 20.0" in lines[3]
    assert lines[4:] == ["[{'n': 2}]", "[{'n': 2}]", "[{'_t': 1704067200000000000}]"]


def test_the_wal_reader_waits_at_a_record_being_written_and_skips_a_damaged_closed_file(tmp_path):
    import pyarrow as pa

    from jupyter_influx3.engine import walcodec
    from jupyter_influx3.engine.plugins.waltail import WalTail
    from jupyter_influx3.engine.wal import frame, wal_file_name

    wal = tmp_path / "nodeX" / "wal"
    wal.mkdir(parents=True)
    (tmp_path / "catalog").mkdir()

    def record(v):
        batch = pa.RecordBatch.from_pydict({"v": [v], "time": pa.array([v], pa.timestamp("ns")), "__seq": [v]})
        return frame(walcodec.encode([(1, 2, batch)]))

    (wal / wal_file_name(1)).write_bytes(record(1) + b"IXW1garbage-garbage" + record(2))  # damaged, closed
    (wal / wal_file_name(2)).write_bytes(record(3) + record(4)[:-3])                     # being written
    tail = WalTail(tmp_path)
    tail.positions = {"nodeX": (0, 0)}
    rnd = tail.read()
    assert [b.column("v")[0].as_py() for b in rnd.grouped[1][2]] == [1, 3]
    tail.commit(rnd)
    with open(wal / wal_file_name(2), "ab") as f:
        f.write(record(4)[-3:])
    assert [b.column("v")[0].as_py() for b in tail.read().grouped[1][2]] == [4]


def test_a_request_path_given_with_spaces_is_served_and_kept_unique(pe, engine):
    engine.write_lp("db", "seed v=1", "ns")
    (pe.loader.plugin_dir / "r.py").write_text(
        "def process_request(influxdb3_local, query_parameters, request_headers, request_body, args=None):\n"
        "    return 'hi'\n")
    pe.create_trigger("db", "r", "r.py", "request:  a/b ")
    assert pe.handle_request("a/b", {}, {}, b"").body == b"hi"
    with pytest.raises(errors.AlreadyExists):
        pe.create_trigger("db", "r2", "r.py", "request:a/b")


def test_plugin_logs_are_bounded_in_lines_and_characters():
    from jupyter_influx3.engine.plugins.logs import MAX_TEXT, LogStore

    store = LogStore(max_lines=5, max_chars=3 * MAX_TEXT)
    for i in range(10):
        store.add("t", "INFO", f"line {i}", "db")
    assert [x.log_text for x in store.lines()] == [f"line {i}" for i in range(5, 10)]
    store.add("t", "ERROR", "x" * (10 * MAX_TEXT), "db")
    assert len(store.lines()[-1].log_text) < MAX_TEXT + 100  # one line is cut
    for _ in range(4):
        store.add("t", "ERROR", "y" * MAX_TEXT, "db")
    assert sum(len(x.log_text) for x in store.lines()) <= 3 * MAX_TEXT
    assert store.lines(database="other") == []
