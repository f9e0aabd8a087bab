"""When the memory a snapshot or a compaction freed goes back to the OS: Arrow's pool not between
snapshots of a steady load (the next one would fault it all in again, zeroed) but once the node is
quiet, by the thread that freed it; glibc's heap at once."""

import time

from engine_helpers import eventually

from jupyter_influx3.engine import Engine
from jupyter_influx3.engine import engine as engine_module


def _spy_releases(monkeypatch) -> tuple[list, list]:
    """(when Arrow's pool was handed back, when glibc's heap was trimmed)."""
    arrow: list = []
    trims: list = []
    monkeypatch.setattr(engine_module, "release_arrow_pool", lambda: arrow.append(time.monotonic()))
    monkeypatch.setattr(engine_module, "trim_malloc", lambda: trims.append(time.monotonic()))
    return arrow, trims


def test_background_snapshots_in_a_row_keep_arrows_memory_until_the_node_is_quiet(tmp_path, monkeypatch):
    arrow, trims = _spy_releases(monkeypatch)
    monkeypatch.setattr(engine_module, "RELEASE_QUIET_S", 1.0)
    eng = Engine(tmp_path / "d", node_id="n1", snapshot_rows=4)
    try:
        for i in range(3):   # 4 buffered rows: the snapshot thread persists them
            body = "\n".join(f"m,t=t{k} v={i} {i * 10 + k}" for k in range(4))
            assert not eng.write_lp("db", body, "s").errors
            assert eventually(lambda: len(trims) == i + 1)
        last = time.monotonic()
        assert arrow == [] and len(trims) == 3                 # glibc's heap went back every time
        assert eventually(lambda: len(arrow) == 1)
        assert arrow[0] - last >= 1.0 - 0.1                    # once quiet
        time.sleep(1.5)
        assert len(arrow) == 1                                 # and once per quiet spell
    finally:
        eng.close()


def test_a_snapshot_outside_the_background_threads_gives_it_back_at_once(tmp_path, monkeypatch):
    arrow, trims = _spy_releases(monkeypatch)
    for background in (False, True):   # a kernel's node; a snapshot asked for by a request
        eng = Engine(tmp_path / f"d{background}", node_id="n1", background=background)
        try:
            before = len(arrow)
            for i in range(2):
                assert not eng.write_lp("db", f"m,t=a v={i} {i}", "s").errors
                assert eng.snapshot()
            assert len(arrow) - before == 2
        finally:
            eng.close()
    assert len(trims) == 4
