"""InfluxQL conformance, in process: the four case files of ``shared/conformance`` (copied into
``tests/data``) run through the Executor and the v1 JSON encoder ``/query`` uses.

* ``influxql_v1_examples.json`` -- 54 queries answered by InfluxDB 1.6.7 on ``influxql_dataset.py``'s
  data: all must match exactly (status and body);
* ``influxql_v1_upstream_cases.json`` -- InfluxDB 1.x's own server tests (677 queries);
* ``influxql_v1_cases_now.json`` -- the 1.x cases whose data depends on the current time;
* ``influxql_v3_cases.json`` (``iox_golden`` part) -- InfluxDB 3's golden answers, run with the
  InfluxDB 3 dialect (``/api/v3/query_influxql``); its HTTP part runs against a server in
  ``tests/http/test_influxql_v3_server_cases.py``.

Every case is expected to match, except the ones in ``KNOWN_*`` with the reason this project
answers differently (each is checked to still differ, so a fix shows up).
"""

from __future__ import annotations

import gzip
import json
import re
import time
from pathlib import Path

import influxql_examples
import pytest

from jupyter_influx3.engine import Engine
from jupyter_influx3.engine.influxql.executor import Executor
from jupyter_influx3.engine.influxql.parser import ParseError
from jupyter_influx3.engine.influxql.results import format_time_rfc3339
from jupyter_influx3.http.serialize import v1_json

DATA = Path(__file__).resolve().parents[1] / "data"

_SHOW_DB = "InfluxDB 3 always lists its _internal database"
KNOWN_UPSTREAM = {
    ("TestServer_DatabaseCommands", "SHOW DATABASES", 0): _SHOW_DB,
    ("TestServer_DatabaseCommands", "SHOW DATABASES", 1): _SHOW_DB,
    ("TestServer_DatabaseCommands", "SHOW DATABASES", 2): _SHOW_DB,
    ("TestServer_ShowDatabases_NoAuth", "SHOW DATABASES", 0): _SHOW_DB,
    ("TestServer_Query_DefaultDBAndRP", "show retention policies ON db0", 0):
        "InfluxDB 3 has no retention policies: a database has the one 'autogen' policy (its retention period)",
    ("TestServer_Query_Aggregates_IntMax", "SELECT MEAN(value), STDDEV(value) FROM intmax", 0):
        "InfluxDB 1.6.7 itself answers 9223372036854776000 (the float mean of MaxInt64); the case expects 1.8's",
    ("TestServer_Query_AggregateSelectors", "SELECT * FROM network", 0):
        "the data has a tag and a field both named 'core', which InfluxDB 3 refuses to write",
    ("TestServer_Query_WildcardExpansion", "SELECT * FROM dupnames", 0):
        "the data has a tag and a field with the same name, which InfluxDB 3 refuses to write",
    ("TestServer_Query_Subqueries",
     "SELECT host FROM (SELECT min(usage_user) FROM cpu GROUP BY host) WHERE time >= '2000-01-01T00:00:00Z' "
     "AND time < '2000-01-01T00:00:30Z'", 0):
        "InfluxDB 1.6.7 (checked) reads an aggregate subquery's rows series by series; the expected answer is "
        "a later 1.x's, sorted by time",
}
KNOWN_NOW = {
    ("TestServer_Query_Common", "SELECT value FROM db0.rp1.cpu", 0):
        "InfluxDB 3 has no retention policies: an unknown one names the database itself, not an error",
}
# IOx adds floats in the order they were ingested, this engine per series in time order (like 1.x):
# the last digit may differ, so floats are compared to FLOAT_RTOL (everything else exactly).
FLOAT_RTOL = 1e-12
_LIBM = ("IOx's 2023 math: float32 results for integer arguments and libm digits (the answers here use the "
         "C library like current InfluxDB 3)")
_CUTOFF = ("the golden files ran with a SHOW TAG VALUES time cutoff configured at 1990-01-01; InfluxDB 3 Core has "
           "no such default, so series before it are listed")
