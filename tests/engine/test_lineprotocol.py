"""Behaviour of engine.lineprotocol: grammar, errors, line numbers, precision, result layout."""

from __future__ import annotations

import time

import numpy as np
import pyarrow as pa
import pytest

from jupyter_influx3.engine import lineprotocol as lp
from jupyter_influx3.engine.lineprotocol import halves

from test_lineprotocol_conformance import canonical, points, run_both

D = 1_700_000_000_123_456_789  # default time


def one(line, precision="ns", default_ns=D):
    """The single point of a one-line body (asserting it parsed)."""
    res = run_both(line, precision, default_ns)
    assert not res.errors, [(e.line_number, e.error_message) for e in res.errors]
    (p,) = points(res)
    return p


def error_of(line, precision="ns", default_ns=D) -> str:
    res = run_both(line, precision, default_ns)
    assert [e.line_number for e in res.errors] == [1], points(res)
    return res.errors[0].error_message


# ---- field values ---------------------------------------------------------------------------


def test_bare_integer_is_a_float():
    assert one("m f=44")["fields"]["f"] == {"type": "float", "value": 44.0}


def test_integer_and_unsigned_suffixes_give_exact_64_bit_values():
    p = one("m a=9223372036854775807i,b=-9223372036854775808i,c=18446744073709551615u,d=0007i")
    assert p["fields"] == {
        "a": {"type": "int", "value": 2**63 - 1},
        "b": {"type": "int", "value": -(2**63)},
        "c": {"type": "uint", "value": 2**64 - 1},
        "d": {"type": "int", "value": 7},
    }


def test_integer_overflow_is_an_error_naming_the_value():
    assert error_of("m a=9223372036854775808i") == "Unable to parse integer value `9223372036854775808`"
    assert error_of("m a=-9223372036854775809i") == "Unable to parse integer value `-9223372036854775809`"


def test_unsigned_overflow_is_an_error_naming_the_value():
    assert error_of("m a=18446744073709551616u") == "Unable to parse unsigned integer value `18446744073709551616`"


def test_negative_unsigned_is_trailing_content_error():
    assert error_of("m0 field=-1u 99") == "Could not parse entire line. Found trailing content: `u 99`"


@pytest.mark.parametrize("text", ["1.5", "-0.25", "1e5", "1E-3", "-1.5e+10", "1.234456e-0", "0", "-7"])
def test_float_forms_inside_influxdb3_grammar_parse_exactly(text):
    assert one(f"m f={text}")["fields"]["f"] == {"type": "float", "value": float(text)}


@pytest.mark.parametrize("text", [".5", "1.", "+1", "inf", "NaN", "1.5e", "1.e5", "-.5"])
def test_float_forms_outside_influxdb3_grammar_are_errors(text):
    error_of(f"m f={text}")


def test_float_out_of_double_range_is_rejected_instead_of_stored_as_infinity():
    big = "1" + "0" * 400
    assert error_of(f"m f={big}") == f"Unable to parse floating-point value `{big}`"
    assert one("m f=1e-400")["fields"]["f"]["value"] == 0.0


@pytest.mark.parametrize("text", ["t", "T", "true", "True", "TRUE", "f", "F", "false", "False", "FALSE"])
def test_all_ten_boolean_spellings(text):
    assert one(f"m b={text}")["fields"]["b"] == {"type": "bool", "value": text[0] in "tT"}


def test_partial_boolean_spelling_is_trailing_content_error():
    assert error_of("m b=tru") == "Could not parse entire line. Found trailing content: `ru`"


def test_string_escapes_are_only_quote_and_backslash():
    p = one(r'm s="a\"b\\c\d\n"')
    assert p["fields"]["s"] == {"type": "string", "value": 'a"b\\c\\d\\n'}


def test_string_may_contain_commas_spaces_equals_and_unicode():
    assert one('m s="a, b=c ☃"')["fields"]["s"]["value"] == "a, b=c ☃"


def test_string_of_64KB_is_accepted_and_one_byte_more_is_rejected():
    assert len(one('m s="' + "x" * 65536 + '"')["fields"]["s"]["value"]) == 65536
    assert error_of('m s="' + "x" * 65537 + '"') == "String is greater than 64KB"
    # the limit is in bytes, not characters
    assert error_of('m s="' + "é" * 32769 + '"') == "String is greater than 64KB"


