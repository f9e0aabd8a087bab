"""`influx3 write` is a thin client of a running server; `influx3 serve` validates its flags."""

from __future__ import annotations

from http_helpers import influx3, rows


def test_write_from_stdin_says_how_many_lines_were_written(url, reader, db):
    done = influx3("write", "--host", url, "--database", db, "--precision", "s", input=b"cpu,host=a usage=1 1700000000\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode() == f"1 line written to {db}\n"
    assert done.stderr == b""
    assert rows(reader, db, "SELECT host, epoch_ns(time) AS t FROM cpu") == [{"host": "a", "t": 1_700_000_000 * 10**9}]


def test_write_from_file(url, reader, db, tmp_path):
    path = tmp_path / "data.lp"
    path.write_text("cpu,host=a usage=1 1\ncpu,host=b usage=2 2\n")
    done = influx3("write", "--host", url, "--database", db, "--precision", "ns", str(path))
    assert done.returncode == 0, done.stderr
    assert len(rows(reader, db, "SELECT * FROM cpu")) == 2


def test_write_reports_each_rejected_line_and_fails(url, reader, db):
    body = b"cpu v=1 1\n\n# a comment is not a line\ncpu v= 2\ncpu,x v=2 3\ncpu,host=a usage=oops 4\ncpu v=5 5\n"
    done = influx3("write", "--host", url, "--database", db, input=body)
    assert done.returncode == 1
    assert done.stdout.decode() == f"2 lines written to {db}, 3 lines rejected\n"
    assert done.stderr.decode().splitlines() == [
        "  line 2: No fields were provided: cpu v= 2",
        '    field "v" has no value',
        "  line 3: Tag set malformed: could not find equals sign in `x v=2 3`: cpu,x v=2 3",
        "  line 4: No fields were provided: cpu,host=a usage=oops 4",
        '    invalid field value "oops" for "usage": strings need double quotes',
    ]
    assert len(rows(reader, db, "SELECT * FROM cpu")) == 2


def test_write_without_partial_writes_nothing_and_says_so(url, reader, db):
    done = influx3("write", "--host", url, "--database", db, "--no-partial", input=b"cpu v=1 1\ncpu v=oops 2\n")
    assert done.returncode == 1
    assert done.stdout.decode() == f"0 lines written to {db}, 1 line rejected\n"
    assert "line 2: No fields were provided: cpu v=oops 2" in done.stderr.decode()


def test_version_is_the_package_version(url):
    import requests

    from jupyter_influx3 import __version__

    done = influx3("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().strip() == f"influx3 (jupyter-influx3) {__version__}"
    assert requests.get(url + "/ping", timeout=10).json()["version"] == __version__


def test_write_reports_a_plain_error(url, db):
    done = influx3("write", "--host", url, "--database", db, input=b"")
    assert done.returncode == 1
    assert "error (400): incoming write was empty" in done.stderr.decode()


def test_write_to_an_unreachable_server_fails_clearly(db):
    done = influx3("write", "--host", "http://127.0.0.1:9", "--database", db, input=b"cpu v=1\n")
    assert done.returncode == 1
    assert "cannot reach http://127.0.0.1:9" in done.stderr.decode()


def test_write_of_a_missing_file_fails_clearly(url, db, tmp_path):
    done = influx3("write", "--host", url, "--database", db, str(tmp_path / "absent.lp"))
    assert done.returncode == 1
    assert "cannot read" in done.stderr.decode()


def test_serve_rejects_a_bad_bind_address(tmp_path):
    done = influx3("serve", "--data-dir", str(tmp_path), "--http-bind", "localhost")
    assert done.returncode == 2
    assert "expected HOST:PORT" in done.stderr.decode()


def test_serve_on_a_port_in_use_fails_clearly(server, tmp_path):
    port = server.url.rsplit(":", 1)[1]
    done = influx3("serve", "--data-dir", str(tmp_path), "--http-bind", f"127.0.0.1:{port}")
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr.decode()


def test_serve_puts_what_it_built_out_of_the_gcs_sight():
    """`influx3 serve` freezes what exists once it is built, so a full collection walks only what
    requests leave behind (settle_gc runs right before the server waits for its stop signal)."""
    import gc

    from jupyter_influx3.cli import settle_gc

    try:
        settle_gc()
        frozen = gc.get_freeze_count()
        assert frozen > 10_000
        assert len(gc.get_objects(generation=2)) < frozen
    finally:
        gc.unfreeze()
