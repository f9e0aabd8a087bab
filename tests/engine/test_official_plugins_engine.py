"""Official plugins in process, where the engine can replay a past schedule tick (plugins reference
§A.6 T3, scheduled variant: the downsampler at 2024-01-01T00:20:00Z). Needs a checkout of
`influxdata/influxdb3_plugins` (ab59f956) in `JUPYTER_INFLUX3_PLUGINS_DIR`; skips, saying so, without."""

from __future__ import annotations

from datetime import datetime, timezone

from jupyter_influx3.engine import lineprotocol
from official_plugins import PLUGINS, T0, needs_checkout

pytestmark = needs_checkout


def _rows(lines: list[str]) -> list[dict]:
    out = []
    for t in lineprotocol.parse("\n".join(lines).encode(), "ns", None).tables:
        cols = {**{k: v.to_pylist() for k, v in t.tags.items()},
                **{name: v.to_pylist() for (name, _), v in t.fields.items()}}
        for i, time_ns in enumerate(t.time.to_pylist()):
            out.append({"table": t.measurement, "time": time_ns, **{k: v[i] for k, v in cols.items() if v[i] is not None}})
    return sorted(out, key=lambda r: r["time"])


def test_t3_scheduled_downsampler_at_a_replayed_tick(engine):
    pe = engine.configure_plugins(PLUGINS, run_triggers=False)
    try:
        engine.write_lp("acc_ds", "cpu,host=a usage=10.0 1704067200000000000\ncpu,host=a usage=20.0 1704067260000000000\n"
                                  "cpu,host=a usage=30.0 1704067860000000000\ncpu,host=b usage=100.0 1704067230000000000",
                        "ns")
        out = pe.test_schedule("influxdata/downsampler/downsampler.py", "acc_ds", at=datetime(2024, 1, 1, 0, 20,
                                                                                               tzinfo=timezone.utc),
                               input_arguments={"source_measurement": "cpu", "target_measurement": "cpu_sched",
                                                "window": "20min", "interval": "10min", "calculations": "usage:max",
                                                "tag_values": "host:a", "target_database": "rollup"},
                               with_traceback=True)
        assert out["errors"] == [], out
        assert out["trigger_time"] == "2024-01-01T00:20:00Z"
        rows = _rows(out["database_writes"]["rollup"])
        assert [(r["table"], r["host"], r["usage_max"], r["record_count"], r["time"]) for r in rows] == [
            ("cpu_sched", "a", 20.0, 2, T0), ("cpu_sched", "a", 30.0, 1, T0 + 600 * 10**9)]
    finally:
        pe.close()
