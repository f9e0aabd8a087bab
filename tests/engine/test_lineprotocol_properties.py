"""Property tests: generated line protocol round-trips, and both parser paths agree.

Bodies are built from generated points (escaped as InfluxDB 3 expects) mixed with comments,
blank lines, indented lines and known-bad lines; the expected rows and error line numbers are
computed independently of the parser.
"""

from __future__ import annotations

import math
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_lineprotocol_conformance import canonical, points

from jupyter_influx3.engine import lineprotocol as lp
from jupyter_influx3.engine.lineprotocol import exact
from jupyter_influx3.engine.lineprotocol.errors import _LPError

I64 = (-(2**63), 2**63 - 1)
DEFAULT_NS = 1_700_000_000_987_654_321
BOOLS = ["t", "T", "true", "True", "TRUE", "f", "F", "false", "False", "FALSE"]
MULT = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1, "m": 60 * 10**9, "h": 3600 * 10**9}
BAD_LINES = [  # one error each, no quotes, no newline
    "m", "m f=", "m f=1 2 3", ",x f=1", "m,t f=1", "m f=1.5i", "m f=1,f=2", "m,t=a,t=b f=1",
    "m f=-1u", "m f=1 ", "m f=t x", "m\tf=1", "m f=1 99999999999999999999",
    "m f=99999999999999999999i", "m f=1,", "m f=.5", "m f=1e999", "m,t= f=1", "m  ", "m f=1\r",
]  # fmt: skip
# LP_PROPERTY_EXAMPLES=5000 for a long soak run
PROPS = settings(
    max_examples=int(os.environ.get("LP_PROPERTY_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def expected_time(ts, precision):
    """§1.4, written independently of the parser: ns, or None when out of range."""
    if ts is None:
        if precision == "auto":
            return DEFAULT_NS
        m = MULT[precision]
        return DEFAULT_NS // m * m
    if precision == "auto":
        if ts == I64[0]:
            return None  # InfluxDB 3's i64::abs wraps: guessed as seconds, then overflows
        v = abs(ts) // 10**9
        m = 10**9 if v < 5 else 10**6 if v < 5_000 else 10**3 if v < 5_000_000 else 1
    else:
        m = MULT[precision]
    r = ts * m
    return r if I64[0] <= r <= I64[1] else None


def esc(s: str, chars: str) -> str:
    out = s.replace("\\", "\\\\")
    for c in chars:
        out = out.replace(c, "\\" + c)
    return out


# ---- strategies ---------------------------------------------------------------------------------


def name_text(alphabet):
    return st.text(alphabet, min_size=1, max_size=6).filter(
        lambda s: not s.endswith("\\") and not s.startswith("#")
    )


def field_value(allow_strings: bool, string_chars=None):
    options = [
        st.integers(*I64).map(lambda v: ("int", v, f"{v}i")),
        st.integers(0, 2**64 - 1).map(lambda v: ("uint", v, f"{v}u")),
        st.floats(allow_nan=False, allow_infinity=False).map(lambda v: ("float", v, repr(v))),
        st.integers(-(10**20), 10**20).map(lambda v: ("float", float(str(v)), str(v))),
        st.sampled_from(BOOLS).map(lambda b: ("bool", b[0] in "tT", b)),
        st.sampled_from([("int", 7, "0007i"), ("float", 1e-300, "1e-300"), ("float", 12.5, "1.25e1")]),
    ]
    if string_chars is not None:  # unescaped strings (no `"` or `\\` in string_chars)
        options.append(st.text(string_chars, max_size=12).map(lambda s: ("string", s, f'"{s}"')))
    elif allow_strings:
        options.append(st.text(max_size=12).map(lambda s: ("string", s, '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"')))
    return st.one_of(options)


@st.composite
def point_line(draw, names, tag_values, allow_strings, escape=True, string_chars=None):
    meas = draw(names)
    tags = draw(st.dictionaries(names, tag_values, max_size=3))
    fields = draw(st.dictionaries(names, field_value(allow_strings, string_chars), min_size=1, max_size=4))
    ts = draw(st.one_of(st.none(), st.integers(*I64), st.integers(-(10**13), 10**13), st.integers(0, 2 * 10**18)))
    e = esc if escape else (lambda s, _chars: s)  # (plain names need no escaping)
    line = e(meas, ", ")
    line += "".join(f",{e(k, ',= ')}={e(v, ',= ')}" for k, v in tags.items())
    line += " " + ",".join(f"{e(k, ',= ')}={text}" for k, (_t, _v, text) in fields.items())
    if ts is not None:
        line += f" {ts}"
    if draw(st.booleans()) and draw(st.booleans()):
        # (tabs only: a leading *space* starts InfluxDB 3's "field section" for quote tracking,
        # see test_leading_space_makes_a_quote_in_a_field_key_open_a_string)
        line = draw(st.sampled_from(["\t", "\t\t"])) + line
    point = {"measurement": meas, "tags": tags, "fields": {k: (t, v) for k, (t, v, _x) in fields.items()}}
    return ("point", line, point, ts)


def body_entries(names, tag_values, allow_strings, comment_text, escape=True, string_chars=None):
    entry = st.one_of(
        point_line(names, tag_values, allow_strings, escape, string_chars),
        point_line(names, tag_values, allow_strings, escape, string_chars),
        point_line(names, tag_values, allow_strings, escape, string_chars),
        st.sampled_from(BAD_LINES).map(lambda s: ("bad", s, None, None)),
        comment_text.map(lambda s: ("skip", "#" + s, None, None)),
        st.sampled_from(["", "   ", "\t"]).map(lambda s: ("skip", s, None, None)),
    )
    return st.lists(entry, max_size=25)


def check_body(entries, precision, fast_must_accept: bool):
    body = "\n".join(e[1] for e in entries) + "\n"
    res = lp.parse_exact(body, precision, DEFAULT_NS)
    fast = lp.parse_fast(body, precision, DEFAULT_NS)
    if fast_must_accept:
        assert fast is not None
    if fast is not None:
        assert canonical(fast) == canonical(res)
    exp_points, exp_error_lines, texts = [], [], []
    n = 0
    for kind, line, point, ts in entries:
        if kind == "skip":
            continue
        n += 1
        texts.append(line)
        if kind == "bad":
            exp_error_lines.append(n)
            continue
        t = expected_time(ts, precision)
        if t is None:
            exp_error_lines.append(n)
            continue
        exp_points.append((n, point, t))
    assert res.num_lines == n
    assert [res.line_text(i) for i in range(1, n + 1)] == texts
    assert [e.line_number for e in res.errors] == exp_error_lines, [(e.line_number, e.error_message) for e in res.errors]
    assert [e.original_line for e in res.errors] == [texts[i - 1] for i in exp_error_lines]
    got = points(res)
    assert len(got) == len(exp_points)
    for g, (line_no, p, t) in zip(got, exp_points):
        assert g["line"] == line_no
        assert (g["measurement"], g["tags"], g["time"]) == (p["measurement"], p["tags"], t)
        assert set(g["fields"]) == set(p["fields"])
        for k, (typ, val) in p["fields"].items():
            gf = g["fields"][k]
            assert gf["type"] == typ
            if typ == "float":
                assert gf["value"] == val and math.copysign(1, gf["value"]) == math.copysign(1, val)
            else:
                assert gf["value"] == val


PRECISIONS = st.sampled_from(["auto", "s", "ms", "us", "ns", "m", "h"])
ANY_NAME_CHARS = st.characters(exclude_categories=("Cs", "Cc"))  # no surrogates, no controls
FULL_NAMES = st.one_of(st.sampled_from(["cpu", "host", "a b", "x,y", "k=v", 'q"t', "b\\s", "é☃"]), name_text(ANY_NAME_CHARS))
FULL_TAG_VALUES = st.one_of(st.sampled_from(["a", "b", "=", "x y"]), name_text(ANY_NAME_CHARS))


@PROPS
@given(entries=body_entries(FULL_NAMES, FULL_TAG_VALUES, True, st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=8).filter(lambda s: '"' not in s)), precision=PRECISIONS)
def test_generated_line_protocol_with_escapes_and_strings_round_trips(entries, precision):
    check_body(entries, precision, fast_must_accept=False)


@PROPS
@given(
    entries=body_entries(
        FULL_NAMES.filter(lambda s: '"' not in s),
        FULL_TAG_VALUES.filter(lambda s: '"' not in s),
        False,
        st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=8).filter(lambda s: not s.endswith("\\") and '"' not in s),
    ),
    precision=PRECISIONS,
)
def test_escaped_names_without_strings_take_the_fast_path_and_match_the_exact_parser(entries, precision):
    """Lines with backslashes go to the exact line parser inside the vectorised path (no
    quotes at all, no string fields, and no line ends with a backslash,
    so it must accept the body)."""
    check_body(entries, precision, fast_must_accept=True)


PLAIN = "abcxyz_-.:/é0"
PLAIN_NAMES = st.one_of(st.sampled_from(["cpu", "mem", "host", "usage", "idle", "a", "b"]), name_text(st.sampled_from(PLAIN)))
PLAIN_TAG_VALUES = st.one_of(st.sampled_from(["h1", "h2", "x=y", "#"]), name_text(st.sampled_from(PLAIN + "=#")))


@PROPS
@given(entries=body_entries(PLAIN_NAMES, PLAIN_TAG_VALUES, False, st.text(PLAIN, max_size=8), escape=False), precision=PRECISIONS)
def test_escape_free_line_protocol_takes_the_fast_path_and_matches_the_exact_parser(entries, precision):
    check_body(entries, precision, fast_must_accept=True)


# string field contents the vectorised path must take: separators, spaces, tabs, `#`, non-ASCII
STRING_CHARS = st.sampled_from(list(PLAIN + " ,=\t#") + ["\x00", "\r"])


@PROPS
@given(entries=body_entries(PLAIN_NAMES, PLAIN_TAG_VALUES, False, st.text(PLAIN, max_size=8), escape=False, string_chars=STRING_CHARS), precision=PRECISIONS)
def test_string_fields_take_the_fast_path_and_match_the_exact_parser(entries, precision):
    check_body(entries, precision, fast_must_accept=True)


@PROPS
@given(
    entries=body_entries(PLAIN_NAMES, PLAIN_TAG_VALUES, False, st.text(PLAIN + '"= ', max_size=8), escape=False, string_chars=st.sampled_from(list(PLAIN + ' ,="\n'))),
    precision=PRECISIONS,
)
def test_string_fields_with_quotes_or_newlines_agree_between_paths(entries, precision):
    """Unescaped quotes and newlines inside strings (invalid or multi-line): whenever the
    vectorised path accepts such a body, its result equals the exact parser's."""
    body = "\n".join(e[1] for e in entries) + "\n"
    fast = lp.parse_fast(body, precision, DEFAULT_NS)
    if fast is not None:
        assert canonical(fast) == canonical(lp.parse_exact(body, precision, DEFAULT_NS))


@PROPS
@given(
    shapes=st.lists(
        st.tuples(st.sampled_from(["cpu", "mem", "disk"]), st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), min_size=1, max_size=4, unique=True)),
        min_size=1, max_size=6,
    ),
    rows=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3), st.sampled_from(['"x"', '""', '"a b,c=d"', '"é"', '"x"y"', '"', "1i", "t", "2.5"])), min_size=1, max_size=60),
)  # fmt: skip
def test_repeated_shapes_with_string_fields_agree_between_paths(shapes, rows):
    """Like the test below, with string values (some malformed) in the vectorised path's
    templates and signatures."""
    lines = []
    for shape_i, host, value in rows:
        meas, keys = shapes[shape_i % len(shapes)]
        fields = ",".join(f"{k}={value if j == 0 else chr(34) + str(j) + chr(34)}" for j, k in enumerate(keys))
        lines.append(f"{meas},host=h{host} {fields} {1_700_000_000_000_000_000 + len(lines)}")
    body = "\n".join(lines)
    fast = lp.parse_fast(body, "ns", DEFAULT_NS)
    if all(r[2] not in ('"x"y"', '"') for r in rows):
        assert fast is not None
    if fast is not None:
        assert canonical(fast) == canonical(lp.parse_exact(body, "ns", DEFAULT_NS))


