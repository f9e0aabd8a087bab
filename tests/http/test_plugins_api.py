"""The processing engine over HTTP (behaviour reference §6, §13.5): a real `influx3 serve
--plugin-dir` with plugins these tests write themselves (WAL, schedule, request; single file and
directory; a loopback call; a crashing plugin; a slow plugin while other requests are answered)."""

from __future__ import annotations

import textwrap
import threading
import time
from pathlib import Path

import pytest
import requests

from http_helpers import written

TRIGGER = "/api/v3/configure/processing_engine_trigger"


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("plugins")


@pytest.fixture(scope="module")
def psrv(start_influx3_session, plugin_dir):
    return start_influx3_session("--plugin-dir", str(plugin_dir))


@pytest.fixture(scope="module")
def purl(psrv) -> str:
    return psrv.url


@pytest.fixture(scope="module")
def preader(psrv):
    from jupyter_influx3.engine import Engine
    eng = Engine(psrv.data_dir, node_id="plugin-reader")
    yield eng
    eng.close()


def plugin(plugin_dir: Path, name: str, code: str) -> str:
    path = plugin_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(code))
    return name


def create_trigger(url, db, name, filename, spec, args=None, error_behavior="log", run_async=False,
                   disabled=False, status=200):
    body = {"db": db, "plugin_filename": filename, "trigger_name": name, "trigger_specification": spec,
            "trigger_settings": {"run_async": run_async, "error_behavior": error_behavior},
            "disabled": disabled}
    if args is not None:
        body["trigger_arguments"] = args
    r = requests.post(url + TRIGGER, json=body, timeout=30)
    assert r.status_code == status, r.text
    return r