def test_names_longer_than_64KB_are_rejected():
    assert error_of("m" * 65537 + " f=1") == "String is greater than 64KB"
    assert error_of("m,t=" + "v" * 65537 + " f=1") == "String is greater than 64KB"


def test_empty_field_value_means_no_fields():
    assert error_of("cpu,host=a val= 123") == "No fields were provided"


def test_missing_value_after_later_comma_is_trailing_content():
    assert error_of("testmeasure,foo=f bar=1i,baz=") == "Could not parse entire line. Found trailing content: `baz=`"
    assert error_of("m a=1,b=2,c=") == "Could not parse entire line. Found trailing content: `,c=`"


def test_trailing_comma_after_the_first_field_is_rejected():
    # InfluxDB 3 accepts `m f=1,` (a parser quirk); we treat the comma as trailing content.
    assert error_of("m f=1,") == "Could not parse entire line. Found trailing content: `,`"
    assert error_of("m f=1, 123") == "Could not parse entire line. Found trailing content: `, 123`"


def test_trailing_content_in_message_is_cut_to_ten_characters():
    assert error_of("m f=1 123 abcdefghijklmn") == "Could not parse entire line. Found trailing content: `abcdefghij...`"


# ---- names, escapes, separators ---------------------------------------------------------------


def test_escapes_in_measurement_tags_and_field_keys():
    p = one(r"my\ meas\,x,tag\ k\=\,=v\ a\,l\=ue f\ k\=\,=1i")
    assert p["measurement"] == "my meas,x"
    assert p["tags"] == {"tag k=,": "v a,l=ue"}
    assert list(p["fields"]) == ["f k=,"]


def test_unknown_escapes_are_kept_as_both_characters():
    p = one(r"m\x,t=a\b f\q=1")
    assert p["measurement"] == r"m\x"
    assert p["tags"] == {"t": r"a\b"}
    assert list(p["fields"]) == [r"f\q"]


def test_measurement_may_contain_equals_and_tag_values_may_contain_equals():
    p = one("tag1=1,k=a=b value=1 123")
    assert p["measurement"] == "tag1=1"
    assert p["tags"] == {"k": "a=b"}


def test_name_ending_with_backslash_is_an_error():
    msg = "Measurements, tag keys and values, and field keys may not end with a backslash"
    assert error_of("m\\") == msg
    assert error_of("cpu,host=two\\\\ words value=42") == msg


@pytest.mark.parametrize(
    "line,message",
    [
        ("measurement", "Expected at least one space character, got end of input"),
        (",", "Invalid measurement was provided"),
        ("J,#", "Tag set malformed: could not find equals sign in `#`"),
        ("J,", "Expected tag key, got end of input"),
        ("testmeasure, bar=1i", "Expected tag key, got ` bar=1i`"),
        ("testmeasure,foo= sed=1i", "Expected tag value, got ` sed=1i`"),
        ("metrics,bananas=,platanos=great value=1.000000 1", "Expected tag value, got `,platanos=...`"),
        ("m\tf=1", "Expected at least one space character, got `\tf=1`"),
        ("foo 1234", "No fields were provided"),
        ("m f=1 99999999999999999999", "Unable to parse timestamp value `99999999999999999999`"),
    ],
)
def test_influxdb3_error_messages(line, message):
    assert error_of(line) == message


def test_crlf_line_ending_is_trailing_content_error():
    res = run_both(b"cpu f=1 1\r\ncpu f=2 2\r\n")
    assert [(e.line_number, e.error_message) for e in res.errors] == [
        (1, "Could not parse entire line. Found trailing content: `\r`"),
        (2, "Could not parse entire line. Found trailing content: `\r`"),
    ]
    assert res.errors[0].original_line == "cpu f=1 1\r"


def test_whitespace_after_field_set_without_timestamp_is_an_error():
    assert error_of("m f=1 ") == "Could not parse entire line. Found trailing content: ` `"


def test_extra_spaces_between_sections_and_after_the_timestamp_are_allowed():
    p = one("  measurement  a=1i  123  ")
    assert (p["measurement"], p["time"]) == ("measurement", 123)


