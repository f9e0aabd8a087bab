"""A text whose shape was seen before (the same text but for its literals) gets the tree the parser
gives it, made from the shape's template (engine/influxql/shapes.py): the same tree or the same
error for every text of the conformance corpus and variants of its literals (edge values
included), literals that land outside a literal node keep the template to texts that have them
as written, and each statement made is its own object (what is kept with it stays its own)."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from jupyter_influx3.engine.influxql import ast, shapes
from jupyter_influx3.engine.influxql.executor import Executor
from jupyter_influx3.engine.influxql.parser import ParseError, parse_query

DATA = Path(__file__).resolve().parents[1] / "data"

# values of each kind of literal, edges included: past int64 (unsigned), past uint64, an
# overflowing float and duration, a string that looks like the end of a comment or like code
EDGES = {
    "s": ["", "host_1", "2016-01-01T00:00:00Z", "--", "*/", '"', ") OR (1=1", "é", "\t"],
    "i": ["0", "007", "9223372036854775807", "9223372036854775808", "18446744073709551616"],
    "f": ["0.0", "1.5", "1" + "0" * 400 + ".0", "3.14159265358979323846264338327950288"],
    "d": ["0s", "1ns", "1µ", "15250w", "15251w", "9223372036854775807ns", "9223372036854775808ns"],
}
CONTEXTS = [
    "SELECT mean(v) FROM m WHERE time > now() - 1h AND h = 'a' GROUP BY time(1m, -5s) fill(0) LIMIT 10 OFFSET 2 "
    "SLIMIT 3 SOFFSET 1",
    "SELECT v FROM m WHERE v > -5 AND w = -1.5 AND t > -5m AND u = - -3 tz('Europe/Paris')",
    "SELECT 5 - 3, -2 * v, v - 1.5, +3 FROM m -- a 'comment' 5\n WHERE time > 5s",
    "SELECT v /* 'x' 5 */ FROM m WHERE h =~ /host_1/ AND h !~ /x[0-9]/ AND time < 100s",
    "SHOW TAG VALUES FROM cpu WITH KEY = h WHERE h = 'x' LIMIT 5 OFFSET 1",
    "CREATE RETENTION POLICY r ON d DURATION 1d REPLICATION 1 SHARD DURATION 1h",
    "CREATE CONTINUOUS QUERY q ON d RESAMPLE FOR 2m BEGIN SELECT mean(v) INTO x FROM m GROUP BY time(1m) END",
    "SELECT v FROM m WHERE time >= '2016-01-01T00:00:00Z'; SELECT w FROM n WHERE h = 'a'",
    "SELECT v FROM (SELECT mean(v) AS v FROM m WHERE time > 1s GROUP BY time(1m)) WHERE v > 1.5",
    "SELECT top(v, 3), percentile(v, 99.5), holt_winters(mean(v), 10, 4) FROM m WHERE time > 0s GROUP BY time(1m)",
    'SELECT "v" FROM "db"."rp"."m" WHERE "h" = \'x\' AND time > 1700000000000ms ORDER BY time DESC LIMIT 100',
]


def _corpus() -> list[str]:
    """The texts above, the gathered conformance queries (1.x's and InfluxDB 3's) and the Go
    parser's statement vectors."""
    gathered = json.loads((DATA / "influxql_conformance_queries.json").read_text())["queries"]
    go = json.loads((DATA / "influxql_go_parser_cases.json").read_text())["cases"]
    return [*CONTEXTS, *(c["q"] for c in gathered), *(c["s"] for c in go if c["kind"] == "statement")]


def _answer(parse, text):
    try:
        return repr(parse(text))
    except ParseError as e:
        return "error: " + str(e)


def _text(shape: str, literals) -> str:
    it = iter(literals)
    return re.sub("\0(.)", lambda m: (lambda k, v: f"'{v}'" if k == "s" else v)(*next(it)), shape)


@pytest.fixture(autouse=True)
def _no_shapes_kept():
    shapes.clear()
    yield
    shapes.clear()


def test_every_text_of_a_known_shape_parses_as_the_parser_parses_it():
    rnd = random.Random(5)
    applied = 0
    for text in _corpus():
        got = shapes.split(text)
        if got is None or not got[1]:
            continue
        shape, literals = got
        assert _text(shape, literals) == text
        for n in range(6):
            variant = literals if n < 2 else [(k, rnd.choice(EDGES[k]) if rnd.random() < 0.5 else f"{v}{n}" if k == "s"
                                               else v) for k, v in literals]
            text_n = _text(shape, variant)
            if (shapes.split(text_n) or ("",))[0] != shape:
                continue   # an edge value the splitter does not take (a non-ASCII letter)
            kept = shapes._shapes.get(shape)
            applied += type(kept) is shapes._Shape and kept.apply(variant) is not None
            assert _answer(shapes.parse, text_n) == _answer(parse_query, text_n), text_n
    assert applied > 1000   # texts made from templates, not parsed