KNOWN_V3 = {
    'SHOW TAG VALUES WITH KEY != "tag0";': _CUTOFF,
    'SHOW TAG VALUES WITH KEY != "does_not_exist";': _CUTOFF,
    "SHOW TAG VALUES WITH KEY =~ /tag.*/;": _CUTOFF,
    "SHOW TAG VALUES WITH KEY !~ /tag.*/;": _CUTOFF,
    'SHOW TAG VALUES WITH KEY = "tt_tag";': _CUTOFF,
    "SELECT i64, abs(i64 * -1), sin(i64), cos(i64), tan(i64), acos(1/i64), atan(i64), atan2(i64, 2), exp(i64), "
    "log(i64, 8), ln(i64), log2(i64), log10(i64), sqrt(i64), pow(i64, 2), floor(i64), ceil(i64), round(i64) FROM m0 "
    "LIMIT 1;": _LIBM,
    "EXPLAIN SELECT COUNT(f64), SUM(f64), stddev(f64) FROM m0, m1 GROUP BY tag0;":
        "EXPLAIN shows IOx's DataFusion plan; this engine answers its own plan (iterators, DuckDB's scan plan) "
        "under the same logical_plan / physical_plan names",
    "SELECT SUM(bytes_free) / SUM(bytes_used) AS result FROM disk WHERE time >= '2022-10-31T02:00:00Z' AND time <= "
    "'2022-10-31T02:00:10Z' GROUP BY time(5s) FILL(null);":
        "IOx answered 0.0 for null / null in an empty window (an IOx bug); null here, like 1.x",
    "SELECT count(host) FROM (SELECT usage_idle AS host FROM cpu), (SELECT host, usage_idle FROM cpu);":
        "IOx refuses a column that is a field in one subquery and a tag in another; 1.x's rules count it",
    "SELECT last(host) AS host, first(usage_idle) AS usage_idle FROM cpu GROUP BY host;":
        "IOx reports the GROUP BY tag as empty when a column is aliased to its name (an IOx quirk)",
}


# Expected errors of the golden files (compared without IOx's "Error while planning query: " and
# "Error during planning: " prefixes) that this engine words as InfluxDB 1.x does: its planner's
# checks are 1.x's, shared by /query. Each is checked to still differ.
_1X_WORDING = "the planner's checks are InfluxDB 1.x's and keep its wording"
KNOWN_V3_ERRORS = {
    "SELECT *, floor(f64) FROM m0 WHERE sum(f64) > 100.0;": _1X_WORDING + " (invalid function call in condition)",
    "SELECT tag0, f64, f64 * 0.5, f64 + str FROM m0 WHERE f64 > 19;": _1X_WORDING + " (type error: ...)",
    "SELECT tag0, str, str + 'foo', str * 5 FROM m0 WHERE f64 > 19;":
        _1X_WORDING + ", and 1.x reports the first operator it cannot type (str * 5), IOx the first it sees",
    "SELECT COUNT(usage_idle) + usage_idle FROM cpu;": _1X_WORDING + " (mixing aggregate and non-aggregate queries)",
    "SELECT COUNT(usage_idle), usage_idle FROM cpu;": _1X_WORDING + " (mixing aggregate and non-aggregate queries)",
}
_IOX_ERROR_PREFIXES = re.compile(r"^(Error while planning query: )?(Error during planning: )?")


def _error_text(message: str) -> str:
    return _IOX_ERROR_PREFIXES.sub("", message)


def _load(name: str):
    return json.loads((DATA / name).read_text())  # a missing file fails the test: never a skip


def _body(results, epoch):
    return json.loads(v1_json(results, epoch))


def _run(ex: Executor, q: str, params: dict, now_ns=None):
    try:
        results = list(ex.execute(q, database=params.get("db") or None, retention_policy=params.get("rp") or None,
                                  now_ns=now_ns,
                                  params=json.loads(params["params"]) if params.get("params") else None))
    except ParseError as e:
        return 400, {"error": f"error parsing query: {e}"}
    return 200, _body(results, params.get("epoch") or None)