def test_control_characters_are_rejected_in_names_but_allowed_in_tag_and_string_values():
    assert error_of("x\x01y v=1") == "invalid line protocol - control character U+0001 in measurement"
    assert error_of("m,x\x00y=v v=1") == "invalid line protocol - control character U+0000 in tag key"
    assert error_of("m x\x1fy=1") == "invalid line protocol - control character U+001F in field key"
    assert error_of("weat\\\nher f=1") == "invalid line protocol - control character U+000A in measurement"
    p = one('m,k=x\x01y v="a\x00b"')
    assert p["tags"] == {"k": "x\x01y"} and p["fields"]["v"]["value"] == "a\x00b"


def test_duplicate_field_is_an_error_with_influxdb3_message():
    assert error_of("cpu,host=a usage=0.5,usage=0.6") == "invalid line protocol - multiple instances of 'usage' field found"


def test_duplicate_tag_is_an_error():
    assert error_of("cpu,b=2,c=3,b=1 value=1i") == "invalid line protocol - multiple instances of 'b' tag found"


def test_tag_and_field_with_the_same_name_is_not_a_parse_error():
    p = one("cpu,x=a x=1i")
    assert p["tags"] == {"x": "a"} and p["fields"] == {"x": {"type": "int", "value": 1}}


# ---- lines, comments, line numbers, original_line ---------------------------------------------


def test_blank_and_comment_lines_are_skipped_and_not_counted():
    body = "\n# comment\ncpu f=1 1\n\n   # indented comment\n\tcpu f= 2\ncpu f=3 3\n"
    res = run_both(body)
    assert res.num_lines == 3
    assert [(e.line_number, e.original_line) for e in res.errors] == [(2, "\tcpu f= 2")]
    assert [p["line"] for p in points(res)] == [1, 3]
    assert [res.line_text(i) for i in (1, 2, 3)] == ["cpu f=1 1", "\tcpu f= 2", "cpu f=3 3"]


def test_leading_whitespace_is_skipped():
    p = one(" \t m f=1 5")
    assert (p["measurement"], p["time"]) == ("m", 5)


def test_newline_inside_quoted_string_does_not_split_lines():
    res = run_both('m s="a\nb",n=1i 7\nm n=2i 8')
    assert res.num_lines == 2 and not res.errors
    assert [p["fields"].get("s", {}).get("value") for p in points(res)] == ["a\nb", None]
    assert res.line_text(1) == 'm s="a\nb",n=1i 7'


def test_quote_only_toggles_after_more_equals_than_commas_in_the_field_section():
    # the `"` in the measurement does not open a string: the newline still ends the line
    res = run_both('a"b f=1 1\nc f=2 2')
    assert res.num_lines == 2 and [p["measurement"] for p in points(res)] == ['a"b', "c"]


def test_leading_space_makes_a_quote_in_a_field_key_open_a_string():
    # InfluxDB 3's (Go-derived) line splitter starts counting `=` and `,` at the first space,
    # even a leading one: here the `"` in the field key opens a quoted section, so the newline
    # does not end the line and the next line becomes trailing content.
    res = run_both(' k=v q"t=0i\nm f=1 1\n')
    assert res.num_lines == 1
    assert res.errors[0].error_message == "Could not parse entire line. Found trailing content: `\nm f=1 1\n`"
    assert run_both('k=v q"t=0i\nm f=1 1\n').num_lines == 2  # not indented: two lines


def test_escaped_newline_does_not_split_lines():
    res = run_both("m,t=a\\\nb f=1 1\nm f=2 2")
    assert res.num_lines == 2 and not res.errors
    assert [p["tags"] for p in points(res)] == [{"t": "a\\\nb"}, {}]


def test_a_bad_line_does_not_stop_parsing():
    res = run_both("cpu,host=b val=2 155\ncpu,host=a val= 123\ncpu,host=b val=5 199")
    assert [(e.line_number, e.error_message, e.original_line) for e in res.errors] == [
        (2, "No fields were provided", "cpu,host=a val= 123")
    ]
    assert [p["time"] for p in points(res)] == [155, 199]


def test_original_line_is_the_full_raw_line():
    long_line = "cpu,host=" + "h" * 100 + " f= 1"
    res = run_both(long_line)
    assert res.errors[0].original_line == long_line


def test_line_text_out_of_range_raises_index_error():
    res = lp.parse("m f=1")
    with pytest.raises(IndexError):
        res.line_text(2)
    with pytest.raises(IndexError):
        res.line_text(0)