@PROPS
@given(
    shapes=st.lists(
        st.tuples(st.sampled_from(["cpu", "mem", "disk"]), st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), min_size=1, max_size=4, unique=True)),
        min_size=1, max_size=6,
    ),
    rows=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3), st.sampled_from(["1i", "-2i", "3", "0.5", "7u", "t", "FALSE", "1x", ""])), min_size=1, max_size=60),
)  # fmt: skip
def test_repeated_shapes_and_broken_values_agree_between_paths(shapes, rows):
    """Many lines with a few shapes (the vectorised path's templates and signatures), some
    with values it must hand to the exact parser."""
    lines = []
    for shape_i, host, value in rows:
        meas, keys = shapes[shape_i % len(shapes)]
        fields = ",".join(f"{k}={value if j == 0 else str(j) + 'i'}" for j, k in enumerate(keys))
        lines.append(f"{meas},host=h{host} {fields} {1_700_000_000_000_000_000 + len(lines)}")
    body = "\n".join(lines)
    fast = lp.parse_fast(body, "ns", DEFAULT_NS)
    assert fast is not None
    assert canonical(fast) == canonical(lp.parse_exact(body, "ns", DEFAULT_NS))


@PROPS
@given(text=st.text(st.sampled_from(list('m,= \t\n"\\#xy01i.-ue') + ["\x00", "\r", "é"]), max_size=60), precision=PRECISIONS)
def test_arbitrary_text_never_crashes_and_both_paths_agree(text, precision):
    res = lp.parse_exact(text, precision, DEFAULT_NS)
    fast = lp.parse_fast(text, precision, DEFAULT_NS)
    if fast is not None:
        assert canonical(fast) == canonical(res)
    rows = sum(t.num_rows for t in res.tables)
    assert rows + len(res.errors) == res.num_lines
    lines = sorted([e.line_number for e in res.errors] + [int(x) for t in res.tables for x in t.line_numbers])
    assert lines == list(range(1, res.num_lines + 1))


LINE_CHARS = st.sampled_from(list('mft,= "#-.0129iuTeE\\x') + ["\t", "é"])


@PROPS
@given(line=st.one_of(st.text(LINE_CHARS, max_size=40), point_line(FULL_NAMES, FULL_TAG_VALUES, True).map(lambda e: e[1])))
def test_the_exact_parsers_shortcut_agrees_with_the_full_grammar(line):
    """parse_exact first tries a shortcut for plain lines; whatever it accepts must be exactly
    what the full grammar gives (and it must accept nothing the grammar rejects)."""
    r = exact._parse_line_simple(line)
    if r is None:
        return
    try:
        full = exact._parse_line(line)
    except _LPError as e:
        raise AssertionError(f"shortcut accepted a line the grammar rejects: {e}") from None
    assert repr(r) == repr(full)
