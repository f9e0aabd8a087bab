"""Line protocol conformance: the reference vectors through both parser paths.

Data: ``tests/data/lp_cases.json`` and ``tests/data/lp_fuzz_must_reject.json`` (copies of
``shared/conformance``; see its README).  Every vector goes through ``parse_exact`` and, when it
does not decline, ``parse_fast``; both must give identical results and meet the expectation.

Vectors we deliberately do not follow are listed in ``DEVIATIONS`` with the reason; for those
the test asserts our behaviour instead (InfluxDB 3's, unless the reason says otherwise).
"""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path

import pytest

from jupyter_influx3.engine import lineprotocol as lp
from jupyter_influx3.engine.lineprotocol import precision as lp_precision

DATA = Path(__file__).resolve().parents[1] / "data"
CASES = json.loads((DATA / "lp_cases.json").read_text())
FUZZ = json.loads((DATA / "lp_fuzz_must_reject.json").read_text())
DEFAULT_NS = 1_000_000_000_123_456_789

# ---------------------------------------------------------------------------------------------
# Vectors we do not follow, and why.  Kinds:
#   rejected   -- the reference accepts, we reject the line (InfluxDB 3 does too)
#   accepted   -- the reference rejects, we accept (InfluxDB 3 does too)
#   v3_unescape -- the reference keeps `\\` as two characters; InfluxDB 3 unescapes it to `\`
#   nul_names  -- InfluxDB 3 accepts NUL in tag/field keys; we reject control characters in
#                 names (lines 1 and 4 of that vector fail)
# ---------------------------------------------------------------------------------------------
_V3_FLOAT = "InfluxDB 3's float grammar needs digits on both sides of '.': `.1`, `1.` are not floats"
_V3_BACKSLASH = (
    "InfluxDB 3 treats `\\\\` as an escaped backslash, so a name/value ending in it ends with a "
    "backslash: 'Measurements, tag keys and values, and field keys may not end with a backslash'"
)
_V3_UNESCAPE = "InfluxDB 3 unescapes `\\\\` to `\\` in tag keys/values and field keys"
_V3_TRAILING = "InfluxDB 3 rejects whitespace after the field set when no timestamp follows"
_V3_CR = "InfluxDB 3 does not strip the CR of CRLF: it is trailing content / not a field"
_V3_LEADING_WS = "InfluxDB 3 skips leading whitespace, tabs included (the Go corpus rejects a tab)"
_NUL_NAMES = (
    "we reject control characters (U+0000-U+001F) in measurement, tag key and field key "
    "names: NUL truncates identifiers in DuckDB, and the reference Go decoder rejects them"
)