def test_empty_and_comment_only_bodies_have_no_lines():
    for body in ["", "\n\n", "# only\n#comments", " \t\n"]:
        res = run_both(body)
        assert (res.num_lines, res.tables, res.errors) == (0, [], [])


# ---- precision ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling,canonical_name",
    [
        ("auto", "auto"), ("s", "s"), ("second", "s"), ("ms", "ms"), ("millisecond", "ms"),
        ("us", "us"), ("u", "us"), ("microsecond", "us"), ("\u00b5", "us"),
        ("ns", "ns"), ("n", "ns"), ("nanosecond", "ns"), ("m", "m"), ("h", "h"),
    ],
)  # fmt: skip
def test_normalize_precision_accepts_every_spelling(spelling, canonical_name):
    assert lp.normalize_precision(spelling) == canonical_name


@pytest.mark.parametrize("bad", ["", "sec", "S", "minute", "nanoseconds", None])
def test_normalize_precision_rejects_unknown_values(bad):
    with pytest.raises(ValueError):
        lp.normalize_precision(bad)


@pytest.mark.parametrize(
    "ts,expected",
    [
        (1708473600, 1708473600_000000000),
        (1708473601000, 1708473601_000000000),
        (1708473602000000, 1708473602_000000000),
        (1708473603000000000, 1708473603_000000000),
        (4_999_999_999, 4_999_999_999_000_000_000),
        (5_000_000_000, 5_000_000_000_000_000),
        (-1708473601000, -1708473601_000000000),
        (0, 0),
    ],
)
def test_auto_precision_guesses_the_unit_from_the_magnitude(ts, expected):
    assert one(f"m f=1 {ts}", "auto")["time"] == expected


@pytest.mark.parametrize("precision,mult", [("s", 10**9), ("ms", 10**6), ("us", 10**3), ("ns", 1), ("m", 60 * 10**9), ("h", 3600 * 10**9)])
def test_explicit_precision_multiplies_the_timestamp(precision, mult):
    assert one("m f=1 -12345", precision)["time"] == -12345 * mult


@pytest.mark.parametrize(
    "precision,name", [("s", "Second"), ("ms", "Millisecond"), ("us", "Microsecond"), ("m", "Minute"), ("h", "Hour")]
)
def test_timestamp_out_of_range_for_precision_is_a_line_error(precision, name):
    big = 9223372036854775807
    assert error_of(f"m f=1 {big}", precision) == f"timestamp, {big}, out of range for precision: {name}"


def test_minimum_timestamp_with_auto_precision_overflows_like_influxdb3():
    ts = -(2**63)
    assert error_of(f"m f=1 {ts}", "auto") == f"timestamp, {ts}, out of range for precision: Auto"
    assert one(f"m f=1 {ts}", "ns")["time"] == ts


def test_missing_timestamp_uses_the_default_truncated_to_an_explicit_precision():
    assert one("m f=1", "auto", D)["time"] == D
    assert one("m f=1", "ns", D)["time"] == D
    assert one("m f=1", "us", D)["time"] == D // 1000 * 1000
    assert one("m f=1", "s", D)["time"] == D // 10**9 * 10**9


def test_missing_timestamp_defaults_to_now():
    for fn in (lp.parse_exact, lp.parse_fast):
        before = time.time_ns()
        t = fn("m f=1", "auto", None).tables[0].time[0].as_py()
        assert before <= t <= time.time_ns()


# ---- result layout ------------------------------------------------------------------------------


def test_tables_columns_and_rows_are_in_order_of_first_appearance():
    body = "b,t2=x f2=1i 1\na,t1=y f1=1 2\nb,t1=z,t2=w f1=2,f2=3i 3\nc f=1u 4\n"
    res = run_both(body)
    assert [t.measurement for t in res.tables] == ["b", "a", "c"]
    b = res.tables[0]
    assert b.line_numbers.tolist() == [1, 3]
    assert b.time.to_pylist() == [1, 3]
    assert list(b.tags) == ["t2", "t1"]
    assert list(b.fields) == [("f2", "int"), ("f1", "float")]
    assert b.tags["t1"].to_pylist() == [None, "z"]
    assert b.fields[("f1", "float")].to_pylist() == [None, 2.0]


