"""One query concurrency limit for the worker processes of `influx3 serve --workers N`
(`SharedQuerySlots`): slots taken in one process count in every other, the limit set in one is the
limit of all, and a process that dies gives its slots back."""

import subprocess
import sys
import threading
import time

from jupyter_influx3.engine.concurrency import SharedQuerySlots


def test_slots_taken_by_one_worker_count_for_another(tmp_path):
    a, b = SharedQuerySlots(tmp_path, 2), SharedQuerySlots(tmp_path, 2)   # two workers' views
    held = threading.Event()
    release = threading.Event()

    def hold_one():
        with a.hold():
            held.set()
            release.wait(10)

    threads = [threading.Thread(target=hold_one) for _ in range(2)]
    for t in threads:
        t.start()
    while a.running < 2:
        time.sleep(0.01)
    got = []
    waiter = threading.Thread(target=lambda: (b.acquire(), got.append(True)))
    waiter.start()
    time.sleep(0.3)
    assert not got, "a third query ran while the server's two slots were taken"
    release.set()
    waiter.join(10)
    assert got
    for t in threads:
        t.join(10)


def test_a_limit_set_through_one_worker_is_every_workers(tmp_path):
    a, b = SharedQuerySlots(tmp_path, 64), SharedQuerySlots(tmp_path, 64)
    a.set(40)
    assert b.limit == 40
    b.set(None)
    assert a.limit == 64


def test_a_worker_killed_while_holding_a_slot_gives_it_back(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "from jupyter_influx3.engine.concurrency import SharedQuerySlots\n"
        f"s = SharedQuerySlots({str(tmp_path)!r}, 1)\n"
        "s.acquire(); print('held', flush=True); time.sleep(60)\n")], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "held"
    mine = SharedQuerySlots(tmp_path, 1)
    assert mine._try_take(1) is None    # the child holds the only slot
    child.kill()
    child.wait(10)
    assert mine._try_take(1) == 0


def test_a_worker_sees_each_new_limit_without_reading_the_file_for_every_query(tmp_path):
    a, b = SharedQuerySlots(tmp_path, 64), SharedQuerySlots(tmp_path, 64)
    assert b.limit == 64
    (tmp_path / "limit").write_text("7")   # written behind the signal's back: not looked at again
    assert b.limit == 64
    for value in (40, None, 12, 12, None):
        a.set(value)
        assert b.limit == (64 if value is None else value)
