"""InfluxQL parser against reference query texts.

Data:

* ``tests/data/influxql_conformance_queries.json`` — every query text of the four InfluxQL files in
  ``shared/conformance`` (1.x examples, 1.8 upstream cases, cases with ``now()`` data, InfluxDB 3
  cases), each with what the parser must do: parse, or fail (with 1.x's text when the reference
  recorded it).
* ``tests/data/influxql_go_parser_cases.json`` — the statement and expression tables of InfluxDB
  1.8's own parser tests (influxql 65d3ef7): texts that must parse, and texts that must fail with
  an exact message and position.

Every text that parses must print (``str``) as InfluxQL that parses back to an equal tree, and
printing must be stable (print(parse(print(t))) == print(t)).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from jupyter_influx3.engine.influxql import ParseError, parse_expr, parse_query, parse_statement

DATA = Path(__file__).resolve().parents[1] / "data"
CONFORMANCE = json.loads((DATA / "influxql_conformance_queries.json").read_text())["queries"]
GO_CASES = [
    c
    for c in json.loads((DATA / "influxql_go_parser_cases.json").read_text())["cases"]
    if not c["skip"] and not c["has_params"]
]


def _round_trip(node, parse):
    text = str(node)
    again = parse(text)
    assert again == node, f"{text!r} parses to a different tree"
    assert str(again) == text
    return text


def _check(item) -> str:
    """Run one conformance item; return its outcome for the summary."""
    params = item.get("params")
    if item["expect"] == "ok":
        q = parse_query(item["q"], params)
        assert len(q.statements) >= 1
        _round_trip(q, lambda t: parse_query(t, params))
        return "parsed"
    with pytest.raises(ParseError) as exc:
        parse_query(item["q"], params)
    if item.get("missing_parameter"):
        assert exc.value.missing_parameter == item["missing_parameter"]
    if item["error"] is not None:
        assert str(exc.value) == item["error"]
        return "error text matches 1.x"
    return "rejected"


@pytest.mark.parametrize("source", ["v1_examples", "v1_upstream", "v1_cases_now", "v3"])
def test_conformance_queries(source):
    items = [i for i in CONFORMANCE if i["source"] == source]
    assert items
    outcomes = Counter()
    failures = []
    for item in items:
        try:
            outcomes[_check(item)] += 1
        except (AssertionError, ParseError, pytest.fail.Exception) as e:
            failures.append(f"{item['q']!r}: {e}")
    print(f"{source}: {len(items)} queries, {dict(outcomes)}")
    assert not failures, "\n".join(failures[:20])


def test_conformance_counts():
    """The data covers what the brief lists: 677 upstream queries, 515 InfluxDB 3 queries (one
    has no query text), 6 recorded 1.x parse errors."""
    by_source = Counter(i["source"] for i in CONFORMANCE)
    assert by_source["v1_upstream"] == 677
    assert by_source["v3"] == 514
    assert sum(1 for i in CONFORMANCE if i["error"]) == 6


@pytest.mark.parametrize("kind", ["statement", "expr"])
def test_go_parser_vectors(kind):
    parse = parse_statement if kind == "statement" else parse_expr
    failures = []
    exact = 0
    cases = [c for c in GO_CASES if c["kind"] == kind]
    for c in cases:
        try:
            node = parse(c["s"])
            got = None
        except ParseError as e:
            got = str(e)
        if got != c["err"]:
            failures.append(f"{c['s']!r}: expected {c['err']!r}, got {got!r}")
            continue
        if got is None:
            try:
                _round_trip(node, parse)
            except (AssertionError, ParseError) as e:
                failures.append(f"{c['s']!r}: round trip: {e}")
                continue
        else:
            exact += 1
    print(f"{kind}: {len(cases)} vectors, {exact} error messages matched exactly")
    assert not failures, "\n".join(failures[:20])


def test_every_case_file_is_complete():
    """A truncated or emptied data file fails here instead of making the other tests pass on nothing."""
    assert (len(CONFORMANCE), len(GO_CASES)) == (1318, 435)