def wait_for(fn, timeout=15.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def sql(url, db, q):
    r = requests.post(url + "/api/v3/query_sql", json={"db": db, "q": q, "format": "json"}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def sql_or_empty(url, db, q):
    r = requests.post(url + "/api/v3/query_sql", json={"db": db, "q": q, "format": "json"}, timeout=30)
    return r.json() if r.status_code == 200 else []


# ---- dry runs (§6.7, §13.5 P1–P3, P14) -------------------------------------------------------------

P1_PLUGIN = '''
def process_writes(influxdb3_local, table_batches, args=None):
    influxdb3_local.info("arg1: " + args["arg1"])
    query_params = {"host": args["host"]}
    query_result = influxdb3_local.query("SELECT host, region, usage FROM cpu where host = $host", query_params)
    influxdb3_local.info("query result: " + str(query_result))
    influxdb3_local.info("i", query_result, args["host"])
    influxdb3_local.warn("w:", query_result)
    influxdb3_local.error("err", query_result)
    for table_batch in table_batches:
        influxdb3_local.info("table: " + table_batch["table_name"])
        for row in table_batch["rows"]:
            influxdb3_local.info("row: " + str(row))
    line = LineBuilder("some_table")\\
        .tag("tag1", "tag1_value")\\
        .tag("tag2", "tag2_value")\\
        .int64_field("field1", 1)\\
        .float64_field("field2", 2.0)\\
        .string_field("field3", "number three")
    influxdb3_local.write(line)
    other_line = LineBuilder("other_table")
    other_line.int64_field("other_field", 1)
    other_line.float64_field("other_field2", 3.14)
    other_line.time_ns(1302)
    influxdb3_local.write_to_db("mytestdb", other_line)
    influxdb3_local.info("done")
'''


def test_wal_dry_run_reports_logs_query_rows_and_writes_without_applying_them(purl, plugin_dir, db):
    written(purl, db, "cpu,host=s1,region=us-west usage=0.9\ncpu,host=s2,region=us-east usage=0.89\n")
    plugin(plugin_dir, "p1.py", P1_PLUGIN)
    r = requests.post(purl + "/api/v3/plugin_test/wal", json={
        "filename": "p1.py", "database": db,
        "input_lp": "test_input,tag1=tag1_value,tag2=tag2_value field1=1i 500",
        "input_arguments": {"arg1": "arg1_value", "host": "s2"}}, timeout=30)
    assert r.status_code == 200, r.text
    out = r.json()
    q = "[{'host': 's2', 'region': 'us-east', 'usage': 0.89}]"
    assert out["errors"] == [], out
    assert out["log_lines"][0] == "INFO: starting execution of wal plugin."
    assert out["log_lines"][-1].startswith("INFO: finished execution in ")
    assert out["log_lines"][1:-1] == [
        "INFO: arg1: arg1_value", f"INFO: query result: {q}", f"INFO: i {q} s2", f"WARN: w: {q}",
        f"ERROR: err {q}", "INFO: table: test_input",
        "INFO: row: {'tag1': 'tag1_value', 'tag2': 'tag2_value', 'field1': 1, 'time': 500}", "INFO: done"]
    assert out["database_writes"] == {
        "mytestdb": ["other_table other_field=1i,other_field2=3.14 1302"],
        db: ['some_table,tag1=tag1_value,tag2=tag2_value field1=1i,field2=2.0,field3="number three"']}
    assert out["errors"] == []
    assert sql_or_empty(purl, db, "SELECT * FROM some_table") == []  # nothing applied


def test_schedule_dry_run_answers_the_next_tick_and_the_logs(purl, plugin_dir, db):
    written(purl, db, "x v=1")
    plugin(plugin_dir, "p2.py", '''
        def process_scheduled_call(influxdb3_local, call_time, args=None):
            influxdb3_local.info(f"args are {args}")
            influxdb3_local.info("Successfully called")
    ''')
    r = requests.post(purl + "/api/v3/plugin_test/schedule", json={
        "filename": "p2.py", "database": db, "schedule": "*/5 * * * * *",
        "input_arguments": {"region": "us-east"}}, timeout=30)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["trigger_time"].endswith("Z") and int(out["trigger_time"][17:19]) % 5 == 0
    assert "INFO: args are {'region': 'us-east'}" in out["log_lines"]
    assert "INFO: Successfully called" in out["log_lines"]
    assert out["database_writes"] == {} and out["errors"] == []
    r = requests.post(purl + "/api/v3/plugin_test/schedule", json={"filename": "p2.py", "database": "nodb_x"},
                      timeout=30)
    assert r.json()["errors"] == ["couldn't find db"]


@pytest.mark.parametrize("code, error", [
    ("def process_writes(influxdb3_local, table_batches, args=None):\n  influxdb3_local.info('x')\n   oops\n",
     "error executing plugin: IndentationError: unexpected indent (<string>, line 3)"),
    ("def nothing():\n    pass\n",
     "error executing plugin: the process_writes function is not present in the plugin. Should be defined as: "
     "process_writes(influxdb3_local, table_batches, args=None)"),
    ("def process_writes(influxdb3_local, table_batches):\n    pass\n",
     "error executing plugin: TypeError: process_writes() takes 2 positional arguments but 3 were given"),
    ("def process_writes(influxdb3_local, table_batches, args=None):\n"
     "    influxdb3_local.write(LineBuilder('some_table'))\n",
     "error executing plugin: InvalidLineError: At least one field is required: some_table"),
    ("def process_writes(influxdb3_local, table_batches, args=None):\n"
     "    influxdb3_local.query('SELECT foo FROM not_here')\n",
     "error executing plugin: QueryError: error: error while planning query: Error during planning: table "
     "'public.iox.not_here' not found executing query on {db}: SELECT foo FROM not_here"),
], ids=["indent", "missing_fn", "arity", "no_field", "bad_query"])
def test_wal_dry_run_plugin_errors_come_back_in_errors_with_200(purl, plugin_dir, db, code, error):
    written(purl, db, "x v=1")
    name = plugin(plugin_dir, f"p3_{db}.py", code)
    r = requests.post(purl + "/api/v3/plugin_test/wal",
                      json={"filename": name, "database": db, "input_lp": "t f=1i 1"}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["errors"][0] == error.format(db=db)


def test_line_builder_escaping_reaches_database_writes_exactly(purl, plugin_dir, db):
    plugin(plugin_dir, "p14.py", '''
        def process_writes(influxdb3_local, table_batches, args=None):
            influxdb3_local.write(LineBuilder("metrics").tag("host", "server01").tag("region", "us-west")
                .int64_field("cpu", 42).uint64_field("memory_bytes", 8589934592).float64_field("load", 86.5)
                .string_field("status", "online").bool_field("healthy", True).time_ns(1609459200000000000))
            influxdb3_local.write(LineBuilder("system_metrics").tag("server", "app server 1")
                .tag("datacenter", "us west").int64_field("count", 1))
    ''')
    r = requests.post(purl + "/api/v3/plugin_test/wal",
                      json={"filename": "p14.py", "database": db, "input_lp": "t f=1i 1"}, timeout=30)
    assert r.json()["database_writes"][db] == [
        'metrics,host=server01,region=us-west cpu=42i,memory_bytes=8589934592u,load=86.5,status="online",'
        'healthy=t 1609459200000000000',
        "system_metrics,server=app\\ server\\ 1,datacenter=us\\ west count=1i"]


def test_dry_run_of_a_missing_plugin_file_is_500(purl, db):
    r = requests.post(purl + "/api/v3/plugin_test/wal",
                      json={"filename": "absent.py", "database": db, "input_lp": "t f=1i 1"}, timeout=30)
    assert r.status_code == 500 and "absent.py" in r.text


# ---- request triggers (§6.6, §13.5 P4–P13) ----------------------------------------------------------

def test_request_trigger_answers_json_commits_its_write_first_and_rereads_an_edited_file(purl, plugin_dir, db):
    written(purl, db, "x v=1")
    code = '''
        def process_request(influxdb3_local, query_parameters, request_headers, request_body, args=None):
            body = __import__("json").loads(request_body)
            line = LineBuilder("request_data").tag("tag1", body["tag1"]).int64_field("field1", 1)
            influxdb3_local.write(line)
            return {"status": "ok", "line": line.build(), "q1": query_parameters["q1"]}
    '''
    plugin(plugin_dir, f"req_{db}.py", code)
    create_trigger(purl, db, "req", f"req_{db}.py", f"request:bar_{db}")
    r = requests.post(f"{purl}/api/v3/engine/bar_{db}?q1=whatevs", json={"tag1": "tag1_value"}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/json"
    assert r.json() == {"status": "ok", "line": "request_data,tag1=tag1_value field1=1i", "q1": "whatevs"}
    assert [(x["tag1"], x["field1"]) for x in sql(purl, db, "SELECT * FROM request_data")] == [("tag1_value", 1)]
    time.sleep(0.01)  # a new mtime
    plugin(plugin_dir, f"req_{db}.py", code.replace('"status": "ok"', '"status": "edited"'))
    r = requests.post(f"{purl}/api/v3/engine/bar_{db}?q1=x", json={"tag1": "t"}, timeout=30)
    assert r.json()["status"] == "edited"


FLASKISH = '''
class Resp:
    __flask_response__ = True
    status_code = 202
    headers = {"Content-Type": "text/custom", "X-Generated-By": "plugin"}
    def get_data(self):
        return b"Custom Flask Response"
'''


@pytest.mark.parametrize("ret, status, ctype, body, headers", [
    ('"Hello, World!"', 200, "text/html", b"Hello, World!", {}),
    ('("Created successfully", 201)', 201, "text/html", b"Created successfully", {}),
    ('("Custom Content-Type", {"Content-Type": "text/plain", "X-Custom-Header": "test-value"})', 200,
     "text/plain", b"Custom Content-Type", {"X-Custom-Header": "test-value"}),
    ('("Not Found", 404, {"Content-Type": "text/plain", "X-Error-Code": "NOT_FOUND"})', 404, "text/plain",
     b"Not Found", {"X-Error-Code": "NOT_FOUND"}),
    ('["item1", "item2", "item3"]', 200, "application/json", b'["item1", "item2", "item3"]', {}),
    ('(x for x in ["Line 1\\n", "Line 2\\n", "Line 3\\n"])', 200, "text/html", b"Line 1\nLine 2\nLine 3\n", {}),
    ("Resp()", 202, "text/custom", b"Custom Flask Response", {"X-Generated-By": "plugin"}),
    ('({"error": "Not Found", "code": 404}, 404)', 404, "application/json", b'{"error": "Not Found", "code": 404}', {}),
    ("object()", 500, "application/json", None, {}),
    ('("x", 200, {"X-Evil": "a\\r\\nSet-Cookie: s=1"})', 500, "application/json", None, {}),
    ('("x", 1000)', 500, "application/json", None, {}),
], ids=["str", "str_status", "str_headers", "str_status_headers", "list", "generator", "flask", "dict_status",
        "unsupported", "header_injection", "bad_status"])
def test_request_trigger_return_values_map_to_responses(purl, plugin_dir, db, ret, status, ctype, body, headers):
    written(purl, db, "x v=1")
    plugin(plugin_dir, f"ret_{db}.py", FLASKISH + f'''
def process_request(influxdb3_local, query_parameters, request_headers, request_body, args=None):
    return {ret}
''')
    create_trigger(purl, db, "ret", f"ret_{db}.py", f"request:ret_{db}")
    r = requests.get(f"{purl}/api/v3/engine/ret_{db}", timeout=30)
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == ctype
    if body is not None:
        assert r.content == body
    else:
        assert "error" in r.json()
    for k, v in headers.items():
        assert r.headers[k] == v


def test_request_plugin_never_sees_the_authorization_header_and_unknown_paths_are_404(purl, plugin_dir, db):
    written(purl, db, "x v=1")
    plugin(plugin_dir, f"hdr_{db}.py", '''
        def process_request(influxdb3_local, query_parameters, request_headers, request_body, args=None):
            return {"headers": sorted(request_headers), "args": args}
    ''')
    create_trigger(purl, db, "hdr", f"hdr_{db}.py", f"request:hdr_{db}", args={"k": "v"})
    r = requests.get(f"{purl}/api/v3/engine/hdr_{db}", headers={"Authorization": "Bearer super-secret-token",
                                                                 "X-Custom": "1"}, timeout=30)
    assert r.status_code == 200
    assert "authorization" not in r.json()["headers"] and "x-custom" in r.json()["headers"]
    assert r.json()["args"] == {"k": "v"}
    r = requests.get(f"{purl}/api/v3/engine/nothing_here_{db}", timeout=30)
    assert r.status_code == 404 and r.content == b'{error: "not found"}'


def test_a_crashing_request_plugin_answers_500_and_logs_its_traceback(purl, plugin_dir, db):
    written(purl, db, "x v=1")
    plugin(plugin_dir, f"crash_{db}.py", '''
        def helper():
            return 1 / 0

        def process_request(influxdb3_local, query_parameters, request_headers, request_body, args=None):
            return helper()
    ''')
    create_trigger(purl, db, f"crash_{db}", f"crash_{db}.py", f"request:crash_{db}")
    r = requests.get(f"{purl}/api/v3/engine/crash_{db}", timeout=30)
    assert r.status_code == 500 and r.json() == {"error": "ZeroDivisionError: division by zero"}
    logs = sql(purl, db, f"SELECT log_level, log_text FROM system.processing_engine_logs "
                         f"WHERE trigger_name = 'crash_{db}' AND log_level = 'ERROR'")
    text = "\n".join(x["log_text"] for x in logs)
    assert "Traceback (most recent call last)" in text and "in helper" in text and "return 1 / 0" in text
    written(purl, db + "_other", "x v=1")  # another database does not see this database's plugin logs
    assert sql(purl, db + "_other", f"SELECT * FROM system.processing_engine_logs "
                                    f"WHERE trigger_name = 'crash_{db}'") == []


def test_a_plugin_calling_this_server_back_over_loopback_is_answered(purl, plugin_dir, db):
    written(purl, db, "x v=1")
    plugin(plugin_dir, f"notify_{db}.py", '''
        def process_request(influxdb3_local, query_parameters, request_headers, request_body, args=None):
            return {"results": {"slack": True}, "text": request_body.decode()}
    ''')
    plugin(plugin_dir, f"caller_{db}.py", '''
        import requests
        def process_request(influxdb3_local, query_parameters, request_headers, request_body, args=None):
            r = requests.post(args["url"] + "/api/v3/engine/" + args["path"], data=b"alert!", timeout=10)
            return {"inner": r.json()["results"], "text": r.json()["text"]}
    ''')
    create_trigger(purl, db, "notify", f"notify_{db}.py", f"request:notify_{db}")
    create_trigger(purl, db, "caller", f"caller_{db}.py", f"request:caller_{db}",
                   args={"url": purl, "path": f"notify_{db}"})
    r = requests.get(f"{purl}/api/v3/engine/caller_{db}", timeout=30)
    assert r.status_code == 200, r.text
    assert r.json() == {"inner": {"slack": True}, "text": "alert!"}


def test_a_slow_plugin_does_not_hold_up_other_requests(purl, plugin_dir, db):
    written(purl, db, "x v=1")
    plugin(plugin_dir, f"slow_{db}.py", '''
        import time
        def process_request(influxdb3_local, query_parameters, request_headers, request_body, args=None):
            time.sleep(3)
            return "slow"
    ''')
    create_trigger(purl, db, "slow", f"slow_{db}.py", f"request:slow_{db}")
    answer = {}
    t = threading.Thread(target=lambda: answer.update(r=requests.get(f"{purl}/api/v3/engine/slow_{db}", timeout=30)))
    t.start()
    time.sleep(0.5)
    try:
        t0 = time.monotonic()
        assert requests.get(purl + "/health", timeout=30).status_code == 200
        written(purl, db, "x v=2")
        assert sql(purl, db, "SELECT count(*) AS n FROM x")[0]["n"] == 2
        assert t.is_alive(), "answered while the slow plugin was still running"
        assert time.monotonic() - t0 < 2.5
    finally:
        t.join()
    assert answer["r"].text == "slow"


# ---- WAL and schedule triggers --------------------------------------------------------------------

DERIVE = '''
def process_writes(influxdb3_local, table_batches, args=None):
    for b in table_batches:
        if b["table_name"] == "derived":
            continue
        for row in b["rows"]:
            influxdb3_local.write(LineBuilder("derived").tag("src", b["table_name"])
                                  .float64_field("double", row["usage"] * 2).time_ns(row["time"]))
'''


def test_wal_trigger_on_one_table_writes_a_derived_table_once_per_row(purl, plugin_dir, db):
    written(purl, db, "cpu usage=1 1")
    plugin(plugin_dir, "derive.py", DERIVE)
    create_trigger(purl, db, "derive", "derive.py", "table:cpu")
    written(purl, db, "cpu,host=a usage=1.5 10\ncpu,host=b usage=2 20\nmem usage=7 30")
    written(purl, db, "cpu,host=a usage=3 40")
    got = wait_for(lambda: len(sql_or_empty(purl, db, "SELECT * FROM derived")) == 3 and
                   sql(purl, db, "SELECT time, src, double FROM derived ORDER BY time"))
    assert [(r["src"], r["double"]) for r in got] == [("cpu", 3.0), ("cpu", 4.0), ("cpu", 6.0)]
    time.sleep(0.5)
    assert len(sql(purl, db, "SELECT * FROM derived")) == 3  # nothing twice, mem not seen


def test_schedule_trigger_fires_every_second_with_its_arguments(purl, plugin_dir, db):
    written(purl, db, "x v=1")
    plugin(plugin_dir, "tick.py", '''
        def process_scheduled_call(influxdb3_local, call_time, args=None):
            influxdb3_local.write(LineBuilder("ticks").tag("who", args["who"])
                                  .int64_field("sec", int(call_time.timestamp())))
    ''')
    create_trigger(purl, db, "tick", "tick.py", "every:1s", args={"who": "me"})
    got = wait_for(lambda: len(sql_or_empty(purl, db, "SELECT * FROM ticks")) >= 2, timeout=10)
    assert got
    secs = sorted(r["sec"] for r in sql(purl, db, "SELECT sec, who FROM ticks"))
    assert len(set(secs)) == len(secs) and all(r["who"] == "me" for r in sql(purl, db, "SELECT who FROM ticks"))
    requests.post(f"{purl}{TRIGGER}/disable", params={"db": db, "trigger_name": "tick"}, timeout=30)
    time.sleep(0.3)
    n = len(sql(purl, db, "SELECT * FROM ticks"))
    time.sleep(1.5)
    assert len(sql(purl, db, "SELECT * FROM ticks")) == n  # disabled: no more ticks


def test_error_behavior_disable_turns_the_trigger_off_and_log_keeps_it(purl, plugin_dir, db):
    written(purl, db, "x v=1")
    plugin(plugin_dir, "boom.py", '''
        def process_writes(influxdb3_local, table_batches, args=None):
            raise RuntimeError("boom " + table_batches[0]["table_name"])
    ''')
    create_trigger(purl, db, "boom_log", "boom.py", "table:a", error_behavior="log")
    create_trigger(purl, db, "boom_disable", "boom.py", "table:b", error_behavior="Disable")
    written(purl, db, "a v=1\nb v=1")

    def state():
        got = sql(purl, db, "SELECT trigger_name, disabled, error_behavior FROM system.processing_engine_triggers "
                            "ORDER BY trigger_name")
        return {r["trigger_name"]: (r["disabled"], r["error_behavior"]) for r in got}

    assert wait_for(lambda: state()["boom_disable"] == (True, "disable"))
    assert state()["boom_log"] == (False, "log")
    logs = sql(purl, db, "SELECT trigger_name, log_text FROM system.processing_engine_logs WHERE log_level = 'ERROR' "
                         "AND trigger_name LIKE 'boom%'")
    assert any("RuntimeError: boom a" in r["log_text"] and "Traceback" in r["log_text"] for r in logs)


def test_error_behavior_retry_runs_the_batch_again_until_it_succeeds(purl, plugin_dir, db):
    written(purl, db, "x v=1")
    plugin(plugin_dir, "flaky.py", '''
        def process_writes(influxdb3_local, table_batches, args=None):
            n = influxdb3_local.cache.get("n", 0) + 1
            influxdb3_local.cache.put("n", n)
            if n < 3:
                raise RuntimeError(f"attempt {n}")
            influxdb3_local.write(LineBuilder("done").int64_field("attempts", n))
    ''')
    create_trigger(purl, db, "flaky", "flaky.py", "table:f", error_behavior="retry")
    written(purl, db, "f v=1")
    got = wait_for(lambda: sql_or_empty(purl, db, "SELECT attempts FROM done"))
    assert [r["attempts"] for r in got] == [3]


# ---- trigger operations (§6.2) ---------------------------------------------------------------------

def test_trigger_operations_answer_the_documented_statuses(purl, plugin_dir, db):
    written(purl, db, "x v=1")
    plugin(plugin_dir, "noop.py", "def process_writes(influxdb3_local, table_batches, args=None):\n    pass\n")
    create_trigger(purl, db, "t", "noop.py", "all_tables")
    r = create_trigger(purl, db, "t", "noop.py", "all_tables", status=409)
    assert r.text == "attempted to create a resource that already exists"
    create_trigger(purl, "no_such_db_x", "t", "noop.py", "all_tables", status=404)
    create_trigger(purl, "_internal", "t", "noop.py", "all_tables", status=500)
    r = create_trigger(purl, db, "t2", "missing.py", "all_tables", status=500)
    assert r.text.startswith("Plugin error: ")
    r = create_trigger(purl, db, "t3", "noop.py", "sometimes", status=500)
    assert r.text == ("failed to parse trigger from sometimes: expect one of the following forms: "
                      "'table:<TABLE_NAME>', 'all_tables', 'cron:<CRON_EXPRESSION>', 'every:<DURATION>', "
                      "or 'request:<PATH>'")
    create_trigger(purl, db, "t4", "noop.py", "cron:*/5 * * * *", status=500)  # 5 fields: seconds missing
    r = create_trigger(purl, db, "t5", "noop.py", "all_tables", error_behavior="sometimes", status=400)
    assert r.text.startswith("serde json error: unknown variant `sometimes`")
    # enable/disable are idempotent; delete needs a disabled trigger or force
    for action in ("disable", "disable", "enable", "enable"):
        r = requests.post(f"{purl}{TRIGGER}/{action}", params={"db": db, "trigger_name": "t"}, timeout=30)
        assert r.status_code == 200, r.text
    r = requests.post(f"{purl}{TRIGGER}/enable", params={"db": db, "trigger_name": "nope"}, timeout=30)
    assert r.status_code == 404
    r = requests.delete(purl + TRIGGER, params={"db": db, "trigger_name": "t"}, timeout=30)
    assert r.status_code == 500 and r.text == "Cannot delete running plugin t. Disable it first or use --force."
    r = requests.delete(purl + TRIGGER, params={"db": db, "trigger_name": "t", "force": "true"}, timeout=30)
    assert r.status_code == 200
    r = requests.delete(purl + TRIGGER, params={"db": db, "trigger_name": "t", "force": "true"}, timeout=30)
    assert r.status_code == 404


def test_trigger_body_errors_are_serde_style_400_and_415(purl, db):
    r = requests.post(purl + TRIGGER, json={"db": db, "plugin_filename": "x.py", "trigger_name": "t"}, timeout=30)
    assert r.status_code == 400 and "missing field `trigger_specification`" in r.text
    r = requests.post(purl + TRIGGER, data="{}", headers={"Content-Type": "text/plain"}, timeout=30)
    assert r.status_code == 415


def test_system_tables_show_triggers_as_the_real_server_prints_them(purl, plugin_dir, db):
    written(purl, db, "x v=1")
    plugin(plugin_dir, "noop.py", "def process_writes(influxdb3_local, table_batches, args=None):\n    pass\n")
    specs = {"a": "all_tables", "b": "table:cpu", "c": "cron:0 0 6 * * 1-5", "d": f"request:sys_{db}",
             "e": "every:10s"}
    for name, spec in specs.items():
        create_trigger(purl, db, name, "noop.py", spec, args={"k": name} if name == "b" else None,
                       disabled=True, error_behavior="Retry" if name == "e" else "log")
    got = sql(purl, db, "SELECT * FROM system.processing_engine_triggers ORDER BY trigger_name")
    assert [r["trigger_specification"] for r in got] == [
        '"all_tables_wal_write"', '{"single_table_wal_write":{"table_name":"cpu"}}',
        '{"schedule":{"schedule":"0 0 6 * * 1-5"}}', f'{{"request_path":{{"path":"sys_{db}"}}}}',
        '{"every":{"duration":{"secs":10,"nanos":0}}}']
    assert all(r["disabled"] and r["plugin_filename"] == "noop.py" for r in got)
    assert got[-1]["error_behavior"] == "retry"
    assert sql(purl, db, "SELECT * FROM system.processing_engine_trigger_arguments") == [
        {"trigger_name": "b", "argument_key": "k", "argument_value": "b"}]


def test_trigger_fields_in_the_query_string_are_accepted(purl, plugin_dir, db):
    written(purl, db, "x v=1")
    plugin(plugin_dir, "noop.py", "def process_writes(influxdb3_local, table_batches, args=None):\n    pass\n")
    r = requests.post(purl + TRIGGER, params={
        "db": db, "plugin_filename": "noop.py", "trigger_name": "qs", "trigger_specification": "all_tables",
        "trigger_settings": '{"run_async": true, "error_behavior": "disable"}', "disabled": "true"}, timeout=30)
    assert r.status_code == 200, r.text
    got = sql(purl, db, "SELECT disabled, error_behavior FROM system.processing_engine_triggers")
    assert got == [{"disabled": True, "error_behavior": "disable"}]


# ---- plugin files (§6.2) ----------------------------------------------------------------------------

def test_plugin_files_are_created_replaced_and_listed_and_traversal_is_refused(purl, plugin_dir, db):
    written(purl, db, "x v=1")
    code = "def process_request(influxdb3_local, query_parameters, request_headers, request_body, args=None):\n" \
           "    return 'v1'\n"
    r = requests.post(purl + "/api/v3/plugins/files", json={"plugin_name": f"up_{db}.py", "content": code},
                      timeout=30)
    assert r.status_code == 200, r.text
    assert (plugin_dir / f"up_{db}.py").read_text() == code
    create_trigger(purl, db, f"up_{db}", f"up_{db}.py", f"request:up_{db}")
    assert requests.get(f"{purl}/api/v3/engine/up_{db}", timeout=30).text == "v1"
    r = requests.put(purl + "/api/v3/plugins/files", json={"plugin_name": f"up_{db}",
                                                           "content": code.replace("v1", "v2")}, timeout=30)
    assert r.status_code == 200, r.text
    assert requests.get(f"{purl}/api/v3/engine/up_{db}", timeout=30).text == "v2"
    r = requests.put(purl + "/api/v3/plugins/files", params={"path": f"raw_{db}.py"}, data=code.encode(),
                     headers={"Content-Type": "application/octet-stream"}, timeout=30)
    assert r.status_code == 200 and (plugin_dir / f"raw_{db}.py").read_bytes() == code.encode()
    for bad in ("../evil.py", "/etc/evil.py", "a/../../evil.py", ".venv/x.py"):
        r = requests.post(purl + "/api/v3/plugins/files", json={"plugin_name": bad, "content": "x"}, timeout=30)
        assert r.status_code == 400, (bad, r.text)
    assert not (plugin_dir.parent / "evil.py").exists()
    create_trigger(purl, db, "evil", "../x.py", "all_tables", status=400)
    files = sql(purl, "_internal", "SELECT plugin_name, file_name, file_path, size_bytes FROM system.plugin_files")
    assert {"plugin_name": f"up_{db}", "file_name": f"up_{db}.py", "file_path": f"up_{db}.py",
            "size_bytes": len(code)} in files


def test_symlinks_out_of_the_plugin_dir_are_refused(purl, plugin_dir, db, tmp_path):
    outside = tmp_path / "outside.py"
    outside.write_text("def process_writes(influxdb3_local, table_batches, args=None):\n    pass\n")
    (plugin_dir / f"link_{db}.py").symlink_to(outside)
    written(purl, db, "x v=1")
    create_trigger(purl, db, "link", f"link_{db}.py", "all_tables", status=400)


def test_directory_plugins_import_their_modules_and_are_replaced_as_a_whole(purl, plugin_dir, db):
    written(purl, db, "x v=1")
    pkg = f"pkg_{db}"
    plugin(plugin_dir, f"{pkg}/__init__.py", '''
        from .helper import answer
        def process_request(influxdb3_local, query_parameters, request_headers, request_body, args=None):
            return {"answer": answer()}
    ''')
    plugin(plugin_dir, f"{pkg}/helper.py", "def answer():\n    return 1\n")
    create_trigger(purl, db, pkg, pkg, f"request:{pkg}")
    assert requests.get(f"{purl}/api/v3/engine/{pkg}", timeout=30).json() == {"answer": 1}
    r = requests.put(purl + "/api/v3/plugins/directory", json={"plugin_name": pkg, "files": [
        {"relative_path": "__init__.py", "content": (plugin_dir / pkg / "__init__.py").read_text()},
        {"relative_path": "helper.py", "content": "def answer():\n    return 2\n"}]}, timeout=30)
    assert r.status_code == 200, r.text
    assert requests.get(f"{purl}/api/v3/engine/{pkg}", timeout=30).json() == {"answer": 2}
    r = requests.put(purl + "/api/v3/plugins/directory", json={"plugin_name": pkg, "files": [
        {"relative_path": "../escape.py", "content": "x"}]}, timeout=30)
    assert r.status_code == 400
    (plugin_dir / f"nopkg_{db}").mkdir()
    create_trigger(purl, db, "nopkg", f"nopkg_{db}", "all_tables", status=500)


# ---- servers of their own: no plugin dir, package installs, gh:, restrictions ------------------------

def test_without_a_plugin_dir_every_operation_says_so(url, db):
    r = requests.post(url + TRIGGER, json={"db": db, "plugin_filename": "p.py", "trigger_name": "t",
                                           "trigger_specification": "all_tables"}, timeout=30)
    assert r.status_code == 500 and r.text == "Plugin error: Node not configured with plugin directory"
    r = requests.post(url + "/api/v3/plugin_test/wal", json={"filename": "p.py", "database": db, "input_lp": "a b=1"},
                      timeout=30)
    assert r.status_code == 500 and r.text == "Plugin error: Node not configured with plugin directory"
    r = requests.get(url + "/api/v3/engine/anything", timeout=30)
    assert r.status_code == 404


def _tiny_wheel(tmp_path: Path, name: str) -> Path:
    """A wheel of one module, built by hand (no network, no build backend)."""
    import base64
    import hashlib
    import zipfile

    dist = f"{name}-0.1"
    files = {f"{name}.py": b"VALUE = 42\n",
             f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n".encode(),
             f"{dist}.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = ""
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record += f"{path},sha256={digest},{len(data)}\n"
    record += f"{dist}.dist-info/RECORD,,\n"
    wheel = tmp_path / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        for path, data in files.items():
            z.writestr(path, data)
        z.writestr(f"{dist}.dist-info/RECORD", record)
    return wheel


def test_installed_packages_are_importable_by_the_next_plugin_call(purl, plugin_dir, db, tmp_path):
    written(purl, db, "x v=1")
    mod = f"influx3_tinypkg_{db}"
    plugin(plugin_dir, f"usepkg_{db}.py", f'''
        def process_request(influxdb3_local, query_parameters, request_headers, request_body, args=None):
            import {mod}
            return {{"value": {mod}.VALUE}}
    ''')
    create_trigger(purl, db, f"usepkg_{db}", f"usepkg_{db}.py", f"request:usepkg_{db}")
    assert requests.get(f"{purl}/api/v3/engine/usepkg_{db}", timeout=30).status_code == 500  # not yet
    wheel = _tiny_wheel(tmp_path, mod)
    r = requests.post(purl + "/api/v3/configure/plugin_environment/install_packages",
                      json={"packages": [str(wheel)]}, timeout=300)
    assert r.status_code == 200, r.text
    assert (plugin_dir / ".venv").is_dir()
    assert requests.get(f"{purl}/api/v3/engine/usepkg_{db}", timeout=30).json() == {"value": 42}
    r = requests.post(purl + "/api/v3/configure/plugin_environment/install_packages",
                      json={"packages": ["--index-url=http://evil.example/"]}, timeout=30)
    assert r.status_code == 400
    for bad in ("../../etc/passwd", "/etc/passwd"):
        r = requests.post(purl + "/api/v3/configure/plugin_environment/install_requirements",
                          json={"requirements_location": bad}, timeout=30)
        assert r.status_code == 400, (bad, r.text)


def test_package_manager_disabled_gh_repo_and_trigger_restrictions(start_influx3, tmp_path):
    pdir, repo = tmp_path / "pd", tmp_path / "repo"
    pdir.mkdir()
    (repo / "examples").mkdir(parents=True)
    (repo / "examples" / "hello.py").write_text(
        "def process_request(influxdb3_local, query_parameters, request_headers, request_body, args=None):\n"
        "    return 'from the repo'\n")
    srv = start_influx3("--plugin-dir", str(pdir), "--plugin-repo", str(repo), "--package-manager", "disabled",
                        "--restrict-plugin-triggers-to", "request")
    written(srv.url, "g", "x v=1")
    r = requests.post(srv.url + "/api/v3/configure/plugin_environment/install_packages",
                      json={"packages": ["anything"]}, timeout=30)
    assert r.status_code == 403
    create_trigger(srv.url, "g", "gh", "gh:examples/hello.py", "request:hello")
    assert requests.get(srv.url + "/api/v3/engine/hello", timeout=30).text == "from the repo"
    create_trigger(srv.url, "g", "gh2", "gh:../outside.py", "request:h2", status=400)
    r = create_trigger(srv.url, "g", "w", "gh:examples/hello.py", "all_tables", status=400)
    assert r.text == "invalid request: server is configured to reject Wal plugin triggers"


def test_gh_paths_are_refused_without_a_plugin_repo(purl, db):
    written(purl, db, "x v=1")
    r = create_trigger(purl, db, "gh", "gh:examples/wal_plugin/wal_plugin.py", "all_tables", status=500)
    assert "--plugin-repo" in r.text


def test_run_async_wal_triggers_and_cron_schedules_run(purl, plugin_dir, db):
    written(purl, db, "x v=1")
    plugin(plugin_dir, "tag_rows.py", '''
        def process_writes(influxdb3_local, table_batches, args=None):
            for b in table_batches:
                if b["table_name"] == "src":
                    influxdb3_local.write(LineBuilder("copied").tag("by", args["by"])
                                          .int64_field("n", len(b["rows"])))
    ''')
    plugin(plugin_dir, "cron_tick.py", '''
        def process_scheduled_call(influxdb3_local, call_time, args=None):
            influxdb3_local.write(LineBuilder("cron_ticks").int64_field("sec", int(call_time.timestamp())))
    ''')
    for by in ("a", "b"):
        create_trigger(purl, db, f"async_{by}", "tag_rows.py", "table:src", args={"by": by}, run_async=True)
    create_trigger(purl, db, "cron", "cron_tick.py", "cron:* * * * * *")
    written(purl, db, "src v=1 1\nsrc v=2 2")
    got = wait_for(lambda: len(sql_or_empty(purl, db, "SELECT by, n FROM copied")) == 2 and
                   sql(purl, db, "SELECT by, n FROM copied ORDER BY by"))
    assert got == [{"by": "a", "n": 2}, {"by": "b", "n": 2}]
    assert wait_for(lambda: len(sql_or_empty(purl, db, "SELECT sec FROM cron_ticks")) >= 2, timeout=10)
    requests.post(f"{purl}{TRIGGER}/disable", params={"db": db, "trigger_name": "cron"}, timeout=30)
