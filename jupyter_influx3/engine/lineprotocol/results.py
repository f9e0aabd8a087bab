"""What a parse returns: accepted rows as Arrow columns per measurement, and rejected lines.

Owns the result types (:class:`LineError`, :class:`TableRows`, :class:`ParseResult` and the
spans that give back each counted line's raw text), the field types with their Arrow types, and
the value ranges of the integer columns.  Must not parse, merge or check anything: building rows
is the parsers' (``exact.py``, ``assemble.py``), schema checks are the caller's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa


FIELD_TYPES = ("float", "int", "uint", "string", "bool")

TAG_ARROW_TYPE = pa.dictionary(pa.int32(), pa.string())

_ARROW_FIELD_TYPES = {
    "float": pa.float64(),
    "int": pa.int64(),
    "uint": pa.uint64(),
    "string": pa.string(),
    "bool": pa.bool_(),
}


# The value ranges of the int64 and uint64 columns (fields and time).
_I64_MIN = -(1 << 63)
_I64_MAX = (1 << 63) - 1
_U64_MAX = (1 << 64) - 1


@dataclass
class LineError:
    """One rejected line."""

    line_number: int  # 1-based among non-blank, non-comment lines
    error_message: str  # InfluxDB 3's exact message where known
    original_line: str  # the full raw line text (the HTTP layer truncates it)
    # What exactly is wrong, for people (`invalid field value "oops" for "usage": strings need
    # double quotes`) where InfluxDB 3's message is vaguer; never sent in an API body.
    detail: str = ""


@dataclass(eq=False)
class TableRows:
    """All accepted lines of one measurement, in input order."""

    measurement: str
    line_numbers: np.ndarray  # int64, 1-based line number of each row
    time: pa.Array  # int64 nanoseconds (precision applied), no nulls
    # order of first appearance; nullable; len == num_rows; dictionary-encoded (TAG_ARROW_TYPE: the
    # dictionary holds each value once, and only values some row has)
    tags: dict[str, pa.DictionaryArray]
    # key (field name, type in FIELD_TYPES); float64/int64/uint64/string/bool; nullable.  A name
    # written with two types gives two keys, each row non-null in at most one of them.
    fields: dict[tuple[str, str], pa.Array]

    @property
    def num_rows(self) -> int:
        return len(self.line_numbers)


@dataclass
class ParseResult:
    """Accepted rows per measurement plus one LineError per rejected line: every counted line
    (non-blank, non-comment) is in exactly one of the two."""

    tables: list[TableRows]  # in order of first appearance of the measurement
    errors: list[LineError]  # sorted by line_number
    num_lines: int  # non-blank, non-comment lines seen
    _lines: Any = field(default=None, repr=False, compare=False)

    def line_text(self, line_number: int) -> str:
        """Raw text of line ``line_number`` (1-based among non-blank, non-comment lines)."""
        if not 1 <= line_number <= self.num_lines:
            raise IndexError(f"line {line_number} out of range 1..{self.num_lines}")
        return self._lines.text(line_number)


class _LineSpans:
    """Where each counted line lives in the body (str or bytes)."""

    __slots__ = ("src", "starts", "ends")

    def __init__(self, src, starts, ends):
        self.src = src
        self.starts = starts
        self.ends = ends

    def text(self, line_number: int) -> str:
        i = line_number - 1
        s = self.src[int(self.starts[i]) : int(self.ends[i])]
        if isinstance(s, (bytes, bytearray, memoryview)):
            return bytes(s).decode("utf-8")
        return s
