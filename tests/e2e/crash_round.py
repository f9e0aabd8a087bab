"""One crash round: four clients write to a real server, which is killed with SIGKILL mid-stream;
after a restart every acknowledged line must be present exactly once.

Shared by `test_crash.py` (a few rounds in CI) and `tests/stress/crash_rounds.py` (100 rounds).
Each round writes keys of its own (a `round` tag and timestamps offset by the seed), so a round on a
data directory earlier rounds wrote to checks its own batches, never finds an earlier round's.
"""

from __future__ import annotations

import random
import threading
import time

import requests

from jupyter_influx3.engine import Engine

CLIENTS = 4
LINES_PER_BATCH = 200


def _client(url: str, k: int, acked: list, stop: threading.Event, seed: int) -> None:
    s = requests.Session()
    batch = 0
    while not stop.is_set():
        lines = "\n".join(
            f"crash,client=c{k},round=r{seed} batch={batch}i,i={i}i {seed * 10**16 + k * 10**15 + batch * 10**6 + i}"
            for i in range(LINES_PER_BATCH))
        try:
            r = s.post(f"{url}/api/v3/write_lp?db=crash&precision=nanosecond", data=lines, timeout=10)
        except requests.RequestException:
            return  # the server died under us: this batch was not acknowledged
        if r.status_code == 204:
            acked.append((k, batch))
        batch += 1


def run_round(server, seed: int) -> dict:
    """Write, SIGKILL, restart, verify this round's batches (`rows`: this round's; `total_rows`:
    every round's on this data directory). `server` is a started `Influx3Server`."""
    rnd = random.Random(seed)
    acked: list = []
    stop = threading.Event()
    threads = [threading.Thread(target=_client, args=(server.url, k, acked, stop, seed)) for k in range(CLIENTS)]
    [t.start() for t in threads]
    deadline = time.monotonic() + 60   # a loaded machine may take a while to answer the first write
    while not acked and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(rnd.uniform(0.3, 1.5))
    server.kill()
    stop.set()
    [t.join(30) for t in threads]
    server.start()
    reader = Engine(server.data_dir, node_id=f"checker-{seed}", background=False)
    try:
        db = reader.catalog.db("crash")
        written = db is not None and db.table("crash") is not None  # anything ever written, acked or not
        got = reader.sql("crash", "SELECT client, batch, count(*) AS n, count(DISTINCT i) AS d "
                                  f"FROM crash WHERE round = 'r{seed}' GROUP BY client, batch").to_pylist() if written else []
        total = reader.sql("crash", "SELECT count(*) AS c FROM crash").column("c")[0].as_py() if written else 0
    finally:
        reader.close()
    present = {(int(r["client"][1:]), r["batch"]): (r["n"], r["d"]) for r in got}
    missing = [b for b in acked if present.get(b) != (LINES_PER_BATCH, LINES_PER_BATCH)]
    partial = {b: v for b, v in present.items() if v != (LINES_PER_BATCH, LINES_PER_BATCH)}
    return {"acked": len(acked), "present_batches": len(present), "rows": sum(n for n, _ in present.values()),
            "total_rows": total, "missing": missing, "partial": partial}
