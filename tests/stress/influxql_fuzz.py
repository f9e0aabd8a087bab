#!/usr/bin/env python3
"""Differential fuzzing of InfluxQL: random queries over random data, answered by this engine (in
process, through the executor and the JSON encoder ``/query`` uses) and by a live InfluxDB 1.6.7.

Each seed writes its own small dataset (1-3 hosts, an optional ``dc`` tag, float/integer/string/
boolean fields with gaps, precision s) into a database of its own on both sides, then sends N
random queries and compares the parsed JSON documents (floats within 1e-9 relative).

Modes:

* ``common`` (default): what dashboards send -- aggregates and selectors per ``GROUP BY time()``
  with tags, fills, transformations of them, ``ORDER BY time DESC``, LIMIT, raw queries;
* ``all``: every function, casts, SLIMIT/OFFSET, top/bottom with LIMIT, boolean and string fields.
  It finds 1.x quirks this engine does not reproduce on purpose (listed in the note of issue 18,
  2026-12-06): OFFSET without LIMIT answers one row in 1.x; top()/bottom() under LIMIT; a call without points in a series filled
  with the bare number beside typed ones; integral()'s last window, which 1.x emits when its
  iterator closes (in Go map order, sometimes as a row of its own beside other calls or under
  LIMIT).

    bash ../shared/bench/influx1.sh start
    python3 tests/stress/influxql_fuzz.py [--mode common|all] [--seeds 1:9] [--queries 200]

Prints each difference (two per query kind) and a count per kind; exits 1 on any difference.
Contacts only 127.0.0.1:18086 (``--influx1`` to change it).
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from influxql_random import answer, any_query, close, common_query, dataset  # noqa: E402
from jupyter_influx3.engine import Engine  # noqa: E402
from jupyter_influx3.engine.influxql.executor import Executor  # noqa: E402

class Influx1:
    def __init__(self, base: str):
        self.base = base

    def call(self, path: str, params: dict, data: bytes | None = None) -> bytes:
        req = urllib.request.Request(f"{self.base}{path}?{urllib.parse.urlencode(params)}", data=data,
                                     method="POST" if data is not None else "GET")
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.read()
        except urllib.error.HTTPError as e:
            return e.read()

    def load(self, db: str, lp: str) -> None:
        self.drop(db)
        self.call("/query", {"q": f"CREATE DATABASE {db}"}, b"")
        self.call("/write", {"db": db, "precision": "s"}, lp.encode())

    def drop(self, db: str) -> None:
        self.call("/query", {"q": f"DROP DATABASE {db}"}, b"")

    def query(self, db: str, q: str):
        return json.loads(self.call("/query", {"db": db, "q": q, "epoch": "s"}))


def run_seed(seed: int, n: int, mode: str, influx1: Influx1, found: collections.Counter) -> None:
    rnd = random.Random(seed)
    lp, hosts = dataset(rnd)
    db = f"fuzz{seed}"
    influx1.load(db, lp)
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(tmp, node_id="fuzz", background=False)
        try:
            engine.write_lp(db, lp, "s")
            ex = Executor(engine)
            now = time.time_ns()
            make = common_query if mode == "common" else any_query
            for _ in range(n):
                q = make(rnd, hosts)
                theirs = influx1.query(db, q)
                ours = answer(ex, db, q, now)
                if not close(ours, theirs):
                    kind = q.split(" FROM")[0]
                    found[kind] += 1
                    if found[kind] <= 2:
                        print(f"seed {seed}: {q}\n  1.6.7: {json.dumps(theirs)[:500]}\n  ours : {json.dumps(ours)[:500]}")
        finally:
            engine.close()
            # (a seed's database left behind stays in 1.6.7's data directory, which the benchmarks
            # share: hundreds of them slowed it and skewed their reference)
            influx1.drop(db)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mode", choices=["common", "all"], default="common")
    ap.add_argument("--seeds", default="1:9", help="first:last (inclusive)")
    ap.add_argument("--queries", type=int, default=200, help="per seed")
    ap.add_argument("--influx1", default="http://127.0.0.1:18086")
    a = ap.parse_args()
    first, _, last = a.seeds.partition(":")
    found: collections.Counter = collections.Counter()
    influx1 = Influx1(a.influx1)
    seeds = range(int(first), int(last or first) + 1)
    for seed in seeds:
        run_seed(seed, a.queries, a.mode, influx1, found)
    total = sum(found.values())
    print(f"{len(seeds) * a.queries} queries, {total} differences" + (f": {dict(found)}" if found else ""))
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