DEVIATIONS = {
    "influxdb3_lp:parse_where_nulls_accepted#0": ("nul_names", _NUL_NAMES),
    "influxdb1.8:TestParsePointFloatNoLeadingDigit#0": ("rejected", _V3_FLOAT),
    "corpus:16f42a27b1032ab9ffa616e9de6edf2f": ("rejected", _V3_FLOAT),
    "corpus:1b3fae55167fc73c30beb1051bb6e626": ("rejected", _V3_FLOAT),
    "corpus:2f7b129871b38dc2e9f0665a62c6236d": ("rejected", _V3_FLOAT),
    "corpus:42ec9c2f57217b01f3949f50412da9b6": ("rejected", _V3_FLOAT),
    "corpus:aaca4c073c8253b814eab8828f2265cc": ("rejected", _V3_FLOAT),
    "corpus:b82f5f2038219326edc09c4d7a2c7c9a": ("rejected", _V3_FLOAT),
    "corpus:d805d5d4c2f80359e8efb7c39e302a91": ("rejected", _V3_FLOAT),
    "corpus:e8d647d71492cf873110d2b1220a6a4b": ("rejected", _V3_FLOAT),
    "corpus:fce464141d4c4e5c6cab2ce0e751727a": ("rejected", _V3_FLOAT),
    "corpus:5b1e7707310d809ec230cfa4635bf2ef": ("rejected", _V3_FLOAT),
    "corpus:9623c43476874ceda1072eb012edf050": ("rejected", _V3_FLOAT),
    "influxdb1.8:TestParsePointUnescape#7": ("rejected", _V3_BACKSLASH),
    "influxdb1.8:TestParsePointUnescape#10": ("rejected", _V3_BACKSLASH),
    "influxdb1.8:TestParsePointUnescape#11": ("rejected", _V3_BACKSLASH),
    "influxdb1.8:TestParsePointUnescape#12": ("rejected", _V3_BACKSLASH),
    "influxdb1.8:TestParsePointUnescape#19": ("rejected", _V3_BACKSLASH),
    "corpus:1a59bc6d85d51b80ba86085a625a6423": ("rejected", _V3_BACKSLASH),
    "corpus:2fff245fc564b6eaadbb607d49b71f7b": ("rejected", _V3_BACKSLASH),
    "corpus:3464e9a254491832c25381f8ede74a33": ("rejected", _V3_BACKSLASH),
    "corpus:5e08e5f5a9619377e83313100db125e4": ("rejected", _V3_BACKSLASH),
    "corpus:963a96bfb9995ecef855259b88d68a96": ("rejected", _V3_BACKSLASH),
    "corpus:d1955fe5a9a1f0e11ece309eff8f2c74": ("rejected", _V3_BACKSLASH),
    "corpus:efbb7158d7c6ad7633a178693a1b1208": ("rejected", _V3_BACKSLASH),
    "corpus:f08107767917985bb91f29d9e1348d74": ("rejected", _V3_BACKSLASH),
    "corpus:f2b44af65e5dafd12be0d5a09c894fb5": ("rejected", _V3_BACKSLASH),
    "corpus:432c470eca90d15a6e299690a4d3573b": ("rejected", _V3_BACKSLASH),
    "corpus:8b8a7c4cc0ae2473efb5208a59022f17": ("rejected", _V3_BACKSLASH),
    "corpus:8e68e2d04493b98acd3e0815559a60e7": ("rejected", _V3_BACKSLASH),
    "corpus:933321120784d3ad72a6d33e35d6f04c": ("rejected", _V3_BACKSLASH),
    "corpus:9d0006422e4183cd9ccbebda013af3da": ("rejected", _V3_BACKSLASH),
    "corpus:ff9b943052a5cb5c92aba7459bce8a09": ("rejected", _V3_BACKSLASH),
    "corpus:5475844841f3e74d1a9dd7fb8edbe21c": ("v3_unescape", _V3_UNESCAPE),
    "corpus:6ff42530fe6ad82d7ed609bf99a9d484": ("v3_unescape", _V3_UNESCAPE),
    "corpus:d169ad0e971f127ad2e5b4c8c0b1de3c": ("v3_unescape", _V3_UNESCAPE),
    "corpus:d1c784f8a98a165cf299875ee4b951a2": ("v3_unescape", _V3_UNESCAPE),
    "corpus:e59e8a621a64d338570a536f0d4b9aa5": ("v3_unescape", _V3_UNESCAPE),
    "corpus:40f7f7ab020c18e8a63082bef4f76913": ("v3_unescape", _V3_UNESCAPE),
    "corpus:0feb5ba89fa19fee82108dec30e5c0e8": ("rejected", _V3_TRAILING),
    "corpus:44c53103a28871ae89378a9e0ceeea55": ("rejected", _V3_TRAILING),
    "corpus:78896a3a6bb1785c8b9a785e6b8c653d": ("rejected", _V3_TRAILING),
    "corpus:6006e92dfc98800852031e779c6dddd5": ("rejected", _V3_CR),
    "corpus:a022477f6e157f09c8197bc2813fcd1e": ("rejected", _V3_CR),
    "corpus:8b3af0aaf42de944c7a3b505f3871647": ("rejected", _V3_CR),
    "corpus:f268972b6044ed10903f9c06c59a0445": ("rejected", _V3_CR),
    "corpus:2be024ca70163a7068b08f5e8ef57ffa": ("accepted", _V3_LEADING_WS),
}

# InfluxDB 3 error kinds (`v3_error_kind`) -> the start of their message.
_KIND_MESSAGE = {
    "MeasurementValueInvalid": "Invalid measurement was provided",
    "FieldSetMissing": "No fields were provided",
    "ExpectedTagKey": "Expected tag key, got ",
    "ExpectedTagValue": "Expected tag value, got ",
    "CannotParseEntireLine": "Could not parse entire line. Found trailing content: ",
    "IntegerValueInvalid": "Unable to parse integer value ",
    "UIntegerValueInvalid": "Unable to parse unsigned integer value ",
    "TimestampValueInvalid": "Unable to parse timestamp value ",
}