def test_result_arrays_have_the_documented_types():
    res = run_both('m,t=a f=1,i=1i,u=1u,s="x",b=t 1')
    (t,) = res.tables
    assert isinstance(t.line_numbers, np.ndarray) and t.line_numbers.dtype == np.int64
    assert t.time.type == pa.int64() and t.time.null_count == 0
    assert t.tags["t"].type == lp.TAG_ARROW_TYPE == pa.dictionary(pa.int32(), pa.string())
    assert {k: a.type for k, a in t.fields.items()} == {
        ("f", "float"): pa.float64(),
        ("i", "int"): pa.int64(),
        ("u", "uint"): pa.uint64(),
        ("s", "string"): pa.string(),
        ("b", "bool"): pa.bool_(),
    }
    assert t.num_rows == 1


@pytest.mark.parametrize("n", [3, 400])  # (exact path, fast path)
def test_tag_columns_are_dictionaries_holding_each_value_of_their_rows_once(n):
    body = "".join(f"m,host=h{i % 3},dc={'x' if i % 2 else 'y'}{',rack=r' if i == 1 else ''} v={i} {i + 1}\n"
                   for i in range(n))
    res = run_both(body)
    (t,) = res.tables
    for key, arr in t.tags.items():
        values = arr.dictionary.to_pylist()
        assert len(values) == len(set(values)), key
        assert set(values) == {v for v in arr.to_pylist() if v is not None}, key
    assert t.tags["host"].to_pylist() == [f"h{i % 3}" for i in range(n)]
    assert t.tags["rack"].to_pylist() == [("r" if i == 1 else None) for i in range(n)]


def test_bodies_with_the_same_series_parse_alike_whatever_came_before():
    # (the fast path reuses the parsed series keys of a recent body with the same ones)
    series = [f"cpu,host=h{i},dc=d{i % 2}" for i in range(200)]
    first = run_both("\n".join(f"{k} v={i} {i + 1}" for i, k in enumerate(series)))
    again = run_both("\n".join(f"{k} w={i}i {i + 5}" for i, k in enumerate(series)))
    bad = run_both("\n".join(f"{k} v=oops {i + 1}" if i == 3 else f"{k} v={i} {i + 1}" for i, k in enumerate(series)))
    for res in (first, again):
        (t,) = res.tables
        assert t.tags["host"].to_pylist() == [f"h{i}" for i in range(200)]
        assert t.tags["dc"].to_pylist() == [f"d{i % 2}" for i in range(200)]
    assert [e.line_number for e in bad.errors] == [4]
    assert bad.tables[0].tags["host"].to_pylist() == [f"h{i}" for i in range(200) if i != 3]


def test_tags_of_fast_and_exact_lines_in_one_body_merge_into_one_dictionary_column():
    # a line with an escape goes to the exact parser, the others stay on the fast path
    lines = [f"m,host=h{i % 4} v={i} {i + 1}" for i in range(300)]
    lines[7] = r"m,host=h\ 9 v=7 8"
    res = run_both("\n".join(lines))
    (t,) = res.tables
    got = t.tags["host"]
    assert got.type == lp.TAG_ARROW_TYPE
    assert got.to_pylist() == [("h 9" if i == 7 else f"h{i % 4}") for i in range(300)]
    assert sorted(got.dictionary.to_pylist()) == ["h 9", "h0", "h1", "h2", "h3"]


def test_same_field_with_two_types_gives_two_columns_each_non_null_in_its_rows():
    res = run_both("m v=1i 1\nm v=2 2\nm v=3i 3")
    (t,) = res.tables
    assert t.fields[("v", "int")].to_pylist() == [1, None, 3]
    assert t.fields[("v", "float")].to_pylist() == [None, 2.0, None]


def test_invalid_utf8_raises_unicode_decode_error():
    for fn in (lp.parse, lp.parse_exact, lp.parse_fast):
        with pytest.raises(UnicodeDecodeError):
            fn(b"m f=1 \xff")


def test_str_and_bytes_bodies_give_the_same_result():
    body = 'm,t=é f=1,s="ü" 5\nm f=2 6'
    assert canonical(lp.parse(body)) == canonical(lp.parse(body.encode()))


# ---- the two paths ------------------------------------------------------------------------------


