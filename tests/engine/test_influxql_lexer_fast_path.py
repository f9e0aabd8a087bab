"""The lexer's whole-token matches (``Scanner._simple``: whitespace, identifiers and keywords,
plain single-quoted strings, numbers and durations) give exactly what its character by character
scanner gives: the same tokens, positions (1.x's, quirks included) and the same place to go on
from, since the parser also reads characters and regex literals from there."""

from __future__ import annotations

import random

import pytest

from jupyter_influx3.engine.influxql import lexer
from jupyter_influx3.engine.influxql.parser import ParseError, parse_query

EDGES = [
    "SELECT max(usage_user) FROM cpu WHERE hostname = 'host_5' AND time >= 1700003600s GROUP BY time(1m)",
    "abc", "abc ", " abc", "abc\t\n", "   ", "", "1", "1.", "1.5", "1.5s", "10s", "1h30m", "5µs", "1..2", "3.h",
    ".5", "x\"y\"", "'ab'", "'a\\'b'", "'a\nb'", "'unterminated", "SELECT\r\nx\rFROM y", "a\nb\n", "\n",
    "select \"quoted ident\" from \"db\".\"rp\".m", "_a1 $p =~ /re/ :: -- c\nx /* block */ y", "é µ 0x1 1e5",
    "SELECT * FROM cpu WHERE a = 'x'\n  AND b =~ /y/\nGROUP BY time(10s) fill(previous) LIMIT 5 OFFSET 1",
]
ALPHABET = list("aZ_9 0.5.'\"\\\n\tsh(),=<>!~/*-$:;") + [
    "1.", "1.5", "10s", "5µs", "1h30m", ".5", "'ab'", "'a\\'b'", "SELECT ", " FROM ", "é", "µ", "\r\n", "\r"]


def _stream(text: str, regex_every: int) -> list:
    sc = lexer.Scanner(text)
    out = []
    for i in range(300):
        t = sc.scan_regex() if regex_every and i % regex_every == regex_every - 1 else sc.scan()
        out.append((t.tok, tuple(t.pos), t.lit, sc.r._k))
        if t.tok is lexer.Tok.EOF and i > 2:
            break
    return out


def _cases() -> list[str]:
    rnd = random.Random(20261205)
    return EDGES + ["".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(1, 30))) for _ in range(3000)]


@pytest.mark.parametrize("regex_every", [0, 3])
def test_whole_token_matches_scan_as_the_character_scanner_does(monkeypatch, regex_every):
    fast = [_stream(t, regex_every) for t in _cases()]
    monkeypatch.setattr(lexer.Scanner, "_simple", lambda self, m: None)   # every token by characters
    slow = [_stream(t, regex_every) for t in _cases()]
    assert [t for t, a, b in zip(_cases(), fast, slow) if a != b] == []
    assert sum(len(s) for s in fast) > 3000 * 3   # (the cases did make tokens)


def _outcome(text: str):
    try:
        return repr(parse_query(text))
    except ParseError as e:
        return str(e)


def test_whole_token_matches_leave_parses_and_error_positions_as_they_were(monkeypatch):
    cases = _cases()
    fast = [_outcome(t) for t in cases]
    monkeypatch.setattr(lexer.Scanner, "_simple", lambda self, m: None)
    assert [t for t, a in zip(cases, fast) if a != _outcome(t)] == []
    assert any(" at line " in o for o in fast) and any(o.startswith("Query(") for o in fast)