def test_the_first_character_lookahead_changes_no_split():
    """The literal pattern's lookahead (characters that start no alternative fail at once) finds
    exactly what the alternatives alone find, on random texts of the characters that matter."""
    pattern = shapes._LITERALS.pattern
    assert pattern.startswith("(?=") and pattern.endswith(")")
    plain = re.compile(pattern[pattern.index("(?:") + 3:-1])
    rnd = random.Random(11)
    alphabet = "a_.0123456789'\"\\$ µé\r\0smhdwun=()-+"
    for _ in range(3000):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 30)))
        assert [m.group() for m in shapes._LITERALS.finditer(text)] == [m.group() for m in plain.finditer(text)]
        assert [m.lastgroup for m in shapes._LITERALS.finditer(text)] == [m.lastgroup for m in plain.finditer(text)]


@pytest.mark.parametrize("text, fixed", [
    ("SELECT v FROM m WHERE h = 'a' LIMIT 10", ["10"]),
    ("SELECT mean(v) FROM m WHERE time > 5s GROUP BY time(1m) fill(0)", ["0"]),
    ("SELECT v /* 'x' */ FROM m WHERE h = 'a'", ["x"]),
    ("SELECT v FROM m WHERE h = 'a' -- 7", ["7"]),
])
def test_a_literal_that_is_no_literal_node_is_kept_as_written(text, fixed):
    for probe in (text.replace("'a'", "'b'"), text):
        shapes.parse(probe)
    kept = shapes._shapes[shapes.split(text)[0]]
    assert [kept.texts[i] for i in kept.fixed] == fixed
    # a text that differs there is parsed, and gets its own value
    other = text.replace(fixed[0], fixed[0].replace("1", "2").replace("0", "3").replace("x", "y").replace(
        "7", "8").replace("Paris", "Berlin"))
    assert other != text
    assert repr(shapes.parse(other)) == repr(parse_query(other))
    assert repr(shapes.parse(text.replace("'a'", "'c'"))) == repr(parse_query(text.replace("'a'", "'c'")))


def test_a_shape_whose_probe_does_not_parse_is_always_parsed():
    text = "SELECT v FROM m WHERE h = 'a' tz('Europe/Paris')"   # the probe's zone is no zone
    for probe in (text.replace("'a'", "'b'"), text, text.replace("Paris", "Berlin")):
        assert repr(shapes.parse(probe)) == repr(parse_query(probe))
    assert shapes._shapes[shapes.split(text)[0]] is shapes._PARSED


@pytest.mark.parametrize("literal, expect", [
    ("18446744073709551615", "UnsignedLiteral(value=18446744073709551615)"),
    ("1" + "0" * 400 + ".0", "error: unable to parse number"),
    ("15251w", "error: overflowed duration 15251w: choose a smaller duration or INF"),
])
def test_a_value_the_parser_reads_another_way_is_parsed(literal, expect):
    shape = "SELECT v FROM m WHERE v > {}"
    for n in ("1", "2", "3"):
        shapes.parse(shape.format(n if "w" not in literal else n + "w"))
    text = shape.format(literal)
    assert expect in _answer(shapes.parse, text)
    assert _answer(shapes.parse, text) == _answer(parse_query, text)


@pytest.mark.parametrize("text", [
    "SELECT v FROM m WHERE h = 'a\\'b'",        # an escape
    "SELECT v FROM m WHERE h = $h",             # a bound parameter
    "SELECT v FROM m WHERE h = 'a\rb'",         # read as a newline by the lexer
    "SELECT vé FROM m WHERE v > 1",             # a non-ASCII letter
    "SELECT v FROM m WHERE v > 5e3",            # a number run into letters
    "SELECT v FROM m WHERE v > 1.5.2",
    'SELECT "a\\"b" FROM m WHERE v > 1',        # an identifier with an escape
    "SELECT v FROM m WHERE time > 1h30m",       # a compound duration
])
def test_a_text_not_taken_apart_the_way_the_lexer_reads_it_is_always_parsed(text):
    assert shapes.split(text) is None
    assert _answer(shapes.parse, text) == _answer(parse_query, text)