def test_fast_path_hands_lines_with_backslashes_to_the_exact_parser():
    body = 'm\\ x f=1 1\nm,t=a\\,b f=2 2\nm f=2,s="q y" 2\nm f=3,g\\=h=4i 3\nm f=1\\ 4\n# c\\d\nm f=5 5\n'
    fast = lp.parse_fast(body, "ns", D)
    assert fast is not None
    assert canonical(fast) == canonical(lp.parse_exact(body, "ns", D))
    assert [t.measurement for t in fast.tables] == ["m x", "m"]


def test_fast_path_declines_bodies_whose_backslashes_may_join_lines():
    # an escaped newline continues the line; an escaped quote does not toggle quoting
    for body in ["m f=1\\\nm f=2 1\nm f=3", 'm s="x\\"y" 1\nm f=1', 'm s="x\ny" 1\nm\\ x f=1']:
        assert lp.parse_fast(body, "ns", D) is None
        assert canonical(lp.parse(body, "ns", D)) == canonical(lp.parse_exact(body, "ns", D))


def test_fast_path_takes_string_fields_and_matches_the_exact_parser():
    body = (
        'm,t=a s="x y, z=1",f=1i,g="" 1\n'
        'm s="a"b"" 2\n'  # trailing content after a string
        'm s="a",s="b"\n'  # duplicate field
        'm f=2,s="\té" 3\n'  # control character and non-ASCII inside a string
        '"q",t="v" s="w" 4\n'  # quotes before the first space are literal
        'm s="" 5\n'
        'm a=1,b="c",c="d" x\n'
        '# a note k="v" 0\n'
        'm f="' + "x" * 65_536 + '" 6\n'  # 64 KiB exactly: accepted
        'm f="' + "x" * 65_537 + '" 7\n'  # one byte more: rejected
    )
    fast = lp.parse_fast(body, "ns", D)
    assert fast is not None
    exact = lp.parse_exact(body, "ns", D)
    assert canonical(fast) == canonical(exact)
    assert [e.line_number for e in exact.errors] == [2, 3, 7, 9]


def test_fast_path_declines_bodies_whose_quotes_may_span_lines():
    # split_lines would join these physical lines (or might): the exact parser decides
    for body in ['m s="a\nb" 1\nm f=1 2', 'm f=1,,g="a=b"\nm f=1 2', 'm "k"=1\nm f=1', 'm s="a"b" 1\nm f=1', '# a "comment"\nm f=1']:
        assert lp.parse_fast(body, "ns", D) is None
        assert canonical(lp.parse(body, "ns", D)) == canonical(lp.parse_exact(body, "ns", D))


def test_fast_path_hands_unusual_lines_to_the_exact_parser_in_order():
    body = "m f=1 1\n  m f=2 2\nm f=3 \nm,t=a,t=b f=4 4\nm,a,b=c f=5 5\nm f=9223372036854775808i 6\nm f=7 7\n"
    fast = lp.parse_fast(body, "ns", D)
    assert fast is not None
    exact = lp.parse_exact(body, "ns", D)
    assert canonical(fast) == canonical(exact)
    assert [p["line"] for p in points(exact)] == [1, 2, 5, 7]
    assert points(exact)[2]["tags"] == {"a,b": "c"}  # tag keys may contain commas (InfluxDB 3)


@pytest.mark.parametrize("shape", ["m,h=a f={v},g={v} {t}", "m f={v} {t}", "m,h=b f={v},g={v},x={v}"])
def test_bodies_whose_values_all_end_in_i_match_the_exact_parser(shape):
    # (every value ending in `i` takes the all-integer shortcut of the fast path)
    values = ["0i", "-0i", "7i", "0007i", "-12i", "9223372036854775807i", "-9223372036854775808i",
              "9223372036854775808i", "-9223372036854775809i", "1.5i", "i", "-i", "+1i", "1e3i", "12345678901234567i"]
    body = "\n".join(shape.format(v=v, t=i + 1) for i, v in enumerate(values * 3))
    fast = lp.parse_fast(body, "ns", D)
    assert fast is not None
    exact = run_both(body)
    assert [e.line_number % len(values) for e in exact.errors][:6] == [8, 9, 10, 11, 12, 13]
    assert exact.tables[0].fields[("f", "int")].to_pylist()[:7] == [0, 0, 7, 7, -12, 2**63 - 1, -(2**63)]


