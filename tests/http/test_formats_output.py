"""Query output formats, byte for byte (behaviour reference §2.2, Q40, Q41).

Two layers: golden answers of a real server for a table with nulls, every column type and
timestamps of every sub-second precision; and the serializers themselves for values a line
protocol write cannot produce (zoned timestamps, float edge cases, nested values, wide text).
"""

from __future__ import annotations

import io
import math

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import requests

from http_helpers import write_v3, written
from jupyter_influx3.http import serialize

# One row per timestamp precision: whole second, ms, µs, ns (1700000000 s = 2023-11-14T22:13:20).
LINES = "\n".join([
    't,host=a,region=us f=1.5,i=-3i,u=7u,s="x",b=true 1700000000000000000',
    "t,host=b f=2,i=4i 1700000000123000000",
    't,region=eu s="q\\"uote, comma",b=false 1700000000123456000',
    "t,host=c u=0u,f=1e20 1700000000123456789",
])
QUERY = "SELECT host, region, f, i, u, s, b, time FROM t ORDER BY time"

GOLDEN = {
    "json": (
        '[{"host":"a","region":"us","f":1.5,"i":-3,"u":7,"s":"x","b":true,"time":"2023-11-14T22:13:20"},'
        '{"host":"b","f":2.0,"i":4,"time":"2023-11-14T22:13:20.123"},'
        '{"region":"eu","s":"q\\"uote, comma","b":false,"time":"2023-11-14T22:13:20.123456"},'
        '{"host":"c","f":1.0e20,"u":0,"time":"2023-11-14T22:13:20.123456789"}]'
    ),
    "jsonl": (
        '{"host":"a","region":"us","f":1.5,"i":-3,"u":7,"s":"x","b":true,"time":"2023-11-14T22:13:20"}\n'
        '{"host":"b","f":2.0,"i":4,"time":"2023-11-14T22:13:20.123"}\n'
        '{"region":"eu","s":"q\\"uote, comma","b":false,"time":"2023-11-14T22:13:20.123456"}\n'
        '{"host":"c","f":1.0e20,"u":0,"time":"2023-11-14T22:13:20.123456789"}\n'
    ),
    "csv": (
        "host,region,f,i,u,s,b,time\n"
        "a,us,1.5,-3,7,x,true,2023-11-14T22:13:20\n"
        "b,,2.0,4,,,,2023-11-14T22:13:20.123\n"
        ',eu,,,,"q""uote, comma",false,2023-11-14T22:13:20.123456\n'
        "c,,1e20,,0,,,2023-11-14T22:13:20.123456789\n"
    ),
    "pretty": (
        "+------+--------+------+----+---+---------------+-------+-------------------------------+\n"
        "| host | region | f    | i  | u | s             | b     | time                          |\n"
        "+------+--------+------+----+---+---------------+-------+-------------------------------+\n"
        "| a    | us     | 1.5  | -3 | 7 | x             | true  | 2023-11-14T22:13:20           |\n"
        "| b    |        | 2.0  | 4  |   |               |       | 2023-11-14T22:13:20.123       |\n"
        '|      | eu     |      |    |   | q"uote, comma | false | 2023-11-14T22:13:20.123456    |\n'
        "| c    |        | 1e20 |    | 0 |               |       | 2023-11-14T22:13:20.123456789 |\n"
        "+------+--------+------+----+---+---------------+-------+-------------------------------+"
    ),
}
CONTENT_TYPES = {
    "json": "application/json",
    "jsonl": "application/jsonl",
    "json_lines": "application/jsonl",
    "csv": "text/csv",
    "pretty": "text/plain; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
}


@pytest.fixture(scope="module")
def golden_db(server):
    return written(server.url, "formats_golden", LINES, precision="nanosecond")


def sql(url, db, q, fmt=None, **kw):
    params = {"db": db, "q": q}
    if fmt:
        params["format"] = fmt
    return requests.get(f"{url}/api/v3/query_sql", params=params, timeout=30, **kw)


# ---- a real server ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv", "pretty"])
def test_golden_answer_of_every_text_format(url, golden_db, fmt):
    r = sql(url, golden_db, QUERY, fmt)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == CONTENT_TYPES[fmt]
    assert r.content.decode("utf-8") == GOLDEN[fmt]


def test_json_lines_is_the_canonical_name_of_jsonl(url, golden_db):
    r = sql(url, golden_db, QUERY, "json_lines")
    assert r.headers["Content-Type"] == "application/jsonl"
    assert r.text == GOLDEN["jsonl"]