def test_each_statement_made_from_a_template_is_its_own():
    texts = [f"SELECT max(v) FROM cpu WHERE host = 'h{k}' AND time >= {k}s GROUP BY time(1m)" for k in range(3)]
    trees = [shapes.parse(t) for t in texts]
    template = shapes._shapes[shapes.split(texts[0])[0]]
    assert isinstance(template, shapes._Shape) and template.tree is trees[0]   # the first text's
    like, made = trees[0].statements[0], trees[2].statements[0]
    assert made is not like and made is not trees[1].statements[0]
    assert ast.text(like) == texts[0]   # a memo on the template's statement ...
    assert ast.text(made) == texts[2]   # ... is not the made one's
    assert [type(n).__name__ for n in ast.walk(made)] == [type(n).__name__ for n in ast.walk(like)]
    # what no literal touches is shared with the template: the field list
    assert made.fields is like.fields


def test_answers_from_templates_are_the_answers_of_fresh_parses(engine):
    engine.create_database("db")
    engine.write_lp("db", "".join(f"cpu,host=h{h} v={h * 10 + t} {t * 10_000_000_000}\n" for h in range(3) for t in range(30)),
                    precision="nanosecond")
    ex = Executor(engine)
    seen = []
    for h in range(3):
        for start in (0, 50, 120):
            text = (f"SELECT max(v), count(v) FROM cpu WHERE host = 'h{h}' AND time >= {start}s AND time < "
                    f"{start + 100}s GROUP BY time(30s) fill(-1)")
            got = [r.to_dict() for r in ex.execute(text, database="db")]
            fresh = [r.to_dict() for r in ex.execute(parse_query(text), database="db")]
            assert got == fresh
            seen.append(got[0]["series"][0]["values"])
    assert len({json.dumps(v) for v in seen}) == len(seen)   # every text answered its own values
    assert isinstance(shapes._shapes[shapes.split(text)[0]], shapes._Shape)


WHERES = [
    "host = '{h}' AND time >= {a}s AND time < {b}s",
    "(host = '{h}' OR host = 'h2') AND time >= {a}s AND time < {b}s",
    "host != '{h}' AND time >= {a}s",
    "host =~ /^h/ AND time >= {a}s AND time < {b}s AND v > {a}",
    "time >= now() - {b}s AND host = '{h}'",
    "time > '1970-01-01T00:00:{a:02d}Z' AND time < '1970-01-01T00:03:{a:02d}Z' AND host = '{h}'",
    "v > {a}.5 AND time < {b}s",
]


@pytest.mark.parametrize("where", WHERES)
@pytest.mark.parametrize("select", [
    "SELECT max(v), count(v) FROM cpu WHERE {w} GROUP BY time(30s) fill(-1)",
    "SELECT mean(v) FROM cpu WHERE {w} GROUP BY time(20s, 5s), host",
    "SELECT v, host FROM cpu WHERE {w}",
    "SELECT last(v) FROM cpu WHERE {w} GROUP BY *",
    "SELECT max(v) FROM cpu WHERE {w} GROUP BY time(1m) ORDER BY time DESC LIMIT 3",
])
def test_a_statement_planned_from_its_shape_answers_as_one_planned_whole(engine, select, where):
    """Texts of one shape whose literals differ in their WHERE alone are planned from the plan of
    another text of the shape (planner.replanned): each answer is the answer of a fresh parse and
    a whole plan, errors included."""
    engine.create_database("db")
    engine.write_lp("db", "".join(f"cpu,host=h{h} v={h * 10 + t} {t * 10_000_000_000}\n" for h in range(3)
                                  for t in range(30)), precision="nanosecond")
    ex, whole = Executor(engine), Executor(engine)
    replans = []
    original = ex._plan_like

    def counted(stmt, *a):
        replans.append(ast.LIKE in stmt.__dict__)
        return original(stmt, *a)

    ex._plan_like = counted
    for h, a, b in [(0, 0, 100), (1, 50, 200), (2, 120, 130), (0, 9, 10), (1, 0, 0), (2, 280, 900)]:
        text = select.format(w=where.format(h=f"h{h}", a=a, b=b))
        got = [r.to_dict() for r in ex.execute(text, database="db")]
        assert got == [r.to_dict() for r in whole.execute(parse_query(text), database="db")], text
    assert sum(replans) >= 3   # the texts after the template's were planned from the shape


def test_a_time_offset_of_now_is_worked_out_at_every_plan(engine):
    """GROUP BY time(30s, now()) windows start at now's offset in the interval: the interval and
    offset of the other dimensions are kept per shape, this one is not."""
    engine.create_database("db")
    engine.write_lp("db", "".join(f"cpu,host=h0 v={t} {t * 1_000_000_000}\n" for t in range(120)),
                    precision="nanosecond")
    ex, whole = Executor(engine), Executor(engine)
    starts = set()
    for k, now in enumerate([200_000_000_000, 207_000_000_000, 213_000_000_000]):
        text = f"SELECT max(v) FROM cpu WHERE host = 'h0' AND time >= {k}s AND time < 100s GROUP BY time(30s, now())"
        got = [r.to_dict() for r in ex.execute(text, database="db", now_ns=now)]
        assert got == [r.to_dict() for r in whole.execute(parse_query(text), database="db", now_ns=now)], text
        starts.add(got[0]["series"][0]["values"][1][0])
    assert len(starts) == 3   # each now's windows