def test_fast_path_many_field_key_sequences_are_declined_and_parse_still_works():
    body = "\n".join(f"m f{i}=1,g{i % 7}=2 {i}" for i in range(300))
    assert lp.parse_fast(body) is None
    assert lp.parse(body).tables[0].num_rows == 300


def _tsbs(n_lines: int) -> str:
    rnd = np.random.default_rng(1)
    out = []
    for i in range(n_lines):
        h = i % 50
        vals = ",".join(f"usage_{k}={rnd.integers(0, 101)}i" for k in ("user", "system", "idle", "nice"))
        out.append(f"cpu,hostname=host_{h},region=r{h % 3},rack={h % 7} {vals} {1_700_000_000_000_000_000 + i}")
    return "\n".join(out) + "\n"


def test_large_body_is_parsed_in_two_halves_that_join_exactly():
    body = "mem,host=a free=1i 1\n" + _tsbs(halves._PARALLEL_MIN_LINES + 100)
    body += "cpu,hostname=x,zone=z usage_user=1.5,extra=t 5\ndisk,dev=sda used=3u -1\ncpu,hostname=y usage_user=2i bad\n"
    assert halves._halving_point(body.encode()) is not None
    fast = lp.parse_fast(body, "ns", D)
    assert fast is not None
    assert canonical(fast) == canonical(lp.parse_exact(body, "ns", D))
    assert [t.measurement for t in fast.tables] == ["mem", "cpu", "disk"]
    cpu = fast.tables[1]
    assert cpu.num_rows == halves._PARALLEL_MIN_LINES + 101
    assert list(cpu.tags) == ["hostname", "region", "rack", "zone"]
    assert list(cpu.fields)[-2:] == [("usage_user", "float"), ("extra", "bool")]
    assert [e.line_number for e in fast.errors] == [fast.num_lines]


def test_large_body_with_string_fields_is_parsed_in_two_halves_that_join_exactly():
    rnd = np.random.default_rng(2)
    notes = ["fine day", "rain, later", "x=1 y", "", "é\t#"]
    lines = [
        f'weather,station=s{rnd.integers(0, 100)} temp={rnd.integers(-200, 400) / 10},'
        f'status="{["ok", "warn"][i % 2]}",note="{notes[i % 5]}",code={i % 7}i {1_700_000_000_000_000_000 + i}'
        for i in range(halves._PARALLEL_MIN_LINES + 100)
    ]
    lines[5] = 'weather,station=s1 status="a"b"" 5'  # (even quote count) trailing content
    lines[-3] = 'procstat,host=h cmdline="/usr/bin/x --a=1, --b",pid=7i,status="running"'
    body = "\n".join(lines) + "\n"
    assert halves._halving_point(body.encode()) is not None
    fast = lp.parse_fast(body, "ns", D)
    assert fast is not None
    assert canonical(fast) == canonical(lp.parse_exact(body, "ns", D))
    assert [e.line_number for e in fast.errors] == [6]
    assert fast.tables[0].fields[("note", "string")][1].as_py() == "rain, later"


def test_concurrent_parses_share_the_helper_thread_safely():
    from concurrent.futures import ThreadPoolExecutor

    bodies = [_tsbs(halves._PARALLEL_MIN_LINES + 50 * i) for i in range(4)]
    expected = [canonical(lp.parse_fast(b, "ns", D)) for b in bodies]
    with ThreadPoolExecutor(4) as ex:
        got = list(ex.map(lambda b: canonical(lp.parse_fast(b, "ns", D)), bodies * 2))
    assert got == expected * 2


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    "body",
    [
        "m " + ",".join(f"f{i}=1" for i in range(20_000)),
        "m,t=" + "\\," * 30_000 + "x f=1",
        '"' * 200_000,
        'm f="' + "\\" * 100_001 + '"',
        "m f=" + "9" * 1_000_000 + "i",
        "m f=" + "9" * 1_000_000,
        "m,x=y f=1 1\n" * 20_000 + "#" * 100_000,
        "a" * 1_000_000,
        "m " + "a=1," * 50_000,
    ],
    ids=["20k-fields", "escaped-commas", "quotes", "backslashes", "long-int", "long-float", "many-lines", "long-name", "commas"],
)
def test_pathological_inputs_finish_quickly(body):
    run_both(body)