# ---------------------------------------------------------------------------------------------
# 1.6.7 examples


def test_v1_examples_match_influxdb_1_6_7(tmp_path):
    examples = influxql_examples.cases()
    eng = Engine(tmp_path / "d", node_id="n1", background=False)
    try:
        lp = gzip.decompress((DATA / "influxql_v1_examples_dataset.lp.gz").read_bytes()).decode()
        assert not eng.write_lp("diff", lp, "s").errors
        ex = Executor(eng)
        failures = []
        for c in examples:
            line, params = influxql_examples.statement_and_params(c["line"])
            got = _run_examples_line(ex, line, params)
            if got != (c["status"], c["body"]):
                failures.append(f"{line}\n  1.6.7 {json.dumps(c['body'])[:300]}\n  got   {json.dumps(got[1])[:300]}")
        assert not failures, "\n".join(failures)
        assert len(examples) == 54
    finally:
        eng.close()


def _run_examples_line(ex, line, params):
    from jupyter_influx3.engine.influxql.results import chunk_results

    if params.get("chunked") != "true":
        return _run(ex, line, params)
    try:
        results = list(ex.execute(line, database=params.get("db")))
    except ParseError as e:
        return 400, {"error": f"error parsing query: {e}"}
    size = int(params.get("chunk_size", 10000))
    docs = [_body([part], params.get("epoch")) for r in results for part in chunk_results(r, size)]
    return 200, docs


# ---------------------------------------------------------------------------------------------
# 1.x upstream cases (and the ones with now())


def _dur_ns(s) -> int:
    m = re.fullmatch(r"(\d+)h(\d+)m(\d+)s", s or "")
    return (int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3])) * 10 ** 9 if m else 0


def _strip_tag_field_clash(body: str) -> str:
    """InfluxDB 3 rejects a line whose field repeats a tag name; drop such fields (those cases are
    in KNOWN_UPSTREAM)."""
    out = []
    for line in body.split("\n"):
        m = re.match(r"^((?:[^ ,\\]|\\.)+)((?:,(?:[^ \\]|\\.)*)?) (.*?)( -?\d+)?$", line)
        if not m or not m.group(2):
            out.append(line)
            continue
        tags = {kv.split("=", 1)[0] for kv in m.group(2)[1:].split(",") if "=" in kv}
        fields = [f for f in m.group(3).split(",") if f.split("=", 1)[0] not in tags]
        out.append(m.group(1) + m.group(2) + " " + ",".join(fields) + (m.group(4) or ""))
    return "\n".join(out)


def _run_upstream_case(tmp_path, case, subst=None) -> list[tuple[str, int, bool, str]]:
    """[(query, occurrence, matched, detail)]"""
    eng = Engine(tmp_path / case["name"], node_id="n1", background=False)
    ex = Executor(eng, max_select_buckets=case.get("server_config", {}).get("Coordinator.MaxSelectBucketsN", 0))
    out = []
    seen: dict[str, int] = {}
    try:
        for d in case.get("setup_databases", []):
            eng.catalog.create_database(d["db"], _dur_ns(d.get("rp_duration")) or None, exist_ok=True)
        for w in case["setup_writes"]:
            body = subst(w["body"]) if subst else w["body"]
            eng.write_lp(w["db"], _strip_tag_field_clash(body), w.get("precision") or "ns")
        for q in case["queries"]:
            for w in q.get("writes_before") or []:
                eng.write_lp(w["db"], w["body"], w.get("precision") or "ns")
            text = subst(q["q"]) if subst else q["q"]
            exp = q.get("expected")
            if subst:
                exp = json.loads(subst(json.dumps(exp)))
            got = _run(ex, text, q.get("params", {}))[1]
            n = seen.get(q["q"], 0)
            seen[q["q"]] = n + 1
            out.append((q["q"], n, got == exp, f"\n  expected {json.dumps(exp)[:300]}\n  got      {json.dumps(got)[:300]}"))
    finally:
        eng.close()
    return out