def test_a_plan_made_from_another_statements_plan_types_its_own_where(engine):
    """planner.replanned keeps the types of the fields' references (the same nodes) and types the
    new WHERE's; none of the old WHERE's references is left in the new plan's types."""
    from jupyter_influx3.engine.influxql.planner import replanned
    engine.create_database("db")
    engine.write_lp("db", "cpu,host=h0 v=1 1000000000\n", precision="nanosecond")
    ex = Executor(engine)
    text = "SELECT max(v) FROM cpu WHERE host = '{}' AND v > 0 AND time >= 0s GROUP BY time(1m)"
    old, new = (parse_query(text.format(h)).statements[0] for h in ("h0", "h1"))   # no node shared
    p0 = ex.prepare(old, "db", None, 0)
    p = replanned(p0, new, _plan_context(ex))
    refs = lambda e: [n for n in ast.walk(e) if isinstance(n, ast.VarRef)]
    assert [p.ref_type(r) for r in refs(p.condition)] == ["tag", "float"]
    assert not {id(r) for r in refs(p0.condition)} & p.types.keys()
    assert [p.ref_type(r) for r in refs(p.stmt.fields[0].expr)] == ["float"]


def _plan_context(ex: Executor):
    from jupyter_influx3.engine.influxql.planner import PlanContext
    return PlanContext(now_ns=0, resolve=ex._resolve("db", None, False), max_select_buckets=0)


def test_the_template_is_made_once_the_answer_is_out():
    """The first text of a shape is parsed alone; the probe parse that makes the template is
    work for the next texts, handed to afterwards.later (the lean path runs it after the write)."""
    from jupyter_influx3.engine import afterwards
    texts = [f"SELECT max(v) FROM cpu WHERE host = 'h{k}' AND time >= {k}s" for k in range(3)]
    pending: list = []
    with afterwards.deferred(pending):
        first = shapes.parse(texts[0])
        assert repr(shapes.parse(texts[1])) == repr(parse_query(texts[1]))   # parsed: no template yet
    shape = shapes.split(texts[1])[0]
    assert repr(first) == repr(parse_query(texts[0]))
    assert shapes._shapes[shape] is shapes._PENDING and len(pending) == 1
    afterwards.run(pending)
    assert shapes._shapes[shape].tree is first
    assert ast.LIKE in shapes.parse(texts[2]).statements[0].__dict__


def test_a_text_of_many_literals_gets_a_template_that_puts_each_in():
    """1,500 literals (their owners are looked up by value: a search per difference took
    thousands of parses' time, which no timed assertion here pins)."""
    text = "SELECT " + ", ".join(f"v + {k}" for k in range(1500)) + " FROM cpu WHERE host = 'a' AND time >= 5s"
    assert len(text) <= shapes.MAX_TEXT
    shapes.parse(text)   # the first text: parsed, then its template made (at once: no deferred block)
    kept = shapes._shapes[shapes.split(text)[0]]
    assert isinstance(kept, shapes._Shape) and not kept.fixed
    other = text.replace("v + 7,", "v + 8,").replace("v + 1499 ", "v + 3 ").replace("'a'", "'b'")
    assert kept.apply(shapes.split(other)[1]) is not None
    assert repr(shapes.parse(other)) == repr(parse_query(other))


def test_a_where_thousands_deep_is_parsed_as_the_parser_parses_it():
    hosts = " OR ".join(f"host = 'h{k}'" for k in range(800))
    texts = [f"SELECT max(v) FROM cpu WHERE ({hosts}) AND time >= {k}s" for k in range(3)]
    assert len(texts[0]) <= shapes.MAX_TEXT
    def literals(q):   # (an iterative look at trees too deep for == or repr)
        return [n.value for n in ast.walk(q) if isinstance(n, (ast.StringLiteral, ast.DurationLiteral))]

    for text in texts:
        assert literals(shapes.parse(text)) == literals(parse_query(text))
    assert shapes._shapes[shapes.split(texts[0])[0]] is shapes._PARSED   # deeper than MAX_DEPTH


def test_a_long_text_keeps_no_shape():
    text = "SELECT v FROM cpu WHERE host = 'a' AND time >= 5s -- " + "x" * shapes.MAX_TEXT
    for k in range(3):
        shapes.parse(text.replace("'a'", f"'a{k}'"))
    assert not shapes._shapes
