"""`influx3 serve --workers 2` killed with SIGKILL while four clients write -- one worker, or the
supervisor and every worker at once -- loses no acknowledged line (each worker's WAL is replayed by
the worker that comes back with its node id, or adopted by a server run with other node ids)."""

from __future__ import annotations

import time

import psutil
import pytest
import requests

from crash_round import LINES_PER_BATCH, run_round


class GroupKilled:
    """The server, with `kill()` sending SIGKILL to the supervisor and every worker at once."""

    def __init__(self, server):
        self.server = server
        self.url, self.data_dir = server.url, server.data_dir

    def kill(self) -> None:
        procs = [psutil.Process(self.server.proc.pid), *psutil.Process(self.server.proc.pid).children()]
        for p in procs:
            p.kill()
        psutil.wait_procs(procs, timeout=10)
        self.server.proc.wait()
        self.server.proc = None

    def start(self) -> None:
        self.server.start()
        self.url = self.server.url


class OneWorkerKilled(GroupKilled):
    """`kill()` sends SIGKILL to one worker; `start()` waits for the supervisor to replace it."""

    def kill(self) -> None:
        victim = psutil.Process(self.server.proc.pid).children()[0]
        victim.kill()
        victim.wait(10)

    def start(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if len(psutil.Process(self.server.proc.pid).children()) == 2 and "restarting it" in self.server.log():
                return
            time.sleep(0.1)
        raise AssertionError("the killed worker was not restarted:\n" + self.server.log())


def check(res: dict) -> None:
    assert res["acked"] > 0, res
    assert not res["missing"], f"acknowledged batches missing or incomplete: {res['missing'][:5]}"
    assert not res["partial"], res["partial"]
    assert res["rows"] == res["present_batches"] * LINES_PER_BATCH
    assert res["present_batches"] >= res["acked"]


@pytest.mark.timeout(600)
def test_sigkill_of_every_worker_and_the_supervisor_loses_no_acknowledged_line(start_influx3):
    server = GroupKilled(start_influx3("--workers", "2"))
    rows = 0
    for seed in range(2):
        res = run_round(server, seed)
        check(res)
        rows += res["rows"]
        assert res["total_rows"] == rows
    # a single-process server (node test-node, not test-node-w<i>) adopts what the dead workers left
    server.kill()
    single = start_influx3(data_dir=server.data_dir)
    r = requests.post(single.url + "/api/v3/query_sql", json={"db": "crash", "q": "SELECT count(*) AS c FROM crash"},
                      timeout=60)
    assert r.status_code == 200 and r.json() == [{"c": rows}], r.text


@pytest.mark.timeout(600)
def test_sigkill_of_one_worker_during_writes_loses_no_acknowledged_line(start_influx3):
    server = OneWorkerKilled(start_influx3("--workers", "2"))
    res = run_round(server, 7)
    check(res)
    assert res["total_rows"] == res["rows"]
