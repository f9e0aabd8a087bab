"""InfluxQL front end: lexer, parser, AST printing, condition helpers, regexes.

Expected error texts are InfluxDB 1.8's (what it prints after ``error parsing query: ``).
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_influx3.engine.influxql import (
    ConditionError,
    ParseError,
    ast,
    compile_re2,
    condition_expr,
    format_duration,
    has_time_expr,
    parse_duration,
    parse_expr,
    parse_query,
    parse_statement,
    quote_ident,
    quote_string,
    reduce,
    split_condition,
    string_to_time,
    time_range,
)
from jupyter_influx3.engine.influxql.ast import (
    BinaryExpr,
    BooleanLiteral,
    Call,
    DurationLiteral,
    IntegerLiteral,
    NumberLiteral,
    Op,
    ParenExpr,
    RegexLiteral,
    StringLiteral,
    UnsignedLiteral,
    VarRef,
)
from jupyter_influx3.engine.influxql.lexer import DurationError, Scanner, Tok

S = 1_000_000_000
H = 3600 * S


def err(text, params=None) -> str:
    with pytest.raises(ParseError) as e:
        parse_query(text, params)
    return str(e.value)


def expr_err(text) -> str:
    with pytest.raises(ParseError) as e:
        parse_expr(text)
    return str(e.value)


def v(name, t=None):
    return VarRef(name, t)


def rt(text, params=None):
    """Parse, check the printed form parses back to the same tree, return the printed form."""
    q = parse_query(text, params)
    out = str(q)
    assert parse_query(out) == q
    return out


# ---------------------------------------------------------------------------------------------
# expressions and precedence


@pytest.mark.parametrize(
    "text, tree",
    [
        ("a + b * c", BinaryExpr(Op.ADD, v("a"), BinaryExpr(Op.MUL, v("b"), v("c")))),
        ("a * b + c", BinaryExpr(Op.ADD, BinaryExpr(Op.MUL, v("a"), v("b")), v("c"))),
        ("a - b - c", BinaryExpr(Op.SUB, BinaryExpr(Op.SUB, v("a"), v("b")), v("c"))),
        ("a / b / c", BinaryExpr(Op.DIV, BinaryExpr(Op.DIV, v("a"), v("b")), v("c"))),
        ("a | b & c", BinaryExpr(Op.BITWISE_OR, v("a"), BinaryExpr(Op.BITWISE_AND, v("b"), v("c")))),
        ("a ^ b % c", BinaryExpr(Op.BITWISE_XOR, v("a"), BinaryExpr(Op.MOD, v("b"), v("c")))),
        ("a + b = c", BinaryExpr(Op.EQ, BinaryExpr(Op.ADD, v("a"), v("b")), v("c"))),
        (
            "a = 1 OR b = 2 AND c = 3",
            BinaryExpr(
                Op.OR,
                BinaryExpr(Op.EQ, v("a"), IntegerLiteral(1)),
                BinaryExpr(
                    Op.AND,
                    BinaryExpr(Op.EQ, v("b"), IntegerLiteral(2)),
                    BinaryExpr(Op.EQ, v("c"), IntegerLiteral(3)),
                ),
            ),
        ),
        ("(a + b) * c", BinaryExpr(Op.MUL, ParenExpr(BinaryExpr(Op.ADD, v("a"), v("b"))), v("c"))),
        ("1+2-3", BinaryExpr(Op.SUB, BinaryExpr(Op.ADD, IntegerLiteral(1), IntegerLiteral(2)), IntegerLiteral(3))),
        ("time>now()-5m", BinaryExpr(Op.GT, v("time"), BinaryExpr(Op.SUB, Call("now"), DurationLiteral(5 * 60 * S)))),
        ("host =~ /a\\/b/", BinaryExpr(Op.EQREGEX, v("host"), RegexLiteral("a/b"))),
        ("a <> b", BinaryExpr(Op.NEQ, v("a"), v("b"))),
    ],
)
def test_precedence_and_associativity(text, tree):
    assert parse_expr(text) == tree
    assert parse_expr(str(tree)) == tree


def test_unary_minus_shapes():
    assert parse_expr("-5") == IntegerLiteral(-5)
    assert parse_expr("- 1.5") == NumberLiteral(-1.5)
    assert parse_expr("-1h") == DurationLiteral(-H)
    assert parse_expr("-x") == BinaryExpr(Op.MUL, IntegerLiteral(-1), v("x"))
    assert parse_expr("+x") == BinaryExpr(Op.MUL, IntegerLiteral(1), v("x"))
    assert parse_expr("-mean(x)") == BinaryExpr(Op.MUL, IntegerLiteral(-1), Call("mean", (v("x"),)))
    assert parse_expr("-9223372036854775808") == IntegerLiteral(-(1 << 63))
    assert expr_err("-9223372036854775809") == "constant -9223372036854775809 underflows int64"
    assert expr_err("-+1") == "found +, expected identifier, number, duration, ( at line 1, char 2"
    assert expr_err("-'a'") == "found a, expected identifier, number, duration, ( at line 1, char 1"
    # "a / -b" prints back as written: "a / -1 * b" would be (a / -1) * b
    e = parse_expr("a / -b")
    assert str(e) == "a / -b"
    assert parse_expr(str(e)) == e
    assert str(parse_expr("-(a + b)")) == "-1 * (a + b)"


def test_printing_adds_parentheses_to_hand_built_trees():
    e = BinaryExpr(Op.MUL, BinaryExpr(Op.ADD, v("a"), v("b")), BinaryExpr(Op.SUB, v("c"), v("d")))
    assert str(e) == "(a + b) * (c - d)"
    e = BinaryExpr(Op.SUB, v("a"), BinaryExpr(Op.SUB, v("b"), v("c")))
    assert str(e) == "a - (b - c)"


def test_select_clause_refuses_comparisons():
    assert err("SELECT value > 2 FROM cpu") == (
        "invalid operator > in SELECT clause at line 1, char 8; operator is intended for WHERE clause"
    )
    assert err("SELECT 1, mean(a = 1 AND b) FROM cpu").startswith("invalid operator AND in SELECT clause at line 1, char 11")


# ---------------------------------------------------------------------------------------------
# literals


def test_integers():
    assert parse_expr("9223372036854775807") == IntegerLiteral((1 << 63) - 1)
    assert parse_expr("9223372036854775808") == UnsignedLiteral(1 << 63)
    assert parse_expr("18446744073709551615") == UnsignedLiteral((1 << 64) - 1)
    assert expr_err("18446744073709551616") == "unable to parse integer at line 1, char 1"
    assert parse_expr("0000000060000000000") == IntegerLiteral(60 * S)


def test_floats():
    assert parse_expr("1.5") == NumberLiteral(1.5)
    assert parse_expr(".25") == NumberLiteral(0.25)
    assert parse_expr("100.") == NumberLiteral(100.0)
    assert str(NumberLiteral(2.0)) == "2.0"
    assert str(NumberLiteral(1e22)) == "10000000000000000000000.0"
    assert str(NumberLiteral(1e-7)) == "0.0000001"
    assert expr_err("1" * 400 + ".0") == "unable to parse number at line 1, char 1"
    assert err("SELECT 10.5h FROM myseries") == "found h, expected FROM at line 1, char 12"


def test_strings_and_escapes():
    assert parse_expr(r"'a\'b\"c\\d\ne'") == StringLiteral("a'b\"c\\d\ne")
    assert str(StringLiteral("it's\n\\")) == r"'it\'s\n\\'"
    # 1.x reports a bad escape at its second character, a bad string at the character before it
    assert err(r"SELECT * FROM m WHERE a = 'x\qy'") == r"found \q, expected identifier, string, number, bool at line 1, char 30"
    assert err("SELECT * FROM m WHERE a = 'xy") == "found xy, expected identifier, string, number, bool at line 1, char 26"


def test_identifiers():
    assert parse_expr('"my field"') == v("my field")
    assert parse_expr(r'"a\"b"') == v('a"b')
    assert parse_expr("cpu.value") == v("cpu.value")
    assert parse_expr('"db"."rp"') == v("db.rp")
    assert quote_ident("select") == '"select"'
    assert quote_ident("a b", "c") == '"a b".c'
    assert quote_ident("_ok1") == "_ok1"
    assert quote_ident("1x") == '"1x"'
    assert quote_string("a'b") == r"'a\'b'"
    assert err("CREATE DATABASE 0xdb0") == "found 0xdb0, expected identifier at line 1, char 17"
    assert err("SELECT x FROM a.b.c.d") == 'too many segments in "a"."b"."c".d at line 1, char 1'


def test_keywords_case_insensitive_and_names_case_sensitive():
    q = parse_statement("select MEAN(Usage) from CPU where Host = 'A' group by TIME(1m) Fill(none)")
    assert q.fields[0].expr == Call("mean", (v("Usage"),))
    assert q.sources == (ast.Measurement("CPU"),)
    assert q.fill is ast.FillOption.NONE
    assert q.group_by_interval() == 60 * S


def test_casts_and_wildcards():
    q = parse_statement("SELECT usage::float, host::tag, f::field, *::tag, * FROM m")
    assert [f.expr for f in q.fields] == [
        v("usage", ast.DataType.FLOAT),
        v("host", ast.DataType.TAG),
        v("f", ast.DataType.FIELD),
        ast.Wildcard(ast.DataType.TAG),
        ast.Wildcard(),
    ]
    assert err("SELECT x::bogus FROM m") == (
        "found bogus, expected float, integer, unsigned, string, boolean, field, tag at line 1, char 11"
    )
    assert err("SELECT *::bogus FROM m") == "found bogus, expected field, tag at line 1, char 11"


def test_comments_and_multiple_statements():
    q = parse_query("-- first\nSELECT a /* inline */ FROM m;\n\n  SHOW DATABASES ; ")
    assert [type(s).__name__ for s in q.statements] == ["SelectStatement", "ShowDatabasesStatement"]
    assert parse_query("") == ast.Query(())
    assert parse_query(";;") == ast.Query(())
    assert err("SELECT a FROM m SHOW DATABASES") == "found SHOW, expected ; at line 1, char 17"
    assert err("SELECT a /* never closed FROM m") == (
        "found ILLEGAL, expected FROM at line 1, char 10"
    )


def test_regex_literals():
    s = parse_statement(r"SELECT value FROM db0.rp0.status_code WHERE url =~ /https\:\/\/influxdb\.com/")
    rx = s.condition.rhs
    assert rx == RegexLiteral(r"https\://influxdb\.com")
    assert str(rx) == r"/https\:\/\/influxdb\.com/"
    assert rx.compile().search("https://influxdb.com")
    assert err("SELECT * FROM /unclosed") == "bad regex:  at line 1, char 14"
    assert err("SELECT * FROM m WHERE a =~ /(/") == "error parsing regexp: missing closing ): `(` at line 1, char 27"
    assert err("SELECT * FROM m WHERE a =~ 'x'") == "found x, expected regex at line 1, char 27"
    assert err("SELECT * FROM m WHERE a =~ /a**/").startswith("error parsing regexp: invalid nested repetition operator: `**`")
    assert err("SELECT * FROM m WHERE a =~ /(?=a)/").startswith("error parsing regexp: invalid or unsupported Perl syntax: `(?=`")


@pytest.mark.parametrize(
    "pattern, yes, no",
    [
        ("^server01$", ["server01"], ["server01\n", "xserver01"]),
        ("(?i)^SeRvEr01$", ["server01", "SERVER01"], ["server02"]),
        (r"d\isk", ["disk"], ["d\\isk"]),  # InfluxDB 3 drops the backslash before a non-escape
        (r"\d+", ["123"], ["١٢٣"]),  # \d is ASCII only, as in Go
        ("[[:alpha:]]+x", ["abx"], ["12x"]),
        ("^$", [""], ["a"]),
        (r"a{2}", ["aa"], ["a"]),
        (r"x{,3}", ["x{,3}"], ["xxx"]),  # not a repeat in RE2
        (r"\x41\x{42}", ["AB"], ["ab"]),
        (r"\Qa.b\E", ["a.b"], ["axb"]),
    ],
)
def test_regex_translation(pattern, yes, no):
    rx = compile_re2(pattern)
    for s in yes:
        assert rx.search(s), (pattern, s)
    for s in no:
        assert not rx.search(s), (pattern, s)


# ---------------------------------------------------------------------------------------------
# durations


@pytest.mark.parametrize(
    "text, ns",
    [
        ("10ns", 10),
        ("10u", 10_000),
        ("10µ", 10_000),
        ("15ms", 15_000_000),
        ("100s", 100 * S),
        ("2m", 120 * S),
        ("2h", 2 * H),
        ("2d", 48 * H),
        ("2w", 14 * 24 * H),
        ("1h30m", 90 * 60 * S),
        ("1m30s", 90 * S),
        ("-5m", -300 * S),
    ],
)
def test_parse_duration(text, ns):
    assert parse_duration(text) == ns
    assert parse_duration(format_duration(ns)) == ns


@pytest.mark.parametrize("text", ["", "3", "1000", "w", "ms", "1.2w", "10x", "10n", "1y"])
def test_bad_durations(text):
    with pytest.raises(DurationError, match="^invalid duration$"):
        parse_duration(text)


@pytest.mark.parametrize("text,expected", [
    ("9223372036854775807ns", (1 << 63) - 1),
    ("15250w", 15250 * 7 * 24 * H),
    ("0s", 0),
    ("007m", 7 * 60 * S),
    ("9223372036854775808ns", "invalid duration"),
    ("\u0663s", "invalid duration"),     # a digit, but not an ASCII one
    ("1s ", "invalid duration"),
    ("9223372036854775807s", "overflowed duration 9223372036854775807s: choose a smaller duration or INF"),
])
def test_durations_of_one_unit_at_their_limits(text, expected):
    if isinstance(expected, int):
        assert parse_duration(text) == expected
    else:
        with pytest.raises(DurationError) as e:
            parse_duration(text)
        assert str(e.value) == expected


def test_duration_overflow_and_formatting():
    with pytest.raises(DurationError, match="overflowed duration 15251w: choose a smaller duration or INF"):
        parse_duration("15251w")
    assert [format_duration(d) for d in (0, 3, 1000, 1_000_000, S, 60 * S, 90 * 60 * S, H, 24 * H, 7 * 24 * H)] == [
        "0s", "3ns", "1u", "1ms", "1s", "1m", "90m", "1h", "1d", "1w",
    ]  # fmt: skip
    assert format_duration(-H) == "-1h"
    assert err("SELECT * FROM m WHERE time > now() - 1y") == "invalid duration"
    assert err("ALTER RETENTION POLICY p ON d DURATION 15251w") == (
        "overflowed duration 15251w: choose a smaller duration or INF at line 1, char 40"
    )


# ---------------------------------------------------------------------------------------------
# statements


def test_select_clauses():
    s = parse_statement(
        "SELECT mean(v) AS m INTO db.rp.:MEASUREMENT FROM a, db..b, rp./c/, (SELECT x FROM d) "
        "WHERE time > 0 GROUP BY time(10s, -5s), host, * fill(previous) ORDER BY time DESC "
        "LIMIT 1 OFFSET 2 SLIMIT 3 SOFFSET 4 tz('Europe/Paris')"
    )
    assert s.fields == (ast.Field(Call("mean", (v("v"),)), "m"),)
    assert s.target == ast.Target(ast.Measurement(None, database="db", retention_policy="rp"))
    assert s.sources[:3] == (
        ast.Measurement("a"),
        ast.Measurement("b", database="db"),
        ast.Measurement(regex=RegexLiteral("c"), retention_policy="rp"),
    )
    assert isinstance(s.sources[3], ast.SubQuery)
    assert s.group_by_interval() == 10 * S and s.group_by_offset() == -5 * S % (10 * S) - 10 * S
    assert (s.fill, s.sort_fields, s.limit, s.offset, s.slimit, s.soffset, s.location) == (
        ast.FillOption.PREVIOUS, (ast.SortField("time", False),), 1, 2, 3, 4, "Europe/Paris",
    )  # fmt: skip
    assert not s.time_ascending and s.has_dimension_wildcard and not s.is_raw_query
    rt(str(s))


@pytest.mark.parametrize(
    "text, fill, value",
    [("fill(null)", "null", None), ("fill(none)", "none", None), ("fill(linear)", "linear", None),
     ("fill(0)", "number", 0), ("fill(-1.5)", "number", -1.5), ("FILL(3.14)", "number", 3.14)],
)  # fmt: skip
def test_fill(text, fill, value):
    s = parse_statement(f"SELECT mean(v) FROM m GROUP BY time(1m) {text}")
    assert (s.fill.value, s.fill_value) == (fill, value)
    assert parse_statement(str(s)) == s


def test_select_errors():
    assert err("SELECT usage_idle FROM cpu WHERE") == "found EOF, expected identifier, string, number, bool at line 1, char 34"
    assert err("SELECT") == "found EOF, expected identifier, string, number, bool at line 1, char 8"
    assert err("SELECT mean(value) FROM cpu fill(x)") == "expected number argument in fill()"
    assert err("SELECT mean(value) FROM cpu FILL + value") == "fill must be a function call"
    assert err("SELECT a FROM m ORDER BY host") == "only ORDER BY time supported at this time"
    assert err("SELECT a FROM m tz('Nowhere/City')") == "unable to find time zone Nowhere/City"
    assert err("SELECT a FROM m LIMIT $l", {"l": -1}) == "LIMIT must be >= 0 at line 1, char 23"
    assert err("select from") == "found FROM, expected identifier, string, number, bool at line 1, char 8"
    assert err("select * from") == "found EOF, expected identifier at line 1, char 15"
    assert err("SELECT time, name FROM bar") == "found NAME, expected identifier, string, number, bool at line 1, char 14"


def test_error_positions_across_lines():
    assert err("SELECT a\nFROM m\nWHERE") == "found EOF, expected identifier, string, number, bool at line 3, char 7"
    assert err("SELECT a\r\nFROM m\r\nLIMIT x") == "found x, expected integer at line 3, char 7"
    # after a trailing keyword 1.x has already read the end once, so EOF is one further
    assert err("SHOW TAG VALUES") == "found EOF, expected WITH at line 1, char 17"
    assert err("SHOW TAG VALUES ") == "found EOF, expected WITH at line 1, char 18"
    assert err("SHOW TAG VALUES FROM cpu WITH KEY =") == "found EOF, expected identifier at line 1, char 36"
    e = pytest.raises(ParseError, parse_query, "DROP DATABASE").value
    assert (e.line, e.char, e.found, e.expected) == (1, 15, "EOF", ("identifier",))


@pytest.mark.parametrize(
    "text",
    [
        "SHOW DATABASES",
        "SHOW MEASUREMENTS ON db WITH MEASUREMENT =~ /c.*/ WHERE region = 'x' LIMIT 2 OFFSET 1",
        "SHOW MEASUREMENTS WITH MEASUREMENT = /re/",
        "SHOW MEASUREMENT EXACT CARDINALITY ON db FROM /c/ WHERE a = 'b' GROUP BY host LIMIT 1",
        "SHOW MEASUREMENT CARDINALITY",
        "SHOW SERIES ON db FROM cpu, mem WHERE host = 'a' LIMIT 5 OFFSET 1",
        "SHOW SERIES EXACT CARDINALITY FROM cpu WHERE region = 'x'",
        "SHOW SERIES CARDINALITY",
        "SHOW TAG KEYS ON db FROM cpu WHERE host = 'a' LIMIT 1 OFFSET 2 SLIMIT 3 SOFFSET 4",
        "SHOW TAG KEY EXACT CARDINALITY FROM cpu",
        "SHOW TAG KEY CARDINALITY ON db0",
        "SHOW TAG VALUES ON db FROM cpu WITH KEY = host WHERE region = 'x' LIMIT 1",
        "SHOW TAG VALUES WITH KEY != host",
        "SHOW TAG VALUES WITH KEY =~ /ho/",
        "SHOW TAG VALUES WITH KEY !~ /ho/",
        'SHOW TAG VALUES WITH KEY IN ("select", host)',
        "SHOW TAG VALUES EXACT CARDINALITY FROM cpu WITH KEY IN (host, region) WHERE region = 'x'",
        "SHOW TAG VALUES CARDINALITY WITH KEY = host",
        "SHOW FIELD KEYS ON db FROM cpu LIMIT 2 OFFSET 1",
        "SHOW FIELD KEY CARDINALITY ON db FROM /[cg]pu/",
        "SHOW FIELD KEY EXACT CARDINALITY",
        "SHOW RETENTION POLICIES ON db",
        "SHOW CONTINUOUS QUERIES",
        "SHOW QUERIES",
        "SHOW USERS",
        "SHOW GRANTS FOR bob",
        "SHOW SHARDS",
        "SHOW SHARD GROUPS",
        "SHOW STATS FOR 'indexes'",
        "SHOW DIAGNOSTICS",
        "SHOW SUBSCRIPTIONS",
        "CREATE DATABASE db0",
        "CREATE DATABASE db0_r WITH DURATION 1d REPLICATION 2 NAME db0_r_policy",
        "CREATE DATABASE db1 WITH DURATION 90m SHARD DURATION 30m",
        "DROP DATABASE db0",
        "DROP MEASUREMENT cpu",
        "DROP SERIES FROM cpu WHERE host = 'a'",
        "DROP SHARD 3",
        "DELETE FROM cpu WHERE time < '2000-01-01T00:00:00Z'",
        "DELETE WHERE host = 'a'",
        "CREATE RETENTION POLICY rp ON db DURATION 1d REPLICATION 1 SHARD DURATION 1h DEFAULT",
        "ALTER RETENTION POLICY rp ON db DURATION 2d REPLICATION 1 SHARD DURATION 2h DEFAULT",
        "DROP RETENTION POLICY rp ON db",
        "CREATE USER bob WITH PASSWORD 'pw' WITH ALL PRIVILEGES",
        "DROP USER bob",
        "SET PASSWORD FOR bob = 'pw2'",
        "GRANT READ ON db TO bob",
        "GRANT ALL PRIVILEGES TO bob",
        "REVOKE WRITE ON db FROM bob",
        "REVOKE ALL PRIVILEGES FROM bob",
        "CREATE CONTINUOUS QUERY cq ON db RESAMPLE EVERY 1m FOR 1h BEGIN SELECT mean(v) INTO m2 FROM m GROUP BY time(5m) END",
        "DROP CONTINUOUS QUERY cq ON db",
        "CREATE SUBSCRIPTION s ON db.rp DESTINATIONS ALL 'udp://h:1', 'udp://h:2'",
        "DROP SUBSCRIPTION s ON db.rp",
        "KILL QUERY 12 ON h1",
        "EXPLAIN SELECT * FROM m",
        "EXPLAIN ANALYZE SELECT count(v) FROM m GROUP BY time(1m)",
    ],
)
def test_statement_round_trip(text):
    assert rt(text) == text


def test_show_measurements_keeps_the_operator():
    s = parse_statement("SHOW MEASUREMENTS WITH MEASUREMENT = /my_db/")
    assert s.source_op is Op.EQ and s.source.regex == RegexLiteral("my_db")
    s = parse_statement("SHOW MEASUREMENTS WITH MEASUREMENT =~ my_db")
    assert s.source_op is Op.EQREGEX and s.source == ast.Measurement("my_db")


def test_statement_errors():
    assert err("show") == (
        "found EOF, expected CONTINUOUS, DATABASES, DIAGNOSTICS, FIELD, GRANTS, MEASUREMENT, "
        "MEASUREMENTS, QUERIES, RETENTION, SERIES, SHARD, SHARDS, STATS, SUBSCRIPTIONS, TAG, USERS "
        "at line 1, char 6"
    )
    assert err("show tags").startswith("found tags, expected CONTINUOUS, DATABASES")
    assert err("show tag") == "found EOF, expected KEY, KEYS, VALUES at line 1, char 10"
    assert err("show measurements where") == "found EOF, expected identifier, string, number, bool at line 1, char 25"
    assert err("CREATE DATABASE db0 WITH NAME") == "found EOF, expected identifier at line 1, char 31"
    assert err("CREATE DATABASE db0 WITH REPLICATION xyz") == "found xyz, expected integer at line 1, char 38"
    assert err("CREATE DATABASE db0 WITH DURATION xyz") == "found xyz, expected duration at line 1, char 35"
    assert err("DELETE FROM db.rp.m") == "retention policy not supported at line 1, char 1"
    assert err("DELETE FROM db..m") == "database not supported at line 1, char 1"
    assert err("DROP SERIES") == "found EOF, expected FROM, WHERE at line 1, char 13"
    assert err("CREATE CONTINUOUS QUERY cq ON db BEGIN SELECT mean(v) INTO x FROM m END") == (
        "found m, expected GROUP BY time(...) at line 1, char 67"
    )
    assert err("blah") == (
        "found blah, expected SELECT, DELETE, SHOW, CREATE, DROP, EXPLAIN, GRANT, REVOKE, ALTER, SET, "
        "KILL at line 1, char 1"
    )


# ---------------------------------------------------------------------------------------------
# bound parameters


def test_bound_parameters():
    s = parse_statement("SELECT * FROM cpu WHERE host = $host AND usage > $usage", {"host": "b", "usage": 0.6})
    assert str(s) == "SELECT * FROM cpu WHERE host = 'b' AND usage > 0.6"
    assert str(parse_statement("SELECT * FROM m WHERE a = $x", {"x": 2})) == "SELECT * FROM m WHERE a = 2"
    assert str(parse_statement("SELECT * FROM m WHERE a = $x", {"x": True})) == "SELECT * FROM m WHERE a = true"
    assert str(parse_statement('SELECT * FROM m WHERE a > $"two words"', {"two words": 1})) == "SELECT * FROM m WHERE a > 1"
    typed = {
        "m": {"identifier": "cpu"},
        "f": {"identifier": "usage"},
        "t": {"identifier": "integer"},
        "re": {"regex": "^s.*"},
        "i": {"duration": "10s"},
        "n": {"float": 2},
        "l": {"integer": 10},
    }
    s = parse_statement("SELECT $f::$t FROM $m WHERE host =~ $re AND x > $n GROUP BY time($i) LIMIT $l", typed)
    assert str(s) == "SELECT usage::integer FROM cpu WHERE host =~ /^s.*/ AND x > 2.0 GROUP BY time(10s) LIMIT 10"
    assert str(parse_statement("CREATE DATABASE $db", {"db": {"identifier": "mydb"}})) == "CREATE DATABASE mydb"


def test_missing_and_bad_parameters():
    with pytest.raises(ParseError) as e:
        parse_query("SELECT * FROM cpu WHERE host = $host", {"not_host": "a"})
    assert str(e.value) == "missing parameter: host" and e.value.missing_parameter == "host"
    assert e.value.pos is None
    assert err("SELECT * FROM cpu WHERE host = $host") == "missing parameter: host"
    assert err('SELECT * FROM cpu WHERE "tagkey" = $$') == "empty bound parameter"
    assert err("SELECT * FROM $m") == "found $m, expected identifier at line 1, char 15"
    assert err("$SHOW$DATABASES").startswith("found $SHOW, expected SELECT")
    assert err("SELECT * FROM m WHERE a = $x", {"x": None}) == "unable to bind parameter with type <nil>"
    assert err("SELECT * FROM m WHERE a = $x", {"x": {"a": 1, "b": 2}}) == (
        "bound object parameter value must have exactly one entry"
    )
    assert err("SELECT * FROM m WHERE a = $x", {"x": {"integer": 1.5}}) == "integer literal must be an integer value"


# ---------------------------------------------------------------------------------------------
# AST helpers


def test_field_names_and_column_names():
    s = parse_statement("SELECT mean(a), a + b * 2, (c), a AS x, mean(b), top(v, host, 2), 1 FROM m")
    assert [f.name for f in s.fields] == ["mean", "a_b", "c", "x", "mean", "top", ""]
    assert s.column_names() == ["time", "mean", "a_b", "c", "x", "mean_1", "top", "host", ""]
    s = parse_statement("SELECT f64 AS f64_1, f64, f64 FROM m")
    assert s.column_names() == ["time", "f64_1", "f64", "f64_2"]


def test_group_by_time_errors_and_offsets():
    s = parse_statement("SELECT mean(v) FROM m GROUP BY time(10s, 35s)")
    assert s.group_by_offset() == 5 * S
    s = parse_statement("SELECT mean(v) FROM m GROUP BY time(1h, now())")
    assert s.group_by_offset(now_ns=1_700_000_000 * S + 123) == (1_700_000_000 * S + 123) % H
    with pytest.raises(ValueError, match="time dimension must have duration argument"):
        parse_statement("SELECT mean(v) FROM m GROUP BY time(host)").group_by_interval()
    assert parse_statement("SELECT v FROM m GROUP BY host").group_by_interval() == 0


def test_distinct_forms():
    assert parse_expr("DISTINCT x") == ast.Distinct("x")
    assert parse_expr("DISTINCT(x)") == Call("distinct", (v("x"),))
    assert ast.Distinct("x").to_call() == Call("distinct", (v("x"),))
    assert err("SELECT distinct FROM myseries") == "found FROM, expected identifier at line 1, char 17"
    assert err("SELECT count(distinct) FROM myseries") == "found ), expected (, identifier at line 1, char 22"


def test_walk():
    s = parse_statement("SELECT mean(a) FROM (SELECT b FROM m WHERE c = 1) WHERE d > 2 GROUP BY e")
    names = {n.name for n in ast.walk(s) if isinstance(n, VarRef)}
    assert names == {"a", "b", "c", "d", "e"}


def test_walk_is_depth_first_left_to_right_from_the_node_itself():
    s = parse_statement("SELECT a + b AS x, max(c) INTO t FROM m, (SELECT d FROM n) WHERE e = 1 "
                        "GROUP BY time(1m), f ORDER BY time DESC")
    assert [str(n) for n in ast.walk(s) if isinstance(n, (VarRef, Call))] == [
        "a", "b", "max(c)", "c", "d", "e", "time(1m)", "f"]
    assert next(iter(ast.walk(s))) is s
    assert ast.walk(s) is ast.walk(s)   # a statement's walk is kept with it
    assert list(ast.walk(s)) == list(ast.walk(dataclasses.replace(s)))
    show = parse_statement("SHOW TAG VALUES FROM m WITH KEY = k WHERE g = 'x'")
    assert [str(n) for n in ast.walk(show)][1:] == ["m", "g = 'x'", "g", "'x'", "'k'"]   # (1.x's clause order)


def test_replaced_is_dataclasses_replace_without_the_memos():
    s = parse_statement("SELECT a FROM m WHERE b = 1 LIMIT 3")
    ast.text(s)   # kept with s
    r = ast.replaced(s, limit=4, condition=None)
    assert r == dataclasses.replace(s, limit=4, condition=None)
    assert str(r) == "SELECT a FROM m LIMIT 4"
    assert "_text" in vars(s) and "_text" not in vars(r)
    with pytest.raises(TypeError):
        ast.replaced(s, limt=4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.limit = 5  # type: ignore[misc]


def test_replaced_makes_every_node_class_as_its_constructor_does():
    import random

    for cls in [c for c in vars(ast).values() if isinstance(c, type) and dataclasses.is_dataclass(c)]:
        names = [f.name for f in dataclasses.fields(cls)]
        node = object.__new__(cls)
        for name in names:
            object.__setattr__(node, name, random.random())
        changed = {names[0]: "x"} if names else {}
        r = ast.replaced(node, **changed)
        assert type(r) is cls and r == cls(**{**{n: getattr(node, n) for n in names}, **changed})


def test_nodes_are_frozen_and_hashable():
    s = parse_statement("SELECT a FROM m WHERE b = 1")
    assert hash(s) == hash(parse_statement("SELECT a FROM m WHERE b = 1"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.limit = 3  # type: ignore[misc]
    assert str(dataclasses.replace(s, limit=3)) == "SELECT a FROM m WHERE b = 1 LIMIT 3"


# ---------------------------------------------------------------------------------------------
# conditions and time ranges

NOW = 1_700_000_000 * S


def cond(where: str):
    return parse_statement(f"SELECT * FROM m WHERE {where}").condition


@pytest.mark.parametrize(
    "where, lo, hi",
    [
        ("time > '2000-01-01T00:00:00Z'", 946684800 * S + 1, None),
        ("time >= '2010-07-01 18:47:00' AND time <= '2010-07-01 18:47:03'", 1278010020 * S, 1278010023 * S),
        ("time >= '2000-01-01'", 946684800 * S, None),
        ("time >= 0000000060000000000 AND time < 0000000210000000001", 60 * S, 210 * S),
        ("time > 1600003500s", 1600003500 * S + 1, None),
        ("time > now() - 1h", NOW - H + 1, None),
        ("now() - 1h < time", NOW - H + 1, None),
        ("time = '2000-01-01T00:00:00.000000001Z'", 946684800 * S + 1, 946684800 * S + 1),
        ("time <= 9223372036854775806", None, 9223372036854775806),
        ("time > 0 AND time < 10m AND host = 'a'", 1, 600 * S - 1),
        ("time >= '2000-04-02T00:00:00-08:00'", 954662400 * S, None),
        ("time < now()", None, NOW - 1),
        ("host = 'a'", None, None),
    ],
)
def test_time_range(where, lo, hi):
    assert time_range(cond(where), NOW) == (lo, hi)


def test_condition_expr_splits_and_folds():
    rest, tr = condition_expr(cond("f64 > 10 + 10 AND time < now() AND (host = 'a' OR time > 5)"), NOW)
    assert str(rest) == "f64 > 20 AND (host = 'a')"
    assert (tr.min, tr.max) == (6, NOW - 1)
    assert condition_expr(None) == (None, condition_expr(cond("true"))[1])
    with pytest.raises(ConditionError, match="invalid time comparison operator: !="):
        condition_expr(cond("time != 5"))
    with pytest.raises(ConditionError, match=r"invalid operation: time and \*influxql.StringLiteral are not compatible"):
        condition_expr(cond("time = 'abc'"))
    with pytest.raises(ConditionError, match="invalid timestamp string"):
        condition_expr(cond("time > '2000-01-01T00:00:00'"))


def test_time_strings_and_zones():
    assert string_to_time("2000-01-01 00:00:00.5") == 946684800 * S + S // 2
    assert string_to_time("2000-01-01T01:00:00+01:00") == 946684800 * S
    assert string_to_time("2000-06-01", "America/Los_Angeles") == (959842800) * S
    assert time_range(cond("time >= '2000-06-01 00:00:00'"), NOW, "America/Los_Angeles") == (959842800 * S, None)
    with pytest.raises(ConditionError):
        string_to_time("2000-13-01")


def test_reduce_and_splits():
    assert reduce(parse_expr("now() - 1h"), NOW) == ast.TimeLiteral(NOW - H)
    assert reduce(parse_expr("1 + 2 * 3")) == IntegerLiteral(7)
    assert reduce(parse_expr("'2000-01-01T00:00:00Z' + 1d")) == ast.TimeLiteral(946684800 * S + 24 * H)
    assert reduce(parse_expr("7 / 2")) == NumberLiteral(3.5)
    assert reduce(parse_expr("a AND true")) == v("a")
    assert reduce(parse_expr("(a + 1)")) == BinaryExpr(Op.ADD, v("a"), IntegerLiteral(1))
    assert str(ast.TimeLiteral(946684800 * S + 1)) == "'2000-01-01T00:00:00.000000001Z'"
    t, rest = split_condition(cond("(a = 1 AND time > 5) AND b = 2 AND (time < 10 OR c = 1)"))
    assert str(t) == "time > 5 AND (time < 10 OR c = 1)"
    assert str(rest) == "a = 1 AND b = 2"
    assert has_time_expr(cond("a = 1 AND (time > 0)")) and not has_time_expr(cond("a = 1"))


# ---------------------------------------------------------------------------------------------
# scanner


def test_scanner_tokens():
    sc = Scanner("SELECT \"a b\" 'c' 1.5 2 3h /* x */ =~ != <> :: $p .5 µ")
    toks = []
    while True:
        t = sc.scan()
        if t.tok is Tok.EOF:
            break
        if t.tok is not Tok.WS:
            toks.append((t.tok, t.lit))
    assert toks == [
        (Tok.SELECT, ""), (Tok.IDENT, "a b"), (Tok.STRING, "c"), (Tok.NUMBER, "1.5"), (Tok.INTEGER, "2"),
        (Tok.DURATIONVAL, "3h"), (Tok.COMMENT, ""), (Tok.EQREGEX, ""), (Tok.NEQ, ""), (Tok.NEQ, ""),
        (Tok.DOUBLECOLON, ""), (Tok.BOUNDPARAM, "$p"), (Tok.NUMBER, ".5"), (Tok.ILLEGAL, "µ"),
    ]  # fmt: skip


# ---------------------------------------------------------------------------------------------
# properties

_names = st.sampled_from(["a", "b", "host", "time", "select", "my field", "x.y", 'q"t', "ünï", "_1"])
_leaf = st.one_of(
    _names.map(VarRef),
    st.integers(-(1 << 63), (1 << 63) - 1).map(IntegerLiteral),
    st.integers(1 << 63, (1 << 64) - 1).map(UnsignedLiteral),
    st.floats(allow_nan=False, allow_infinity=False).map(NumberLiteral),
    st.text(alphabet=st.characters(blacklist_characters="\r\x00", blacklist_categories=("Cs",)), max_size=8).map(StringLiteral),
    st.booleans().map(BooleanLiteral),
    st.integers(-(1 << 62), 1 << 62).map(DurationLiteral),
    st.builds(Call, st.sampled_from(["mean", "now", "count", "distinct", "top"]), st.just(())),
)
_arith = [Op.ADD, Op.SUB, Op.MUL, Op.DIV, Op.MOD, Op.BITWISE_AND, Op.BITWISE_OR, Op.BITWISE_XOR]
_cmp = [Op.EQ, Op.NEQ, Op.LT, Op.LTE, Op.GT, Op.GTE, Op.AND, Op.OR]


def _extend(children):
    return st.one_of(
        st.builds(BinaryExpr, st.sampled_from(_arith + _cmp), children, children),
        st.builds(ParenExpr, children),
        st.builds(lambda n, args: Call(n, tuple(args)), st.sampled_from(["mean", "f_2"]), st.lists(children, max_size=3)),
        st.builds(lambda c: BinaryExpr(Op.MUL, IntegerLiteral(-1), c), children.filter(lambda c: isinstance(c, (VarRef, ParenExpr)))),
        st.builds(lambda l, p: BinaryExpr(Op.EQREGEX, l, RegexLiteral(p)), children, st.sampled_from(["a.*", "x/y", "^$", "\\d"])),
    )


_exprs = st.recursive(_leaf, _extend, max_leaves=12)


def _strip_parens(e):
    if isinstance(e, ParenExpr):
        return _strip_parens(e.expr)
    if isinstance(e, BinaryExpr):
        return BinaryExpr(e.op, _strip_parens(e.lhs), _strip_parens(e.rhs))
    if isinstance(e, Call):
        return Call(e.name, tuple(_strip_parens(a) for a in e.args))
    return e


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_exprs)
def test_printed_expressions_parse_back(e):
    text = str(e)
    back = parse_expr(text)
    # the printer adds parentheses a hand-built tree needs; otherwise the tree comes back as is
    assert _strip_parens(back) == _strip_parens(e), text
    assert str(parse_expr(str(back))) == str(back)


_ws = st.sampled_from([" ", "  ", "\n", " /* c */ ", "\t"])


@st.composite
def _expr_text(draw, depth=0):
    """Random expression text as a user might write it (spacing, case, parentheses)."""
    kind = draw(st.integers(0, 6 if depth < 3 else 2))
    if kind == 0:
        return draw(st.sampled_from(["a", "B", '"x y"', "host::tag", "v::float", "cpu.usage"]))
    if kind == 1:
        return draw(st.sampled_from(["1", "-2", "1.5", ".5", "10s", "-1h30m", "'s'", "TRUE", "false", "now()"]))
    if kind == 2:
        return draw(st.sampled_from(["-x", "- y", "+z"]))
    if kind in (3, 4):
        op = draw(st.sampled_from(["+", "-", "*", "/", "%", "&", "|", "^", "=", "!=", "<>", "<", "<=", ">", ">=", "AND", "or"]))
        return draw(_expr_text(depth + 1)) + draw(_ws) + op + draw(_ws) + draw(_expr_text(depth + 1))
    if kind == 5:
        return "(" + draw(_expr_text(depth + 1)) + ")"
    args = draw(st.lists(_expr_text(depth + 1), max_size=3))
    return draw(st.sampled_from(["mean", "MAX", "f"])) + "(" + ", ".join(args) + ")"


@settings(max_examples=300, deadline=None)
@given(_expr_text())
def test_written_expressions_round_trip(text):
    e = parse_expr(text)
    out = str(e)
    assert parse_expr(out) == e, (text, out)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["SELECT", "FROM", "WHERE", "GROUP BY", "time(1m)", "(", ")", ",", ";", "*", "::", "'a'", '"b"',
             "1", "1.5", "1h", "-", "/re/", "=~", "=", "AND", "fill(0)", "LIMIT", "SHOW", "TAG", "VALUES",
             "WITH", "KEY", "IN", "$p", "cpu", ".", "..", "DISTINCT", "now()", "INTO", ":MEASUREMENT", "--",
             "/*", "\n", "\\", "µ", "!"]
        ),
        max_size=20,
    ).map(" ".join)
    | st.text(max_size=30)
)
def test_arbitrary_text_parses_or_raises_parse_error(text):
    try:
        q = parse_query(text, {"p": 1})
    except ParseError:
        return
    assert parse_query(str(q), {"p": 1}) == q


def test_long_or_chains_do_not_recurse():
    terms = [f"host = 'h{i}'" for i in range(3000)]
    text = "SELECT * FROM m WHERE time > 5 AND (" + " OR ".join(terms) + ")"
    s = parse_statement(text)
    assert str(s) == text
    rest, tr = condition_expr(s.condition)
    assert tr.min == 6 and str(rest) == " OR ".join(terms)
    t, other = split_condition(s.condition)
    assert str(t) == "time > 5" and has_time_expr(s.condition)


def test_into_targets():
    for text in ['SELECT * INTO "" FROM m', "SELECT * INTO rp.:MEASUREMENT FROM m", "SELECT * INTO db..:MEASUREMENT FROM m"]:
        assert rt(text) == text
    assert parse_statement("SELECT * INTO rp.:MEASUREMENT FROM m").target.measurement.name is None
    assert parse_statement('SELECT * INTO "" FROM m').target.measurement.name == ""
