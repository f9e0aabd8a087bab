"""Official plugins of `influxdata/influxdb3_plugins`, unmodified, through a real server
(plugins reference §A.6 T1–T3). The checkout is not part of this project: point
`JUPYTER_INFLUX3_PLUGINS_DIR` at a checkout of the public repository at commit ab59f956; without
it these tests skip, saying so."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import requests

from http_helpers import written
from official_plugins import PLUGINS, T0, needs_checkout

pytestmark = needs_checkout


@pytest.fixture(scope="module")
def ourl(start_influx3_session):
    return start_influx3_session("--plugin-dir", PLUGINS).url


def trigger(url, db, name, filename, spec, args=None):
    body = {"db": db, "plugin_filename": filename, "trigger_name": name, "trigger_specification": spec,
            "trigger_settings": {"run_async": False, "error_behavior": "log"}, "disabled": False}
    if args:
        body["trigger_arguments"] = args
    r = requests.post(url + "/api/v3/configure/processing_engine_trigger", json=body, timeout=30)
    assert r.status_code == 200, r.text


def sql(url, db, q):
    r = requests.post(url + "/api/v3/query_sql", json={"db": db, "q": q, "format": "json"}, timeout=30)
    return r.json() if r.status_code == 200 else []


def wait_for(fn, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not (value := fn()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return value


def logs(url, db, trigger_name):
    return [r["log_text"] for r in sql(url, db, "SELECT log_text FROM system.processing_engine_logs "
                                               f"WHERE trigger_name = '{trigger_name}'")]


def test_t1_the_docs_wal_plugin_counts_rows_per_table(ourl):
    db = "acc_wal"
    written(ourl, db, "seed v=1")
    trigger(ourl, db, "acc_wal", "examples/wal_plugin/wal_plugin.py", "all_tables", {"double_count_table": "mem"})
    written(ourl, db, "cpu,host=a usage=1 1\ncpu,host=b usage=2 2\nmem,host=a free=5i 1")
    got = wait_for(lambda: len(sql(ourl, db, "SELECT * FROM write_reports")) >= 2 and
                   sql(ourl, db, "SELECT table_name, row_count FROM write_reports ORDER BY table_name"))
    assert got == [{"table_name": "cpu", "row_count": 2}, {"table_name": "mem", "row_count": 2}]
    time.sleep(0.5)
    assert len(sql(ourl, db, "SELECT * FROM write_reports")) == 2  # its own batch is skipped: no loop
    assert "wal_plugin.py done" in logs(ourl, db, "acc_wal")


T2_LP = """weather,location=us-east,station_id=ST001,extra=x temperature=72.5,humidity=45.2,junk=1i 1704067200000000000
weather,location=us-east temperature=72.5,humidity=45.2 1704067210000000000
weather,location=mars,station_id=ST2 temperature=1.0,humidity=2.0 1704067220000000000
weather,location=eu-west,station_id=ST3 temperature=10.0,humidity=50.0,condition="hail" 1704067230000000000
cpu,host=h1,cpu_id=0 usage_idle=90.0,usage_user=5.0 1704067200000000000
sensor_readings,device_id=d1,sensor_type=temperature value=21.5,quality=5i 1704067200000000000
sensor_readings,device_id=d2,sensor_type=pressure value=3.0,quality=2i,unit="bar" 1704067200000000000
other,foo=bar x=1.0 1704067200000000000"""
T2_ARGS = {"schema_file": "influxdata/schema_validator/schema_validator_config.json", "target_database": "clean_db",
           "write_rejection_log": "true"}
T2_REASONS = sorted([
    ("weather", "Required tag 'station_id' is missing"),
    ("weather", "Tag 'location' value 'mars' is not in allowed values: ['us-east', 'us-west', 'eu-west', 'eu-east', "
                "'ap-south']"),
    ("weather", "Field 'condition' value 'hail' is not in allowed values: ['sunny', 'cloudy', 'rain', 'snow', 'fog', "
                "'storm']"),
    ("sensor_readings", "Field 'quality' value '5' is not in allowed values: [0, 1, 2, 3]")])


def test_t2_schema_validator_splits_accepted_and_rejected_rows_across_databases(ourl):
    written(ourl, "raw_db", "seed v=1")
    trigger(ourl, "raw_db", "acc_sv", "influxdata/schema_validator/schema_validator.py", "all_tables", T2_ARGS)
    written(ourl, "raw_db", T2_LP)
    rejects = wait_for(lambda: len(sql(ourl, "clean_db", "SELECT * FROM _schema_rejections")) >= 4 and
                       sql(ourl, "clean_db", "SELECT source_table, reason FROM _schema_rejections"))
    assert sorted((r["source_table"], r["reason"]) for r in rejects) == T2_REASONS
    weather = sql(ourl, "clean_db", "SELECT * FROM weather_clean")
    assert [{k: v for k, v in r.items() if k != "time"} for r in weather] == [
        {"location": "us-east", "station_id": "ST001", "temperature": 72.5, "humidity": 45.2}]
    cpu = sql(ourl, "clean_db", "SELECT host, cpu_id, usage_idle, usage_user FROM cpu")
    assert cpu == [{"host": "h1", "cpu_id": "0", "usage_idle": 90.0, "usage_user": 5.0}]
    sensors = sql(ourl, "clean_db", "SELECT device_id, sensor_type, value, unit, quality FROM sensors_validated")
    assert sensors == [{"device_id": "d2", "sensor_type": "pressure", "value": 3.0, "unit": "bar", "quality": 2}]
    assert sql(ourl, "clean_db", "SELECT * FROM other") == []
    text = "\n".join(logs(ourl, "raw_db", "acc_sv"))
    assert "Skipping table 'other' - not in allowed_measurements" in text
    assert re.search(r"\[[0-9a-f]{8}\] Schema Validator complete: 3 total accepted, 4 total rejected", text)


def test_t2_schema_validator_dry_run_reports_the_clean_writes_and_stores_nothing(ourl):
    r = requests.post(ourl + "/api/v3/plugin_test/wal", json={
        "filename": "influxdata/schema_validator/schema_validator.py", "database": "raw_dry",
        "input_lp": T2_LP, "input_arguments": T2_ARGS}, timeout=60)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["errors"] == [], out
    clean = out["database_writes"]["clean_db"]
    text = "\n".join(clean)
    assert "weather_clean,location=us-east,station_id=ST001" in text and "junk" not in text
    assert "sensors_validated,device_id=d2,sensor_type=pressure" in text
    assert sum(1 for entry in clean for line in entry.split("\n") if line.startswith("_schema_rejections")) == 4
    assert requests.post(ourl + "/api/v3/query_sql", json={"db": "raw_dry", "q": "SELECT 1"},
                         timeout=30).status_code == 404  # the dry run created nothing


def test_t3_downsampler_over_http_writes_ten_minute_bins(ourl):
    db = "acc_ds"
    written(ourl, db, "cpu,host=a usage=10.0 1704067200000000000\ncpu,host=a usage=20.0 1704067260000000000\n"
                      "cpu,host=a usage=30.0 1704067860000000000\ncpu,host=b usage=100.0 1704067230000000000")
    trigger(ourl, db, "acc_ds", "influxdata/downsampler/downsampler.py", "request:downsample")
    r = requests.post(ourl + "/api/v3/engine/downsample", json={
        "source_measurement": "cpu", "target_measurement": "cpu_10m", "interval": "10min", "batch_size": "1d",
        "backfill_start": "2024-01-01T00:00:00+00:00", "backfill_end": "2024-01-02T00:00:00+00:00"}, timeout=60)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/json"
    assert re.fullmatch(r"\[[0-9a-f-]{36}\] Downsampling completed from 'cpu' to 'cpu_10m'", r.json()["message"])
    got = sql(ourl, db, "SELECT time, host, usage_avg, record_count, time_from, time_to FROM cpu_10m "
                        "ORDER BY time, host")
    assert [(r["time"], r["host"], r["usage_avg"], r["record_count"], r["time_from"], r["time_to"]) for r in got] == [
        ("2024-01-01T00:00:00", "a", 15.0, 2, T0, T0 + 60 * 10**9),
        ("2024-01-01T00:00:00", "b", 100.0, 1, T0 + 30 * 10**9, T0 + 30 * 10**9),
        ("2024-01-01T00:10:00", "a", 30.0, 1, T0 + 660 * 10**9, T0 + 660 * 10**9)]


def _needs(ourl, module: str) -> None:
    """Skip, saying why, when the server's plugin environment cannot import `module` (install it with
    `influx3 install package …` or POST …/plugin_environment/install_packages)."""
    r = requests.post(ourl + "/api/v3/plugins/files", json={
        "plugin_name": "_influx3_probe.py",
        "content": f"def process_writes(influxdb3_local, table_batches, args=None):\n    import {module}\n"},
        timeout=30)
    assert r.status_code == 200, r.text
    try:
        out = requests.post(ourl + "/api/v3/plugin_test/wal", json={
            "filename": "_influx3_probe.py", "database": "probe", "input_lp": "x v=1 1"}, timeout=60).json()
    finally:
        Path(PLUGINS, "_influx3_probe.py").unlink(missing_ok=True)
    if out["errors"]:
        pytest.skip(f"the plugin environment lacks {module}: {out['errors'][0]}")


def test_t4_basic_transformation_converts_units_and_renames_on_write(ourl):
    _needs(ourl, "pint")
    written(ourl, "bt", "seed v=1")
    trigger(ourl, "bt", "acc_bt", "influxdata/basic_transformation/basic_transformation.py", "all_tables",
            {"measurement": "temperature", "target_measurement": "temp_f", "target_database": "bt_out",
             "values_transformations": "temp:'convert_degC_to_degF'", "names_transformations": "room:'upper'"})
    written(ourl, "bt", f"temperature,room=kitchen temp=20 {T0}\ntemperature,room=hall temp=100 {T0}")
    got = wait_for(lambda: sql(ourl, "bt_out", "SELECT \"ROOM\", temp FROM temp_f ORDER BY temp"))
    assert got == [{"ROOM": "kitchen", "temp": 68.0}, {"ROOM": "hall", "temp": 212.0}]


@pytest.fixture
def notifier():
    """A stand-in for the notifier plugin (which needs httpx and twilio) as a file in the checkout,
    removed afterwards: it answers the official alerting plugins' loopback call."""
    path = Path(PLUGINS, "_influx3_test_notify.py")
    path.write_text("import json\n"
                    "def process_request(influxdb3_local, query_parameters, request_headers, request_body, args=None):\n"
                    "    influxdb3_local.info('NOTIFIED', json.loads(request_body).get('notification_text'))\n"
                    "    return {'status': 'ok', 'message': 'sent', 'results': {'http': True}}\n")
    yield path.name
    path.unlink(missing_ok=True)