def _body(v):
    return base64.b64decode(v["input_base64"]) if "input_base64" in v else v["input"]


def points(res: lp.ParseResult) -> list[dict]:
    """All accepted rows as dicts, in input order (line_number ascending)."""
    out = []
    for t in res.tables:
        for i in range(t.num_rows):
            tags = {k: a[i].as_py() for k, a in t.tags.items() if a[i].is_valid}
            fields = {
                name: {"type": typ, "value": a[i].as_py()} for (name, typ), a in t.fields.items() if a[i].is_valid
            }
            out.append(
                {
                    "line": int(t.line_numbers[i]),
                    "measurement": t.measurement,
                    "tags": tags,
                    "fields": fields,
                    "time": t.time[i].as_py(),
                }
            )
    out.sort(key=lambda p: p["line"])
    return out


def canonical(res: lp.ParseResult):
    """Everything observable about a result, for exact comparisons between the two paths
    (floats compared with their sign, so -0.0 != 0.0)."""

    def fv(x):
        return ("f", x, math.copysign(1.0, x)) if isinstance(x, float) else x

    tables = [
        (
            t.measurement,
            t.line_numbers.tolist(),
            str(t.time.type),
            t.time.to_pylist(),
            [(k, str(a.type), a.to_pylist()) for k, a in t.tags.items()],
            [(k, str(a.type), [fv(x) for x in a.to_pylist()]) for k, a in t.fields.items()],
        )
        for t in res.tables
    ]
    errors = [(e.line_number, e.error_message, e.original_line) for e in res.errors]
    texts = [res.line_text(i) for i in range(1, res.num_lines + 1)]
    return tables, errors, res.num_lines, texts


def run_both(body, precision="ns", default_ns=DEFAULT_NS):
    """parse_exact's result, after checking parse_fast (when it accepts) gives the same."""
    exact = lp.parse_exact(body, precision, default_ns)
    fast = lp.parse_fast(body, precision, default_ns)
    if fast is not None:
        assert canonical(fast) == canonical(exact)
    assert canonical(lp.parse(body, precision, default_ns)) == canonical(exact)
    return exact


def _field_equal(expected: dict, got: dict, approx: bool = False) -> bool:
    if expected["type"] != got["type"]:
        return False
    if expected["type"] == "float":
        e, g = float(expected["value"]), float(got["value"])
        return math.isclose(e, g, rel_tol=1e-12) if approx else e == g
    return expected["value"] == got["value"]


def _assert_point(expected: dict, got: dict, default_time: int, v1_tags: bool):
    assert got["measurement"] == expected["measurement"]
    etags = expected["tags"]
    if v1_tags:  # InfluxDB 1.x drops tags with empty values when it builds a point
        etags = {k: val for k, val in etags.items() if val != ""}
    assert got["tags"] == etags
    assert set(got["fields"]) == set(expected["fields"])
    for name, ef in expected["fields"].items():
        assert _field_equal(ef, got["fields"][name]), (name, ef, got["fields"][name])
    assert got["time"] == (default_time if expected["time"] is None else expected["time"])


def _canonical_point(text: str, precision: str = "ns") -> dict:
    (p,) = points(lp.parse_exact(text, precision, 0))
    return p


def _check_point_check(chk: dict, pts: list[dict], default_time: int):
    p = pts[chk["point"]]
    fields = list(p["fields"].items())
    tags = list(p["tags"].items())
    if "measurement" in chk:
        assert p["measurement"] == chk["measurement"]
    if "time" in chk:
        assert p["time"] == (default_time if chk["time"] is None else chk["time"])
    if "tags" in chk:
        assert p["tags"] == chk["tags"]
    if "n_fields" in chk:
        assert len(fields) == chk["n_fields"]
    if "field_index" in chk:
        name, value = fields[chk["field_index"]]
        if "field_name" in chk:
            assert name == chk["field_name"]
        if "field" in chk:
            assert _field_equal(chk["field"], value, chk.get("approx", False))
    elif "field" in chk:
        assert _field_equal(chk["field"], p["fields"][chk["field_name"]], chk.get("approx", False))
    if "tag_index" in chk:
        key, value = tags[chk["tag_index"]]
        if "tag_key" in chk:
            assert key == chk["tag_key"]
        if "tag_value" in chk:
            assert value == chk["tag_value"]
    if "series_key" in chk:
        meas, *pairs = chk["series_key"].split(",")
        assert p["measurement"] == meas
        assert p["tags"] == dict(pair.split("=", 1) for pair in pairs)
    if "canonical" in chk:
        c = _canonical_point(chk["canonical"])
        assert (p["measurement"], p["tags"], p["time"]) == (c["measurement"], c["tags"], c["time"])
        assert p["fields"] == c["fields"]


