"""`influx3 create|delete database` and `influx3 show databases` are thin clients of the API."""

from __future__ import annotations

import json

from http_helpers import influx3


def shown(url, *extra) -> list[dict]:
    done = influx3("show", "databases", "--host", url, "--format", "json", *extra)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_create_show_and_delete_a_database(url, db):
    done = influx3("create", "database", db, "--host", url, "--retention-period", "30d")
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().strip() == f'Database "{db}" created successfully'
    assert {"iox::database": db} in shown(url)

    done = influx3("create", "database", db, "--host", url)
    assert done.returncode == 1
    assert done.stderr.decode().strip() == "error (409): attempted to create a resource that already exists"

    done = influx3("delete", "database", db, "--host", url, "--hard-delete-at", "never")
    assert done.returncode == 0, done.stderr
    assert {"iox::database": db} not in shown(url)
    deleted = [r for r in shown(url, "--show-deleted") if r["iox::database"].startswith(db + "-")]
    assert len(deleted) == 1 and deleted[0]["deleted"] is True


def test_show_databases_pretty_by_default(url):
    done = influx3("show", "databases", "--host", url)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.decode().splitlines()
    assert lines[1].startswith("| iox::database ") and lines[3].startswith("| _internal ")


def test_delete_unknown_database_fails(url):
    done = influx3("delete", "database", "no_such_db_cli", "--host", url)
    assert done.returncode == 1
    assert done.stderr.decode().strip() == "error (404): the requested resource was not found: no_such_db_cli"


def test_create_database_with_an_invalid_name_fails(url):
    done = influx3("create", "database", "_bad", "--host", url)
    assert done.returncode == 1
    assert done.stderr.decode().strip() == "error (400): db name did not start with a number or letter"