def test_post_body_gives_the_same_golden_answer(url, golden_db):
    r = requests.post(f"{url}/api/v3/query_sql", json={"db": golden_db, "q": QUERY, "format": "csv"}, timeout=30)
    assert (r.status_code, r.text) == (200, GOLDEN["csv"])


def test_parquet_answer_reads_back_with_types(url, golden_db):
    r = sql(url, golden_db, QUERY, "parquet")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == CONTENT_TYPES["parquet"]
    assert r.content[:4] == b"PAR1" and r.content[-4:] == b"PAR1"
    table = pq.read_table(io.BytesIO(r.content))
    assert table.column_names == ["host", "region", "f", "i", "u", "s", "b", "time"]
    assert table.schema.field("i").type == pa.int64()
    assert table.schema.field("u").type == pa.uint64()
    assert table.schema.field("f").type == pa.float64()
    assert table.schema.field("b").type == pa.bool_()
    assert table.schema.field("time").type == pa.timestamp("ns")
    assert table.column("time").cast(pa.int64()).to_pylist() == [
        1700000000000000000, 1700000000123000000, 1700000000123456000, 1700000000123456789]
    assert table.column("host").to_pylist() == ["a", "b", None, "c"]
    assert table.column("s").to_pylist() == ["x", None, 'q"uote, comma', None]


@pytest.mark.parametrize("fmt, body", [("json", "[]"), ("jsonl", ""), ("csv", ""), ("pretty", "++\n++"), ("parquet", "")])
def test_empty_result_in_every_format(url, golden_db, fmt, body):
    # Q41: no rows -> `[]`, nothing, nothing (no header), the empty table, no bytes.
    r = sql(url, golden_db, "SELECT * FROM t WHERE host = 'nobody'", fmt)
    assert r.status_code == 200, r.text
    assert r.text == body
    assert r.headers["Content-Type"] == CONTENT_TYPES[fmt]


def test_q40_nanosecond_time_in_json_csv_and_pretty(url, db):
    assert write_v3(url, db, "cpu,host=a val=1i 123", precision="nanosecond").status_code == 204
    q = "select host, time, val from cpu"
    assert sql(url, db, q, "json").text == '[{"host":"a","time":"1970-01-01T00:00:00.000000123","val":1}]'
    assert sql(url, db, q, "csv").text == "host,time,val\na,1970-01-01T00:00:00.000000123,1\n"
    assert "| a    | 1970-01-01T00:00:00.000000123 | 1   |" in sql(url, db, q, "pretty").text


def test_large_answer_is_streamed_in_chunks_and_complete(url, db):
    # Big enough to leave the 64 KiB hold-back buffer: sent chunked, still a single valid document.
    lines = "\n".join(f"m,k=k{i % 7} v={i}i {i}" for i in range(30000))
    assert write_v3(url, db, lines, precision="nanosecond").status_code == 204
    r = requests.get(f"{url}/api/v3/query_sql", params={"db": db, "q": "SELECT v FROM m ORDER BY v", "format": "json"},
                     stream=True, timeout=60)
    assert r.status_code == 200
    assert r.headers.get("Transfer-Encoding") == "chunked"
    body = b"".join(r.iter_content(None))
    assert body.startswith(b'[{"v":0},{"v":1},') and body.endswith(b'{"v":29999}]')
    assert body.count(b"{") == 30000


# ---- the serializers ----------------------------------------------------------------------------


def render(columns: dict, fmt: str) -> str:
    return serialize.render_result(pa.table(columns), fmt).decode("utf-8")


@pytest.mark.parametrize(
    "value, ryu, lexical",
    [
        (1.0, "1.0", "1.0"),
        (0.1, "0.1", "0.1"),
        (-0.0, "-0.0", "-0.0"),
        (99.0, "99.0", "99.0"),
        (1e20, "1e20", "1.0e20"),
        (1e16, "1e16", "1.0e16"),
        (1e15, "1000000000000000.0", "1.0e15"),
        (9999999999.0, "9999999999.0", "9999999999.0"),
        (12345678901.5, "12345678901.5", "1.23456789015e10"),
        (1e-5, "0.00001", "0.00001"),
        (1.5e-6, "1.5e-6", "1.5e-6"),
        (0.000123, "0.000123", "0.000123"),
        (5e-324, "5e-324", "5.0e-324"),
        (1.7976931348623157e308, "1.7976931348623157e308", "1.7976931348623157e308"),
        (math.nan, "NaN", "null"),
        (math.inf, "inf", "null"),
        (-math.inf, "-inf", "null"),
    ],
)
def test_floats_are_rendered_like_ryu_in_csv_and_like_lexical_in_json(value, ryu, lexical):
    assert serialize.ryu_float(value) == ryu
    assert serialize.lexical_float(value) == lexical
    # and the vectorized path agrees with the per-value one
    assert render({"x": pa.array([value])}, "csv") == f"x\n{ryu}\n"
    assert render({"x": pa.array([value])}, "json") == f'[{{"x":{lexical}}}]'