def _collapse_double_backslashes(obj):
    if isinstance(obj, str):
        return obj.replace("\\\\", "\\")
    if isinstance(obj, dict):
        return {_collapse_double_backslashes(k): _collapse_double_backslashes(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_collapse_double_backslashes(x) for x in obj]
    return obj


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_vector(case):
    precision = case["precision"]
    default_ns = case.get("default_time_ns", DEFAULT_NS)
    body = _body(case)
    deviation = DEVIATIONS.get(case["id"], (None, None))[0]
    if case.get("input_is_invalid_utf8"):
        with pytest.raises(ValueError):
            lp.parse_exact(body, precision, default_ns)
        with pytest.raises(ValueError):
            lp.parse_fast(body, precision, default_ns)
        with pytest.raises(UnicodeDecodeError):
            lp.parse(body, precision, default_ns)
        return
    res = run_both(body, precision, default_ns)
    pts = points(res)
    default_time = lp_precision._default_time(lp.normalize_precision(precision), default_ns)

    if deviation == "rejected":
        assert res.errors, "we reject this line (see DEVIATIONS)"
        return
    if deviation == "nul_names":
        assert [e.line_number for e in res.errors] == [1, 4]
        assert all("control character U+0000" in e.error_message for e in res.errors)
        assert len(pts) == 3
        return
    if deviation == "accepted":
        assert not res.errors and len(pts) == 1
        return

    if case["expect"] == "error":
        assert res.errors, f"expected an error, got {pts}"
        if res.num_lines == 1:
            assert [e.line_number for e in res.errors] == [1]
        msg = res.errors[0].error_message
        if "v3_error_message" in case:
            assert msg == case["v3_error_message"]
        if "v3_error_kind" in case:
            assert msg.startswith(_KIND_MESSAGE[case["v3_error_kind"]]), msg
            if "v3_error_input" in case:
                assert msg.endswith(f"`{case['v3_error_input']}`")
        return

    assert not res.errors, [(e.line_number, e.error_message) for e in res.errors]
    if "points" in case:
        expected = case["points"]
        if deviation == "v3_unescape":
            expected = _collapse_double_backslashes(expected)
        assert len(pts) == len(expected)
        for e, g in zip(expected, pts):
            _assert_point(e, g, default_time, case["id"].startswith("influxdb1.8:"))
    if "n_points" in case:
        assert len(pts) == case["n_points"]
    for chk in case.get("point_checks", []):
        _check_point_check(chk, pts, default_time)


def test_every_deviation_names_an_existing_vector():
    ids = {c["id"] for c in CASES}
    assert set(DEVIATIONS) <= ids


# ---------------------------------------------------------------------------------------------
# Fuzz inputs the reference decoder rejects.  "Rejected" here means the write fails as a whole:
# invalid UTF-8 (ValueError), at least one LineError, or no line at all (an empty write, which
# the HTTP layer answers with 400 "incoming write was empty" -- e.g. inputs made only of tabs
# and newlines, which InfluxDB 3 skips as leading whitespace).  No crash, no hang: each input
# has its own test with a timeout.
# ---------------------------------------------------------------------------------------------


@pytest.mark.timeout(10)
@pytest.mark.parametrize("case", FUZZ, ids=[c["id"] for c in FUZZ])
def test_fuzz_input_is_rejected(case):
    body = _body(case)
    try:
        res = run_both(body, case["precision"], case.get("default_time_ns", DEFAULT_NS))
    except ValueError:
        assert case.get("input_is_invalid_utf8") or "input_base64" in case
        return
    assert res.errors or res.num_lines == 0


def test_every_case_file_is_complete():
    """A truncated or emptied data file fails here instead of making the other tests pass on nothing."""
    assert (len(CASES), len(FUZZ)) == (758, 6126)
