r"""Line protocol parsing: InfluxDB line protocol bytes -> columnar rows + per-line errors.

What this package owns
----------------------
* Splitting a write body into lines exactly as InfluxDB 3 does (``split_lines``: a newline inside
  a quoted string field value does not end the line; blank lines and ``#`` comments are skipped;
  leading whitespace is skipped).
* Parsing every line with InfluxDB 3's grammar (``influxdb_line_protocol::parse_lines``) and
  producing InfluxDB 3's exact error message for a line that does not parse.
* The per-line checks InfluxDB 3's write validator makes before it looks at a schema: duplicate
  field keys in one line (and, deliberately stricter than InfluxDB 3, duplicate tag keys), and
  the timestamp precision conversion (``Precision::to_nanos``: ``auto`` guessing, overflow,
  truncation of the default time).
* Returning accepted lines as columns, grouped by measurement, in input order
  (:class:`TableRows`), and rejected lines as :class:`LineError` records.

What it must not do
-------------------
* No catalog or schema decisions beyond one line: type conflicts with existing columns, a tag and
  a field sharing a name, reserved column names (``time``), column/table limits, dictionary
  encoding of tags -- all of that belongs to the caller.
* No I/O, no HTTP concerns (truncating ``original_line`` to 20 bytes, choosing partial vs
  non-partial writes, mapping errors to status codes), no tornado/IPython.

Layout (one noun per module; the names below are importable from the package itself)
------------------------------------------------------------------------------------
* ``results.py``   -- :class:`LineError`, :class:`TableRows`, :class:`ParseResult`, ``FIELD_TYPES``.
* ``precision.py`` -- :func:`normalize_precision`, ``Precision::to_nanos`` (per value and vectorised).
* ``errors.py``    -- InfluxDB 3's messages for a rejected line (and ours where we are stricter).
* ``lines.py``     -- InfluxDB 3's ``split_lines`` and :func:`counted_lines`.
* ``exact.py``     -- the reference per-line parser, :func:`parse_exact`, :func:`line_detail`.
* ``fast.py``      -- the vectorised parser :func:`parse_fast`, built on ``vector.py`` (slicing
  bytes without Python objects), ``series.py`` (series keys), ``fieldsets.py`` (field sets),
  ``values.py`` (values), ``assemble.py`` (columns, merging rows) and ``halves.py`` (a big body
  parsed as two halves at once).
* ``escape.py``    -- the writing side: :func:`escape_measurement`, :func:`escape_key`,
  :func:`escape_string_field`.
* this ``__init__`` -- :func:`parse`, which picks the fast path when it accepts the body.

Why it is hand-written
----------------------
No available library parses line protocol the way InfluxDB 3 does: with its quirks (a bare
integer is a float, ``-1u`` is trailing content, unknown escapes are kept, tag keys may contain
commas, quoted newlines do not split lines, ...) and with its exact error messages, which the
HTTP API returns verbatim.  Python per-line parsing is also far too slow for bulk ingestion
(the engine must ingest >= 500K lines/s), so there are two implementations with identical
results:

* :func:`parse_exact` -- a per-line parser (regular expressions with possessive quantifiers,
  linear in the input, no backtracking blow-ups) that is the reference for every behaviour and
  every error message;
* :func:`parse_fast` -- a vectorised parser (numpy + pyarrow.compute; no Python loop per line, no
  Python object per value).  Lines containing a backslash (escapes) are handed whole to the
  exact line parser; bodies where a backslash might join lines (one right before a newline,
  or on a line with a double quote) are declined.  String field values are handled
  by locating the double quotes with numpy, pairing them per line and masking the quoted
  contents in a copy of the body (``_mask_quoted``), which the rest of the parse reads; the
  values themselves are cut from the original bytes.  A body whose quotes cannot be proven
  to pair up within lines exactly as InfluxDB 3's ``split_lines`` pairs them (a newline or an
  odd quote inside a string, a quote in a field key, quotes in comments, ...) is declined as
  a whole, since its physical and logical lines may differ.  Lines it cannot
  prove regular (odd spacing, control characters, unusual values, duplicate keys, numbers that
  might overflow, ...) are handed one by one to the exact line parser and merged back in input
  order, so its results are identical to :func:`parse_exact`'s in every case.  A body of 16K+
  lines is cut in two and the halves are parsed at the same time, one on a helper thread
  (numpy and Arrow release the GIL); the halves' results are then joined.

:func:`parse` uses the fast path when it accepts the body, else the exact one.

Decisions where we deliberately differ from InfluxDB 3 (and from some conformance vectors;
the full list with reasons is ``DEVIATIONS`` in tests/engine/test_lineprotocol_conformance.py)
--------------------------------------------------------------------------------------------
* Duplicate tag keys in one line are rejected with
  ``invalid line protocol - multiple instances of '<tag>' tag found`` (InfluxDB 3 keeps both;
  InfluxDB 1.x and the reference Go decoder reject the line).
* Control characters U+0000..U+001F in a measurement, tag key or field key are rejected with
  ``invalid line protocol - control character U+XXXX in <measurement|tag key|field key>``.
  InfluxDB 3 accepts them except a leading NUL in a measurement (its own test even writes NUL
  into tag and field keys); the reference Go decoder rejects them; fuzz inputs that must be
  rejected rely on it; and NUL truncates identifiers in DuckDB.  Tag values and string field
  values may contain any character.
* A float literal outside the double range (``1e400``) is rejected with
  ``Unable to parse floating-point value `...``` (InfluxDB 3 stores +/-inf; 1.x and the Go
  decoder reject it).
* A comma right after the first field with nothing after it (``m f=1,``) is trailing content.
  InfluxDB 3 accepts it through a quirk of its list parser (it rejects ``m f=1,g=2,``).
* Everything else follows InfluxDB 3 even where InfluxDB 1.x / the Go decoder differ: `.5` and
  `1.` are not floats, `\\` is an escaped backslash (so `a\\` "ends with a backslash"), CR is
  not stripped, whitespace after the field set needs a timestamp after it, leading tabs are
  skipped, tag keys may contain commas and tag values `=`.
* ``original_line`` (:attr:`LineError.original_line`, :meth:`ParseResult.line_text`) is the full
  raw text of the line: from the start of the physical line where its content starts to the
  end of the (logical) line, trailing CR included.  InfluxDB 3 uses the n-th ``str::lines()``
  line, which is misaligned when blank or comment lines precede it.
* Invalid UTF-8 raises ``UnicodeDecodeError`` (a ``ValueError``); a ``str`` body with lone
  surrogates raises ``UnicodeEncodeError``.

Process-wide side effect
------------------------
The first fast parse of a body of 4 MiB or more raises glibc's ``M_MMAP_THRESHOLD`` and
``M_TRIM_THRESHOLD`` (see ``malloc.tune_malloc_once``; opt out with JUPYTER_INFLUX3_MALLOC_TUNING=0):
with the defaults, page faults on fresh temporaries cost as much CPU as the parsing itself.
"""

from __future__ import annotations

from .escape import escape_key, escape_measurement, escape_string_field
from .exact import line_detail, parse_exact  # noqa: F401  (line_detail: used by clients, not in __all__)
from .fast import parse_fast
from .lines import counted_lines  # noqa: F401  (used by clients, not in __all__)
from .precision import normalize_precision
from .results import FIELD_TYPES, TAG_ARROW_TYPE, LineError, ParseResult, TableRows  # noqa: F401  (TAG_ARROW_TYPE too)

__all__ = [
    "FIELD_TYPES",
    "LineError",
    "TableRows",
    "ParseResult",
    "parse",
    "parse_fast",
    "parse_exact",
    "normalize_precision",
    "escape_measurement",
    "escape_key",
    "escape_string_field",
]


def parse(body, precision: str = "auto", default_time_ns: int | None = None) -> ParseResult:
    """Parse a line protocol body: the vectorised path when it accepts the body, else the
    exact per-line path.  Both give identical results."""
    r = parse_fast(body, precision, default_time_ns)
    if r is None:
        r = parse_exact(body, precision, default_time_ns)
    return r