def test_many_floats_vectorized_equal_per_value():
    import random

    rng = random.Random(7)
    values = [rng.choice([-1, 1]) * 10 ** rng.uniform(-12, 25) for _ in range(5000)]
    values += [float(round(v, 3)) for v in values[:1000]]
    arr = pa.array(values)
    assert serialize.display_strings(arr).to_pylist() == [serialize.ryu_float(v) for v in values]
    assert serialize.json_values(arr).to_pylist() == [serialize.lexical_float(v) for v in values]


def test_a_short_float_column_is_printed_like_the_same_values_in_a_long_one():
    values = [0.1, -0.0, 1e-7, 1e21, 123456789.125, float("nan"), float("inf"), 5e-324, 2.0, None] * 3
    short = pa.array(values[: serialize.SHORT_LENGTH])
    long = pa.array(values * 10)
    assert len(long) > serialize.SHORT_LENGTH >= len(short)
    assert serialize.json_values(short).to_pylist() == serialize.json_values(long).to_pylist()[: len(short)]
    assert serialize.display_strings(short).to_pylist() == serialize.display_strings(long).to_pylist()[: len(short)]


@pytest.mark.parametrize("values, type_", [
    ([0, -1, 2**63 - 1, -(2**63), None, 42], pa.int64()),
    ([0, 255, None, 7], pa.uint8()),
    ([2**64 - 1, None, 0], pa.uint64()),
    ([-128, 127, None], pa.int8()),
    ([True, False, None], pa.bool_()),
])
def test_a_short_integer_or_boolean_column_is_printed_like_arrows_cast(values, type_):
    short = pa.array(values, type_)
    long = pa.array(values * (serialize.SHORT_LENGTH // len(values) + 1), type_)
    assert len(long) > serialize.SHORT_LENGTH >= len(short)
    for render in (serialize.json_values, serialize.display_strings):
        assert render(short).to_pylist() == render(long).to_pylist()[: len(short)]
        assert render(short).to_pylist() == pc.cast(short, pa.string()).to_pylist()


@pytest.mark.parametrize(
    "nanos, text",
    [
        (0, "1970-01-01T00:00:00"),
        (1_000_000_000, "1970-01-01T00:00:01"),
        (984_000_000, "1970-01-01T00:00:00.984"),
        (984_098_000, "1970-01-01T00:00:00.984098"),
        (123, "1970-01-01T00:00:00.000000123"),
        (1_500, "1970-01-01T00:00:00.000001500"),
        (-1, "1969-12-31T23:59:59.999999999"),
        (2998574931 * 10**9, "2065-01-07T17:28:51"),
    ],
)
def test_naive_timestamps_have_no_zone_and_0_3_6_or_9_digits(nanos, text):
    assert render({"time": pa.array([nanos], pa.timestamp("ns"))}, "csv") == f"time\n{text}\n"
    assert render({"time": pa.array([nanos], pa.timestamp("ns"))}, "json") == f'[{{"time":"{text}"}}]'


@pytest.mark.parametrize("unit, value, text", [
    ("s", 1, "1970-01-01T00:00:01"),
    ("ms", 1001, "1970-01-01T00:00:01.001"),
    ("us", 1_000_001, "1970-01-01T00:00:01.000001"),
    ("us", 1_100_000, "1970-01-01T00:00:01.100"),
])
def test_timestamps_of_every_unit(unit, value, text):
    assert render({"t": pa.array([value], pa.timestamp(unit))}, "csv") == f"t\n{text}\n"


def test_zoned_timestamps_are_rfc3339_with_z_for_utc():
    utc = pa.array([2998574931 * 10**6, 1_500], pa.timestamp("us", tz="UTC"))
    assert render({"t": utc}, "csv") == "t\n2065-01-07T17:28:51Z\n1970-01-01T00:00:00.001500Z\n"
    paris = pa.array([0], pa.timestamp("s", tz="Europe/Paris"))
    assert render({"t": paris}, "json") == '[{"t":"1970-01-01T01:00:00+01:00"}]'


def test_json_omits_nulls_and_keeps_key_order():
    out = render({"b": pa.array([None, 1]), "a": pa.array(["x", None])}, "json")
    assert out == '[{"a":"x"},{"b":1}]'
    assert render({"b": pa.array([None], pa.int64())}, "json") == "[{}]"


def test_json_escapes_like_serde():
    s = 'quote" back\\ nl\n tab\t bell\x07 é ✓'
    out = render({"s": pa.array([s]), 'k"ey': pa.array([1])}, "jsonl")
    assert out == '{"s":"quote\\" back\\\\ nl\\n tab\\t bell\\u0007 é ✓","k\\"ey":1}\n'


def test_dictionary_tags_are_plain_strings():
    tags = pa.array(["a", None, "a"], pa.dictionary(pa.int32(), pa.string()))
    assert render({"host": tags}, "json") == '[{"host":"a"},{},{"host":"a"}]'
    assert render({"host": tags}, "csv") == 'host\na\n""\na\n'


def test_csv_quotes_only_when_needed():
    out = render({"a": pa.array(["plain", "com,ma", 'q"', "line\nbreak", " space"]), "b": pa.array([1, 2, 3, 4, 5])}, "csv")
    assert out == 'a,b\nplain,1\n"com,ma",2\n"q""",3\n"line\nbreak",4\n space,5\n'


def test_csv_single_empty_field_is_quoted_so_the_row_is_not_blank():
    assert render({"a": pa.array(["", "x"])}, "csv") == 'a\n""\nx\n'


def test_pretty_pads_by_display_width_and_splits_lines():
    out = render({"name": pa.array(["日本", "ab\ncd"]), "n": pa.array([1, None])}, "pretty")
    assert out == (
        "+------+---+\n"
        "| name | n |\n"
        "+------+---+\n"
        "| 日本 | 1 |\n"
        "| ab   |   |\n"
        "| cd   |   |\n"
        "+------+---+"
    )


def test_nested_values():
    lists = pa.array([[1, 2], None, []], pa.list_(pa.int64()))
    assert render({"ids": lists}, "json") == '[{"ids":[1,2]},{},{"ids":[]}]'
    assert render({"ids": lists}, "pretty").splitlines()[3] == "| [1, 2] |"


def test_empty_batches_write_nothing():
    schema = pa.schema([("a", pa.int64())])
    empty = pa.RecordBatch.from_pylist([], schema=schema)
    for fmt, body in [("json", b"[]"), ("json_lines", b""), ("csv", b""), ("pretty", b"++\n++"), ("parquet", b"")]:
        assert serialize.render_result([empty, empty], fmt) == body
        assert serialize.render_result([], fmt) == body


def test_batches_are_joined_into_one_document():
    schema = pa.schema([("a", pa.int64())])
    batches = [pa.RecordBatch.from_pylist([{"a": i}], schema=schema) for i in range(3)]
    assert serialize.render_result(batches, "json") == b'[{"a":0},{"a":1},{"a":2}]'
    assert serialize.render_result(batches, "csv") == b"a\n0\n1\n2\n"
    table = pq.read_table(io.BytesIO(serialize.render_result(batches, "parquet")))
    assert table.column("a").to_pylist() == [0, 1, 2]


def test_v1_json_text_of_names_tags_and_single_rows_is_what_json_dumps_writes():
    """The short paths of the v1 encoder (one-row series, names, tags) write the same text as the
    general one: strings escaped as json.dumps(ensure_ascii=False) does, floats as Go does."""
    import json

    from jupyter_influx3.engine.influxql.results import Series, StatementResult

    odd = 'q"uo\\te \u00e9\u2028\x01'
    cols = ["time", "f", "i", "s", "b", "n", odd]
    row = [1_700_000_000_000_000_000, 0.1, 7, odd, True, None, 1e21]
    s1 = Series(odd, cols, [row], tags={"host": odd, "b": "x"}, time_index=0)
    s2 = Series(odd, cols, [row, row], tags={"host": odd, "b": "x"}, time_index=0)
    text = serialize.v1_json([StatementResult(0, [s1, s2])], "ns").decode()
    one, two = json.loads(text)["results"][0]["series"]
    assert one["values"] == two["values"][:1] and one["tags"] == {"b": "x", "host": odd}
    name = json.dumps(odd, ensure_ascii=False)
    assert text.count('"name":' + name) == 2
    assert '"tags":{"b":"x","host":' + name + "}" in text
    assert '[1700000000000000000,0.1,7,' + name + ',true,null,1e+21]' in text


@pytest.mark.parametrize("epoch", ["ns", "ms", "s", "h"])
def test_v1_json_rows_by_orjson_are_the_general_paths_text(epoch, monkeypatch):
    """Rows without floats go through orjson; the text is byte for byte the general encoder's."""
    from jupyter_influx3.engine.influxql.results import Series, StatementResult

    n = 50
    cols = [[1_700_000_000_000_000_000 + i * 7_000_000_123 for i in range(n)],
            [None if i % 7 == 0 else i * 3 - 70 for i in range(n)],                     # integer
            [None if i % 5 == 0 else (2**64 - 1 - i) for i in range(n)],                 # unsigned
            [None if i % 4 == 0 else 'q"\\u\u00e9\u2028\x01<>&' + str(i) for i in range(n)],  # string
            [None if i % 3 == 0 else bool(i % 2) for i in range(n)]]                     # boolean
    series = Series("m", ["time", "i", "u", "s", "b"], tags={"host": "a"}, time_index=0,
                    kinds=["time", "integer", "unsigned", "string", "boolean"], col_data=cols)
    fast = serialize.v1_json([StatementResult(0, [series])], epoch)
    assert serialize._v1_values_fast(series, epoch) is not None        # the orjson path was taken
    monkeypatch.setattr(serialize, "_orjson", None)
    assert serialize.v1_json([StatementResult(0, [series])], epoch) == fast


@pytest.mark.parametrize("epoch", ["ns", "ms"])
def test_v1_json_of_the_engines_arrays_is_the_general_paths_text(epoch, monkeypatch):
    """A series still held as the engine's arrays skips the look at each value's type: the text is
    still the general encoder's, and a float column still goes to Go's float formatting."""
    import numpy as np

    from jupyter_influx3.engine.influxql.functions import Vec
    from jupyter_influx3.engine.influxql.results import Series, StatementResult

    n = 40
    valid = np.array([i % 6 != 0 for i in range(n)])
    vecs = [Vec("integer", np.arange(n, dtype=np.int64) - 20, valid),
            Vec("unsigned", np.arange(n, dtype=np.uint64) + np.uint64(2**63), valid),
            Vec("string", np.array([f'h"{i}\u00e9' for i in range(n)], dtype=object), valid),
            Vec("boolean", np.arange(n) % 2 == 0, valid),
            Vec.nulls(n)]
    kinds = ["time", "integer", "unsigned", "string", "boolean", "null"]
    columns = ["time", "i", "u", "s", "b", "z"]

    def texts(extra=()):
        def make():
            time = np.arange(n, dtype=np.int64) * 10**9 + 1_700_000_000 * 10**9
            return Series("m", columns + [c for c, _ in extra], time_index=0, kinds=kinds + [k for _, k in extra],
                          arrays=(time, vecs + [v for _, v in extra]))
        fast = serialize.v1_json([StatementResult(0, [make()])], epoch)
        with monkeypatch.context() as m:
            m.setattr(serialize, "_orjson", None)
            return fast, serialize.v1_json([StatementResult(0, [make()])], epoch)

    fast, general = texts()
    assert fast == general
    floats = Vec("float", np.array([1e16, 0.1] * (n // 2)), valid)
    fast, general = texts((("f", floats),))
    assert fast == general and serialize.go_float(1e16).encode() in fast


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_short_batches_are_written_like_the_same_rows_in_one_long_batch(fmt):
    n = 3 * serialize.SHORT_LENGTH + 5
    table = pa.table({
        "time": pa.array([1_700_000_000_123_456_789 + i for i in range(n)], pa.timestamp("ns")),
        "host": pa.array([f"h\"{i % 3}\\ é\n" for i in range(n)]).dictionary_encode(),
        "i": pa.array([None if i % 7 == 0 else i - 50 for i in range(n)], pa.int64()),
        "f": pa.array([None if i % 5 == 0 else i / 3 for i in range(n)], pa.float64()),
        "b": pa.array([None if i % 4 == 0 else i % 2 == 0 for i in range(n)]),
        "s": pa.array([None if i % 2 else f"x{i}" for i in range(n)]),
        "l": pa.array([[i, None] for i in range(n)]),
    })
    empty_rows = pa.table({"i": pa.array([None] * n, pa.int64())})   # rows with no member at all
    for t in (table, empty_rows):
        batch = t.combine_chunks().to_batches()[0]
        long = serialize.result_writer(fmt, t.schema)
        short = serialize.result_writer(fmt, t.schema)
        assert batch.num_rows > serialize.SHORT_LENGTH
        whole = long.write(batch) + long.finish()
        pieces = b"".join(short.write(batch.slice(i, 10)) for i in range(0, n, 10)) + short.finish()
        assert pieces == whole
