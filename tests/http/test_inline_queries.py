"""Queries known to be quick run on the IOLoop (no hand-off to the query pool), but never while the
query concurrency limit is reached: waiting there for a slot would block the whole server, and the
slots may be held by answers that only the IOLoop can finish streaming."""

from __future__ import annotations

import threading

import requests
from http_helpers import serving

from jupyter_influx3.engine import Engine
from jupyter_influx3.engine.concurrency import QuerySlots
from jupyter_influx3.http.auth import AuthSettings
from jupyter_influx3.http.routes import make_app

Q = {"db": "d", "q": "SELECT v FROM t WHERE host = 'a'", "epoch": "ns"}


def test_a_quick_query_waits_for_a_slot_in_the_pool_while_the_server_keeps_answering(tmp_path):
    engine = Engine(str(tmp_path / "data"), node_id="n", background=False)
    engine.query_slots = QuerySlots(1)
    engine.write_lp("d", "t,host=a v=1 1\nt,host=b v=2 2\n", precision="nanosecond")
    try:
        with serving(make_app(engine, auth=AuthSettings(enabled=False))) as base:
            for _ in range(3):   # now known to be quick: the next run would be on the IOLoop
                r = requests.get(f"{base}/query", params=Q, timeout=10)
                assert r.status_code == 200 and r.json()["results"][0]["series"][0]["values"] == [[1, 1.0]]
            held = engine.query_slots.acquire()   # the only slot, as an answer still streaming holds it
            answers: list = []
            waiting = threading.Thread(
                target=lambda: answers.append(requests.get(f"{base}/query", params=Q, timeout=60)))
            try:
                waiting.start()
                waiting.join(0.5)
                assert not answers   # the query waits for the slot...
                ping = requests.get(f"{base}/ping", timeout=5)   # ...and the IOLoop is not blocked
                assert ping.status_code == 200
            finally:
                engine.query_slots.release(held)
            waiting.join(30)
            assert answers and answers[0].status_code == 200
            assert answers[0].json()["results"][0]["series"][0]["values"] == [[1, 1.0]]
    finally:
        engine.close()
