"""What the workers of one server (`influx3 serve --workers N`) share besides the data directory, in
process: the catalog-changed signal (a token revoked through one worker is refused by the others at
once), the login throttle (failures through any worker count for the server) and the plugin log
(a line logged by one worker is in every worker's view). Each pair of objects below stands for two
workers: separate instances over the same files."""

from __future__ import annotations

import pytest

from jupyter_influx3.engine import tokens as T
from jupyter_influx3.engine.catalog import Catalog
from jupyter_influx3.engine.changesignal import ChangeSignal
from jupyter_influx3.engine.plugins.logs import LogStore
from jupyter_influx3.engine.users.throttle import LoginThrottle, Throttled


def test_a_token_deleted_through_one_worker_is_refused_by_another_at_once(tmp_path, monkeypatch):
    monkeypatch.setattr(T, "MAX_STALENESS_S", 3600.0)   # only the signal can make the other worker look
    a, b = Catalog(tmp_path / "d"), Catalog(tmp_path / "d")
    a.signal, b.signal = ChangeSignal(tmp_path / "sig"), ChangeSignal(tmp_path / "sig")
    issued = T.create_named_admin_token(a, "ops")
    assert T.lookup(b, issued.token) is not None        # unknown to b: it refreshes, and knows it
    assert T.lookup(b, issued.token) is not None
    T.delete_token(a, "ops")
    assert T.lookup(b, issued.token) is None


def test_without_the_signal_a_peer_keeps_a_deleted_token_until_its_catalog_is_stale(tmp_path, monkeypatch):
    monkeypatch.setattr(T, "MAX_STALENESS_S", 3600.0)   # two nodes that are not workers of one server
    a, b = Catalog(tmp_path / "d"), Catalog(tmp_path / "d")
    issued = T.create_named_admin_token(a, "ops")
    assert T.lookup(b, issued.token) is not None
    T.delete_token(a, "ops")
    assert T.lookup(b, issued.token) is not None         # what the signal is for


def test_failed_logins_through_any_worker_count_for_the_server(tmp_path):
    one, two = LoginThrottle(max_user_failures=3), LoginThrottle(max_user_failures=3)
    one.share(tmp_path / "logins.sqlite")
    two.share(tmp_path / "logins.sqlite")
    one.failed("Root", "10.0.0.1")
    two.failed("root", "10.0.0.2")
    one.check("root", "10.0.0.3")                         # two failures: not locked yet
    two.failed("root", "10.0.0.3")
    for throttle in (one, two):
        with pytest.raises(Throttled):
            throttle.check("root", None)
    one.succeeded("root")
    two.check("root", None)                                # a success clears it for the server


def test_plugin_log_lines_of_every_worker_are_read_by_each(tmp_path):
    w0, w1 = LogStore(), LogStore()
    w0.share(tmp_path / "logs", "n-w0")
    w1.share(tmp_path / "logs", "n-w1")
    w0.add("trig", "INFO", "from w0", "db")
    w1.add("trig", "ERROR", "from w1\nTraceback ...", "db")
    w1.add("other", "INFO", "another database", "db2")
    for store in (w0, w1):
        assert [x.log_text for x in store.lines(database="db")] == ["from w0", "from w1\nTraceback ..."]


def test_a_worker_plugin_log_file_is_rewritten_to_its_bounds(tmp_path):
    store = LogStore(max_lines=5)
    store.share(tmp_path / "logs", "n-w0")
    for i in range(40):
        store.add("trig", "INFO", f"line {i}")
    lines = (tmp_path / "logs" / "n-w0.jsonl").read_text().splitlines()
    assert len(lines) <= 10
    assert [x.log_text for x in store.lines()][-5:] == [f"line {i}" for i in range(35, 40)]