def test_t5_threshold_alert_reaches_a_notifier_over_loopback_while_the_plugin_runs(ourl, notifier):
    _needs(ourl, "influxdata_plugin_utils")
    written(ourl, "th", "seed v=1")
    trigger(ourl, "th", "acc_notify", notifier, "request:acc_notify")
    trigger(ourl, "th", "acc_th", "influxdata/threshold_deadman_checks/threshold_deadman_checks_plugin.py",
            "all_tables", {"measurement": "cpu", "senders": "http", "http_webhook_url": "http://127.0.0.1:9/unused",
                           "field_conditions": "usage>'90.0'-ERROR", "trigger_count": "1",
                           "port_override": ourl.rsplit(":", 1)[1], "notification_path": "acc_notify",
                           "influxdb3_auth_token": "unused"})
    written(ourl, "th", "cpu,host=a usage=95.0\ncpu,host=b usage=10.0")
    notified = wait_for(lambda: [x for x in logs(ourl, "th", "acc_notify") if x.startswith("NOTIFIED")])
    assert len(notified) == 1 and "usage > 90.0" in notified[0] and "host=a" in notified[0]
    assert any("Alert sent to notification plugin with results: {'http': True}" in x
               for x in logs(ourl, "th", "acc_th"))


def test_t6_gapfill_over_http_fills_missing_seconds_linearly(ourl):
    _needs(ourl, "scipy")
    _needs(ourl, "influxdata_plugin_utils")
    t0 = T0 // 10**9
    written(ourl, "gf", "\n".join(f"sig,host=a v={float(i)} {(t0 + i) * 10**9}" for i in range(20)
                                  if i not in (5, 6, 7, 12)))
    trigger(ourl, "gf", "acc_gf", "influxdata/gapfill/gapfill.py", "request:acc_gapfill")
    r = requests.post(ourl + "/api/v3/engine/acc_gapfill", json={
        "source_measurement": "sig", "target_measurement": "sig_filled", "interval": "1s", "method": "linear",
        "backfill_start": "2024-01-01T00:00:00Z", "backfill_end": "2024-01-01T00:00:20Z"}, timeout=120)
    assert r.status_code == 200, r.text
    got = sql(ourl, "gf", "SELECT v FROM sig_filled ORDER BY time")
    assert [x["v"] for x in got] == [float(i) for i in range(20)]
    assert any("gaps_filled=2" in x and "fills_written=4" in x for x in logs(ourl, "gf", "acc_gf"))
