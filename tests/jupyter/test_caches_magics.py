"""Caches from a notebook: `%influx3 create|delete last_cache|distinct_cache`, `%influx3 caches`,
and `%%sql` over `last_cache()` / `distinct_cache()`, in IPython's real InteractiveShell."""

from __future__ import annotations

from jupyter_helpers import ok, run

from jupyter_influx3.jupyter.display import MagicError


def test_create_query_list_and_delete_caches(ip):
    ok(ip, "%%lp -d demo --precision s\ncpu,host=a,region=eu usage=1 1700000000\n"
           "cpu,host=a,region=eu usage=2 1700000010\ncpu,host=b,region=us usage=3 1700000005")
    ok(ip, "%influx3 use demo")
    msg = ok(ip, "%influx3 create last_cache cpu --key-columns host --count 2 --ttl 4h")
    assert "cpu_host_last_cache" in msg.text
    ok(ip, "%influx3 create distinct_cache cpu --columns region,host --name regions")
    df = ok(ip, "%influx3 caches")
    assert sorted(df["name"]) == ["cpu_host_last_cache", "regions"]
    ok(ip, "%%sql -o got\nSELECT host, usage FROM last_cache('cpu') ORDER BY host, usage")
    assert ip.user_ns["got"].to_dict("records") == [
        {"host": "a", "usage": 1.0}, {"host": "a", "usage": 2.0}, {"host": "b", "usage": 3.0}]
    ok(ip, "%%sql -o regions\nSELECT * FROM distinct_cache('cpu', 'regions')")
    assert ip.user_ns["regions"].to_dict("records") == [{"region": "eu", "host": "a"}, {"region": "us", "host": "b"}]
    ok(ip, "%influx3 delete distinct_cache cpu regions")
    assert list(ok(ip, "%influx3 caches")["name"]) == ["cpu_host_last_cache"]


def test_cache_mistakes_are_clear_errors(ip):
    ok(ip, "%%lp -d demo\ncpu,host=a usage=1")
    ok(ip, "%influx3 use demo")
    for cell, words in [("%influx3 create distinct_cache cpu", "--columns"),
                        ("%influx3 create last_cache cpu --key-columns usage", "only uint64, int64, bool, tag"),
                        ("%influx3 delete last_cache cpu", "cache name"),
                        ("%influx3 delete last_cache cpu nope", "not found")]:
        res = run(ip, cell)
        assert isinstance(res.error_in_exec, MagicError) and words in str(res.error_in_exec), (cell, res.error_in_exec)
