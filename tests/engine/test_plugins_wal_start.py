"""Where a WAL trigger starts: at the writes acknowledged after it was created (or enabled again),
whichever node of the data directory took them, even when the node running the processing engine
had not yet read past the writes made just before (engine/plugins/waltail.py `wal_from`)."""

from __future__ import annotations

from engine_helpers import eventually

from jupyter_influx3.engine import Engine
from jupyter_influx3.engine.plugins.waltail import load_positions

SEEN = ("def process_writes(influxdb3_local, table_batches, args=None):\n"
        "    for b in table_batches:\n"
        "        if b['table_name'] == 'src':\n"
        "            for row in b['rows']:\n"
        "                influxdb3_local.write(LineBuilder('seen').tag('id', str(row['id'])).int64_field('n', 1)\n"
        "                                      .time_ns(row['time']))\n")


def seen(eng) -> list[int]:
    try:
        return sorted(int(r["id"]) for r in eng.sql("db", "SELECT id FROM seen").to_pylist())
    except Exception:  # noqa: BLE001 - the table does not exist yet
        return []


def test_writes_acknowledged_by_another_node_before_a_trigger_was_created_or_enabled_are_not_its_own(tmp_path):
    lead = Engine(tmp_path / "d", node_id="lead")
    other = Engine(tmp_path / "d", node_id="other", background=False)
    try:
        # the WAL is read only when this node writes or a trigger changes: the other node's writes
        # wait, unread, while the trigger is created -- the moment the exactly-once rule is about
        pe = lead.configure_plugins(tmp_path / "plugins", poll_s=3600)
        (pe.loader.plugin_dir / "seen.py").write_text(SEEN)
        assert eventually(lambda: load_positions(lead.data_dir) is not None)   # the reader has started
        other.write_lp("db", "src id=0i 1", "ns")
        pe.create_trigger("db", "count", "seen.py", "all_tables")
        other.write_lp("db", "src id=1i 2", "ns")
        lead.write_lp("db", "src id=2i 3", "ns")
        assert eventually(lambda: seen(lead) == [1, 2]), seen(lead)   # id 0 would have come in the first round

        pe.disable_trigger("db", "count")
        other.write_lp("db", "src id=3i 4", "ns")
        pe.enable_trigger("db", "count")
        lead.write_lp("db", "src id=4i 5", "ns")
        assert eventually(lambda: seen(lead) == [1, 2, 4]), seen(lead)
    finally:
        other.close()
        lead.close()