def _check(results: list, known: dict, total: int) -> None:
    failures, still = [], []
    passed = 0
    for key, ok, detail in results:
        if key in known:
            if ok:
                still.append(f"{key} now matches; drop it from KNOWN ({known[key]})")
            continue
        if ok:
            passed += 1
        else:
            failures.append(f"{key}{detail}")
    assert not failures and not still, "\n".join(still + failures)
    assert passed + len(known) == total


def test_v1_upstream_cases(tmp_path):
    cases = _load("influxql_v1_upstream_cases.json")
    results = []
    for case in cases:
        for q, n, ok, detail in _run_upstream_case(tmp_path, case):
            results.append(((case["name"], q, n), ok, detail))
    assert len(results) == 677
    _check(results, KNOWN_UPSTREAM, 677)


def _now_subst(now: int):
    def repl(m):
        parts = m.group(1).split(";")
        v, fmt = now, "ns"
        for p in parts[1:]:
            k, _, a = p.partition("=")
            if k == "fmt":
                fmt = a
                continue
            a = int(a)
            if k == "add":
                v += a
            elif k == "trunc":
                v -= v % a
            elif k == "round":
                v = (v + a // 2) // a * a
            elif k == "div":
                v //= a
        if fmt == "ns":
            return str(v)
        if fmt == "unix":
            return str(v // 10 ** 9)
        if fmt == "rfc3339nano":
            return format_time_rfc3339(v)
        if fmt == "rfc3339":
            return format_time_rfc3339(v - v % 10 ** 9)
        raise ValueError(fmt)

    return lambda s: re.sub(r"\{\{(NOW[^}]*)\}\}", repl, s)


def test_v1_cases_with_now(tmp_path):
    cases = _load("influxql_v1_cases_now.json")
    results = []
    total = 0
    for case in cases:
        sub = _now_subst(time.time_ns())
        case = json.loads(json.dumps(case))
        for q in case["queries"]:
            if "expected_text" in q:
                q["expected"] = json.loads(sub(q.pop("expected_text")))
        for q, n, ok, detail in _run_upstream_case(tmp_path, case, subst=sub):
            results.append(((case["name"], q, n), ok, detail))
            total += 1
    assert total == 73
    _check(results, KNOWN_NOW, total)


# ---------------------------------------------------------------------------------------------
# InfluxDB 3 golden answers (IOx)


def _disp(v, is_time: bool) -> str:
    from jupyter_influx3.http.serialize import ryu_float

    if v is None:
        return ""
    if is_time:
        return format_time_rfc3339(v)[:-1]
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return ryu_float(v)
    return str(v)


def _v3_series(res) -> list:
    out = []
    for s in res.series:
        d = {"name": s.name}
        if s.tags:
            d["tags"] = dict(s.tags)
        d["columns"] = list(s.columns)
        d["rows"] = [[_disp(v, i == s.time_index) for i, v in enumerate(r)] for r in s.values]
        out.append(d)
    return out


def _v3_norm(series, sort: bool) -> list:
    out = []
    for s in series or []:
        s = dict(s)
        if not s.get("tags"):
            s.pop("tags", None)
        rows = s.get("rows", [])
        s["rows"] = sorted(rows) if sort else rows
        if s["rows"]:
            out.append(s)
    return out


def _float(cell):
    try:
        return float(cell) if isinstance(cell, str) and cell not in ("", "NaN") and not cell.isdigit() else None
    except ValueError:
        return None


def _cells_match(got, want) -> bool:
    """One cell: equal text, or both floats within FLOAT_RTOL (not NaN against null: "" vs "NaN")."""
    if got == want:
        return True
    a, b = _float(got), _float(want)
    return a is not None and b is not None and abs(a - b) <= FLOAT_RTOL * max(abs(a), abs(b))


def _series_match(got: list, want: list) -> bool:
    if len(got) != len(want):
        return False
    for g, w in zip(got, want):
        if {k: v for k, v in g.items() if k != "rows"} != {k: v for k, v in w.items() if k != "rows"}:
            return False
        if len(g["rows"]) != len(w["rows"]) or any(
                len(gr) != len(wr) or not all(_cells_match(a, b) for a, b in zip(gr, wr))
                for gr, wr in zip(g["rows"], w["rows"])):
            return False
    return True


def _superseded_answers(ex: Executor, q: dict, db: str) -> tuple[bool, str]:
    """`SHOW ... ON <database>`, an IOx (2023) error that current InfluxDB 3 answers: ON a database
    that does not exist is "database not found", ON the case's database answers what the
    statement without ON answers there."""
    m = re.search(r"\bON (\w+)", q["q"])
    assert m, q["q"]
    missing = ex.execute_statement(ex.parse(q["q"]).statements[0], 0, database=db)
    if missing.error != f"database not found: {m.group(1)}":
        return False, f"ON {m.group(1)}: {missing.error!r}"
    on_db = ex.execute_statement(ex.parse(q["q"].replace(m.group(0), f"ON {db}")).statements[0], 0, database=db)
    plain = ex.execute_statement(ex.parse(re.sub(r"\s+ON \w+", "", q["q"])).statements[0], 0, database=db)
    ok = on_db.error is None and plain.error is None and _v3_series(on_db) == _v3_series(plain) and on_db.series
    return bool(ok), f"ON {db}: {_v3_series(on_db)} / without ON: {_v3_series(plain)}"


def test_v3_golden_cases(tmp_path):
    cases = [c for c in _load("influxql_v3_cases.json") if c.get("kind") == "iox_golden"]
    failures, still = [], []
    total = passed = superseded = expected_errors = 0
    for case in cases:
        eng = Engine(tmp_path / case["name"].replace("/", "_"), node_id="n1", background=False)
        try:
            ex = Executor(eng, dialect="v3")
            db = case["db"]
            if case.get("setup_writes_file"):
                body = gzip.decompress((DATA / "influxql_v3_setup_percentile.lp.gz").read_bytes()).decode()
                assert case["setup_writes_file"].endswith("percentile.lp")
                eng.write_lp(db, "\n".join(ln for ln in body.splitlines() if ln and not ln.startswith("#")), "ns")
            for w in case.get("setup_writes", []):
                eng.write_lp(w["db"], w["body"], w.get("precision") or "ns")
            for q in case["queries"]:
                total += 1
                try:
                    query = ex.parse(q["q"])
                    if len(query.statements) != 1:
                        raise ParseError("one statement")
                    res = ex.execute_statement(query.statements[0], 0, database=db)
                    err, got = res.error, (_v3_series(res) if res.error is None else None)
                except ParseError as e:
                    err, got = str(e), None
                if q.get("superseded"):
                    superseded += 1
                    ok, got = _superseded_answers(ex, q, db)
                    err = None
                elif q.get("expected_error"):
                    expected_errors += 1
                    ok = err is not None and _error_text(err) == _error_text(q["expected_error"])
                    if q["q"] in KNOWN_V3_ERRORS:
                        if ok or err is None:
                            still.append(f"{q['q']} now answers {err!r}; drop it from KNOWN_V3_ERRORS")
                        continue
                else:
                    sort = q.get("compare") == "sorted"
                    ok = err is None and _series_match(_v3_norm(got, sort), _v3_norm(q.get("expected_series"), sort))
                reason = KNOWN_V3.get(q["q"])
                if reason:
                    if ok:
                        still.append(f"{q['q']} now matches; drop it from KNOWN_V3")
                    continue
                if ok:
                    passed += 1
                else:
                    want = q.get("expected_error") or json.dumps(q.get("expected_series"))
                    failures.append(f"[{case['name']}] {q['q']}\n  expected {want[:300]}"
                                    f"\n  got      {json.dumps(got)[:300] if err is None else 'ERR ' + err}")
        finally:
            eng.close()
    assert not failures and not still, "\n".join(still + failures)
    assert (total, superseded, expected_errors) == (434, 5, 20)
    assert passed + len(KNOWN_V3) + len(KNOWN_V3_ERRORS) == total
