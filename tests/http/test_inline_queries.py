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


def test_a_quick_text_that_turned_slow_is_cut_short_on_the_ioloop_and_runs_under_the_timeout(tmp_path):
    """The attack: make a text quick (a cross join over a table of one row), then make it slow (write
    more rows). Its next run starts on the IOLoop; the alarm interrupts it there and the pool runs
    it under the query timeout, so the server keeps answering meanwhile."""
    from jupyter_influx3.engine.querylimits import QueryLimits

    engine = Engine(str(tmp_path / "data"), node_id="n", background=False)
    engine.query_limits = QueryLimits(timeout_s=3)
    engine.write_lp("d", "t,host=a v=1 1\n", precision="nanosecond")
    q = {"db": "d", "q": "SELECT count(*) AS n FROM t a, t b, t c, t d", "format": "json"}
    try:
        with serving(make_app(engine, auth=AuthSettings(enabled=False))) as base:
            for _ in range(3):   # now known to be quick
                r = requests.get(f"{base}/api/v3/query_sql", params=q, timeout=10)
                assert r.status_code == 200 and r.json() == [{"n": 1}]
            engine.write_lp("d", "".join(f"t,host=h{i} v=1 {i}\n" for i in range(3000)), precision="nanosecond")
            answers: list = []
            slow = threading.Thread(
                target=lambda: answers.append(requests.get(f"{base}/api/v3/query_sql", params=q, timeout=60)))
            slow.start()
            try:
                slow.join(0.5)
                assert not answers   # 8e13 rows to count: still running...
                ping = requests.get(f"{base}/ping", timeout=2)   # ...and the IOLoop is free
                assert ping.status_code == 200
            finally:
                slow.join(30)
            assert answers and answers[0].status_code == 504
            assert "query-timeout limit exceeded" in answers[0].text
            small = dict(q, q="SELECT count(*) AS n FROM t")   # a quick text answers as before
            assert requests.get(f"{base}/api/v3/query_sql", params=small, timeout=10).json() == [{"n": 3001}]
    finally:
        engine.close()


def test_the_alarm_thread_runs_before_the_first_query_on_the_ioloop(tmp_path):
    # starting a thread on the IOLoop held the first inline query up by 0.7-3.4 ms; a process of
    # its own, where nothing else has started the thread yet
    import subprocess
    import sys

    code = f"""
import threading
from jupyter_influx3.engine import Engine
from jupyter_influx3.http.base import ServerContext
engine = Engine({str(tmp_path / "data")!r}, node_id="n", background=False)
before = any(t.name == "influx3-query-deadlines" for t in threading.enumerate())
ServerContext(engine=engine)
after = any(t.name == "influx3-query-deadlines" and t.is_alive() for t in threading.enumerate())
engine.close()
print(before, after)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["False", "True"], out.stderr
